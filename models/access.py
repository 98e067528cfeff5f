"""Panels, their products, the 4 groups and grants, and the audit log (DESIGN.md 3.1)."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from models.base import UTCDateTime, db, enum_column, utcnow
from models.users import User


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
    #: the catalogue plan; prices, periods and volume eligibility come from it
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    #: the plan's name when the product was ordered (plans can be renamed or retired)
    plan_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ProductKind] = mapped_column(enum_column(ProductKind))
    #: the domain the product serves, lower-case; empty for products without one
    domain: Mapped[str | None] = mapped_column(String(253))
    status: Mapped[ProductStatus] = mapped_column(
        enum_column(ProductStatus), default=ProductStatus.ACTIVE
    )
    expires_on: Mapped[date | None] = mapped_column(Date)
    #: renew from the partner's deposit when the renewal invoice is issued
    auto_renew: Mapped[bool] = mapped_column(default=False)
    #: the partner that earns managed commission on it for ever (set at its first order) [R14]
    attributed_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    #: raised by every change to the row (see ``_count_revision``); a move's undo needs it unchanged
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    panel: Mapped[Panel] = relationship(back_populates="products")
    plan: Mapped["Plan | None"] = relationship()  # noqa: F821 (models.catalogue)


@event.listens_for(Product, "before_update")
def _count_revision(_mapper, _connection, product):
    """Raise the revision with every real change of a product, whoever makes it and why.

    The increment is done by the database (``revision + 1``), so two concurrent changes
    both count; setting a value to what it already was is no change.
    """
    state = inspect(product)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if (
            attr.key != "revision"
            and history.added
            and list(history.added) != list(history.deleted)
        ):
            product.revision = Product.revision + 1
            return


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
