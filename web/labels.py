"""Translated names of the model's states, for the templates."""

from decimal import Decimal

from flask_babel import format_currency, format_percent, lazy_pgettext, ngettext
from flask_babel import lazy_gettext as _l

from models import (
    AccountKind,
    CommissionStatus,
    InvitationKind,
    InvoiceStatus,
    MoveStatus,
    PaidVia,
    PartnerStatus,
    Phase,
    PlanKind,
    ProductStatus,
    TopUpStatus,
    TransferKind,
    WithdrawalStatus,
)
from rules.domains import canonical

#: what an outbox entry's target is, by the prefix of its key
TARGET_KIND = {
    "zone": _l("DNS zone"),
    "registry": _l("registry"),
    "mail": _l("mail server"),
    "web": _l("web server"),
}


def idn(text):
    """A domain or address in Unicode: 'xn--90aexm.example' -> 'блог.example'."""
    text = str(text or "")
    local, at, domain = text.rpartition("@")
    return f"{local}{at}{canonical(domain)}" if domain else text


#: a site's certificate as the backend last reported it
SSL_STATUS = {
    "none": _l("requested"),
    "requested": _l("requested"),
    "issued": _l("on"),
    "failed": _l("failed"),
}

PRODUCT_STATUS = {
    ProductStatus.PENDING: _l("pending"),
    ProductStatus.ACTIVE: _l("active"),
    ProductStatus.EXPIRED: _l("expired"),
    ProductStatus.CANCELLED: _l("cancelled"),
}

MOVE_STATUS = {
    MoveStatus.PENDING: lazy_pgettext("move", "waiting for the client"),
    MoveStatus.DONE: lazy_pgettext("move", "moved"),
    MoveStatus.CANCELLED: lazy_pgettext("move", "cancelled"),
    MoveStatus.DECLINED: lazy_pgettext("move", "declined by the client"),
    MoveStatus.UNDONE: lazy_pgettext("move", "undone"),
}

PARTNER_STATUS = {
    PartnerStatus.APPLIED: _l("applied, waiting for a decision"),
    PartnerStatus.APPROVED: _l("approved"),
    PartnerStatus.REJECTED: _l("rejected"),
    PartnerStatus.SUSPENDED: _l("suspended"),
}

INVITATION_KIND = {
    InvitationKind.ACCESS: _l("access to the panel"),
    InvitationKind.CLIENT_LINK: _l("join a partner's client list"),
    InvitationKind.OWNERSHIP: _l("become the owner of a panel"),
}

PLAN_KIND = {
    PlanKind.SHARED_HOSTING: _l("Shared hosting"),
    PlanKind.VPS: _l("VPS"),
    PlanKind.EMAIL: _l("Email"),
    PlanKind.SSL: _l("SSL certificate"),
    PlanKind.DOMAIN: _l("Domain"),
}

INVOICE_STATUS = {
    InvoiceStatus.UNPAID: _l("unpaid"),
    InvoiceStatus.PAID: _l("paid"),
    InvoiceStatus.CANCELLED: _l("cancelled"),
}

PAID_VIA = {
    PaidVia.DEPOSIT: _l("from the deposit"),
    PaidVia.COMMISSION: _l("from commission"),
    PaidVia.BALANCES: _l("from commission and deposit"),
    PaidVia.BANK_TRANSFER: _l("by bank transfer"),
    PaidVia.PROVIDER: _l("through the payment provider"),
}

TOP_UP_STATUS = {
    TopUpStatus.REQUESTED: _l("waiting for the transfer"),
    TopUpStatus.CREDITED: _l("credited"),
}

TRANSFER_KIND = {
    TransferKind.TOPUP: _l("top-up"),
    TransferKind.PAYMENT: _l("payment"),
    TransferKind.WITHDRAWAL: _l("withdrawal"),
    TransferKind.COMMISSION: _l("commission"),
    TransferKind.REFUND: _l("refund"),
    TransferKind.CORRECTION: _l("correction"),
    TransferKind.TO_DEPOSIT: _l("commission moved to the deposit"),
}

TRANSFER_PHASE = {
    Phase.POSTED: _l("done"),
    Phase.PENDING: _l("held"),
    Phase.POST_PENDING: _l("paid out"),
    Phase.VOID_PENDING: _l("released"),
}

WITHDRAWAL_STATUS = {
    WithdrawalStatus.REQUESTED: _l("waiting for staff"),
    WithdrawalStatus.PAID: _l("paid out"),
    WithdrawalStatus.REJECTED: _l("rejected"),
}

ACCOUNT_KIND = {
    AccountKind.DEPOSIT: _l("Deposit"),
    AccountKind.COMMISSION: _l("Commission"),
    AccountKind.BANK: _l("Bank"),
    AccountKind.REVENUE: _l("Revenue"),
    AccountKind.VAT: _l("VAT"),
    AccountKind.COMMISSION_EXPENSE: _l("Commission expense"),
    AccountKind.PAYOUTS: _l("Payouts"),
}

COMMISSION_STATUS = {
    CommissionStatus.PENDING: _l("clearing"),
    CommissionStatus.AVAILABLE: _l("available"),
    CommissionStatus.VOIDED: _l("voided (refunded, or a void referral)"),
}


def money(cents):
    """Integer cents as euro in the reader's language (12,34 € / €12.34)."""
    return format_currency(Decimal(cents) / 100, "EUR")


def percent(basis_points):
    """Basis points as a percentage in the reader's language (12,5 % / 12.5%)."""
    return format_percent(Decimal(basis_points) / 10_000, "#,##0.##%")


def period(months):
    """12 → "1 year", 24 → "2 years", 3 → "3 months"."""
    if months % 12 == 0:
        return ngettext("%(num)d year", "%(num)d years", months // 12)
    return ngettext("%(num)d month", "%(num)d months", months)
