"""What the four groups manage inside a panel: a domain's DNS and registry data, a hosting
product's sites, a mail domain's mailboxes and aliases; and the provisioning outbox."""

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.access import Product
from models.base import UTCDateTime, db, enum_column, utcnow


class DomainSettings(db.Model):
    """A domain product's registry data and its zone's serial (no row: the host's defaults)."""

    __tablename__ = "domain_settings"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    #: custom nameservers (ASCII host names); None means the host's own, which serve the zone
    nameservers: Mapped[list | None] = mapped_column(JSON)
    #: the registrant contact as a dict of provision.state.Registrant's fields
    registrant: Mapped[dict | None] = mapped_column(JSON)
    #: the transfer-out code, made when someone first asks for it
    auth_code: Mapped[str | None] = mapped_column(String(32))
    #: the zone's SOA serial; raised with every change of the zone
    zone_serial: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    product: Mapped[Product] = relationship()


class DnsRecord(db.Model):
    """One record of a domain's zone, as validated by rules.dns (provision.state.Record)."""

    __tablename__ = "dns_records"
    __table_args__ = (CheckConstraint("ttl >= 60 AND ttl <= 604800", name="ttl"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    #: relative to the zone, ASCII: "@", "www", "_sip._tcp"
    name: Mapped[str] = mapped_column(String(253))
    type: Mapped[str] = mapped_column(String(8))
    ttl: Mapped[int] = mapped_column(Integer)
    #: the record data in zone-file presentation format
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Site(db.Model):
    """A web site of a hosting product: its main domain or a subdomain of it."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("product_id", "host"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    #: ASCII host name
    host: Mapped[str] = mapped_column(String(253))
    #: relative to the hosting account's home
    docroot: Mapped[str] = mapped_column(String(200))
    php: Mapped[str] = mapped_column(String(8))
    ssl: Mapped[bool] = mapped_column(default=False)
    #: what the backend last reported: "none", "requested", "issued", "failed"
    ssl_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    disk_bytes: Mapped[int | None] = mapped_column(BigInteger)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mailbox(db.Model):
    """A mailbox of a mail domain (an email or hosting product); the password only as a hash."""

    __tablename__ = "mailboxes"
    __table_args__ = (
        UniqueConstraint("product_id", "local"),
        CheckConstraint("quota_mb > 0", name="quota"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    #: the part before @, ASCII lower-case
    local: Mapped[str] = mapped_column(String(64))
    #: in Dovecot's format with its scheme: "{ARGON2ID}$argon2id$..."; never shown
    password_hash: Mapped[str] = mapped_column(String(255))
    quota_mb: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailAlias(db.Model):
    """An alias or forwarder of a mail domain; local "" is the domain's catch-all."""

    __tablename__ = "mail_aliases"
    __table_args__ = (UniqueConstraint("product_id", "local"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    local: Mapped[str] = mapped_column(String(64))
    #: full addresses mail goes on to
    destinations: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    APPLIED = "applied"
    FAILED = "failed"


class ProvisionTask(db.Model):
    """An outbox entry: a change of a target's desired state, for the worker to apply.

    Written in the transaction of the change; the worker applies the target's whole current
    state, so one apply settles every entry of the target written before it.
    """

    __tablename__ = "provision_tasks"
    __table_args__ = (
        Index("ix_provision_tasks_target_status", "target", "status"),
        Index("ix_provision_tasks_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the product whose page shows the entry (it follows the product when it moves)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    #: what the backend applies: "zone:example.com", "registry:…", "mail:…", "web:…"
    target: Mapped[str] = mapped_column(String(300))
    #: what changed, for people: a translatable code and its values
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the worker applying it and until when its claim holds (a crashed worker's claim lapses)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the entry whose apply settled this one (itself, or a later one of the same target)
    applied_by_id: Mapped[int | None] = mapped_column(Integer)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
