"""The affiliate link's counters, the users it brought, and the program's staff settings
(DESIGN.md 3.4, 3.7)."""

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.billing import Invoice
from models.partners import Partner
from models.users import User


class AffiliateDay(db.Model):
    """Counted clicks and unique visitors of one partner's link on one (UTC) day."""

    __tablename__ = "affiliate_days"
    __table_args__ = (CheckConstraint("clicks >= 0 AND visitors >= 0", name="counts"),)

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)


class AffiliateVisitor(db.Model):
    """Which visitors (a salted hash of IP and user agent, never the IP) a link saw on a day:
    kept only to count each visitor once; rows of past days are deleted."""

    __tablename__ = "affiliate_visitors"
    __table_args__ = (Index("ix_affiliate_visitors_day", "day"),)

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


class Referral(db.Model):
    """A user who signed up after following a partner's link: referred by it, for good."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    #: the click whose cookie the sign-up carried, and when that click was
    click_id: Mapped[str] = mapped_column(String(32))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the user's first paid invoice: it earned (or, if managed commission won, did not earn)
    #: the one-time affiliate commission
    first_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), unique=True)
    first_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    partner: Mapped[Partner] = relationship()
    first_invoice: Mapped[Invoice | None] = relationship()


class ProgramSetting(db.Model):
    """A number staff can change while the program runs (the affiliate rate...)."""

    __tablename__ = "program_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
