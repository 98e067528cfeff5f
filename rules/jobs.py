"""The daily job (DESIGN.md 3.5): renewal invoices, auto-renewal, reminders, expiry.

Run by cron as ``flask jobs run``. Each step is done once per thing and date: a mark with a
unique key ("renewal:<product>:<expiry>") is written in the same transaction as the work, so
running the job twice — or two jobs at once — does each thing once. Every product is handled
in its own transaction, so one failure does not hold back the rest.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JobMark,
    LineKind,
    Plan,
    Product,
    ProductStatus,
    db,
    utcnow,
)
from rules import billing, catalogue, commissions, ledger, partners, payments, services

#: renewal invoices are issued this many days before expiry
NOTICE_DAYS = 30
#: reminders go out this many days before expiry
REMINDER_DAYS = (30, 7, 1)
#: an unpaid product stays active this long after its expiry (or its invoice's due date)
GRACE_DAYS = 15


@dataclass
class Report:
    renewal_invoices: int = 0
    commissions_cleared: int = 0
    auto_renewed: int = 0
    reminders: list = field(default_factory=list)
    expired: int = 0
    cancelled_invoices: int = 0


def once(key):
    """Mark ``key`` as done in this transaction; False if it was done before."""
    try:
        with db.session.begin_nested():
            db.session.add(JobMark(key=key))
    except IntegrityError:
        return False
    return True


def _last_months(product):
    months = db.session.scalar(
        select(InvoiceLine.months)
        .where(InvoiceLine.product_id == product.id)
        .order_by(InvoiceLine.id.desc())
        .limit(1)
    )
    offered = sorted(p.months for p in product.plan.periods)
    return months if months in offered else offered[0]


def renew(product, today, report):
    """Issue the product's renewal invoice once; pay it from the deposit if set to auto-renew."""
    if not once(f"renewal:{product.id}:{product.expires_on.isoformat()}"):
        return None
    partner = partners.managing_partner(product)
    pays = partner is not None and (product.auto_renew or partner.user_id == product.panel.owner_id)
    buyer = partner.user if pays else product.panel.owner
    standing = catalogue.standing(partner) if pays else None
    entry = (product.plan, _last_months(product), product, LineKind.RENEWAL)
    invoice = billing.issue_invoice(
        buyer, [entry], partner=partner if pays else None, standing=standing, today=today
    )
    report.renewal_invoices += 1
    if product.auto_renew and pays:
        try:
            with db.session.begin_nested():
                payments.pay_from_deposit(invoice, partner, actor=None)
            report.auto_renewed += 1
        except ledger.InsufficientFunds:
            pass  # it waits, unpaid, like any other invoice; the reminders say so
    return invoice


def _remind(product, today, report, remind):
    """Send the nearest reminder not sent yet (a missed day does not lose it, nor send two)."""
    days = (product.expires_on - today).days
    thresholds = [t for t in REMINDER_DAYS if 0 <= days <= t]
    if not thresholds:
        return
    keys = [f"reminder:{product.id}:{product.expires_on.isoformat()}:{t}" for t in thresholds]
    nearest = min(thresholds)
    fresh = [once(key) for key in keys]
    if fresh[thresholds.index(nearest)]:
        report.reminders.append((product.id, days))
        if remind is not None:
            remind(product, days)  # in this transaction: the mark and the mail go together


def run(today=None, *, remind=None):
    """Do the day's work; return what was done.

    ``remind(product, days)`` writes a renewal reminder (the mail outbox, for the CLI); it is
    called in the transaction that marks the reminder as sent.
    """
    today = today or date.today()
    report = Report()
    due = db.session.scalars(
        select(Product.id).where(
            Product.status == ProductStatus.ACTIVE,
            Product.plan_id.is_not(None),
            Product.expires_on.is_not(None),
            Product.expires_on <= today + timedelta(days=NOTICE_DAYS),
        )
    ).all()
    db.session.commit()
    for product_id in due:
        product = db.session.get(
            Product, product_id, options=[selectinload(Product.plan).selectinload(Plan.periods)]
        )
        if product.status == ProductStatus.ACTIVE and product.expires_on <= today + timedelta(
            days=NOTICE_DAYS
        ):
            renew(product, today, report)
            _remind(product, today, report, remind)
            if product.expires_on + timedelta(days=GRACE_DAYS) < today:
                product.status = ProductStatus.EXPIRED
                services.on_deactivated(product)
                report.expired += 1
        db.session.commit()
    _cancel_lapsed_orders(today, report)
    now = utcnow() if today == date.today() else datetime.combine(today, time.min, UTC)
    report.commissions_cleared = commissions.clear(now)
    db.session.commit()
    return report


def _cancel_lapsed_orders(today, report):
    """Unpaid invoices past their due date and the grace, and renewal invoices made stale by
    a renewal paid some other way: cancelled."""
    lapsed = db.session.scalars(
        select(Invoice.id).where(
            Invoice.status == InvoiceStatus.UNPAID,
            Invoice.due_on < today - timedelta(days=GRACE_DAYS),
        )
    ).all()
    stale = db.session.scalars(
        select(Invoice.id)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .join(Product, Product.id == InvoiceLine.product_id)
        .where(
            Invoice.status == InvoiceStatus.UNPAID,
            InvoiceLine.kind == LineKind.RENEWAL,
            Product.expires_on != InvoiceLine.renews_from,
        )
    ).all()
    lapsed = sorted(set(lapsed) | set(stale))
    db.session.commit()
    for invoice_id in lapsed:
        invoice = db.session.get(Invoice, invoice_id)
        try:
            payments.cancel(invoice, actor=None)
        except billing.BillingError:
            db.session.rollback()  # paid meanwhile
            continue
        report.cancelled_invoices += 1
        db.session.commit()
