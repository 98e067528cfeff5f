"""A domain's settings [R8]: its nameservers, DNS records (the zone), registrant,
auto-renewal and transfer code.

Every change writes the desired state, an audit entry and an outbox entry in the caller's
transaction (rules.provisioning); nothing reaches a server until the worker applies it.
The views check the group (access.panel_for) and load the product with
``serving.product_of``.
"""

import re
import secrets
import string

import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    DnsRecord,
    DomainSettings,
    Group,
    db,
)
from provision.state import Record, Registrant
from rules import audit, auto_renew, dns, provisioning, serving
from rules.domains import canonical
from rules.errors import DomainError
from rules.provisioning import REGISTRY, ZONE, ascii_domain
from rules.serving import InvalidFields, InvalidInput

#: the most records a zone may hold
MAX_RECORDS = 500


class OtherNameservers(DomainError):
    status = 409

    def default_message(self):
        return _l(
            "The domain uses other nameservers, so records here are not served. "
            "Switch it back to the host's nameservers first."
        )


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
    return serving.child_row(DnsRecord, product, record_id, gone_ok=gone_ok)


def set_nameservers(product, lines, *, host, actor):
    """Use the host's nameservers (``host``) or the custom ones in ``lines``."""
    serving.require_active(product)
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
    serving.require_active(product)
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
    serving.require_active(product)
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
    serving.require_active(product)
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
    serving.require_active(product)
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
    serving.require_active(product)
    if bool(on) == product.auto_renew:
        return False
    auto_renew.set_auto_renew(actor, product, on, need=Group.DOMAINS)  # queues the registry
    return True


_CODE_ALPHABETS = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "-+=#")


def reveal_auth_code(product, *, actor):
    """The transfer-out code, made (and sent to the registry) when first asked for; audited."""
    serving.require_active(product)
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
