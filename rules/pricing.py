"""The quote engine (DESIGN.md 3.4): plain values in, a transparent breakdown out.

Money is integer euro cents; percentages are integer basis points (1% = 100 bp). Each line
is rounded half up to the cent on its own, and a quote's totals are exactly the sums of its
lines. Nothing here reads the database: callers pass the plan's prices, the tier table and
the VAT rate as they stand when the quote is made.
"""

from dataclasses import dataclass, field

FULL = 10_000  # basis points in 100%


class PricingError(ValueError):
    """A quote was asked for something the catalogue does not offer."""


def percent_of(amount_cents, basis_points):
    """``amount × bp / 10000`` rounded half up to the cent (amounts are never negative)."""
    if amount_cents < 0 or not 0 <= basis_points <= FULL:
        raise PricingError("amounts and percentages must not be negative or over 100%")
    return (amount_cents * basis_points * 2 + FULL) // (2 * FULL)


def per_month(amount_cents, months):
    """An amount spread over ``months``, rounded half up to the cent (for showing only)."""
    return (amount_cents * 2 + months) // (2 * months)


@dataclass(frozen=True)
class PlanPrice:
    """What the quote needs of a plan: its price and discounts at the time of the quote."""

    code: str
    #: net price in cents for ``base_months`` (12 for a domain year, 1 for a monthly plan)
    price_cents: int
    base_months: int
    #: the periods on offer, in months, with the discount of each in basis points
    period_discounts: dict = field(default_factory=dict)
    volume_eligible: bool = False


@dataclass(frozen=True)
class Tier:
    """From ``min_products`` eligible products on, the volume rate in basis points applies."""

    min_products: int
    rate_bp: int


def tier_rate(tiers, eligible_products):
    """The volume rate for a partner holding ``eligible_products`` eligible products."""
    rate = 0
    for tier in sorted(tiers, key=lambda t: t.min_products):
        if eligible_products >= tier.min_products:
            rate = tier.rate_bp
    return rate


def next_tier(tiers, eligible_products):
    """The next tier up and how many more products reach it, or None at the top."""
    for tier in sorted(tiers, key=lambda t: t.min_products):
        if eligible_products < tier.min_products:
            return tier, tier.min_products - eligible_products
    return None


@dataclass(frozen=True)
class Line:
    """One priced line: list → period discount → volume discount → net → VAT → total."""

    plan: PlanPrice
    months: int
    list_cents: int
    period_discount_cents: int
    volume_discount_cents: int
    net_cents: int
    vat_cents: int
    total_cents: int
    #: what the partner earns when a client pays this line itself (managed commission)
    commission_cents: int


@dataclass(frozen=True)
class Quote:
    lines: tuple
    net_cents: int
    vat_cents: int
    total_cents: int
    commission_cents: int
    #: the VAT rate the lines were priced with
    vat_bp: int = 0


def price_line(plan, months, *, partner_pays, volume_rate_bp, vat_bp):
    """Price ``months`` of ``plan``.

    The volume discount applies only to eligible plans and only when the partner pays; when
    a client pays, the same rate on the eligible net is the partner's commission instead.
    """
    if months not in plan.period_discounts:
        raise PricingError(f"{plan.code} is not offered for {months} months")
    if months % plan.base_months:
        raise PricingError(f"{months} months is not a whole number of {plan.code}'s periods")
    list_cents = plan.price_cents * (months // plan.base_months)
    period = percent_of(list_cents, plan.period_discounts[months])
    after_period = list_cents - period
    rate = volume_rate_bp if plan.volume_eligible else 0
    volume = percent_of(after_period, rate) if partner_pays else 0
    net = after_period - volume
    vat = percent_of(net, vat_bp)
    commission = 0 if partner_pays else percent_of(net, rate)
    return Line(plan, months, list_cents, period, volume, net, vat, net + vat, commission)


def quote(items, *, partner_pays, volume_rate_bp, vat_bp):
    """Price ``(plan, months)`` items; the totals are the sums of the rounded lines."""
    lines = tuple(
        price_line(
            plan, months, partner_pays=partner_pays, volume_rate_bp=volume_rate_bp, vat_bp=vat_bp
        )
        for plan, months in items
    )
    return Quote(
        lines=lines,
        net_cents=sum(line.net_cents for line in lines),
        vat_cents=sum(line.vat_cents for line in lines),
        total_cents=sum(line.total_cents for line in lines),
        commission_cents=sum(line.commission_cents for line in lines),
        vat_bp=vat_bp,
    )
