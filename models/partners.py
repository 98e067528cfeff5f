"""Partners, their client lists and invitations (DESIGN.md 3.2)."""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.access import Group, GroupSet, Panel
from models.base import UTCDateTime, db, enum_column, utcnow
from models.users import User


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
    #: the registered address, printed as the buyer's on the partner's invoices
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    expected_hostings: Mapped[int] = mapped_column(Integer)
    minimum_deposit_cents: Mapped[int | None] = mapped_column(BigInteger)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: staff's per-partner managed commission rate, instead of the tier rate
    commission_rate_bp: Mapped[int | None] = mapped_column(Integer)
    #: refunds after commissions cleared that the commission account could not cover yet;
    #: later commissions pay it off first
    commission_debt_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: when the first deposit reached the minimum: from then on the partner is active [R17]
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_approved(self):
        return self.status == PartnerStatus.APPROVED

    @property
    def is_active(self):
        """Approved, and its first deposit has reached the minimum."""
        return self.is_approved and self.activated_at is not None


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
