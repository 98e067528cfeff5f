"""The database models: typed SQLAlchemy 2.0 mappings, no request code."""

import enum
from datetime import UTC, date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations stable on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: the interface languages, the default first: code -> (short label, name in that language)
LANGUAGES = {"bg": ("БГ", "Български"), "en": ("EN", "English")}
DEFAULT_LANGUAGE = next(iter(LANGUAGES))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow():
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use models.utcnow()")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class User(db.Model):
    """A login: one person, who may reach many panels."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"language IN ({', '.join(map(repr, LANGUAGES))})", name="language"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness ignores case
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default=DEFAULT_LANGUAGE)
    is_staff: Mapped[bool] = mapped_column(default=False)
    #: bumped on logout, password or email change: every older session cookie stops working
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the user proved to read mail at ``email`` (a link from it); None until then
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def email_verified(self):
        return self.email_verified_at is not None

    # Flask-Login protocol: the session holds "<id>.<version>", so a bumped version logs out.
    is_active = True
    is_anonymous = False
    is_authenticated = True

    def get_id(self):
        return f"{self.id}.{self.session_version}"

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


def enum_column(enum_class):
    """Store a StrEnum by its value in a portable VARCHAR (with a CHECK of the values)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        create_constraint=True,
        name=enum_class.__name__.lower(),
    )


class Group(enum.IntFlag):
    """The 4 permission groups of a panel [R9]; a grant holds any combination."""

    DOMAINS = 1
    WEB = 2
    EMAIL = 4
    BILLING = 8


ALL_GROUPS = Group.DOMAINS | Group.WEB | Group.EMAIL | Group.BILLING


class GroupSet(TypeDecorator):
    """A set of groups stored as the integer of its bits."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else int(value)

    def process_result_value(self, value, dialect):
        return None if value is None else Group(value)


class Counter(db.Model):
    """Gap-free public numbers (partners, panels), taken with one atomic UPDATE ... RETURNING."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Panel(db.Model):
    """A control panel (customer account) holding products; exactly one owner [R4, R8]."""

    __tablename__ = "panels"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the public number shown to people and used in URLs
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    products: Mapped[list["Product"]] = relationship(back_populates="panel")

    def __repr__(self):
        return f"<Panel {self.number} {self.name!r}>"


class ProductKind(enum.StrEnum):
    DOMAIN = "domain"
    HOSTING = "hosting"
    EMAIL = "email"
    OTHER = "other"


class ProductStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


#: which group manages a product of each kind (the panel page shows it in that section)
KIND_GROUP = {
    ProductKind.DOMAIN: Group.DOMAINS,
    ProductKind.HOSTING: Group.WEB,
    ProductKind.EMAIL: Group.EMAIL,
    ProductKind.OTHER: Group.BILLING,
}


class Product(db.Model):
    """One subscription of a plan in a panel, usually on a domain."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_panel_expiry", "panel_id", "expires_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"))
    plan_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ProductKind] = mapped_column(enum_column(ProductKind))
    #: the domain the product serves, lower-case; empty for products without one
    domain: Mapped[str | None] = mapped_column(String(253))
    status: Mapped[ProductStatus] = mapped_column(
        enum_column(ProductStatus), default=ProductStatus.ACTIVE
    )
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    panel: Mapped[Panel] = relationship(back_populates="products")


class Grant(db.Model):
    """A user's rights on a panel it does not own: any subset of the 4 groups."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("panel_id", "user_id"),
        CheckConstraint("groups >= 0 AND groups <= 15", name="groups"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    groups: Mapped[Group] = mapped_column(GroupSet, default=Group(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    panel: Mapped[Panel] = relationship()
    user: Mapped[User] = relationship()


class PartnerStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Partner(db.Model):
    """A user admitted to (or applying for) the Partner Program."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: the public partner number, from 1001 up; given on approval
    number: Mapped[int | None] = mapped_column(Integer, unique=True)
    status: Mapped[PartnerStatus] = mapped_column(
        enum_column(PartnerStatus), default=PartnerStatus.APPLIED
    )
    company: Mapped[str] = mapped_column(String(200))
    vat_number: Mapped[str] = mapped_column(String(32))
    expected_hostings: Mapped[int] = mapped_column(Integer)
    minimum_deposit_cents: Mapped[int | None] = mapped_column(BigInteger)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_approved(self):
        return self.status == PartnerStatus.APPROVED


class ClientLink(db.Model):
    """A panel in a partner's client list [R5], with the partner's private note about it."""

    __tablename__ = "client_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: a panel is in at most one partner's client list
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    panel: Mapped[Panel] = relationship()
    partner: Mapped[Partner] = relationship()


class InvitationKind(enum.StrEnum):
    #: the panel owner lets a person in with some groups
    ACCESS = "access"
    #: a partner asks a panel's owner to join its client list [R5]
    CLIENT_LINK = "client_link"
    #: a partner made a panel for a client, who becomes its owner on accepting [R4]
    OWNERSHIP = "ownership"


class Invitation(db.Model):
    """A single-use, 7-day invitation sent by email; only a hash of its token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_column(InvitationKind))
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    #: the groups offered (ACCESS) or proposed for the partner (CLIENT_LINK, OWNERSHIP)
    groups: Mapped[Group] = mapped_column(GroupSet, default=Group(0))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    panel: Mapped[Panel] = relationship()
    inviter: Mapped[User] = relationship()
    partner: Mapped[Partner | None] = relationship()

    @property
    def is_open(self):
        return not (self.accepted_at or self.declined_at or self.revoked_at)


class AuditEntry(db.Model):
    """Who did what, when, on which panel: written by the rules, never changed."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_panel_created", "panel_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id"))
    #: a dotted code such as "grant.update"; the UI translates it
    action: Mapped[str] = mapped_column(String(40))
    #: what changed, as JSON (emails, groups before and after, reasons...)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
    panel: Mapped[Panel | None] = relationship()


class PlanKind(enum.StrEnum):
    SHARED_HOSTING = "shared_hosting"
    VPS = "vps"
    EMAIL = "email"
    SSL = "ssl"
    DOMAIN = "domain"


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
