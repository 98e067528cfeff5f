"""Invoices and their lines, deposit top-ups, payment-provider events, the cart, and
idempotency records (DESIGN.md 3.5). Money moves only through the ledger (models/ledger.py).
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.access import Panel, Product
from models.base import UTCDateTime, db, enum_column, utcnow
from models.catalogue import Plan
from models.partners import Partner
from models.users import User


class InvoiceStatus(enum.StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


class PaidVia(enum.StrEnum):
    DEPOSIT = "deposit"
    COMMISSION = "commission"
    #: commission and deposit together, in the order the partner chose
    BALANCES = "balances"
    BANK_TRANSFER = "bank_transfer"
    PROVIDER = "provider"


class Invoice(db.Model):
    """What is owed for new or renewed products; paid whole, never in part [R19-R21]."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("net_cents >= 0 AND vat_cents >= 0", name="amounts"),
        CheckConstraint("total_cents = net_cents + vat_cents", name="total"),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid"),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= total_cents", name="refunded"),
        Index("ix_invoices_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the public number, gap-free from 1 (given when the invoice is issued)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    #: the reference a bank transfer must quote to pay this invoice
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: set when a partner buys: its own invoices block withdrawing the deposit [R18]
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    #: the volume rate the lines were priced with (0 when the partner does not pay)
    volume_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    vat_bp: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus), default=InvoiceStatus.UNPAID
    )
    paid_via: Mapped[PaidVia | None] = mapped_column(enum_column(PaidVia))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the partner whose deposit or commission paid it (None: paid from outside)
    paid_by_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    buyer: Mapped[User] = relationship()
    partner: Mapped[Partner | None] = relationship(foreign_keys=[partner_id])
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id"
    )

    def __repr__(self):
        return f"<Invoice {self.number} {self.status} {self.total_cents}>"


class LineKind(enum.StrEnum):
    NEW = "new"
    RENEWAL = "renewal"


class InvoiceLine(db.Model):
    """One priced line, copied from the quote when the invoice was issued; never repriced."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("total_cents = net_cents + vat_cents", name="total"),
        CheckConstraint(
            "net_cents = list_cents - period_discount_cents - volume_discount_cents", name="net"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[LineKind] = mapped_column(enum_column(LineKind))
    #: for a renewal: the product's expiry when the invoice was issued; paying it later, after
    #: the product was renewed some other way, would renew it twice, so that is refused
    renews_from: Mapped[date | None] = mapped_column(Date)
    #: what the line is for, as issued: plan name and domain
    description: Mapped[str] = mapped_column(String(400))
    months: Mapped[int] = mapped_column(Integer)
    list_cents: Mapped[int] = mapped_column(BigInteger)
    period_discount_cents: Mapped[int] = mapped_column(BigInteger)
    volume_discount_cents: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: what a client's payment of this line earns its partner (managed commission), as quoted
    commission_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the partner the product is attributed to when the line was issued, and its rate
    commission_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    commission_rate_bp: Mapped[int] = mapped_column(Integer, default=0)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    panel: Mapped[Panel] = relationship()
    plan: Mapped[Plan] = relationship()


class TopUpStatus(enum.StrEnum):
    REQUESTED = "requested"
    CREDITED = "credited"


class TopUp(db.Model):
    """A partner's deposit top-up by bank transfer (or provider), with its unique reference."""

    __tablename__ = "top_ups"
    __table_args__ = (CheckConstraint("amount_cents IS NULL OR amount_cents > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    #: what arrived (set when credited)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[TopUpStatus] = mapped_column(
        enum_column(TopUpStatus), default=TopUpStatus.REQUESTED
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the date on the bank statement
    received_on: Mapped[date | None] = mapped_column(Date)
    credited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: how the money came: a bank transfer staff recorded, or the payment provider (whose
    #: payments can be reversed for a while: they are not withdrawable until they settle)
    credited_via: Mapped[PaidVia | None] = mapped_column(enum_column(PaidVia))

    partner: Mapped[Partner] = relationship()


class ProviderEvent(db.Model):
    """A payment provider's webhook event, kept so a redelivery changes nothing."""

    __tablename__ = "provider_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(40))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    #: what it did: "credited top-up DEP-…", "paid invoice 12"…
    outcome: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CartItem(db.Model):
    """A line waiting in a user's cart: a new product, or the renewal of one."""

    __tablename__ = "cart_items"
    __table_args__ = (
        CheckConstraint("months > 0", name="months"),
        UniqueConstraint("user_id", "renew_product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    months: Mapped[int] = mapped_column(Integer)
    #: the canonical (Unicode, lower-case) domain of a new product
    domain: Mapped[str | None] = mapped_column(String(253))
    #: the panel a new product goes to; None with ``new_panel_name`` set means a new panel
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id"))
    new_panel_name: Mapped[str | None] = mapped_column(String(120))
    #: set for a renewal
    renew_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[Plan] = relationship()
    panel: Mapped[Panel | None] = relationship()
    renew_product: Mapped[Product | None] = relationship()


class IdempotencyRecord(db.Model):
    """A money POST already handled: its key, what was asked, and where it led."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: a hash of the endpoint and the form's fields (the CSRF token left out)
    fingerprint: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WithdrawalStatus(enum.StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    REJECTED = "rejected"


class Withdrawal(db.Model):
    """A partner's request to take money out of its deposit [R18]; held until staff decides."""

    __tablename__ = "withdrawals"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    #: which balance it comes from: "deposit" or "commission"
    source: Mapped[str] = mapped_column(String(16), default="deposit")
    #: where the money goes, as the partner gave it
    iban: Mapped[str] = mapped_column(String(40))
    status: Mapped[WithdrawalStatus] = mapped_column(
        enum_column(WithdrawalStatus), default=WithdrawalStatus.REQUESTED
    )
    #: the pending (two-phase) transfer that holds the amount
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")

    partner: Mapped[Partner] = relationship()


class JobMark(db.Model):
    """Something the daily job did once ("renewal:<product>:<expiry>"): a second run skips it."""

    __tablename__ = "job_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissionKind(enum.StrEnum):
    #: recurring, for clients the partner manages [R11, R14]
    MANAGED = "managed"
    #: one-time, for users who came through the partner's link [R15, R16]
    AFFILIATE = "affiliate"


class CommissionStatus(enum.StrEnum):
    #: held (a pending transfer) until the refund window passes
    PENDING = "pending"
    AVAILABLE = "available"
    #: refunded inside the window: the hold was released
    VOIDED = "voided"


class Commission(db.Model):
    """What one paid invoice line earns one partner, once per kind (DESIGN.md 3.4)."""

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("invoice_line_id", "partner_id", "kind"),
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint("reversed_cents >= 0 AND reversed_cents <= amount_cents", name="reversed"),
        Index("ix_commissions_status_clears", "status", "clears_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[CommissionKind] = mapped_column(enum_column(CommissionKind))
    rate_bp: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[CommissionStatus] = mapped_column(
        enum_column(CommissionStatus), default=CommissionStatus.PENDING
    )
    #: the pending transfer that holds it while it clears
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    clears_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: taken back by refunds after it cleared
    reversed_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    invoice_line: Mapped[InvoiceLine] = relationship()
    partner: Mapped[Partner] = relationship()


class Refund(db.Model):
    """Money staff gave back on a paid invoice, wholly or in part."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship()
