"""The catalogue as the quote engine sees it: plans, volume tiers and VAT, at this moment."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Plan, PlanKind, VatRate, VolumeTier, db, utcnow
from rules.pricing import PlanPrice, Tier, price_line

#: used until staff saves a table of its own (DESIGN.md 3.4)
DEFAULT_TIERS = (Tier(3, 500), Tier(5, 1000), Tier(10, 1500))
DEFAULT_VAT_BP = 2000

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
