"""The database models: typed SQLAlchemy 2.0 mappings by area, no request code.

Everything is importable from ``models`` itself, as before the split.
"""

from models.access import (
    ALL_GROUPS,
    KIND_GROUP,
    AuditEntry,
    Grant,
    Group,
    GroupSet,
    Panel,
    Product,
    ProductKind,
    ProductStatus,
)
from models.base import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    NAMING_CONVENTION,
    Base,
    Counter,
    UTCDateTime,
    db,
    enum_column,
    utcnow,
)
from models.catalogue import Plan, PlanKind, PlanPeriod, VatRate, VolumeTier
from models.ledger import (
    PARTNER_KINDS,
    Account,
    AccountKind,
    Phase,
    Transfer,
    TransferKind,
)
from models.partners import ClientLink, Invitation, InvitationKind, Partner, PartnerStatus
from models.users import User

__all__ = [
    "ALL_GROUPS",
    "DEFAULT_LANGUAGE",
    "KIND_GROUP",
    "LANGUAGES",
    "NAMING_CONVENTION",
    "PARTNER_KINDS",
    "Account",
    "AccountKind",
    "AuditEntry",
    "Base",
    "ClientLink",
    "Counter",
    "Grant",
    "Group",
    "GroupSet",
    "Invitation",
    "InvitationKind",
    "Panel",
    "Partner",
    "PartnerStatus",
    "Phase",
    "Plan",
    "PlanKind",
    "PlanPeriod",
    "Product",
    "ProductKind",
    "ProductStatus",
    "Transfer",
    "TransferKind",
    "UTCDateTime",
    "User",
    "VatRate",
    "VolumeTier",
    "db",
    "enum_column",
    "utcnow",
]
