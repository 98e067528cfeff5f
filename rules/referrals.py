"""Affiliate attribution (DESIGN.md 3.4): who a partner's link brought, and what it earned.

- **At sign-up** a valid click cookie (signed by this app, inside its lifetime) makes the new
  user referred by that partner: the last click before sign-up wins, and it is frozen after.
  Never for the partner itself, nor for a person the partner invited into its own panels.
  An existing user following a link changes nothing (nothing happens outside sign-up).
- **The first paid invoice** of a referred user earns the partner a one-time affiliate
  commission on each line of a product no partner manages (managed wins; never both), at
  the staff's rate, through the commission lifecycle (pending, clearing, reversal). An
  invoice the partner paid itself earns nothing and leaves the first invoice to come.
- **Staff** can void a fraudulent referral: its pending commission is voided with it.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from models import (
    ClientLink,
    Commission,
    CommissionKind,
    CommissionStatus,
    Grant,
    Invitation,
    InvoiceLine,
    Panel,
    Partner,
    PartnerStatus,
    ProgramSetting,
    Referral,
    db,
    utcnow,
)
from rules import audit, invitations, ledger, rows, settings
from rules.errors import DomainError

RATE_KEY = "affiliate_rate_bp"


def affiliate_rate():
    """The one-time affiliate commission rate, in basis points of the net."""
    stored = db.session.get(ProgramSetting, RATE_KEY)
    return stored.value if stored is not None else settings.get("AFFILIATE_RATE_BP", 2000)


class RateOutOfRange(DomainError):
    def default_message(self):
        return _l("Enter a rate from 0 to 100%.")


def set_affiliate_rate(rate_bp, *, actor):
    """Staff changes the rate; it applies to first invoices paid from now on."""
    if not 0 <= rate_bp <= 10_000:
        raise RateOutOfRange()
    before = affiliate_rate()
    stored = db.session.get(ProgramSetting, RATE_KEY)
    if stored is None:
        db.session.add(ProgramSetting(key=RATE_KEY, value=rate_bp))
    else:
        stored.value = rate_bp
    audit.record("affiliate.rate", actor=actor, rate_bp={"before": before, "after": rate_bp})


def _invited_by(partner, email):
    """Whether the partner has invited this address into one of its panels (a client of it)."""
    return bool(
        invitations.waiting(
            Invitation.email == email,
            (Invitation.partner_id == partner.id) | (Invitation.inviter_id == partner.user_id),
        )
    )


def _in_partners_panels(partner, user_id):
    """Whether the user owns or holds a grant on a panel the partner owns or manages."""
    partner_panels = (
        select(Panel.id)
        .where(Panel.owner_id == partner.user_id)
        .union(select(ClientLink.panel_id).where(ClientLink.partner_id == partner.id))
    )
    owns = select(Panel.id).where(Panel.owner_id == user_id, Panel.id.in_(partner_panels))
    holds = select(Grant.id).where(Grant.user_id == user_id, Grant.panel_id.in_(partner_panels))
    return db.session.scalar(select(exists(owns) | exists(holds)))


def attribute(user, click):
    """At sign-up: make ``user`` referred by the partner of ``click``, or not.

    ``click`` is what the browser's click cookie says (``affiliate.links.read_cookie``: number,
    click id, when), or None when it brought no valid one (invalid, tampered, expired, foreign).
    Returns the Referral or None.
    """
    if click is None:
        return None
    partner = db.session.scalar(
        select(Partner).where(
            Partner.number == click.number, Partner.status == PartnerStatus.APPROVED
        )
    )
    if partner is None or partner.user_id == user.id or _invited_by(partner, user.email):
        return None
    referral = Referral(
        user_id=user.id,
        partner_id=partner.id,
        click_id=click.click_id,
        clicked_at=click.issued_at,
    )
    db.session.add(referral)
    db.session.flush()
    return referral


def earn_first_invoice(invoice, managed_line_ids, book, *, now):
    """Book the one-time affiliate commission if this is a referred user's first paid invoice.

    ``book(line, partner, kind, rate_bp)`` is the commission lifecycle's own booking.
    """
    referral = db.session.scalar(select(Referral).where(Referral.user_id == invoice.buyer_id))
    if referral is None or referral.first_invoice_id or referral.voided_at:
        return []
    rows.lock(referral)
    if referral.first_invoice_id or referral.voided_at:
        return []  # a concurrent payment of another invoice was first
    partner = referral.partner
    if invoice.paid_by_partner_id == partner.id or invoice.partner_id == partner.id:
        return []  # the partner's own money earns it nothing; the first invoice is yet to come
    referral.first_invoice_id = invoice.id
    referral.first_paid_at = now
    if not partner.is_approved or _in_partners_panels(partner, invoice.buyer_id):
        return []  # a person of the partner's own panels is no affiliate's find
    rate_bp = affiliate_rate()
    return [
        commission
        for line in invoice.lines
        if line.id not in managed_line_ids
        for commission in [book(line, partner, CommissionKind.AFFILIATE, rate_bp)]
        if commission is not None
    ]


class NotVoidable(DomainError):
    status = 409

    def default_message(self):
        return _l("This referral is already void.")


def void(referral, *, reason, actor):
    """Staff voids a fraudulent referral; its pending affiliate commissions are voided."""
    rows.lock(referral)
    if referral.voided_at is not None:
        raise NotVoidable()
    referral.voided_at = utcnow()
    referral.voided_by_id = actor.id
    referral.void_reason = reason.strip()[:500]
    voided = 0
    for commission in pending_commissions(referral):
        rows.lock(commission)
        if commission.status != CommissionStatus.PENDING:
            continue
        hold = db.session.get(ledger.Transfer, commission.hold_id)
        ledger.void(hold, key=f"commission:{commission.id}:referral-void")
        commission.status = CommissionStatus.VOIDED
        voided += commission.amount_cents
    audit.record(
        "referral.void",
        actor=actor,
        partner=referral.partner.number,
        user=referral.user.email,
        reason=referral.void_reason,
        voided_cents=voided,
    )
    return voided


def pending_commissions(referral):
    """The affiliate commissions the referral's first invoice earned that are still held."""
    if referral.first_invoice_id is None:
        return []
    return db.session.scalars(
        select(Commission)
        .join(InvoiceLine, InvoiceLine.id == Commission.invoice_line_id)
        .where(
            InvoiceLine.invoice_id == referral.first_invoice_id,
            Commission.partner_id == referral.partner_id,
            Commission.kind == CommissionKind.AFFILIATE,
            Commission.status == CommissionStatus.PENDING,
        )
        .order_by(Commission.id)
    ).all()


def mask(email):
    """'maria.petrova@example.com' -> 'm***a@e***.com': enough to recognise, not to mail."""
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    hide = lambda text: text[:1] + "***" + (text[-1:] if len(text) > 2 else "")  # noqa: E731
    return f"{hide(local)}@{hide(name)}{dot}{tld}" if name else f"{hide(local)}@{hide(domain)}"


def referrals_of(partner, *, limit=200):
    return db.session.scalars(
        select(Referral)
        .options(selectinload(Referral.user))
        .where(Referral.partner_id == partner.id)
        .order_by(Referral.id.desc())
        .limit(limit)
    ).all()


class Figures:
    """A partner's affiliate figures per day (last 30) and per month (last 12).

    ``click_totals(partner_id, since)`` gives the link's clicks and unique visitors per day
    (``affiliate.clicks.totals``: the link service counts them, the rules only add them up).
    """

    def __init__(self, partner, click_totals, *, today=None):
        today = today or datetime.now(UTC).date()
        self.days = [today - timedelta(days=n) for n in range(29, -1, -1)]
        first_month = _month(today, -11)
        self.months = [_month(today, n) for n in range(-11, 1)]
        per_day, per_month = (
            defaultdict(lambda: defaultdict(int)),
            defaultdict(lambda: defaultdict(int)),
        )

        def add(day, field, value):
            if day >= self.days[0]:
                per_day[day][field] += value
            if day >= first_month:
                per_month[_month(day)][field] += value

        for day, clicks, visitors in click_totals(partner.id, first_month):
            add(day, "clicks", clicks)
            add(day, "visitors", visitors)
        since = datetime.combine(first_month, datetime.min.time(), UTC)
        valid = (Referral.partner_id == partner.id) & Referral.voided_at.is_(None)
        for referral in db.session.scalars(
            select(Referral).where(valid, Referral.created_at >= since)
        ):
            add(referral.created_at.date(), "signups", 1)
        for referral in db.session.scalars(
            select(Referral).where(valid, Referral.first_paid_at >= since)
        ):
            add(referral.first_paid_at.date(), "first_orders", 1)
        for commission in db.session.scalars(
            select(Commission).where(
                Commission.partner_id == partner.id,
                Commission.kind == CommissionKind.AFFILIATE,
                Commission.status != CommissionStatus.VOIDED,
                Commission.earned_at >= since,
            )
        ):
            earned = commission.amount_cents - commission.reversed_cents
            add(commission.earned_at.date(), "commission_cents", earned)
        self.per_day = [(d, per_day[d]) for d in self.days]
        self.per_month = [(m, per_month[m]) for m in self.months]
        self.total = defaultdict(int)
        for _month_start, values in self.per_month:
            for field, value in values.items():
                self.total[field] += value

    def series(self, field, *, monthly=False):
        rows = self.per_month if monthly else self.per_day
        return [(day, values[field]) for day, values in rows]

    @property
    def conversion(self):
        """First orders per unique visitor over the 12 months, as basis points."""
        visitors = self.total["visitors"]
        return round(self.total["first_orders"] * 10_000 / visitors) if visitors else 0


def _month(day, shift=0):
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)
