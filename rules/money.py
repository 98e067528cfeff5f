"""Reading amounts and percentages that people type: exact decimals, never floats.

Staff type prices in euro ("12.50", "12,50" — Bulgarian writes a decimal comma) and discounts
in percent ("12.5"). Only plain decimal numbers are accepted: no signs, no exponents
("1e3"), no "NaN" or "inf", at most two decimals, within sane bounds. The result is an integer
— cents or basis points — so nothing is ever rounded behind anyone's back.
"""

import re
from decimal import Decimal

from flask_babel import format_currency, format_date
from flask_babel import lazy_gettext as _l

from rules.errors import DomainError

_DECIMAL = re.compile(r"(?P<whole>[0-9]{1,9})(?:[.,](?P<fraction>[0-9]{1,2}))?")

#: the most a plan may cost (€1,000,000.00): beyond this a typo is far likelier than a price
MAX_PRICE_CENTS = 100_000_000


class BadNumber(DomainError):
    """What someone typed is not an amount or percentage we accept."""


def _hundredths(text):
    """``"12,5"`` → 1250; None when ``text`` is not a plain decimal with at most 2 decimals."""
    match = _DECIMAL.fullmatch((text or "").strip())
    if match is None:
        return None
    return int(match["whole"]) * 100 + int((match["fraction"] or "0").ljust(2, "0"))


def parse_cents(text, *, maximum=MAX_PRICE_CENTS):
    """Euro as typed → integer cents, or BadNumber saying what is acceptable."""
    cents = _hundredths(text)
    if cents is None or cents > maximum:
        raise BadNumber(
            _l(
                "Enter an amount in euro from 0 to %(maximum)s, with at most two decimals"
                " (for example 12.50).",
                maximum=f"{maximum // 100:,}".replace(",", " "),
            )
        )
    return cents


def parse_basis_points(text):
    """A percentage as typed (0–100, two decimals at most) → basis points (1% = 100)."""
    basis_points = _hundredths(text)
    if basis_points is None or basis_points > 10_000:
        raise BadNumber(
            _l("Enter a percentage from 0 to 100, with at most two decimals (for example 12.5).")
        )
    return basis_points


def money_text(cents):
    """Cents as the reader reads euro, for a message: 12,50 € / €12.50."""
    return format_currency(Decimal(cents) / 100, "EUR")


def day_text(value):
    """A date (or the Sofia date of a moment) for a message: 6.12.2026 г. / Dec 6, 2026."""
    return format_date(value, "medium")


def format_hundredths(value):
    """1250 → "12.50", 1200 → "12": how a stored value is shown back in a form field."""
    whole, fraction = divmod(value, 100)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:02d}"
