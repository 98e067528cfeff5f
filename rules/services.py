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
from dataclasses import dataclass

import phonenumbers
from babel import Locale
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
from rules import audit, auto_renew, dns, passwords, provisioning, rows
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


class InvalidFields(InvalidInput):
    """Several fields are wrong at once: ``errors`` maps each field to its message."""

    def __init__(self, errors):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = errors


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


class HeldElsewhere(DomainError):
    """Another panel's product on the same domain is the one the servers follow."""

    status = 409

    def default_message(self):
        return _l(
            "Another control panel serves this domain, so this product's settings are not "
            "used. Ask the host's support to sort out who holds the domain."
        )


#: which products' data make up what the servers get for a domain, by the product's kind
_SERVED_WITH = {
    ProductKind.DOMAIN: [ProductKind.DOMAIN],
    ProductKind.HOSTING: [ProductKind.HOSTING],
    ProductKind.EMAIL: list(provisioning.MAIL_KINDS),
}


def _require_active(product, kinds=None):
    """Lock the product (changes of one product queue up), check it is active and that its
    panel is the one serving the domain (``kinds``: the products served together)."""
    rows.lock(product)
    if product.status != ProductStatus.ACTIVE:
        raise NotActive()
    kinds = kinds or _SERVED_WITH[product.kind]
    holder = provisioning.holder_panel_id(product.domain, kinds)
    if holder is not None and holder != product.panel_id:
        raise HeldElsewhere()


def _same_domain(product, kinds):
    """The ids of the panel's products on the product's domain, of ``kinds``."""
    return db.session.scalars(
        select(Product.id).where(
            Product.panel_id == product.panel_id,
            Product.domain == product.domain,
            Product.kind.in_(kinds),
        )
    ).all()


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
    zone = ascii_domain(product.domain)
    inside = [name for name in custom or () if name == zone or name.endswith("." + zone)]
    if inside:
        raise InvalidInput(
            _l(
                "%(name)s is inside %(domain)s itself: such nameservers need their addresses "
                "at the registry (glue), which the panel cannot set yet. Use nameservers under "
                "another domain.",
                name=canonical(inside[0]),
                domain=canonical(product.domain),
            ),
            "lines",
        )
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


_LEADING_NUMBER = re.compile(r"\s*([0-9]{1,5})\s+(\S.*)", re.DOTALL)


def _zone_record(product, fields):
    value, priority = fields.get("value"), fields.get("priority")
    kind = str(fields.get("type") or "").upper()
    if kind in ("MX", "SRV") and not str(priority or "").strip():
        # "10 mail.example.com" typed into the value, as zone files write it
        typed = _LEADING_NUMBER.fullmatch(str(value or ""))
        if typed and len(str(value).split()) == (2 if kind == "MX" else 4):
            priority, value = typed.groups()
    return dns.validate_record(
        ascii_domain(product.domain),
        name=fields.get("name"),
        type=fields.get("type"),
        ttl=fields.get("ttl"),
        value=value,
        priority=priority,
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


#: two-letter codes in CLDR's territory list that are not countries (regions, test codes)
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


def country_codes():
    """ISO 3166-1 alpha-2 codes a registrant can be in (CLDR's list, without the regions)."""
    return {
        code
        for code in Locale("en").territories
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    }


def _phone(text):
    """'+359 888 123 456', '+359.888123456' -> '+359.888123456' (the registries' EPP form)."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return f"+{number.country_code}.{number.national_number}"


def validate_registrant(fields):
    """Check a registrant contact typed into the form; return a Registrant, or raise
    InvalidFields with a message for every field that is wrong."""
    values = {key: " ".join(str(fields.get(key) or "").split()) for key in REGISTRANT_LIMITS}
    errors = {}
    for key, limit in REGISTRANT_LIMITS.items():
        if len(values[key]) > limit:
            errors[key] = _l("Use at most %(n)d characters.", n=limit)
        elif not values[key] and key != "organisation":
            errors[key] = _l("This field is required.")
    if values["email"] and "email" not in errors:
        try:
            values["email"] = validate_email(values["email"], check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = _l("Enter a valid email address.")
    if values["phone"] and "phone" not in errors:
        values["phone"] = _phone(values["phone"]) or ""
        if not values["phone"]:
            errors["phone"] = _l("Enter the phone with its country code, such as +359 888 123 456.")
    if (
        values["postcode"]
        and "postcode" not in errors
        and not _POSTCODE.fullmatch(values["postcode"])
    ):
        errors["postcode"] = _l("Enter a valid postcode.")
    values["country"] = values["country"].upper()
    if "country" not in errors and values["country"] not in country_codes():
        errors["country"] = _l("Choose a country.")
    if errors:
        raise InvalidFields(errors)
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
    auto_renew.set_auto_renew(actor, product, on, need=Group.DOMAINS)  # queues the registry
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
    if len(docroot) > 200:
        raise InvalidInput(_l("Use at most %(n)d characters.", n=200), "docroot")
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


def _served_elsewhere(product, host):
    """Whether another hosting product has this site, or is itself on this host name."""
    other_site = db.session.scalar(
        select(func.count(Site.id)).where(Site.host == host, Site.product_id != product.id)
    )
    other_product = db.session.scalar(
        select(func.count(Product.id)).where(
            Product.id != product.id,
            Product.kind == ProductKind.HOSTING,
            Product.domain == canonical(host),
            Product.status == ProductStatus.ACTIVE,
        )
    )
    return bool(other_site or other_product)


def add_site(product, *, host, docroot, php, ssl, actor):
    _require_active(product)
    host = _site_host(product, host)
    if any(site.host == host for site in sites_of(product)):
        raise InvalidInput(_l("This site is already there."), "host")
    if _served_elsewhere(product, host):
        raise InvalidInput(
            _l(
                "%(host)s is served by another hosting product; manage it there.",
                host=canonical(host),
            ),
            "host",
        )
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


def _served_targets(product):
    """The targets a product's data is part of: its zone, its mail domain, its sites."""
    kinds = []
    if product.kind == ProductKind.DOMAIN:
        kinds.append(ZONE)
    if product.kind in provisioning.MAIL_KINDS and (mailboxes_of(product) or aliases_of(product)):
        kinds.append(MAIL)
    if product.kind == ProductKind.HOSTING and sites_of(product):
        kinds.append(WEB)
    return kinds


def on_activated(product):
    """A product that just became active: a hosting product gets its main site (once), and
    what it holds is served (again)."""
    if not product.domain:
        return
    made = False
    host = ascii_domain(product.domain)
    served = db.session.scalar(select(func.count(Site.id)).where(Site.host == host))
    if product.kind == ProductKind.HOSTING and not sites_of(product) and not served:
        site = Site(
            product_id=product.id,
            host=host,
            docroot="public_html",
            php=php_versions()[0],
            ssl=False,
            ssl_status="none",
        )
        db.session.add(site)
        db.session.flush()
        provisioning.enqueue(product, WEB, "site.add", host=host, ssl=False)
        made = True
    for kind in _served_targets(product):
        if not (made and kind == WEB):
            provisioning.enqueue(product, kind, "product.active", touch=False)


def on_deactivated(product):
    """A product that expired: the servers stop serving what it holds (the data stays)."""
    if not product.domain:
        return
    for kind in _served_targets(product):
        provisioning.enqueue(product, kind, "product.inactive", touch=False)


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


def _mail_products(product):
    """The panel's mail products on this domain: their addresses share one mail domain."""
    return _same_domain(product, provisioning.MAIL_KINDS)


@dataclass(frozen=True)
class Sibling:
    id: int
    plan_id: int | None
    plan_name: str


def mail_siblings(product):
    """The panel's other mail products on this domain, with how many addresses each holds."""
    ids = [other for other in _mail_products(product) if other != product.id]
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Product.id,
            Product.plan_id,
            Product.plan_name,
            func.count(func.distinct(Mailbox.id)) + func.count(func.distinct(MailAlias.id)),
        )
        .outerjoin(Mailbox, Mailbox.product_id == Product.id)
        .outerjoin(MailAlias, MailAlias.product_id == Product.id)
        .where(Product.id.in_(ids))
        .group_by(Product.id, Product.plan_id, Product.plan_name)
        .order_by(Product.id)
    ).all()
    return [(Sibling(id=row[0], plan_id=row[1], plan_name=row[2]), row[3]) for row in rows]


def _local_exists(product, local):
    ids = _mail_products(product)
    return bool(
        db.session.scalar(
            select(func.count(Mailbox.id)).where(
                Mailbox.product_id.in_(ids), Mailbox.local == local
            )
        )
        or db.session.scalar(
            select(func.count(MailAlias.id)).where(
                MailAlias.product_id.in_(ids), MailAlias.local == local
            )
        )
    )


def _local_taken(product, local):
    if _local_exists(product, local):
        raise InvalidInput(
            _l("%(address)s is already a mailbox or an alias.", address=address(product, local)),
            "local",
        )


def _mail_change(product, code, actor, **details):
    audit.record(code, actor=actor, panel=product.panel, **details)
    provisioning.enqueue(product, MAIL, code, **details)


def add_mailbox(product, *, local, password, quota, actor):
    _require_active(product, provisioning.MAIL_KINDS)
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
    _require_active(product, provisioning.MAIL_KINDS)
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
    _require_active(product, provisioning.MAIL_KINDS)
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
        own_domain = email.ascii_domain.lower() == ascii_domain(product.domain)
        if own_domain and email.local_part.lower() == local:
            raise InvalidInput(_l("An alias cannot send mail to itself."), "destinations")
        if own_domain and not _local_exists(product, email.local_part.lower()):
            raise InvalidInput(
                _l(
                    "%(address)s is neither a mailbox nor an alias here: create it first.",
                    address=address(product, email.local_part.lower()),
                ),
                "destinations",
            )
        if normal not in result:
            result.append(normal)
    return result


def add_alias(product, *, local, destinations, actor):
    _require_active(product, provisioning.MAIL_KINDS)
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
    _require_active(product, provisioning.MAIL_KINDS)
    db.session.delete(alias)
    _mail_change(product, "alias.delete", actor, address=address(product, alias.local))


def catch_all_of(product):
    return next((a for a in aliases_of(product) if a.local == ""), None)


def set_catch_all(product, destination, *, actor):
    """Send mail for unknown addresses to ``destination``; empty: refuse it again."""
    _require_active(product, provisioning.MAIL_KINDS)
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
