"""The catalogue as the quote engine sees it: plans, volume tiers and VAT, at this moment.

Also a partner's standing (how many eligible products it holds, its tier and the next one)
and the quote for an order line. Staff changes to the tables live in rules/catalogue_admin.py.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from models import (
    ClientLink,
    Panel,
    Plan,
    PlanKind,
    Product,
    ProductKind,
    ProductStatus,
    VatRate,
    VolumeTier,
    db,
    utcnow,
)
from rules.errors import DomainError
from rules.pricing import PlanPrice, Tier, next_tier, price_line, quote, tier_rate

#: used until staff saves a table of its own (DESIGN.md 3.4)
DEFAULT_TIERS = (Tier(3, 500), Tier(5, 1000), Tier(10, 1500))
DEFAULT_VAT_BP = 2000

#: the kind of product (and so the panel section and group) each kind of plan makes
PRODUCT_KIND = {
    PlanKind.SHARED_HOSTING: ProductKind.HOSTING,
    PlanKind.VPS: ProductKind.HOSTING,
    PlanKind.EMAIL: ProductKind.EMAIL,
    PlanKind.SSL: ProductKind.OTHER,
    PlanKind.DOMAIN: ProductKind.DOMAIN,
}

KIND_ORDER = [PlanKind.SHARED_HOSTING, PlanKind.VPS, PlanKind.EMAIL, PlanKind.SSL, PlanKind.DOMAIN]


def plan_price(plan):
    """The engine's view of a plan."""
    return PlanPrice(
        code=plan.code,
        price_cents=plan.price_cents,
        base_months=plan.base_months,
        period_discounts={p.months: p.discount_bp for p in plan.periods},
        volume_eligible=plan.volume_eligible,
    )


def tiers():
    rows = db.session.scalars(select(VolumeTier).order_by(VolumeTier.min_products)).all()
    return [Tier(r.min_products, r.rate_bp) for r in rows] or list(DEFAULT_TIERS)


def vat_bp(at=None):
    """The VAT rate in effect at ``at`` (now by default)."""
    rate = db.session.scalar(
        select(VatRate.rate_bp)
        .where(VatRate.effective_from <= (at or utcnow()))
        .order_by(VatRate.effective_from.desc(), VatRate.id.desc())
        .limit(1)
    )
    return DEFAULT_VAT_BP if rate is None else rate


def orderable_plans():
    """Plans that take new orders, with their periods, in the price list's order."""
    plans = db.session.scalars(
        select(Plan)
        .options(selectinload(Plan.periods))
        .where(Plan.retired_at.is_(None))
        .order_by(Plan.price_cents, Plan.code)
    ).all()
    return sorted(plans, key=lambda p: KIND_ORDER.index(p.kind))


@dataclass(frozen=True)
class PriceRow:
    months: int
    discount_bp: int
    net_cents: int
    total_cents: int
    per_month_cents: int
    #: what this period saves against buying the shortest period again and again
    saving_cents: int


def price_list(vat=None):
    """Each orderable plan with its price per period for a customer (no volume discount)."""
    vat = vat_bp() if vat is None else vat
    result = []
    for plan in orderable_plans():
        engine = plan_price(plan)
        rows = []
        for months in sorted(engine.period_discounts):
            line = price_line(engine, months, partner_pays=False, volume_rate_bp=0, vat_bp=vat)
            rows.append((months, line))
        if not rows:
            continue
        shortest_months, shortest = rows[0]
        result.append(
            (
                plan,
                [
                    PriceRow(
                        months=months,
                        discount_bp=engine.period_discounts[months],
                        net_cents=line.net_cents,
                        total_cents=line.total_cents,
                        per_month_cents=line.net_cents // months,
                        saving_cents=shortest.net_cents * months // shortest_months
                        - line.net_cents,
                    )
                    for months, line in rows
                ],
            )
        )
    return result


def eligible_products(partner):
    """N: active products of volume-eligible plans in the partner's own and client panels."""
    own = select(Panel.id).where(Panel.owner_id == partner.user_id)
    clients = select(ClientLink.panel_id).where(ClientLink.partner_id == partner.id)
    return db.session.scalar(
        select(func.count(Product.id))
        .join(Plan, Product.plan_id == Plan.id)
        .where(
            Plan.volume_eligible,
            Product.status == ProductStatus.ACTIVE,
            or_(Product.panel_id.in_(own), Product.panel_id.in_(clients)),
        )
    )


@dataclass(frozen=True)
class Standing:
    """Where a partner is on the volume ladder [R12, R22]."""

    eligible: int
    rate_bp: int
    #: the next tier up, or None at the top
    next: Tier | None
    #: how many more eligible products reach ``next``
    more: int


def standing(partner, table=None):
    table = tiers() if table is None else table
    count = eligible_products(partner)
    upcoming = next_tier(table, count)
    return Standing(
        eligible=count,
        rate_bp=tier_rate(table, count),
        next=upcoming[0] if upcoming else None,
        more=upcoming[1] if upcoming else 0,
    )


class NotOrderable(DomainError):
    def default_message(self):
        return _l("This plan is not in the catalogue or takes no new orders.")


class PeriodNotOffered(DomainError):
    def default_message(self):
        return _l("This plan is not sold for that period. Choose one of the periods listed.")


def orderable_plan(code):
    """The plan with ``code`` if it takes new orders, else NotOrderable."""
    plan = db.session.scalar(
        select(Plan)
        .options(selectinload(Plan.periods))
        .where(Plan.code == (code or ""), Plan.retired_at.is_(None))
    )
    if plan is None:
        raise NotOrderable()
    return plan


def order_quote(plan, months, *, standing=None, partner_pays=False):
    """Price ``months`` of ``plan`` as the server sees it now; never from the client's figures.

    ``standing`` is the buyer's partner standing when an approved partner orders: it pays with
    its volume discount, or (``partner_pays=False``) quotes for a client who pays the full
    price while the partner earns the tier rate as commission. Without it, nobody gets any.
    """
    if months not in {p.months for p in plan.periods}:
        raise PeriodNotOffered()
    return quote(
        [(plan_price(plan), months)],
        partner_pays=standing is not None and partner_pays,
        volume_rate_bp=standing.rate_bp if standing is not None else 0,
        vat_bp=vat_bp(),
    )
