"""The domain, site and mail pages over HTTP: plain forms and htmx rows, bad input, other
panels' ids, the transfer code after a fresh login, the queue's state on the page."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import (
    AuditEntry,
    DnsRecord,
    Group,
    Mailbox,
    ProvisionTask,
    Site,
    TaskStatus,
    db,
    utcnow,
)
from rules import mailboxes, services, zone
from tests import factories
from tests.factories import PASSWORD
from tests.web.test_panels import count_statements
from tests.web.test_routes import csrf_token

HX = {"HX-Request": "true"}


@pytest.fixture
def panel(app):
    """A panel with a domain, a hosting product and an email product on example.com."""
    return factories.create_panel(
        products=[("domain", "example.com"), ("hosting", "example.com"), ("email", "example.com")]
    )


def product(panel, kind):
    return next(p for p in panel.products if p.kind.value == kind)


def domain_url(panel, suffix=""):
    return f"/panels/{panel.number}/domains/{product(panel, 'domain').id}{suffix}"


def mail_url(panel, suffix=""):
    return f"/panels/{panel.number}/email/{product(panel, 'email').id}{suffix}"


def count(model):
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model))


def test_records_are_added_edited_and_deleted_with_plain_forms(testapp, login_as, panel):
    login_as(panel.owner)
    form = testapp.get(domain_url(panel)).forms["record-add"]
    form["name"], form["type"], form["value"] = "www", "A", "192.0.2.5"
    page = form.submit().follow()
    row = page.html.select_one("#records tbody tr")
    assert [td.text.strip() for td in row.select("td")[:4]] == [
        "www.example.com",
        "A",
        "3600",
        "192.0.2.5",
    ]
    record = db.session.scalars(select(DnsRecord)).one()
    edit = testapp.get(domain_url(panel, f"/records/{record.id}/edit"))
    form = next(f for f in edit.forms.values() if "value" in f.fields)
    form["ttl"], form["value"] = "300", "192.0.2.6"
    form.submit().follow()
    db.session.refresh(record)
    assert (record.ttl, record.data) == (300, "192.0.2.6")
    page = testapp.get(domain_url(panel))
    delete = next(f for f in page.forms.values() if f.action.endswith("/delete"))
    delete.submit().follow()
    assert count(DnsRecord) == 0
    assert [t.summary["code"] for t in db.session.scalars(select(ProvisionTask))] == [
        "dns.add",
        "dns.update",
        "dns.delete",
    ]
    assert "в изчакване" in testapp.get(domain_url(panel)).html.select_one("#tasks").text


def test_records_are_edited_inline_with_htmx(testapp, login_as, panel):
    login_as(panel.owner)
    token = csrf_token(testapp)
    added = testapp.post(
        domain_url(panel, "/records"),
        {
            "csrf_token": token,
            "name": "@",
            "type": "MX",
            "priority": "10",
            "value": "mx.example.net",
        },
        headers=HX,
    )
    assert added.html.select_one("section#records") is not None
    assert "10 mx.example.net." in added.html.select_one("#records tbody").text
    record = db.session.scalars(select(DnsRecord)).one()
    record_id = record.id

    bad = testapp.post(
        domain_url(panel, "/records"),
        {"csrf_token": token, "name": "@", "type": "A", "value": "999.1.1.1"},
        headers=HX,
        status=422,
    )
    assert bad.html.select_one("#record-add .field-error") is not None
    assert bad.html.select_one("#record-add input[name=value]")["value"] == "999.1.1.1"
    assert count(DnsRecord) == 1

    editing = testapp.get(domain_url(panel, f"/records/{record.id}/edit"), headers=HX)
    assert editing.html.select_one("tr.editing")["id"] == f"record-{record.id}"
    fields = {"csrf_token": token, "name": "@", "type": "MX", "ttl": "600", "priority": "20"}
    saved = testapp.post(
        domain_url(panel, f"/records/{record.id}"),
        {**fields, "value": "mx.example.net"},
        headers=HX,
    )
    assert saved.html.select_one("tr")["id"] == f"record-{record.id}"
    assert "20 mx.example.net." in saved.text
    refused = testapp.post(
        domain_url(panel, f"/records/{record.id}"),
        {**fields, "value": "192.0.2.1"},
        headers=HX,
        status=422,
    )
    assert refused.html.select_one("tr.editing .field-error") is not None
    cancel = testapp.get(domain_url(panel, f"/records/{record.id}"), headers=HX)
    assert cancel.html.select_one("tr:not(.editing)") is not None

    deleted = testapp.post(
        domain_url(panel, f"/records/{record.id}/delete"), {"csrf_token": token}, headers=HX
    )
    assert deleted.status_int == 200 and deleted.text == ""
    again = testapp.post(
        domain_url(panel, f"/records/{record_id}/delete"), {"csrf_token": token}, headers=HX
    )
    assert again.status_int == 200  # a second click: deleted already
    assert count(DnsRecord) == 0


def test_another_panels_ids_are_not_found(testapp, login_as, panel):
    other = factories.create_panel(
        products=[("domain", "other.com"), ("hosting", "other.com"), ("email", "other.com")]
    )
    theirs = zone.add_record(
        product(other, "domain"),
        {"name": "www", "type": "A", "value": "192.0.2.1"},
        actor=other.owner,
    )
    box = mailboxes.add_mailbox(
        product(other, "email"), local="a", password="a long enough secret", quota="5", actor=None
    )
    db.session.commit()
    login_as(panel.owner)
    token = csrf_token(testapp)
    before = count(ProvisionTask)
    for method, url in (
        ("post", domain_url(panel, f"/records/{theirs.id}")),
        ("get", domain_url(panel, f"/records/{theirs.id}/edit")),
        ("post", domain_url(panel, f"/records/{theirs.id}/delete")),
        ("post", mail_url(panel, f"/mailboxes/{box.id}")),
        ("post", mail_url(panel, f"/mailboxes/{box.id}/delete")),
        ("get", f"/panels/{panel.number}/domains/{product(other, 'domain').id}"),
        ("get", f"/panels/{panel.number}/domains/{product(panel, 'hosting').id}"),
        ("get", f"/panels/{panel.number}/web/{product(panel, 'domain').id}"),
        ("get", f"/panels/{other.number}/domains/{product(other, 'domain').id}"),
    ):
        if method == "get":
            testapp.get(url, status=404)
        else:
            testapp.post(url, {"csrf_token": token}, status=404)
    assert count(ProvisionTask) == before and count(DnsRecord) == count(Mailbox) == 1


def test_the_groups_open_their_pages_only(testapp, login_as, panel):
    member = factories.create_user()
    factories.grant(panel, member, Group.EMAIL)
    login_as(member)
    testapp.get(mail_url(panel))
    testapp.get(domain_url(panel), status=403)
    testapp.post(
        domain_url(panel, "/records"),
        {"csrf_token": csrf_token(testapp), "type": "A", "value": "192.0.2.1"},
        status=403,
    )
    assert count(DnsRecord) == 0
    section = testapp.get(f"/panels/{panel.number}/email")
    links = [a["href"] for a in section.html.select("#section-email a[href*='/email/']")]
    assert links == [mail_url(panel).replace("/email/", "/email/", 1)] or len(links) == 2


def test_the_transfer_code_needs_a_fresh_login_and_is_audited(testapp, login_as, panel):
    with time_machine.travel(utcnow() - timedelta(minutes=30), tick=True):
        login_as(panel.owner)
    page = testapp.get(domain_url(panel))
    form = next(f for f in page.forms.values() if f.action.endswith("/auth-code"))
    response = form.submit()
    assert "/account/confirm" in response.headers["Location"]
    assert count(AuditEntry) == db.session.scalar(select(func.count()).select_from(AuditEntry))
    shown = select(func.count()).where(AuditEntry.action == "domain.auth_code")
    assert db.session.scalar(shown) == 0
    confirm = response.follow().forms["reauthenticate-form"]
    confirm["password"] = PASSWORD
    confirm.submit()
    code_page = next(
        f for f in testapp.get(domain_url(panel)).forms.values() if f.action.endswith("/auth-code")
    ).submit()
    code = code_page.html.select_one("#auth-code").text
    assert len(code) == 16
    assert code_page.headers["Cache-Control"] == "no-store"
    db.session.commit()
    assert db.session.scalar(shown) == 1
    assert code not in testapp.get(domain_url(panel)).text


def test_mailboxes_inline_and_the_password_is_never_shown(testapp, login_as, panel):
    login_as(panel.owner)
    token = csrf_token(testapp)
    added = testapp.post(
        mail_url(panel, "/mailboxes"),
        {
            "csrf_token": token,
            "local": "office",
            "password": "a long enough secret",
            "quota": "500",
        },
        headers=HX,
    )
    assert "office@example.com" in added.html.select_one("#mailboxes tbody").text
    box = db.session.scalars(select(Mailbox)).one()
    assert box.password_hash not in added.text and "a long enough secret" not in added.text
    for fields in (
        {"local": "x@other.com", "password": "a long enough secret", "quota": "5"},
        {"local": "y", "password": "short", "quota": "5"},
        {"local": "z", "password": "a long enough secret", "quota": "999999"},
    ):
        refused = testapp.post(
            mail_url(panel, "/mailboxes"), {"csrf_token": token, **fields}, headers=HX, status=422
        )
        assert refused.html.select_one("#mailbox-add .field-error") is not None
        assert "a long enough secret" not in refused.text  # a password field is never refilled
    assert count(Mailbox) == 1
    saved = testapp.post(
        mail_url(panel, f"/mailboxes/{box.id}"),
        {"csrf_token": token, "quota": "800", "password": ""},
        headers=HX,
    )
    assert saved.html.select_one("tr")["id"] == f"mailbox-{box.id}"
    db.session.refresh(box)
    assert box.quota_mb == 800
    page = testapp.get(mail_url(panel))
    alias = page.forms["alias-add"]
    alias["local"], alias["destinations"] = "info", "office@example.com, boss@example.net"
    page = alias.submit().follow()
    assert "boss@example.net" in page.html.select_one("#aliases").text
    assert box.password_hash not in page.text


def test_sites_page_adds_a_subdomain_and_refuses_a_foreign_host(testapp, login_as, panel):
    hosting = product(panel, "hosting")
    services.on_activated(hosting)
    db.session.commit()
    login_as(panel.owner)
    url = f"/panels/{panel.number}/web/{hosting.id}"
    form = testapp.get(url).forms["site-add"]
    form["host"] = "evil.org"
    refused = form.submit(status=422)
    assert refused.html.select_one("#site-add .field-error") is not None
    form = refused.forms["site-add"]
    form["host"], form["ssl"] = "blog.example.com", True
    form.submit().follow()
    assert {s.host for s in db.session.scalars(select(Site))} == {
        "example.com",
        "blog.example.com",
    }


def test_the_page_shows_how_each_change_went(testapp, login_as, panel):
    domain = product(panel, "domain")
    for status, error in ((TaskStatus.APPLIED, None), (TaskStatus.FAILED, "zone refused")):
        db.session.add(
            ProvisionTask(
                product_id=domain.id,
                target="zone:example.com",
                summary={"code": "dns.add", "name": "www", "type": "A"},
                status=status,
                last_error=error,
            )
        )
    db.session.commit()
    login_as(panel.owner)
    text = testapp.get(domain_url(panel)).html.select_one("#tasks").text
    assert "zone refused" in text


def test_the_pages_statement_count_does_not_grow_with_records_or_mailboxes(
    testapp, login_as, panel
):
    login_as(panel.owner)
    domain, mail = product(panel, "domain"), product(panel, "email")

    def grow(n, start):
        for i in range(start, start + n):
            db.session.add(
                DnsRecord(product_id=domain.id, name=f"h{i}", type="A", ttl=60, data="192.0.2.1")
            )
            db.session.add(
                Mailbox(product_id=mail.id, local=f"u{i}", password_hash="{X}", quota_mb=1)
            )
            db.session.add(
                ProvisionTask(
                    product_id=domain.id, target="zone:example.com", summary={"code": "dns.add"}
                )
            )
        db.session.commit()

    grow(2, 0)
    few = [count_statements(testapp, domain_url(panel)), count_statements(testapp, mail_url(panel))]
    grow(60, 2)
    many = [
        count_statements(testapp, domain_url(panel)),
        count_statements(testapp, mail_url(panel)),
    ]
    assert few == many, (few, many)
    assert max(few) <= 15, few


def test_a_mail_page_names_the_other_mail_products_of_its_domain(testapp, login_as, panel):
    mailboxes.add_mailbox(
        product(panel, "email"), local="a", password="a long enough secret", quota="5", actor=None
    )
    db.session.commit()
    login_as(panel.owner)
    hosting = product(panel, "hosting")
    page = testapp.get(f"/panels/{panel.number}/email/{hosting.id}")
    notice = page.html.select_one("p.notice")
    assert notice.select_one("a")["href"] == mail_url(panel)
    assert "1 адрес" in notice.text
