"""The ledger (DESIGN.md 3.6), modelled on TigerBeetle: accounts and append-only transfers.

A transfer moves a positive amount of cents from a debit account to a credit account, so the
book always balances. Two-phase transfers hold money: a *pending* transfer reserves the
amount, and a later transfer either *posts* it or *voids* it; the pending row itself never
changes (database triggers refuse any UPDATE or DELETE of a transfer). Each account caches its
four sums, updated in the transaction that writes the transfer with the account rows locked;
``flask ledger check`` recomputes them from the transfers.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, enum_column, utcnow


class AccountKind(enum.StrEnum):
    #: a partner's prepaid, withdrawable money [R17-R18]
    DEPOSIT = "deposit"
    #: a partner's earned commissions [R24]
    COMMISSION = "commission"
    #: money outside the book: bank transfers in, payouts out, external payments
    BANK = "bank"
    REVENUE = "revenue"
    VAT = "vat"
    COMMISSION_EXPENSE = "commission_expense"
    PAYOUTS = "payouts"


#: the kinds each partner has one of; they must never go below zero
PARTNER_KINDS = (AccountKind.DEPOSIT, AccountKind.COMMISSION)


class Account(db.Model):
    """One account of the book, with the sums of its transfers cached."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0"
            " AND credits_pending >= 0 AND credits_posted >= 0",
            name="sums",
        ),
        # the safety net under the check made in code with the row locked
        CheckConstraint(
            "NOT debits_must_not_exceed_credits"
            " OR debits_posted + debits_pending <= credits_posted",
            name="not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "bank", "revenue"… for the system accounts, "partner:<id>:deposit" for a partner's
    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, length=24))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(default=False)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def available(self):
        """What can be spent or withdrawn: posted credits less posted and held debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def __repr__(self):
        return f"<Account {self.code} {self.available}>"


class TransferKind(enum.StrEnum):
    TOPUP = "topup"
    PAYMENT = "payment"
    WITHDRAWAL = "withdrawal"
    COMMISSION = "commission"
    REFUND = "refund"
    CORRECTION = "correction"
    #: available commission moved into the deposit
    TO_DEPOSIT = "to_deposit"


class Phase(enum.StrEnum):
    #: a one-step transfer, final at once
    POSTED = "posted"
    #: a hold: reserved, not yet moved
    PENDING = "pending"
    #: completes a pending transfer (``pending_id``)
    POST_PENDING = "post_pending"
    #: cancels a pending transfer (``pending_id``)
    VOID_PENDING = "void_pending"


class Transfer(db.Model):
    """One movement of money; never changed or deleted once written."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("debit_account_id <> credit_account_id", name="accounts"),
        CheckConstraint(
            "(phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
            name="pending_id",
        ),
        Index("ix_ledger_transfers_debit", "debit_account_id", "id"),
        Index("ix_ledger_transfers_credit", "credit_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the idempotency id: the same key can never write a second transfer
    key: Mapped[str] = mapped_column(String(100), unique=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[TransferKind] = mapped_column(enum_column(TransferKind))
    phase: Mapped[Phase] = mapped_column(enum_column(Phase), default=Phase.POSTED)
    #: the pending transfer this one posts or voids; unique, so a hold resolves only once
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    #: what the money was for, readable by people: an invoice number, a bank reference…
    reference: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    debit_account: Mapped[Account] = relationship(foreign_keys=[debit_account_id])
    credit_account: Mapped[Account] = relationship(foreign_keys=[credit_account_id])

    def __repr__(self):
        return f"<Transfer {self.id} {self.kind} {self.phase} {self.amount}>"
