"""Commissions (DESIGN.md 3.4): earned on paid lines, held while they clear, reversed on refunds.

- **Attribution**: a new product carries the partner of the client panel it is ordered into
  (``Product.attributed_partner_id``), for its whole life — moves and unlinking change nothing.
- **Managed commission**: when an invoice is paid by anyone but that partner, each line of a
  volume-eligible plan earns the partner its rate (staff's override, else its tier rate) on
  the line's net. One commission per (line, partner, kind): a unique constraint decides.
- **Lifecycle**: it is held by a pending transfer (commission_expense → the partner's
  commission account) for ``CLEARING`` (30 days), then the daily job posts it: available.
- **Refunds**: inside the window the hold is released and the rest (if any) held again;
  after it, the refunded share is taken back from the commission account, and what that
  account cannot cover now becomes a debt that later commissions pay off first. A commission
  is never reversed by more than it earned.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    AccountKind,
    ClientLink,
    Commission,
    CommissionKind,
    CommissionStatus,
    Partner,
    TransferKind,
    db,
    utcnow,
)
from rules import catalogue, ledger, referrals, rows, settings
from rules.pricing import percent_of

#: how long a commission is held before it can be spent or withdrawn (COMMISSION_CLEARING_DAYS)
CLEARING = timedelta(days=30)


def clearing():
    return timedelta(days=settings.get("COMMISSION_CLEARING_DAYS", CLEARING.days))


def attributed_partner_id(panel_id):
    """The partner a new product in this panel earns for: the panel's client-list partner."""
    return db.session.scalar(select(ClientLink.partner_id).where(ClientLink.panel_id == panel_id))


def rate(partner):
    """The partner's managed commission rate now: staff's override, else its tier rate."""
    if partner.commission_rate_bp is not None:
        return partner.commission_rate_bp
    return catalogue.standing(partner).rate_bp


def _lock(commission):
    rows.lock(commission)


def earn(invoice, *, now=None):
    """Book the managed commissions of a just-paid invoice, and the one-time affiliate
    commission when it is a referred user's first paid invoice; return them."""
    now = now or utcnow()
    window = clearing()

    def book(line, partner, kind, rate_bp):
        return _book(invoice, line, partner, kind, rate_bp, now=now, window=window)

    earned = []
    for line in invoice.lines:
        partner_id = line.product.attributed_partner_id
        if partner_id is None or partner_id == invoice.partner_id:
            continue  # nobody to earn, or the invoice was the partner's own, with its discount
        # (a client's invoice, priced without the discount, earns it whoever pays: when the
        # partner pays it from its balances, the commission is the discount it did not get)
        if not line.plan.volume_eligible:
            continue
        partner = db.session.get(Partner, partner_id)
        if partner is None or not partner.is_approved:
            continue
        # the rate the invoice showed when it was issued; its partner's current rate otherwise
        rate_bp = (
            line.commission_rate_bp if line.commission_partner_id == partner.id else rate(partner)
        )
        commission = book(line, partner, CommissionKind.MANAGED, rate_bp)
        if commission is not None:
            earned.append(commission)
    # A line of a managed product (a client panel's) never earns affiliate commission too.
    managed = {line.id for line in invoice.lines if line.product.attributed_partner_id}
    earned += referrals.earn_first_invoice(invoice, managed, book, now=now)
    db.session.flush()
    return earned


def _book(invoice, line, partner, kind, rate_bp, *, now, window):
    """One commission on one line, held while it clears; None when nothing is due or it
    was booked already (a retry or a concurrent twin: the unique constraint decides)."""
    amount = percent_of(line.net_cents, rate_bp)
    if amount <= 0:
        return None
    commission = Commission(
        invoice_line_id=line.id,
        partner_id=partner.id,
        kind=kind,
        rate_bp=rate_bp,
        amount_cents=amount,
        earned_at=now,
        clears_at=now + window,
    )
    try:
        with db.session.begin_nested():
            db.session.add(commission)
    except IntegrityError:
        return None
    hold = ledger.transfer(
        ledger.account(AccountKind.COMMISSION_EXPENSE),
        ledger.account(AccountKind.COMMISSION, partner),
        amount,
        kind=TransferKind.COMMISSION,
        key=f"commission:{commission.id}",
        pending=True,
        reference=invoice.reference,
    )
    commission.hold_id = hold.id
    return commission


def clear(now=None):
    """Make every commission whose window has passed available; return how many."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Commission.id).where(
            Commission.status == CommissionStatus.PENDING, Commission.clears_at <= now
        )
    ).all()
    cleared = 0
    for commission_id in due:
        commission = db.session.get(Commission, commission_id)
        _lock(commission)
        if commission.status != CommissionStatus.PENDING or commission.clears_at > now:
            continue  # a concurrent job got there first
        hold = db.session.get(ledger.Transfer, commission.hold_id)
        ledger.post(hold, key=f"commission:{commission.id}:clear:{hold.id}")
        commission.status = CommissionStatus.AVAILABLE
        _settle_debt(commission.partner, f"commission:{commission.id}")
        cleared += 1
        db.session.flush()
    return cleared


def _settle_debt(partner, key):
    """Pay off refunds the commission account could not cover, from what is available now."""
    rows.lock(partner)
    if not partner.commission_debt_cents:
        return
    account = ledger.account(AccountKind.COMMISSION, partner)
    account = ledger.lock(account)[account.id]
    take = min(partner.commission_debt_cents, account.available)
    if take > 0:
        ledger.transfer(
            account,
            ledger.account(AccountKind.COMMISSION_EXPENSE),
            take,
            kind=TransferKind.REFUND,
            key=f"{key}:debt",
            reference="",
        )
        partner.commission_debt_cents -= take


def reverse(invoice, refund):
    """Take back the share of each commission of ``invoice`` that its refunds now cover."""
    for commission in db.session.scalars(
        select(Commission)
        .join(Commission.invoice_line)
        .where(Commission.invoice_line.has(invoice_id=invoice.id))
        .order_by(Commission.id)
    ):
        _lock(commission)
        # the refunded share of the invoice, rounded half up, never above the commission
        target = min(
            commission.amount_cents,
            (commission.amount_cents * invoice.refunded_cents * 2 + invoice.total_cents)
            // (2 * invoice.total_cents),
        )
        delta = target - commission.reversed_cents
        if delta <= 0:
            continue
        key = f"commission:{commission.id}:refund:{refund.id}"
        if commission.status == CommissionStatus.PENDING:
            _shrink_hold(commission, target, key)
        elif commission.status == CommissionStatus.AVAILABLE:
            _take_back(commission.partner, delta, key, invoice.reference)
        commission.reversed_cents = target
    db.session.flush()


def _shrink_hold(commission, target, key):
    """Inside the window: release the hold, and hold again what is left of the commission."""
    hold = db.session.get(ledger.Transfer, commission.hold_id)
    ledger.void(hold, key=f"{key}:void")
    left = commission.amount_cents - target
    if left == 0:
        commission.status = CommissionStatus.VOIDED
        return
    again = ledger.transfer(
        ledger.account(AccountKind.COMMISSION_EXPENSE),
        ledger.account(AccountKind.COMMISSION, commission.partner),
        left,
        kind=TransferKind.COMMISSION,
        key=f"{key}:hold",
        pending=True,
        reference=hold.reference,
    )
    commission.hold_id = again.id


def _take_back(partner, amount, key, reference):
    """After the window: take it back from the account; what it cannot cover becomes a debt."""
    rows.lock(partner)
    account = ledger.account(AccountKind.COMMISSION, partner)
    account = ledger.lock(account)[account.id]
    take = min(amount, account.available)
    if take > 0:
        ledger.transfer(
            account,
            ledger.account(AccountKind.COMMISSION_EXPENSE),
            take,
            kind=TransferKind.REFUND,
            key=key,
            reference=reference,
        )
    partner.commission_debt_cents += amount - take


def move_to_deposit(partner, amount_cents, *, key, actor=None):
    """Move available commission into the deposit (to pay orders from it at once: the caller
    then runs payments.pay_waiting_orders, as after any money reaching the deposit)."""
    transfer = ledger.transfer(
        ledger.account(AccountKind.COMMISSION, partner),
        ledger.account(AccountKind.DEPOSIT, partner),
        amount_cents,
        kind=TransferKind.TO_DEPOSIT,
        key=key,
        reference="",
        actor=actor,
    )
    return transfer
