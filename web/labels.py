"""Translated names of the model's states, for the templates."""

from decimal import Decimal

from flask import g
from flask_babel import (
    format_currency,
    format_date,
    format_decimal,
    format_percent,
    format_time,
    get_locale,
    lazy_pgettext,
    ngettext,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    AccountKind,
    CommissionStatus,
    InvitationKind,
    InvoiceStatus,
    MoveStatus,
    PaidVia,
    PartnerStatus,
    Phase,
    Plan,
    PlanKind,
    ProductStatus,
    TopUpStatus,
    TransferKind,
    WithdrawalStatus,
    db,
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
    InvoiceStatus.UNPAID: lazy_pgettext("invoice", "unpaid"),
    InvoiceStatus.PAID: lazy_pgettext("invoice", "paid"),
    InvoiceStatus.CANCELLED: lazy_pgettext("invoice", "cancelled"),
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


def _plan_names():
    """{plan id: {language: name}} of the catalogue, read once per request."""
    if "plan_names" not in g:
        g.plan_names = {
            plan_id: {"bg": name_bg, "en": name_en}
            for plan_id, name_bg, name_en in db.session.execute(
                select(Plan.id, Plan.name_bg, Plan.name_en)
            )
        }
    return g.plan_names


def product_name(product):
    """A product's plan in the reader's language (a product keeps the name it was ordered
    under, in Bulgarian; the catalogue knows both)."""
    names = _plan_names().get(getattr(product, "plan_id", None))
    return names[str(get_locale())] if names else product.plan_name


def line_name(line):
    """An invoice line in the reader's language: the plan's name, and the domain as issued."""
    names = _plan_names().get(line.plan_id)
    if names is None:
        return line.description
    _plans, _dash, domain = line.description.partition(" — ")
    return names[str(get_locale())] + (f" — {domain}" if domain else "")


def money(cents):
    """Integer cents as euro in the reader's language (12,34 € / €12.34)."""
    return format_currency(Decimal(cents) / 100, "EUR")


def discount(cents):
    """A discount as money taken off: −12,00 €; none is 0,00 € (not −0,00 €)."""
    return f"−{money(cents)}" if cents else money(0)


def date(value):
    """A date (or the Sofia date of a moment) in the reader's language: 6.12.2026 г. /
    Dec 6, 2026."""
    return format_date(value, "medium")


def datetime(value):
    """A moment in Sofia time, in the reader's language: 6.12.2026 г., 14:05 / Dec 6, 2026,
    2:05 PM."""
    return f"{format_date(value, 'medium')}, {format_time(value, 'short')}"


def time(value):
    """The Sofia time of a moment: 14:05 / 2:05 PM."""
    return format_time(value, "short")


def month(value):
    """A month: дек 2026 г. / Dec 2026."""
    return format_date(value, "MMM y")


def number(value):
    """A whole or decimal number with the reader's separators: 12 345 / 12,345."""
    return format_decimal(value)


def megabytes(value):
    """A size given in MB, in MB or GB as people read it: 512 MB, 10 GB, 1,5 GB."""
    if value >= 1024:
        return f"{format_decimal(Decimal(value) / 1024, '#,##0.#')} GB"
    return f"{format_decimal(value, '#,##0.#')} MB"


def percent(basis_points):
    """Basis points as a percentage in the reader's language (12,5 % / 12.5%)."""
    return format_percent(Decimal(basis_points) / 10_000, "#,##0.##%")


def period(months):
    """12 → "1 year", 24 → "2 years", 3 → "3 months"."""
    if months % 12 == 0:
        return ngettext("%(num)d year", "%(num)d years", months // 12)
    return ngettext("%(num)d month", "%(num)d months", months)
