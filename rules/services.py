"""What the groups manage in a panel [R8, R9]: a domain's nameservers, DNS records, registrant,
auto-renewal and transfer code (domains); a hosting product's sites (web); a mail domain's
mailboxes, aliases and catch-all (email).

Every change writes the desired state, an audit entry and an outbox entry in the caller's
transaction (rules.provisioning); nothing reaches a server until the worker applies it.
The views check the group (access.panel_for) and load the product with ``product_of``.
"""

import re
import secrets
import string

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    DnsRecord,
    DomainSettings,
    Group,
    MailAlias,
    Mailbox,
    Product,
    ProductKind,
    ProductStatus,
    Site,
    db,
)
from provision import mailpass
from provision.state import Record, Registrant
from rules import audit, billing, dns, passwords, provisioning, rows
from rules.domains import InvalidDomain, canonical
from rules.domains import validate as validate_domain
from rules.errors import DomainError, NotFound
from rules.provisioning import MAIL, REGISTRY, WEB, ZONE, ascii_domain

#: the most records a zone may hold
MAX_RECORDS = 500
MAILBOX_PASSWORD_MIN = 10
MAX_DESTINATIONS = 20
#: mail limits of products whose plan is unknown (by the product's kind)
DEFAULT_MAIL_LIMITS = {ProductKind.HOSTING: (25, 10240), ProductKind.EMAIL: (50, 25600)}


class InvalidInput(DomainError):
    """Input a rule refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class NotActive(DomainError):
    """The product is not active (waiting for payment, expired or cancelled)."""

    status = 409

    def default_message(self):
        return _l("This product is not active, so its settings cannot change now.")


class OtherNameservers(DomainError):
    status = 409

    def default_message(self):
        return _l(
            "The domain uses other nameservers, so records here are not served. "
            "Switch it back to the host's nameservers first."
        )


def product_of(panel, product_id, kinds):
    """The panel's product with this id and one of ``kinds``; another panel's id is not found."""
    product = db.session.get(Product, product_id)
    if product is None or product.panel_id != panel.id or product.kind not in kinds:
        raise NotFound()
    if not product.domain:
        raise NotFound()
    return product


def _require_active(product):
    """Lock the product (changes of one product queue up) and check it is active."""
    rows.lock(product)
    if product.status != ProductStatus.ACTIVE:
        raise NotActive()


def _child(model, product, child_id, *, gone_ok=False):
    """The product's row with this id. ``gone_ok``: None when no such row exists any more
    (a delete sent twice is done, not an error); another product's row is never found."""
    row = db.session.get(model, child_id)
    if row is None and gone_ok:
        return None
    if row is None or row.product_id != product.id:
        raise NotFound()
    return row


# --- domains -----------------------------------------------------------------------------


def settings_of(product):
    """The domain's settings; a default, unsaved one when nothing was set yet."""
    return db.session.get(DomainSettings, product.id) or DomainSettings(product_id=product.id)


def on_host_nameservers(product):
    return not settings_of(product).nameservers


def records_of(product):
    return db.session.scalars(
        select(DnsRecord)
        .where(DnsRecord.product_id == product.id)
        .order_by(DnsRecord.name, DnsRecord.type, DnsRecord.id)
    ).all()


def record_of(product, record_id, *, gone_ok=False):
    return _child(DnsRecord, product, record_id, gone_ok=gone_ok)


def set_nameservers(product, lines, *, host, actor):
    """Use the host's nameservers (``host``) or the custom ones in ``lines``."""
    _require_active(product)
    custom = None if host else list(dns.validate_nameservers(lines))
    row = provisioning.settings_row(product)
    if row.nameservers == custom:
        return False
    row.nameservers = custom
    audit.record(
        "domain.nameservers",
        actor=actor,
        panel=product.panel,
        domain=product.domain,
        nameservers=custom or "host",
    )
    provisioning.enqueue(product, REGISTRY, "domain.nameservers")
    provisioning.enqueue(product, ZONE, "domain.nameservers")
    return True


def _zone_record(product, fields):
    return dns.validate_record(
        ascii_domain(product.domain),
        name=fields.get("name"),
        type=fields.get("type"),
        ttl=fields.get("ttl"),
        value=fields.get("value"),
        priority=fields.get("priority"),
    )


def _existing(product):
    return [
        (r.id, Record(name=r.name, type=r.type, ttl=r.ttl, data=r.data))
        for r in records_of(product)
    ]


def _zone_change(product, code, record, actor):
    audit.record(
        code,
        actor=actor,
        panel=product.panel,
        domain=product.domain,
        record=f"{record.name} {record.ttl} {record.type} {record.data}"[:300],
    )
    provisioning.enqueue(product, ZONE, code, name=record.name, type=record.type)


def add_record(product, fields, *, actor):
    """Add a DNS record from the form's raw ``fields`` (name, type, ttl, priority, value)."""
    _require_active(product)
    if not on_host_nameservers(product):
        raise OtherNameservers()
    record = _zone_record(product, fields)
    existing = _existing(product)
    if len(existing) >= MAX_RECORDS:
        raise InvalidInput(_l("A zone holds at most %(n)d records.", n=MAX_RECORDS))
    dns.check_clash(existing, record, zone=ascii_domain(product.domain))
    row = DnsRecord(
        product_id=product.id, name=record.name, type=record.type, ttl=record.ttl, data=record.data
    )
    db.session.add(row)
    _zone_change(product, "dns.add", record, actor)
    db.session.flush()
    return row


def update_record(product, row, fields, *, actor):
    _require_active(product)
    if not on_host_nameservers(product):
        raise OtherNameservers()
    record = _zone_record(product, fields)
    dns.check_clash(_existing(product), record, replacing=row.id, zone=ascii_domain(product.domain))
    if (row.name, row.type, row.ttl, row.data) == (
        record.name,
        record.type,
        record.ttl,
        record.data,
    ):
        return row
    row.name, row.type, row.ttl, row.data = record.name, record.type, record.ttl, record.data
    _zone_change(product, "dns.update", record, actor)
    return row


def delete_record(product, row, *, actor):
    _require_active(product)
    record = Record(name=row.name, type=row.type, ttl=row.ttl, data=row.data)
    db.session.delete(row)
    _zone_change(product, "dns.delete", record, actor)


_PHONE = re.compile(r"\+[0-9]{1,3}\.[0-9]{4,14}")
_POSTCODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,14}")
REGISTRANT_LIMITS = {
    "name": 100,
    "organisation": 100,
    "email": 254,
    "phone": 20,
    "street": 200,
    "city": 100,
    "postcode": 16,
    "country": 2,
}


def _country_codes():
    from babel import Locale

    return {code for code in Locale("en").territories if len(code) == 2 and code.isalpha()}


def validate_registrant(fields):
    """Check a registrant contact typed into the form; return a Registrant or raise."""
    values = {key: " ".join(str(fields.get(key) or "").split()) for key in REGISTRANT_LIMITS}
    for key, limit in REGISTRANT_LIMITS.items():
        if len(values[key]) > limit:
            raise InvalidInput(_l("Use at most %(n)d characters.", n=limit), key)
    for key in ("name", "email", "phone", "street", "city", "postcode", "country"):
        if not values[key]:
            raise InvalidInput(_l("This field is required."), key)
    try:
        values["email"] = validate_email(values["email"], check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidInput(_l("Enter a valid email address."), "email") from None
    phone = values["phone"].replace(" ", "")
    if not _PHONE.fullmatch(phone):
        raise InvalidInput(
            _l("Write the phone as the registries want it: +359.888123456."), "phone"
        )
    values["phone"] = phone
    if not _POSTCODE.fullmatch(values["postcode"]):
        raise InvalidInput(_l("Enter a valid postcode."), "postcode")
    values["country"] = values["country"].upper()
    if values["country"] not in _country_codes():
        raise InvalidInput(_l("Choose a country."), "country")
    return Registrant(**values)


def set_registrant(product, fields, *, actor):
    _require_active(product)
    registrant = validate_registrant(fields)
    row = provisioning.settings_row(product)
    data = dict(registrant.__dict__)
    if row.registrant == data:
        return False
    row.registrant = data
    audit.record("domain.registrant", actor=actor, panel=product.panel, domain=product.domain)
    provisioning.enqueue(product, REGISTRY, "domain.registrant")
    return True


def set_domain_auto_renew(product, on, *, actor):
    """Switch the domain's auto-renewal (the same switch as on the renewals page)."""
    _require_active(product)
    if bool(on) == product.auto_renew:
        return False
    billing.set_auto_renew(actor, product, on, need=Group.DOMAINS)
    provisioning.enqueue(product, REGISTRY, "product.auto_renew", on=bool(on))
    return True


_CODE_ALPHABETS = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "-+=#")


def reveal_auth_code(product, *, actor):
    """The transfer-out code, made (and sent to the registry) when first asked for; audited."""
    _require_active(product)
    row = provisioning.settings_row(product)
    if not row.auth_code:
        chars = [secrets.choice(alphabet) for alphabet in _CODE_ALPHABETS]
        everything = "".join(_CODE_ALPHABETS)
        chars += [secrets.choice(everything) for _ in range(12)]
        secrets.SystemRandom().shuffle(chars)
        row.auth_code = "".join(chars)
        provisioning.enqueue(product, REGISTRY, "domain.auth_code")
    audit.record("domain.auth_code", actor=actor, panel=product.panel, domain=product.domain)
    return row.auth_code


# --- web sites -----------------------------------------------------------------------------

_DOCROOT = re.compile(r"[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,7}")


def php_versions():
    return tuple(current_app.config["PHP_VERSIONS"])


def sites_of(product):
    return db.session.scalars(
        select(Site).where(Site.product_id == product.id).order_by(Site.host)
    ).all()


def site_of(product, site_id, *, gone_ok=False):
    return _child(Site, product, site_id, gone_ok=gone_ok)


def is_main(product, site):
    return site.host == ascii_domain(product.domain)


def default_docroot(product, host):
    """'public_html' for the main domain, 'public_html/blog' for blog.example.com."""
    main = ascii_domain(product.domain)
    if host == main or not host.endswith("." + main):
        return "public_html"
    return "public_html/" + host[: -len(main) - 1].replace(".", "_")


def _validate_docroot(docroot):
    docroot = (docroot or "").strip().rstrip("/")
    # no part may start with a dot: ".", "..", and hidden folders such as .ssh stay private
    if not _DOCROOT.fullmatch(docroot) or any(p.startswith(".") for p in docroot.split("/")):
        raise InvalidInput(
            _l(
                "Use a folder inside the account, such as public_html/blog: Latin letters, "
                "digits, dots, dashes and underscores."
            ),
            "docroot",
        )
    return docroot


def _validate_php(php):
    if php not in php_versions():
        raise InvalidInput(_l("Choose one of the PHP versions offered."), "php")
    return php


def _site_host(product, host):
    try:
        name = validate_domain(host)
    except InvalidDomain as error:
        raise InvalidInput(error.message, "host") from None
    main = canonical(product.domain)
    if name != main and not name.endswith("." + main):
        raise InvalidInput(
            _l("A site here is %(domain)s or a subdomain of it.", domain=main), "host"
        )
    return ascii_domain(name)


def add_site(product, *, host, docroot, php, ssl, actor):
    _require_active(product)
    host = _site_host(product, host)
    if any(site.host == host for site in sites_of(product)):
        raise InvalidInput(_l("This site is already there."), "host")
    site = Site(
        product_id=product.id,
        host=host,
        docroot=_validate_docroot(docroot or default_docroot(product, host)),
        php=_validate_php(php),
        ssl=bool(ssl),
        ssl_status="none",
    )
    db.session.add(site)
    _web_change(product, "site.add", site, actor)
    db.session.flush()
    return site


def update_site(product, site, *, docroot, php, ssl, actor):
    _require_active(product)
    docroot, php, ssl = _validate_docroot(docroot), _validate_php(php), bool(ssl)
    if (site.docroot, site.php, site.ssl) == (docroot, php, ssl):
        return False
    code = "site.ssl" if site.ssl != ssl else "site.update"
    site.docroot, site.php, site.ssl = docroot, php, ssl
    _web_change(product, code, site, actor)
    return True


def delete_site(product, site, *, actor):
    _require_active(product)
    if is_main(product, site):
        raise InvalidInput(_l("The main domain's site stays while the hosting does."))
    db.session.delete(site)
    _web_change(product, "site.delete", site, actor)


def _web_change(product, code, site, actor):
    audit.record(
        code,
        actor=actor,
        panel=product.panel,
        host=site.host,
        docroot=site.docroot,
        php=site.php,
        ssl=site.ssl,
    )
    provisioning.enqueue(product, WEB, code, host=site.host, ssl=site.ssl)


def refresh_web(*, limit=10_000):
    """Queue a re-apply of every active hosting product's sites, so the backend reports again
    (certificates issued since, disk usage); for cron. Returns how many were queued."""
    products = db.session.scalars(
        select(Product)
        .where(
            Product.kind == ProductKind.HOSTING,
            Product.status == ProductStatus.ACTIVE,
            Product.id.in_(select(Site.product_id)),
        )
        .order_by(Product.id)
        .limit(limit)
    ).all()
    for product in products:
        provisioning.enqueue(product, WEB, "site.refresh", touch=False)
    return len(products)


def on_activated(product):
    """A hosting product that just became active gets its main site (once)."""
    if product.kind != ProductKind.HOSTING or not product.domain or sites_of(product):
        return
    host = ascii_domain(product.domain)
    site = Site(
        product_id=product.id,
        host=host,
        docroot="public_html",
        php=php_versions()[0],
        ssl=False,
        ssl_status="none",
    )
    db.session.add(site)
    provisioning.enqueue(product, WEB, "site.add", host=host, ssl=False)


# --- mail ------------------------------------------------------------------------------------

_LOCAL = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")


def mail_limits(product):
    """(how many mailboxes, their quotas together in MB) the product's plan allows."""
    if product.plan is not None:
        return product.plan.mailboxes, product.plan.mail_quota_mb
    return DEFAULT_MAIL_LIMITS.get(product.kind, (0, 0))


def mailboxes_of(product):
    return db.session.scalars(
        select(Mailbox).where(Mailbox.product_id == product.id).order_by(Mailbox.local)
    ).all()


def aliases_of(product):
    return db.session.scalars(
        select(MailAlias).where(MailAlias.product_id == product.id).order_by(MailAlias.local)
    ).all()


def mailbox_of(product, mailbox_id, *, gone_ok=False):
    return _child(Mailbox, product, mailbox_id, gone_ok=gone_ok)


def alias_of(product, alias_id, *, gone_ok=False):
    return _child(MailAlias, product, alias_id, gone_ok=gone_ok)


def quota_used(product, *, without=None):
    query = select(func.coalesce(func.sum(Mailbox.quota_mb), 0)).where(
        Mailbox.product_id == product.id
    )
    if without is not None:
        query = query.where(Mailbox.id != without.id)
    return db.session.scalar(query)


def _local_part(product, text, field="local"):
    """'info' or 'info@example.com' (on the product's domain) -> 'info'."""
    text = (text or "").strip().lower()
    if "@" in text:
        text, _, domain = text.rpartition("@")
        try:
            same = validate_domain(domain) == canonical(product.domain)
        except InvalidDomain:
            same = False
        if not same:
            raise InvalidInput(
                _l(
                    "Addresses here are on %(domain)s; another domain needs its own "
                    "mail product in the panel.",
                    domain=canonical(product.domain),
                ),
                field,
            )
    if not _LOCAL.fullmatch(text) or ".." in text:
        raise InvalidInput(
            _l(
                "Use Latin letters, digits and . _ + - before the @ "
                "(not at the start or the end), up to 64 characters."
            ),
            field,
        )
    return text


def address(product, local):
    return f"{local}@{canonical(product.domain)}" if local else f"@{canonical(product.domain)}"


def _quota(text, product, *, without=None):
    try:
        quota = int(str(text or "").strip())
    except ValueError:
        raise InvalidInput(_l("Enter the quota in whole megabytes."), "quota") from None
    _count, total = mail_limits(product)
    free = total - quota_used(product, without=without)
    if quota < 1:
        raise InvalidInput(_l("Enter the quota in whole megabytes."), "quota")
    if quota > free:
        raise InvalidInput(
            _l(
                "The plan allows %(total)d MB for all mailboxes; %(free)d MB are free.",
                total=total,
                free=max(free, 0),
            ),
            "quota",
        )
    return quota


def _password(product, local, password):
    password = password or ""
    if len(password) < MAILBOX_PASSWORD_MIN:
        raise InvalidInput(_l("Use at least %(n)d characters.", n=MAILBOX_PASSWORD_MIN), "password")
    problem = passwords.password_problem(password, email=address(product, local))
    if problem:
        raise InvalidInput(problem, "password")
    return mailpass.hash_password(password)


def _local_taken(product, local, *, mailbox=None, alias=None):
    taken = db.session.scalar(
        select(func.count(Mailbox.id)).where(
            Mailbox.product_id == product.id,
            Mailbox.local == local,
            Mailbox.id != (mailbox.id if mailbox else -1),
        )
    ) or db.session.scalar(
        select(func.count(MailAlias.id)).where(
            MailAlias.product_id == product.id,
            MailAlias.local == local,
            MailAlias.id != (alias.id if alias else -1),
        )
    )
    if taken:
        raise InvalidInput(
            _l("%(address)s is already a mailbox or an alias.", address=address(product, local)),
            "local",
        )


def _mail_change(product, code, actor, **details):
    audit.record(code, actor=actor, panel=product.panel, **details)
    provisioning.enqueue(product, MAIL, code, **details)


def add_mailbox(product, *, local, password, quota, actor):
    _require_active(product)
    local = _local_part(product, local)
    _local_taken(product, local)
    count, _total = mail_limits(product)
    if len(mailboxes_of(product)) >= count:
        raise InvalidInput(_l("The plan allows %(n)d mailboxes; all are in use.", n=count))
    mailbox = Mailbox(
        product_id=product.id,
        local=local,
        quota_mb=_quota(quota, product),
        password_hash=_password(product, local, password),
    )
    db.session.add(mailbox)
    _mail_change(product, "mailbox.add", actor, address=address(product, local))
    db.session.flush()
    return mailbox


def update_mailbox(product, mailbox, *, quota, password, actor):
    """Change the quota, and the password when one is given."""
    _require_active(product)
    quota = _quota(quota, product, without=mailbox)
    new_hash = _password(product, mailbox.local, password) if password else None
    if quota == mailbox.quota_mb and new_hash is None:
        return False
    mailbox.quota_mb = quota
    if new_hash:
        mailbox.password_hash = new_hash
    _mail_change(
        product,
        "mailbox.update",
        actor,
        address=address(product, mailbox.local),
        quota_mb=quota,
        password_changed=bool(new_hash),
    )
    return True


def delete_mailbox(product, mailbox, *, actor):
    _require_active(product)
    db.session.delete(mailbox)
    _mail_change(product, "mailbox.delete", actor, address=address(product, mailbox.local))


def _destinations(product, text, local):
    items = [item for item in re.split(r"[\s,;]+", (text or "").strip()) if item]
    if not items:
        raise InvalidInput(_l("Enter where the mail goes: one or more addresses."), "destinations")
    if len(items) > MAX_DESTINATIONS:
        raise InvalidInput(
            _l("An alias sends mail to at most %(n)d addresses.", n=MAX_DESTINATIONS),
            "destinations",
        )
    result = []
    for item in items:
        try:
            email = validate_email(item, check_deliverability=False)
        except EmailNotValidError:
            raise InvalidInput(
                _l("“%(address)s” is not a valid email address.", address=item[:80]),
                "destinations",
            ) from None
        normal = f"{email.local_part.lower()}@{email.ascii_domain.lower()}"
        if normal == f"{local}@{ascii_domain(product.domain)}":
            raise InvalidInput(_l("An alias cannot send mail to itself."), "destinations")
        if normal not in result:
            result.append(normal)
    return result


def add_alias(product, *, local, destinations, actor):
    _require_active(product)
    local = _local_part(product, local)
    _local_taken(product, local)
    alias = MailAlias(
        product_id=product.id, local=local, destinations=_destinations(product, destinations, local)
    )
    db.session.add(alias)
    _mail_change(
        product, "alias.add", actor, address=address(product, local), to=alias.destinations
    )
    db.session.flush()
    return alias


def delete_alias(product, alias, *, actor):
    _require_active(product)
    db.session.delete(alias)
    _mail_change(product, "alias.delete", actor, address=address(product, alias.local))


def catch_all_of(product):
    return next((a for a in aliases_of(product) if a.local == ""), None)


def set_catch_all(product, destination, *, actor):
    """Send mail for unknown addresses to ``destination``; empty: refuse it again."""
    _require_active(product)
    current = catch_all_of(product)
    if not (destination or "").strip():
        if current is None:
            return False
        db.session.delete(current)
        _mail_change(product, "alias.catch_all", actor, address=address(product, ""), to="")
        return True
    targets = _destinations(product, destination, "")
    if current is not None and current.destinations == targets:
        return False
    if current is None:
        current = MailAlias(product_id=product.id, local="", destinations=targets)
        db.session.add(current)
    current.destinations = targets
    _mail_change(product, "alias.catch_all", actor, address=address(product, ""), to=targets)
    return True
