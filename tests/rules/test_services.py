"""What the groups manage (rules.zone, rules.sites, rules.mailboxes, rules.services) and the
provisioning outbox and worker: every change writes its state, audit and queue entry together;
refused input writes and queues nothing; the worker applies each entry once, retries with
back-off, and the zone files pass named-checkzone."""

import itertools
import os
import shutil
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import (
    AuditEntry,
    DnsRecord,
    MailAlias,
    Mailbox,
    Product,
    ProductKind,
    ProductStatus,
    ProvisionTask,
    Site,
    TaskStatus,
    db,
    utcnow,
)
from provision import mailpass, worker
from provision.backends.base import BackendError, PermanentBackendError
from provision.backends.files import FilesBackend
from provision.state import WebFacts
from rules import mailboxes, moves, provisioning, services, serving, sites, zone
from rules.errors import DomainError
from tests import factories
from tests.concurrency import run_concurrently
from tests.conftest import skip_or_fail

REQUIRE_BIND = os.environ.get("REQUIRE_BIND") == "1"


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def tasks(status=None):
    query = select(ProvisionTask).order_by(ProvisionTask.id)
    if status is not None:
        query = query.where(ProvisionTask.status == status)
    return db.session.scalars(query).all()


def state_counts():
    """What a refused change must leave as it was."""
    return {
        model: count(model)
        for model in (DnsRecord, Site, Mailbox, MailAlias, ProvisionTask, AuditEntry)
    }


@pytest.fixture
def domain(app):
    panel = factories.create_panel(products=[("domain", "example.com")])
    return panel.products[0]


@pytest.fixture
def hosting(app):
    panel = factories.create_panel(products=[("hosting", "example.info")])
    return panel.products[0]


def options(app, **changes):
    return worker.Options.from_config({**app.config, **changes})


def record(domain_product, **fields):
    fields = {"name": "@", "type": "A", "ttl": "3600", "value": "192.0.2.1", **fields}
    return zone.add_record(domain_product, fields, actor=domain_product.panel.owner)


# --- the rules: state, audit and queue together -----------------------------------------


def test_a_record_is_written_with_its_audit_and_queue_entry(domain):
    revision = domain.revision
    row = record(domain, name="www", value="192.0.2.7")
    db.session.commit()
    assert (row.name, row.type, row.ttl, row.data) == ("www", "A", 3600, "192.0.2.7")
    [task] = tasks()
    assert (task.target, task.status, task.summary["code"]) == (
        "zone:example.com",
        TaskStatus.PENDING,
        "dns.add",
    )
    assert task.product_id == domain.id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dns.add")).one()
    assert entry.details["record"] == "www 3600 A 192.0.2.7"
    db.session.refresh(domain)
    assert domain.revision == revision + 1  # a move's undo notices the change


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"value": "256.1.1.1"}, "value", "IPv4"),
        ({"type": "AAAA", "value": "192.0.2.1"}, "value", "IPv4"),
        ({"ttl": "59"}, "ttl", "60"),
        ({"ttl": "604801"}, "ttl", "604800"),
        ({"name": "bad_label-.example.com."}, "name", ""),
        ({"name": "www.other.com."}, "name", "example.com"),
        ({"type": "CNAME", "value": "example.net"}, "name", ""),
        ({"type": "MX", "value": "mail.example.com"}, "priority", ""),
        ({"type": "NS", "value": "ns1.example.net"}, "name", ""),
        ({"type": "SPF", "value": "x"}, "type", ""),
    ],
)
def test_a_refused_record_writes_and_queues_nothing(domain, fields, field, message):
    db.session.commit()
    before = state_counts()
    with pytest.raises(DomainError) as refused:
        record(domain, **fields)
    db.session.rollback()
    assert getattr(refused.value, "field", None) == field
    assert message in str(refused.value.message)
    assert state_counts() == before


def test_records_that_clash_are_refused(domain):
    record(domain, name="www", type="CNAME", value="example.com")
    db.session.commit()
    before = state_counts()
    with pytest.raises(DomainError, match="www"):
        record(domain, name="www", value="192.0.2.1")
    with pytest.raises(DomainError):
        record(domain, name="www", type="CNAME", value="example.net")
    db.session.rollback()
    assert state_counts() == before


def test_an_edit_is_checked_against_the_other_records(domain):
    first = record(domain, name="a", value="192.0.2.1")
    record(domain, name="b", type="CNAME", value="example.net")
    db.session.commit()
    with pytest.raises(DomainError):
        zone.update_record(
            domain, first, {"name": "b", "type": "A", "ttl": "60", "value": "192.0.2.9"}, actor=None
        )
    db.session.rollback()
    zone.update_record(
        domain, first, {"name": "a", "type": "A", "ttl": "60", "value": "192.0.2.9"}, actor=None
    )
    db.session.commit()
    assert (first.ttl, first.data) == (60, "192.0.2.9")
    assert [t.summary["code"] for t in tasks()] == ["dns.add", "dns.add", "dns.update"]


def test_custom_nameservers_stop_record_changes_and_unserve_the_zone(app, domain):
    record(domain)
    zone.set_nameservers(domain, "ns1.other.net\nNS2.other.net.", host=False, actor=None)
    db.session.commit()
    assert zone.settings_of(domain).nameservers == ["ns1.other.net", "ns2.other.net"]
    assert [t.target for t in tasks()][-2:] == ["registry:example.com", "zone:example.com"]
    with pytest.raises(zone.OtherNameservers):
        record(domain, name="x")
    db.session.rollback()
    settings = options(app).settings
    assert provisioning.zone_state("example.com", settings, 1).served is False
    assert provisioning.registry_state("example.com", settings).nameservers == (
        "ns1.other.net",
        "ns2.other.net",
    )
    with pytest.raises(DomainError) as refused:
        zone.set_nameservers(domain, "ns1.other.net", host=False, actor=None)
    assert refused.value.field == "nameservers"
    zone.set_nameservers(domain, "", host=True, actor=None)
    db.session.commit()
    assert provisioning.zone_state("example.com", settings, 1).served is True


def test_an_inactive_product_changes_nothing(domain):
    domain.status = ProductStatus.EXPIRED
    db.session.commit()
    before = state_counts()
    with pytest.raises(serving.NotActive):
        record(domain)
    db.session.rollback()
    assert state_counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "0888123456"}, "phone"),
        ({"phone": "+359 12"}, "phone"),
        ({"phone": "+999.888123456"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "XX"}, "country"),
        ({"country": ""}, "country"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"postcode": "<1000>"}, "postcode"),
    ],
)
def test_a_bad_registrant_is_refused(domain, change, field):
    fields = {
        "name": "Иван Петров",
        "organisation": "",
        "email": "ivan@example.com",
        "phone": "+359.888123456",
        "street": "ул. Витоша 1",
        "city": "София",
        "postcode": "1000",
        "country": "bg",
        **change,
    }
    with pytest.raises(DomainError) as refused:
        zone.set_registrant(domain, fields, actor=None)
    assert refused.value.field == field


def test_the_registrant_is_saved_normalised(app, domain):
    zone.set_registrant(
        domain,
        {
            "name": "  Иван   Петров ",
            "email": "Ivan@Example.com",
            "phone": "+359 888 123 456",
            "street": "ул. Витоша 1",
            "city": "София",
            "postcode": "1000",
            "country": "bg",
        },
        actor=None,
    )
    db.session.commit()
    registrant = provisioning.registry_state("example.com", options(app).settings).registrant
    assert (registrant.name, registrant.phone, registrant.country) == (
        "Иван Петров",
        "+359.888123456",
        "BG",
    )


def test_the_auth_code_is_made_once_and_every_showing_is_audited(domain):
    first = zone.reveal_auth_code(domain, actor=domain.panel.owner)
    again = zone.reveal_auth_code(domain, actor=domain.panel.owner)
    db.session.commit()
    assert first == again and len(first) == 16
    assert any(c.isdigit() for c in first) and any(c in "-+=#" for c in first)
    shown = select(func.count()).where(AuditEntry.action == "domain.auth_code")
    assert db.session.scalar(shown) == 2
    assert [t.summary["code"] for t in tasks()] == ["domain.auth_code"]


def test_sites_are_the_domain_or_its_subdomains(app, hosting):
    services.on_activated(hosting)
    services.on_activated(hosting)  # active again: served again, no second main site
    site = sites.add_site(
        hosting, host="Blog.Example.info", docroot="", php="8.3", ssl=True, actor=None
    )
    db.session.commit()
    assert [s.host for s in sites.sites_of(hosting)] == ["blog.example.info", "example.info"]
    assert site.docroot == "public_html/blog"
    assert [t.summary["code"] for t in tasks()] == ["site.add", "product.active", "site.add"]
    for host, docroot, php, field in [
        ("example.com", "", "8.3", "host"),
        ("evilexample.info", "", "8.3", "host"),
        ("blog.example.info", "", "8.3", "host"),  # there already
        ("shop.example.info", "../etc", "8.3", "docroot"),
        ("shop.example.info", "/var/www", "8.3", "docroot"),
        ("shop.example.info", "a/./b", "8.3", "docroot"),
        ("shop.example.info", ".ssh", "8.3", "docroot"),
        ("shop.example.info", "public_html/.git", "8.3", "docroot"),
        ("shop.example.info", "", "5.6", "php"),
    ]:
        before = state_counts()
        with pytest.raises(DomainError) as refused:
            sites.add_site(hosting, host=host, docroot=docroot, php=php, ssl=False, actor=None)
        db.session.rollback()
        assert refused.value.field == field, host
        assert state_counts() == before
    main = next(s for s in sites.sites_of(hosting) if s.host == "example.info")
    with pytest.raises(DomainError):
        sites.delete_site(hosting, main, actor=None)


def test_a_mailbox_keeps_within_the_plan_and_stores_a_dovecot_hash(app):
    plan = factories.create_plan(kind="email")
    assert (plan.mailboxes, plan.mail_quota_mb) == (50, 25600)
    plan.mailboxes, plan.mail_quota_mb = 2, 3000
    product = factories.add_product(factories.create_panel(), plan, "пример.бг")
    box = mailboxes.add_mailbox(
        product, local="Office", password="correct horse battery", quota="2000", actor=None
    )
    db.session.commit()
    assert box.local == "office"
    assert box.password_hash.startswith("{ARGON2ID}$argon2id$")
    assert mailpass.verify_password(box.password_hash, "correct horse battery")
    assert provisioning.mail_state("xn--e1afmkfd.xn--90ae").mailboxes[0].local == "office"
    for fields, field in [
        ({"local": "sales", "quota": "1001"}, "quota"),  # 2000 + 1001 > 3000
        ({"local": "sales", "quota": "0"}, "quota"),
        ({"local": "sales", "quota": "lots"}, "quota"),
        ({"local": "sales@example.com"}, "local"),  # not this product's domain
        ({"local": "office"}, "local"),  # taken
        ({"local": ".sales"}, "local"),
        ({"local": "sa..les"}, "local"),
        ({"local": "sales", "password": "short"}, "password"),
        ({"local": "sales", "password": "password123"}, "password"),  # among the commonest
    ]:
        before = state_counts()
        values = {"password": "a long enough secret", "quota": "500", **fields}
        with pytest.raises(DomainError) as refused:
            mailboxes.add_mailbox(product, actor=None, **values)
        db.session.rollback()
        assert refused.value.field == field, fields
        assert state_counts() == before
    mailboxes.add_mailbox(
        product, local="sales@ПРИМЕР.бг", password="a long enough secret", quota="500", actor=None
    )
    with pytest.raises(DomainError, match=r"\(2\)"):
        mailboxes.add_mailbox(
            product, local="third", password="a long enough secret", quota="1", actor=None
        )


def test_aliases_and_the_catch_all(app, hosting):
    mailboxes.add_mailbox(
        hosting, local="office", password="a long enough secret", quota="10", actor=None
    )
    alias = mailboxes.add_alias(
        hosting, local="info", destinations="a@example.com, B@Example.COM;a@example.com", actor=None
    )
    assert alias.destinations == ["a@example.com", "b@example.com"]
    for local, destinations, field in [
        ("info", "c@example.com", "local"),
        ("sales", "", "destinations"),
        ("sales", "not an address", "destinations"),
        ("sales", "sales@example.info", "destinations"),
        ("sales", "nobody@example.info", "destinations"),  # not here: mail would loop
        ("office", "a@example.com", "local"),  # a mailbox already
        ("sales", ",".join(f"u{i}@example.com" for i in range(21)), "destinations"),
    ]:
        with pytest.raises(DomainError) as refused:
            mailboxes.add_alias(hosting, local=local, destinations=destinations, actor=None)
        assert refused.value.field == field, destinations
    assert mailboxes.set_catch_all(hosting, "office@example.info", actor=None)
    assert not mailboxes.set_catch_all(hosting, "office@example.info", actor=None)
    db.session.commit()
    state = provisioning.mail_state("example.info")
    assert [(a.local, a.destinations) for a in state.aliases] == [
        ("", ("office@example.info",)),
        ("info", ("a@example.com", "b@example.com")),
    ]
    assert mailboxes.set_catch_all(hosting, "", actor=None)
    db.session.commit()
    assert [a.local for a in provisioning.mail_state("example.info").aliases] == ["info"]


def test_a_moved_bundle_carries_its_records_sites_and_mailboxes(app):
    owner = factories.create_user()
    source = factories.create_panel(owner, products=[("domain", "example.com")])
    web = Product(
        panel_id=source.id,
        plan_name="Web",
        kind=ProductKind.HOSTING,
        domain="blog.example.com",
    )
    db.session.add(web)
    db.session.flush()
    domain = next(p for p in source.products if p.kind.value == "domain")
    record(domain, name="www")
    services.on_activated(web)
    mailboxes.add_mailbox(web, local="me", password="a long enough secret", quota="10", actor=None)
    target = factories.create_panel(owner)
    db.session.commit()
    bundle = moves.bundle_of(domain)
    moves.move_to(owner, source, domain, moves.fingerprint(bundle), target)
    db.session.commit()
    assert serving.product_of(target, domain.id, [ProductKind.DOMAIN]) == domain
    assert [r.name for r in zone.records_of(domain)] == ["www"]
    assert [s.host for s in sites.sites_of(web)] == ["blog.example.com"]
    assert [m.local for m in mailboxes.mailboxes_of(web)] == ["me"]
    with pytest.raises(DomainError):
        serving.product_of(source, domain.id, [ProductKind.DOMAIN])


# --- the worker ---------------------------------------------------------------------------


class Recording:
    """A backend that remembers what it applied, and can fail or be slow on purpose."""

    def __init__(self, failures=0, error=BackendError, delay=0.0):
        self.calls, self.failures, self.error, self.delay = [], failures, error, delay
        self.lock = threading.Lock()

    def _apply(self, state):
        start = time.monotonic()
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise self.error("the server said no")
        time.sleep(self.delay)
        with self.lock:
            self.calls.append((state.domain, start, time.monotonic()))

    apply_zone = apply_registry = apply_mail = _apply

    def apply_web(self, state):
        self._apply(state)
        return WebFacts()


def test_one_apply_settles_every_entry_of_the_target_written_before_it(app, domain):
    for name in ("a", "b", "c"):
        record(domain, name=name)
    db.session.commit()
    backend = Recording()
    report = worker.run_once(backend, options(app), worker="w1")
    assert (report.applied, report.settled) == (1, 2)
    assert [call[0] for call in backend.calls] == ["example.com"]
    first = tasks()[0]
    assert {(t.status, t.applied_by_id) for t in tasks()} == {(TaskStatus.APPLIED, first.id)}
    assert worker.run_once(backend, options(app), worker="w1").applied == 0


def test_a_failed_apply_retries_with_back_off_and_then_succeeds_once(app, domain):
    record(domain)
    db.session.commit()
    backend = Recording(failures=2)
    opts = options(app, PROVISION_RETRY_SECONDS=30)
    assert worker.run_once(backend, opts, worker="w1").retrying == 1
    [task] = tasks()
    assert (task.status, task.attempts, task.last_error) == (
        TaskStatus.PENDING,
        1,
        "the server said no",
    )
    assert task.next_attempt_at > utcnow() + timedelta(seconds=25)
    assert worker.run_once(backend, opts, worker="w1").retrying == 0  # not due yet
    for expected_wait in (60, 0):
        task.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        worker.run_once(backend, opts, worker="w1")
        db.session.refresh(task)
        if expected_wait:
            assert task.next_attempt_at > utcnow() + timedelta(seconds=expected_wait - 5)
    assert (task.status, task.attempts, task.last_error) == (TaskStatus.APPLIED, 3, None)
    assert len(backend.calls) == 1
    assert worker.run_once(backend, opts, worker="w1").applied == 0


def test_a_permanent_failure_or_the_last_attempt_marks_the_entry_failed(app, domain):
    record(domain)
    db.session.commit()
    backend = Recording(failures=1, error=PermanentBackendError)
    assert worker.run_once(backend, options(app), worker="w1").failed == 1
    assert tasks()[0].status == TaskStatus.FAILED
    # a later change of the target is not held up by the failed entry
    record(domain, name="www")
    db.session.commit()
    assert worker.run_once(backend, options(app), worker="w1").applied == 1
    record(domain, name="ftp")
    db.session.commit()
    backend = Recording(failures=5)
    worker.run_once(backend, options(app, PROVISION_MAX_ATTEMPTS=1), worker="w1")
    assert tasks()[-1].status == TaskStatus.FAILED


def test_a_crashed_workers_claim_lapses(app, domain):
    record(domain)
    db.session.commit()
    opts = options(app, PROVISION_CLAIM_SECONDS=60)
    assert worker.claim("dead", opts) is not None
    assert worker.claim("w2", opts) is None  # the claim holds
    later = utcnow() + timedelta(seconds=61)
    task = worker.claim("w2", opts, now=later)
    assert (task.claimed_by, task.attempts) == ("w2", 2)


def test_two_workers_never_apply_the_same_entry_twice(app):
    owner = factories.create_user()
    products = []
    for i in range(4):
        panel = factories.create_panel(owner, products=[("domain", f"d{i}.example")])
        products.append(panel.products[0])
    for product in products:
        for name in ("a", "b"):
            record(product, name=name)
    db.session.commit()
    backend = Recording(delay=0.05)
    opts = options(app)

    def work(i):
        report = worker.Report()
        for _ in range(3):  # keep claiming while the other worker holds targets
            done = worker.run_once(backend, opts, worker=f"w{i}")
            report.applied += done.applied
        return report

    results = run_concurrently(app, 2, work)
    assert all(isinstance(r, worker.Report) for r in results), results
    db.session.expire_all()
    assert {t.status for t in tasks()} == {TaskStatus.APPLIED}
    # every backend call came from one claim that settled itself: none was applied twice
    self_settled = [t for t in tasks() if t.applied_by_id == t.id]
    assert len(backend.calls) == len(self_settled) == sum(r.applied for r in results)
    for domain_name in {call[0] for call in backend.calls}:
        spans = sorted((s, e) for d, s, e in backend.calls if d == domain_name)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), domain_name


def test_the_files_backend_gets_zones_serials_and_mail_maps(app, domain, tmp_path):
    record(domain, name="www")
    box_product = factories.create_panel(products=[("email", "example.com")]).products[0]
    mailboxes.add_mailbox(
        box_product, local="office", password="a long enough secret", quota="100", actor=None
    )
    db.session.commit()
    backend = FilesBackend(tmp_path)
    assert worker.run_once(backend, options(app), worker="w1").applied == 2
    zone = (tmp_path / "zones" / "example.com.zone").read_text()
    serial = provisioning.zone_serial("example.com")
    assert str(serial) in zone and "www" in zone and "192.0.2.1" in zone
    assert "office@example.com" in (tmp_path / "mail" / "virtual_mailbox_maps").read_text()
    record(domain, name="ftp")
    db.session.commit()
    worker.run_once(backend, options(app), worker="w1")
    assert provisioning.zone_serial("example.com") == serial + 1
    assert str(serial + 1) in (tmp_path / "zones" / "example.com.zone").read_text()


def test_the_demo_zones_pass_named_checkzone(app, cli, tmp_path):
    checkzone = shutil.which("named-checkzone")
    if checkzone is None:
        skip_or_fail(REQUIRE_BIND, "named-checkzone is missing (apt-get install bind9-utils)")
    assert cli.invoke(args=["demo", "seed"]).exit_code == 0
    backend = FilesBackend(tmp_path)
    report = worker.run_once(backend, options(app), worker="w1")
    assert report.failed == report.retrying == 0
    zones = sorted((tmp_path / "zones").glob("*.zone"))
    assert len(zones) >= 3
    for path in zones:
        domain_name = path.name.removesuffix(".zone")
        result = subprocess.run(
            [checkzone, "-k", "fail", "-n", "fail", domain_name, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert {t.status for t in tasks()} == {TaskStatus.APPLIED}


def test_a_refresh_reports_an_issued_certificate_and_the_disk_usage(app, hosting, tmp_path):
    services.on_activated(hosting)
    site = sites.add_site(
        hosting, host="shop.example.info", docroot="", php="8.3", ssl=True, actor=None
    )
    db.session.commit()
    backend = FilesBackend(tmp_path)
    worker.run_once(backend, options(app), worker="w1")
    db.session.refresh(site)
    assert (site.ssl_status, site.disk_bytes) == ("requested", 0)
    assert (tmp_path / "web" / "ssl-requests" / "shop.example.info").exists()
    certificate = tmp_path / "web" / "certs" / "shop.example.info" / "fullchain.pem"
    certificate.parent.mkdir(parents=True)
    certificate.write_text("-----BEGIN CERTIFICATE-----\n")
    home = next((tmp_path / "web" / "home").iterdir())
    (home / "public_html" / "index.html").write_text("x" * 1000)
    revision = hosting.revision
    assert sites.refresh_web() == 1
    db.session.commit()
    worker.run_once(backend, options(app), worker="w1")
    db.session.refresh(site)
    db.session.refresh(hosting)
    assert (site.ssl_status, site.disk_bytes) == ("issued", 1000)
    assert hosting.revision == revision  # a refresh is not a change of the product


def test_an_expired_product_is_no_longer_served_and_a_renewed_one_is_again(app, domain):
    record(domain)
    db.session.commit()
    settings = options(app).settings
    domain.status = ProductStatus.EXPIRED
    services.on_deactivated(domain)
    db.session.commit()
    assert tasks()[-1].summary["code"] == "product.inactive"
    assert provisioning.zone_state("example.com", settings, 1).served is False
    assert [r.name for r in zone.records_of(domain)] == ["@"]  # the data stays
    domain.status = ProductStatus.ACTIVE
    services.on_activated(domain)
    db.session.commit()
    assert tasks()[-1].summary["code"] == "product.active"
    assert provisioning.zone_state("example.com", settings, 1).served is True


def test_only_the_panel_that_serves_a_domain_changes_it(app):
    first = factories.create_panel(products=[("email", "example.com")]).products[0]
    mailboxes.add_mailbox(
        first, local="ceo", password="a long enough secret", quota="10", actor=None
    )
    second = factories.create_panel(products=[("email", "example.com")]).products[0]
    db.session.commit()
    before = state_counts()
    with pytest.raises(serving.HeldElsewhere):
        mailboxes.add_alias(second, local="ceo", destinations="thief@example.net", actor=None)
    db.session.rollback()
    assert state_counts() == before
    # what another panel holds on the domain is never part of what the servers get
    db.session.add(MailAlias(product_id=second.id, local="ceo", destinations=["x@example.net"]))
    db.session.commit()
    assert provisioning.mail_state("example.com").aliases == ()


def test_mail_and_hosting_on_one_domain_share_their_addresses(app):
    panel = factories.create_panel(products=[("email", "example.com"), ("hosting", "example.com")])
    mail, web = sorted(panel.products, key=lambda p: p.kind.value)
    mailboxes.add_mailbox(
        mail, local="office", password="a long enough secret", quota="10", actor=None
    )
    for add in (
        lambda: mailboxes.add_mailbox(
            web, local="office", password="a long enough secret", quota="10", actor=None
        ),
        lambda: mailboxes.add_alias(web, local="office", destinations="a@example.net", actor=None),
    ):
        with pytest.raises(DomainError) as refused:
            add()
        assert refused.value.field == "local"
    mailboxes.add_alias(web, local="info", destinations="office@example.com", actor=None)
    db.session.commit()
    state = provisioning.mail_state("example.com")
    assert ([m.local for m in state.mailboxes], [a.local for a in state.aliases]) == (
        ["office"],
        ["info"],
    )


def test_a_site_of_another_hosting_product_is_refused(app):
    panel = factories.create_panel(
        products=[
            ("hosting", "example.com"),
            ("hosting", "shop.example.com"),
            ("hosting", "example.com"),
        ]
    )
    main, shop, again = sorted(panel.products, key=lambda p: p.id)
    for product in (main, shop, again):
        services.on_activated(product)
    assert [s.host for s in sites.sites_of(again)] == []  # the host has its site already
    with pytest.raises(DomainError) as refused:
        sites.add_site(main, host="shop.example.com", docroot="", php="8.3", ssl=False, actor=None)
    assert refused.value.field == "host"


def test_a_registrant_form_gets_every_error_at_once(domain):
    with pytest.raises(serving.InvalidFields) as refused:
        zone.set_registrant(domain, {"email": "nope", "country": "ZZ"}, actor=None)
    assert set(refused.value.errors) == {
        "name",
        "email",
        "phone",
        "street",
        "city",
        "postcode",
        "country",
    }


@pytest.mark.parametrize(
    ("fields", "data"),
    [
        ({"type": "MX", "value": "10 mail.example.com"}, "10 mail.example.com."),
        (
            {"type": "SRV", "name": "_sip._tcp", "value": "10 5 5060 sip.example.com"},
            "10 5 5060 sip.example.com.",
        ),
    ],
)
def test_a_priority_typed_into_the_value_is_taken_from_there(domain, fields, data):
    assert record(domain, **fields).data == data


class WritesThenFails(Recording):
    """Writes the zone (the serial with it), then reports a failure."""

    def __init__(self, root):
        super().__init__()
        self.files = FilesBackend(root)

    def apply_zone(self, state):
        self.files.apply_zone(state)
        raise BackendError("written, then the reload failed")


def test_a_zone_serial_is_never_used_twice(app, domain, tmp_path):
    record(domain, name="a")
    db.session.commit()
    worker.run_once(WritesThenFails(tmp_path), options(app), worker="w1")
    first = provisioning.zone_serial("example.com")
    record(domain, name="b")
    [task] = [t for t in tasks() if t.status == TaskStatus.PENDING][:1]
    task.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    worker.run_once(FilesBackend(tmp_path), options(app), worker="w1")
    assert provisioning.zone_serial("example.com") == first + 1
    assert {t.status for t in tasks()} == {TaskStatus.APPLIED}


class TakenOver(Recording):
    """While it applies, its claim lapses and another worker takes the entry over."""

    def _apply(self, state):
        super()._apply(state)
        db.session.execute(
            update(ProvisionTask)
            .where(ProvisionTask.status == TaskStatus.RUNNING)
            .values(claimed_by="other")
        )
        db.session.commit()

    apply_zone = _apply


def test_a_worker_that_lost_its_claim_queues_the_target_again(app, domain):
    record(domain)
    db.session.commit()
    assert worker.run_once(TakenOver(), options(app), worker="w1").applied == 0
    again = tasks()[-1]
    assert (again.status, again.summary["code"]) == (TaskStatus.PENDING, "provision.again")
