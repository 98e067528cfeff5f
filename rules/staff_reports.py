"""What staff read: the queue, partners by status, payments and withdrawals waiting, an
invoice's refunds, and the affiliate figures per partner."""

from dataclasses import dataclass

from sqlalchemy import func, select

from models import (
    AffiliateDay,
    Commission,
    CommissionKind,
    CommissionStatus,
    Invoice,
    InvoiceStatus,
    Partner,
    PartnerStatus,
    Referral,
    Refund,
    TopUp,
    TopUpStatus,
    Withdrawal,
    WithdrawalStatus,
    db,
)


@dataclass
class StaffQueue:
    """What waits for staff: how many of each, oldest first on the pages they link to."""

    applications: int
    transfers: int
    invoices: int
    withdrawals: int

    @property
    def total(self):
        return self.applications + self.transfers + self.invoices + self.withdrawals


def staff_queue():
    """Count what waits for staff: partner applications, top-ups and invoices awaiting their
    bank transfer, withdrawals to pay out or reject."""

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return StaffQueue(
        applications=count(Partner, Partner.status == PartnerStatus.APPLIED),
        transfers=count(TopUp, TopUp.status == TopUpStatus.REQUESTED),
        invoices=count(Invoice, Invoice.status == InvoiceStatus.UNPAID),
        withdrawals=count(Withdrawal, Withdrawal.status == WithdrawalStatus.REQUESTED),
    )


def partner_counts():
    """{partner status: how many partners and applicants have it} (absent: none)."""
    return dict(
        db.session.execute(select(Partner.status, func.count()).group_by(Partner.status)).all()
    )


def partners_with_status(status, *, limit=500):
    """Partners and applicants in ``status``, the earliest applicant first."""
    return db.session.scalars(
        select(Partner).where(Partner.status == status).order_by(Partner.applied_at).limit(limit)
    ).all()


def waiting_top_ups(*, limit=200):
    """Top-ups whose bank transfer has not been recorded yet, the newest first."""
    return db.session.scalars(
        select(TopUp)
        .where(TopUp.status == TopUpStatus.REQUESTED)
        .order_by(TopUp.id.desc())
        .limit(limit)
    ).all()


def unpaid_invoices(*, limit=200):
    """Every unpaid invoice, the newest number first."""
    return db.session.scalars(
        select(Invoice)
        .where(Invoice.status == InvoiceStatus.UNPAID)
        .order_by(Invoice.number.desc())
        .limit(limit)
    ).all()


def withdrawals(*, limit=200):
    """Withdrawals waiting for a decision, then the decided ones; the newest first in each."""
    return db.session.scalars(
        select(Withdrawal)
        .order_by((Withdrawal.status == WithdrawalStatus.REQUESTED).desc(), Withdrawal.id.desc())
        .limit(limit)
    ).all()


def invoice_by_number(number):
    """Any invoice by its number, or None."""
    return db.session.scalar(select(Invoice).where(Invoice.number == number))


def refunds_of(invoice):
    """The invoice's refunds, in the order they were booked."""
    return db.session.scalars(
        select(Refund).where(Refund.invoice_id == invoice.id).order_by(Refund.id)
    ).all()


def affiliate_figures():
    """Per approved partner, by number: (partner, {clicks, visitors, signups, first_orders,
    commission_cents}) — its affiliate link's totals, void referrals and commissions left out."""

    def per_partner(query):
        return dict(db.session.execute(query).all())

    clicks = per_partner(
        select(AffiliateDay.partner_id, func.sum(AffiliateDay.clicks)).group_by(
            AffiliateDay.partner_id
        )
    )
    visitors = per_partner(
        select(AffiliateDay.partner_id, func.sum(AffiliateDay.visitors)).group_by(
            AffiliateDay.partner_id
        )
    )
    signups = per_partner(
        select(Referral.partner_id, func.count())
        .where(Referral.voided_at.is_(None))
        .group_by(Referral.partner_id)
    )
    orders = per_partner(
        select(Referral.partner_id, func.count())
        .where(Referral.first_invoice_id.is_not(None), Referral.voided_at.is_(None))
        .group_by(Referral.partner_id)
    )
    earned = per_partner(
        select(
            Commission.partner_id,
            func.sum(Commission.amount_cents - Commission.reversed_cents),
        )
        .where(
            Commission.kind == CommissionKind.AFFILIATE,
            Commission.status != CommissionStatus.VOIDED,
        )
        .group_by(Commission.partner_id)
    )
    approved = db.session.scalars(
        select(Partner).where(Partner.status == PartnerStatus.APPROVED).order_by(Partner.number)
    ).all()
    return [
        (
            p,
            {
                "clicks": clicks.get(p.id, 0),
                "visitors": visitors.get(p.id, 0),
                "signups": signups.get(p.id, 0),
                "first_orders": orders.get(p.id, 0),
                "commission_cents": earned.get(p.id, 0),
            },
        )
        for p in approved
    ]


def recent_referrals(*, limit=100):
    """The latest referrals, the newest first."""
    return db.session.scalars(select(Referral).order_by(Referral.id.desc()).limit(limit)).all()
