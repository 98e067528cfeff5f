"""Moves of a product bundle from one panel to another (DESIGN.md 3.3) and their items."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.access import Panel, Product
from models.base import UTCDateTime, db, enum_column, utcnow
from models.partners import Invitation
from models.users import User


class MoveStatus(enum.StrEnum):
    #: waiting for the client invited to own the new panel; nothing has moved yet
    PENDING = "pending"
    DONE = "done"
    #: the pending move was called off (by the mover, or because its source changed owner)
    CANCELLED = "cancelled"
    #: the client declined the panel the pending move was waiting for
    DECLINED = "declined"
    #: moved back within the undo window
    UNDONE = "undone"


class Move(db.Model):
    """One move of a bundle: who, from where, to where, and when; its items say what."""

    __tablename__ = "moves"
    __table_args__ = (Index("ix_moves_source_created", "source_panel_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"))
    target_panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    #: the product the move was started from; its bundle is what moves
    anchor_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    #: the registrable domain of the bundle (None for a product without a domain)
    domain: Mapped[str | None] = mapped_column(String(253))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[MoveStatus] = mapped_column(enum_column(MoveStatus))
    #: a move into a new panel for a client waits for this ownership invitation
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[Panel] = relationship(foreign_keys=[source_panel_id])
    target: Mapped[Panel] = relationship(foreign_keys=[target_panel_id])
    anchor_product: Mapped[Product] = relationship()
    actor: Mapped[User] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    items: Mapped[list["MoveItem"]] = relationship(back_populates="move", order_by="MoveItem.id")


class MoveItem(db.Model):
    """A product a move carried, with the product's revision right after the move: a later
    change to the product raises its revision and so closes the undo window."""

    __tablename__ = "move_items"
    __table_args__ = (UniqueConstraint("move_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    move_id: Mapped[int] = mapped_column(ForeignKey("moves.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)

    move: Mapped[Move] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
