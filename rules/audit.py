"""The audit log: every grant, revocation, invitation, transfer, link, unlink and decision."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import AuditEntry, Group, User, db
from rules.listings import paginate


def record(action, *, actor, panel=None, **details):
    """Write one audit entry in the current transaction."""
    entry = AuditEntry(
        action=action,
        actor_id=getattr(actor, "id", None),
        panel_id=getattr(panel, "id", None),
        details={key: _plain(value) for key, value in details.items()},
    )
    db.session.add(entry)
    return entry


def _plain(value):
    # Groups are stored as their names, so the log reads the same if the bits ever change.
    if isinstance(value, Group):
        return sorted(g.name.lower() for g in Group if g in value)
    return value


#: what each action code means, for the log pages
ACTIONS = {
    "panel.create": _l("panel created"),
    "panel.transfer": _l("ownership transferred"),
    "panel.hand_over": _l("panel handed over to its client"),
    "grant.create": _l("access given"),
    "grant.accept": _l("access accepted"),
    "grant.update": _l("rights changed"),
    "grant.delete": _l("access removed"),
    "invitation.access": _l("invited to the panel"),
    "invitation.client_link": _l("invited to a partner's client list"),
    "invitation.ownership": _l("invited to own a panel"),
    "invitation.accept": _l("invitation accepted"),
    "invitation.decline": _l("invitation declined"),
    "invitation.revoke": _l("invitation revoked"),
    "client.create": _l("client panel created"),
    "client.link": _l("added to a partner's client list"),
    "client.unlink": _l("removed from a partner's client list"),
    "partner.apply": _l("applied to the Partner Program"),
    "partner.approve": _l("partner approved"),
    "partner.reject": _l("application rejected"),
    "partner.suspend": _l("partner suspended"),
    "plan.create": _l("plan added to the catalogue"),
    "plan.update": _l("plan changed"),
    "tiers.update": _l("volume tiers changed"),
    "vat.update": _l("VAT rate changed"),
    "vat.cancel": _l("scheduled VAT rate withdrawn"),
    "invoice.issue": _l("invoice issued"),
    "invoice.pay": _l("invoice paid"),
    "invoice.cancel": _l("invoice cancelled"),
    "invoice.refund": _l("invoice refunded"),
    "mail.retry": _l("failed mail queued again"),
    "user.staff": _l("made staff"),
    "user.unstaff": _l("no longer staff"),
    "topup.request": _l("deposit top-up requested"),
    "topup.credit": _l("deposit top-up credited"),
    "product.auto_renew": _l("auto-renewal changed"),
    "domain.nameservers": _l("nameservers changed"),
    "domain.registrant": _l("registrant contact changed"),
    "domain.auth_code": _l("transfer code shown"),
    "dns.add": _l("DNS record added"),
    "dns.update": _l("DNS record changed"),
    "dns.delete": _l("DNS record deleted"),
    "site.add": _l("site added"),
    "site.update": _l("site changed"),
    "site.ssl": _l("site's SSL switched"),
    "site.delete": _l("site removed"),
    "site.refresh": _l("sites checked again"),
    "product.active": _l("product active: served"),
    "provision.again": _l("applied once more (a slow server)"),
    "product.inactive": _l("product expired: no longer served"),
    "mailbox.add": _l("mailbox created"),
    "mailbox.update": _l("mailbox changed"),
    "mailbox.delete": _l("mailbox deleted"),
    "alias.add": _l("alias added"),
    "alias.delete": _l("alias deleted"),
    "alias.catch_all": _l("catch-all changed"),
    "withdrawal.request": _l("deposit withdrawal requested"),
    "withdrawal.paid": _l("deposit withdrawal paid out"),
    "withdrawal.rejected": _l("deposit withdrawal rejected"),
    "product.move": _l("products moved between panels"),
    "move.request": _l("move waiting for the client to accept"),
    "move.cancel": _l("waiting move cancelled"),
    "move.undo": _l("move undone"),
    "referral.void": _l("affiliate referral voided"),
    "affiliate.rate": _l("affiliate rate changed"),
    "partner.activate": _l("partner active: first deposit reached the minimum"),
}


def search(*, panel=None, actor=None, action=None, since=None, until=None, page=1, per_page=50):
    """A page of the log, newest first: of one panel (or all), by whose address holds
    ``actor``, of one action (or a family: "invoice" is every invoice.* action), between two
    days (Sofia's, both included)."""
    query = select(AuditEntry).options(
        selectinload(AuditEntry.actor), selectinload(AuditEntry.panel)
    )
    if panel is not None:
        query = query.where(AuditEntry.panel_id == panel.id)
    if actor:
        pattern = "%" + actor.strip().lower().replace("%", "").replace("_", "") + "%"
        query = query.join(User, User.id == AuditEntry.actor_id).where(
            func.lower(User.email).like(pattern)
        )
    if action:
        query = query.where(
            (AuditEntry.action == action) | AuditEntry.action.startswith(f"{action}.")
        )
    if since is not None:
        query = query.where(AuditEntry.created_at >= _sofia_midnight(since))
    if until is not None:
        query = query.where(AuditEntry.created_at < _sofia_midnight(until + timedelta(days=1)))
    return paginate(query, (AuditEntry.id.desc(),), page, per_page)


def _sofia_midnight(day):
    return datetime.combine(day, time.min, ZoneInfo("Europe/Sofia"))


#: the families of actions, for the log's filter
FAMILIES = sorted({action.partition(".")[0] for action in ACTIONS})
