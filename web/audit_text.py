"""The audit log's details as phrases in the reader's language, not as stored keys.

An entry's details are a dict written by rules/audit.record (plain values: emails, numbers,
group names, cents, basis points, {"before": …, "after": …}). Each key has a phrase here; a
test checks that every key the code records has one.
"""

from flask_babel import lazy_gettext as _l

from models import InvitationKind, PaidVia
from rules.access import GROUP_LABELS
from web import labels

#: key -> (phrase with %(value)s, how the value reads)
DETAILS = {
    "address": (_l("address %(value)s"), "text"),
    "after": (_l("rights now: %(value)s"), "groups"),
    "before": (_l("rights before: %(value)s"), "groups"),
    "amount_cents": (_l("amount %(value)s"), "money"),
    "changes": (_l("changed: %(value)s"), "changes"),
    "client": (_l("for the client %(value)s"), "text"),
    "code": (_l("plan code %(value)s"), "text"),
    "company": (_l("company %(value)s"), "text"),
    "count": (_l("messages: %(value)s"), "text"),
    "docroot": (_l("folder %(value)s"), "text"),
    "domain": (_l("domain %(value)s"), "domain"),
    "effective_from": (_l("from %(value)s"), "text"),
    "email": (_l("address %(value)s"), "text"),
    "from_panel": (_l("from panel № %(value)s"), "text"),
    "groups": (_l("rights: %(value)s"), "groups"),
    "host": (_l("host %(value)s"), "domain"),
    "invoices": (_l("invoices № %(value)s"), "list"),
    "kind": (_l("invitation: %(value)s"), "invitation"),
    "mail": (_l("message № %(value)s"), "text"),
    "minimum_deposit_cents": (_l("minimum deposit %(value)s"), "money"),
    "move": (_l("move № %(value)s"), "text"),
    "moved_by": (_l("moved by %(value)s"), "text"),
    "name": (_l("name “%(value)s”"), "text"),
    "nameservers": (_l("nameservers %(value)s"), "list"),
    "new_owner": (_l("new owner %(value)s"), "text"),
    "new_owner_had": (_l("the new owner had %(value)s"), "groups"),
    "number": (_l("invoice № %(value)s"), "text"),
    "old_owner": (_l("previous owner %(value)s"), "text"),
    "old_owner_groups": (_l("the previous owner keeps %(value)s"), "groups"),
    "on": (_l("automatic renewal %(value)s"), "onoff"),
    "owner": (_l("owner %(value)s"), "text"),
    "partner": (_l("partner № %(value)s"), "text"),
    "partner_groups": (_l("the partner's rights: %(value)s"), "groups"),
    "php": (_l("PHP %(value)s"), "text"),
    "plan": (_l("plan %(value)s"), "plan"),
    "password_changed": (_l("password changed: %(value)s"), "yesno"),
    "products": (_l("products: %(value)s"), "list"),
    "quota_mb": (_l("quota %(value)s"), "megabytes"),
    "rate_bp": (_l("rate %(value)s"), "percent"),
    "reason": (_l("reason: %(value)s"), "text"),
    "record": (_l("record %(value)s"), "text"),
    "reference": (_l("reference %(value)s"), "text"),
    "ssl": (_l("HTTPS %(value)s"), "onoff"),
    "tiers_bp": (_l("volume tiers %(value)s"), "tiers"),
    "to": (_l("to %(value)s"), "list"),
    "to_panel": (_l("to panel № %(value)s"), "text"),
    "total_cents": (_l("total %(value)s"), "money"),
    "user": (_l("user %(value)s"), "text"),
    "via": (_l("paid %(value)s"), "via"),
    "voided_cents": (_l("voided %(value)s"), "money"),
}

#: the families of actions (the part before the dot), for the log's filter
FAMILIES = {
    "panel": _l("panels and ownership"),
    "grant": _l("access to panels"),
    "invitation": _l("invitations"),
    "client": _l("client lists"),
    "partner": _l("partners"),
    "move": _l("moves of products"),
    "product": _l("products"),
    "domain": _l("domains"),
    "dns": _l("DNS records"),
    "site": _l("sites"),
    "mailbox": _l("mailboxes"),
    "alias": _l("mail aliases"),
    "provision": _l("provisioning"),
    "invoice": _l("invoices"),
    "topup": _l("deposit top-ups"),
    "withdrawal": _l("withdrawals"),
    "plan": _l("catalogue plans"),
    "tiers": _l("volume tiers"),
    "vat": _l("VAT"),
    "affiliate": _l("the affiliate rate"),
    "referral": _l("referrals"),
    "mail": _l("undelivered mail"),
    "user": _l("staff users"),
}

#: a plan's fields, as a catalogue change names them
PLAN_FIELDS = {
    "code": (_l("code"), "text"),
    "kind": (_l("kind"), "text"),
    "name_bg": (_l("name in Bulgarian"), "text"),
    "name_en": (_l("name in English"), "text"),
    "price_cents": (_l("price a month"), "money"),
    "base_months": (_l("months the price is for"), "text"),
    "volume_eligible": (_l("counts for the volume discount"), "yesno"),
    "mailboxes": (_l("mailboxes"), "text"),
    "mail_quota_mb": (_l("mail quota"), "megabytes"),
    "retired": (_l("withdrawn from sale"), "yesno"),
    "periods_bp": (_l("period discounts"), "periods"),
}

#: the groups by their stored names, in the order the app always lists them
GROUP_NAMES = {group.name.lower(): GROUP_LABELS[group] for group in GROUP_LABELS}


def describe(details):
    """The entry's details as phrases, in the order they were recorded."""
    phrases = []
    for key, value in (details or {}).items():
        if value is None:
            continue  # nothing to say (rights before a first grant)
        phrase, kind = DETAILS.get(key, ("%(value)s", "text"))
        phrases.append(str(phrase) % {"value": _value(value, kind)})
    return phrases


def _value(value, kind):
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return f"{_value(value['before'], kind)} → {_value(value['after'], kind)}"
    if value is None:
        return "—"
    if kind == "changes":
        return "; ".join(
            f"{PLAN_FIELDS.get(field, (field, 'text'))[0]} "
            f"{_value(change, PLAN_FIELDS.get(field, (field, 'text'))[1])}"
            for field, change in value.items()
        )
    if kind == "plan":
        name = value.get("name_bg") if isinstance(value, dict) else value
        return f"{name} ({value.get('code')})" if isinstance(value, dict) else str(name)
    if kind == "periods":
        return (
            ", ".join(
                f"{labels.period(int(months))} −{labels.percent(bp)}"
                for months, bp in value.items()
            )
            or "—"
        )
    if kind == "tiers":
        return (
            ", ".join(
                str(_l("from %(count)s: %(rate)s", count=count, rate=labels.percent(bp)))
                for count, bp in value.items()
            )
            or "—"
        )
    if isinstance(value, list | tuple):
        if kind == "groups":
            ordered = [str(label) for name, label in GROUP_NAMES.items() if name in value]
            return ", ".join(ordered) or str(_l("none"))
        return ", ".join(str(_value(item, "text")) for item in value)
    return _scalar(value, kind)


def _scalar(value, kind):
    if kind == "money" and isinstance(value, int):
        return labels.money(value)
    if kind == "percent" and isinstance(value, int):
        return labels.percent(value)
    if kind == "megabytes" and isinstance(value, int):
        return labels.megabytes(value)
    if kind in {"onoff", "yesno"} or isinstance(value, bool):
        on, off = (_l("on"), _l("off")) if kind == "onoff" else (_l("yes"), _l("no"))
        return str(on if value else off)
    if kind == "via" and value in {v.value for v in PaidVia}:
        return str(labels.PAID_VIA[PaidVia(value)])
    if kind == "invitation" and value in {k.value for k in InvitationKind}:
        return str(labels.INVITATION_KIND[InvitationKind(value)])
    if kind == "domain":
        return labels.idn(value)
    return str(value)
