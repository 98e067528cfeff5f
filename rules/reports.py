"""What partners read: history, statements, the dashboard's figures (staff read staff_reports)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from models import (
    Account,
    AccountKind,
    Commission,
    CommissionStatus,
    Invoice,
    InvoiceLine,
    Panel,
    Product,
    ProductStatus,
    Transfer,
    db,
)
from rules import catalogue, ledger
from rules.pricing import price_line


def history(partner, *, account_kind=None, transfer_kind=None, limit=500):
    """The partner's deposit and commission transfers, newest first, as (account kind,
    transfer, signed amount)."""
    accounts = db.session.scalars(select(Account).where(Account.partner_id == partner.id)).all()
    if account_kind is not None:
        accounts = [a for a in accounts if a.kind == account_kind]
    by_id = {a.id: a for a in accounts}
    if not by_id:
        return []
    query = (
        select(Transfer)
        .where(Transfer.debit_account_id.in_(by_id) | Transfer.credit_account_id.in_(by_id))
        .order_by(Transfer.id.desc())
        .limit(limit)
    )
    if transfer_kind is not None:
        query = query.where(Transfer.kind == transfer_kind)
    rows = []
    for transfer in db.session.scalars(query):
        if transfer.credit_account_id in by_id:
            rows.append((by_id[transfer.credit_account_id].kind, transfer, transfer.amount))
        if transfer.debit_account_id in by_id:
            rows.append((by_id[transfer.debit_account_id].kind, transfer, -transfer.amount))
    return rows


def commissions_by_month(partner, *, months=12, today=None):
    """[(first day of month, cents earned)] for the last ``months`` months, oldest first."""
    today = today or date.today()
    firsts = []
    year, month = today.year, today.month
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    start = datetime.combine(firsts[0], time.min, UTC)
    earned = db.session.execute(
        select(Commission.earned_at, Commission.amount_cents - Commission.reversed_cents).where(
            Commission.partner_id == partner.id,
            Commission.earned_at >= start,
            Commission.status != CommissionStatus.VOIDED,
        )
    ).all()
    totals = dict.fromkeys(firsts, 0)
    for earned_at, cents in earned:
        totals[date(earned_at.year, earned_at.month, 1)] += cents
    return list(totals.items())


@dataclass(frozen=True)
class Runway:
    deposit_cents: int
    #: {30: cents due, 60: …, 90: …}: renewals of the partner's products and auto-renewals
    due: dict
    #: the first product (by expiry) whose renewal the deposit will not cover, or None
    first_uncovered: Product | None


def runway(partner, *, today=None):
    """Renewals the deposit will pay in the next 90 days, and where the money runs out."""
    today = today or date.today()
    deposit = ledger.balance(AccountKind.DEPOSIT, partner).available
    own = select(Panel.id).where(Panel.owner_id == partner.user_id)
    products = db.session.scalars(
        select(Product)
        .where(
            Product.status == ProductStatus.ACTIVE,
            Product.plan_id.is_not(None),
            Product.expires_on <= today + timedelta(days=90),
            Product.panel_id.in_(own)
            | (Product.auto_renew & (Product.attributed_partner_id == partner.id)),
        )
        .order_by(Product.expires_on, Product.id)
    ).all()
    standing = catalogue.standing(partner)
    vat = catalogue.vat_bp()
    due, left, first = {30: 0, 60: 0, 90: 0}, deposit, None
    for product in products:
        months = min(p.months for p in product.plan.periods)
        cost = price_line(
            catalogue.plan_price(product.plan),
            months,
            partner_pays=True,
            volume_rate_bp=standing.rate_bp,
            vat_bp=vat,
        ).total_cents
        days = (product.expires_on - today).days
        for window in due:
            if days <= window:
                due[window] += cost
        left -= cost
        if left < 0 and first is None:
            first = product
    return Runway(deposit, due, first)


@dataclass(frozen=True)
class Statement:
    invoices: list
    paid_cents: int
    unpaid_cents: int
    commission_cents: int


def statement(partner, panel, start, end):
    """A client panel's invoices between ``start`` and ``end`` (dates), what was paid, and
    the commission they earned the partner."""
    begin = datetime.combine(start, time.min, UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, UTC)
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.id.in_(select(InvoiceLine.invoice_id).where(InvoiceLine.panel_id == panel.id)),
            Invoice.issued_at >= begin,
            Invoice.issued_at < finish,
        )
        .order_by(Invoice.number)
    ).all()
    ids = [i.id for i in invoices]
    commission = (
        db.session.scalar(
            select(func.coalesce(func.sum(Commission.amount_cents - Commission.reversed_cents), 0))
            .join(InvoiceLine, InvoiceLine.id == Commission.invoice_line_id)
            .where(
                Commission.partner_id == partner.id,
                InvoiceLine.invoice_id.in_(ids),
                Commission.status != CommissionStatus.VOIDED,
            )
        )
        if ids
        else 0
    )
    paid = sum(i.total_cents - i.refunded_cents for i in invoices if i.status.value == "paid")
    unpaid = sum(i.total_cents for i in invoices if i.status.value == "unpaid")
    return Statement(invoices, paid, unpaid, commission)


def commission_summary(partner):
    """(available, pending, debt) of the partner's commission."""
    account = ledger.existing_account(AccountKind.COMMISSION, partner)
    pending = account.credits_pending if account else 0
    available = account.available if account else 0
    return available, pending, partner.commission_debt_cents
