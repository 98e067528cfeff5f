"""The mail outbox: every message is written here in the transaction of what it tells about,
then sent (right after the response, and by ``flask mail send`` until the SMTP server takes
it), so an SMTP outage delays mail but loses none."""

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, enum_column, utcnow


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    #: a sender has claimed it (until ``claimed_until``; a crashed sender's claim lapses)
    SENDING = "sending"
    SENT = "sent"
    #: refused by the server for good, out of tries, or too late to be of use: staff see it
    FAILED = "failed"


class OutgoingMail(db.Model):
    """One message to one recipient, kept until the SMTP server accepted it."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    #: the whole message as sent (RFC 5322 text); emptied once sent, since it may hold a
    #: password-reset or invitation link
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a message whose link stops working (a reset link after an hour) is not sent after this
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
