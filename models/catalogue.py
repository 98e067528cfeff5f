"""The catalogue: plans, their periods, volume tiers and VAT (DESIGN.md 3.4)."""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, enum_column, utcnow


class PlanKind(enum.StrEnum):
    SHARED_HOSTING = "shared_hosting"
    VPS = "vps"
    EMAIL = "email"
    SSL = "ssl"
    DOMAIN = "domain"


#: the mail a new plan of each kind comes with: (mailboxes, their quotas together in MB)
MAIL_DEFAULTS = {
    "shared_hosting": (25, 10240),
    "vps": (100, 51200),
    "email": (50, 25600),
}


def _mail_default(context, index):
    kind = context.get_current_parameters().get("kind")
    return MAIL_DEFAULTS.get(getattr(kind, "value", kind), (0, 0))[index]


class Plan(db.Model):
    """A catalogue item [R11-R13]; prices are net (without VAT), in euro cents."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price"),
        CheckConstraint("base_months IN (1, 12)", name="base_months"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    name_bg: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    #: the net price for ``base_months`` months (12 for a domain's year)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    base_months: Mapped[int] = mapped_column(Integer, default=1)
    #: counts towards the partner's volume tier and gets its discount [R12]
    volume_eligible: Mapped[bool] = mapped_column(default=False)
    #: mail a product of the plan may hold: how many mailboxes, and their quotas together (MB);
    #: 0 for plans without mail
    mailboxes: Mapped[int] = mapped_column(
        Integer, default=lambda ctx: _mail_default(ctx, 0), server_default="0"
    )
    mail_quota_mb: Mapped[int] = mapped_column(
        Integer, default=lambda ctx: _mail_default(ctx, 1), server_default="0"
    )
    #: retired plans take no new orders; renewals go on
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    periods: Mapped[list["PlanPeriod"]] = relationship(
        back_populates="plan", order_by="PlanPeriod.months", cascade="all, delete-orphan"
    )

    def name(self, language):
        return self.name_bg if language == "bg" else self.name_en


class PlanPeriod(db.Model):
    """A period a plan can be bought for, with its discount [R13]."""

    __tablename__ = "plan_periods"
    __table_args__ = (
        UniqueConstraint("plan_id", "months"),
        CheckConstraint("months > 0", name="months"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    months: Mapped[int] = mapped_column(Integer)
    #: the discount in basis points (1% = 100)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="periods")


class VolumeTier(db.Model):
    """From ``min_products`` eligible products on, partners get ``rate_bp`` [R22]."""

    __tablename__ = "volume_tiers"
    __table_args__ = (
        CheckConstraint("min_products > 0", name="min_products"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    min_products: Mapped[int] = mapped_column(Integer, unique=True)
    rate_bp: Mapped[int] = mapped_column(Integer)


class VatRate(db.Model):
    """The VAT rate from a date on; the newest one in effect applies to new quotes."""

    __tablename__ = "vat_rates"
    __table_args__ = (CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_bp: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
