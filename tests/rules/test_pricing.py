"""The quote engine: worked examples written out by hand, then properties (Hypothesis)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.pricing import (
    PlanPrice,
    PricingError,
    Tier,
    next_tier,
    percent_of,
    price_line,
    quote,
    tier_rate,
)

TIERS = [Tier(3, 500), Tier(5, 1000), Tier(10, 1500)]  # N ≥ 3: 5%, N ≥ 5: 10%, N ≥ 10: 15%
VAT = 2000  # 20%
BUSINESS = PlanPrice("web-business", 1000, 1, {12: 0, 24: 1000, 36: 1500}, volume_eligible=True)
START = PlanPrice("web-start", 300, 1, {12: 0, 24: 1000}, volume_eligible=False)  # the lowest
DOMAIN_BG = PlanPrice("domain-bg", 2000, 12, {12: 0, 24: 500})
ODD = PlanPrice("odd", 333, 1, {12: 1250}, volume_eligible=True)

EXAMPLES = [
    # plan, months, partner pays?, N, list, period, volume, net, vat, total, commission
    # 1000 × 12 = 12000; N=3 → 5% of 12000 = 600; net 11400; VAT 2280; total 13680
    (BUSINESS, 12, True, 3, 12000, 0, 600, 11400, 2280, 13680, 0),
    # N=2 is below the first tier: no volume discount
    (BUSINESS, 12, True, 2, 12000, 0, 0, 12000, 2400, 14400, 0),
    # N=4 is still 5%; N=5 is 10% (tier edges)
    (BUSINESS, 12, True, 4, 12000, 0, 600, 11400, 2280, 13680, 0),
    (BUSINESS, 12, True, 5, 12000, 0, 1200, 10800, 2160, 12960, 0),
    # 24000; period 10% = 2400 → 21600; volume 10% = 2160 → 19440; VAT 3888; total 23328
    (BUSINESS, 24, True, 9, 24000, 2400, 2160, 19440, 3888, 23328, 0),
    # client pays 36 months at N=10: 36000 − 15% (5400) = 30600, no volume discount;
    # VAT 6120; total 36720; the partner's commission is 15% of 30600 = 4590
    (BUSINESS, 36, False, 10, 36000, 5400, 0, 30600, 6120, 36720, 4590),
    # the lowest plan is never volume-eligible: no discount, no commission
    (START, 12, True, 10, 3600, 0, 0, 3600, 720, 4320, 0),
    (START, 24, False, 10, 7200, 720, 0, 6480, 1296, 7776, 0),
    # domains are priced per year: 2 years = 4000 − 5% (200) = 3800; VAT 760; total 4560
    (DOMAIN_BG, 24, True, 10, 4000, 200, 0, 3800, 760, 4560, 0),
    # rounding half up per line: 333 × 12 = 3996; 12.5% = 499.5 → 500; 3496 × 5% = 174.8
    # → 175; net 3321; VAT 664.2 → 664; total 3985
    (ODD, 12, True, 3, 3996, 500, 175, 3321, 664, 3985, 0),
    # the same line paid by a client: net 3496, VAT 699.2 → 699, commission 174.8 → 175
    (ODD, 12, False, 3, 3996, 500, 0, 3496, 699, 4195, 175),
]


@pytest.mark.parametrize(
    (
        "plan",
        "months",
        "partner_pays",
        "n",
        "list_",
        "period",
        "volume",
        "net",
        "vat",
        "total",
        "commission",
    ),
    EXAMPLES,
)
def test_worked_examples(
    plan, months, partner_pays, n, list_, period, volume, net, vat, total, commission
):
    line = price_line(
        plan, months, partner_pays=partner_pays, volume_rate_bp=tier_rate(TIERS, n), vat_bp=VAT
    )
    assert (
        line.list_cents,
        line.period_discount_cents,
        line.volume_discount_cents,
        line.net_cents,
        line.vat_cents,
        line.total_cents,
        line.commission_cents,
    ) == (list_, period, volume, net, vat, total, commission)


@pytest.mark.parametrize(
    ("n", "rate", "following"),
    [(0, 0, (3, 3)), (2, 0, (3, 1)), (3, 500, (5, 2)), (9, 1000, (10, 1)), (10, 1500, None)],
)
def test_tiers_and_the_next_one(n, rate, following):
    assert tier_rate(TIERS, n) == rate
    found = next_tier(TIERS, n)
    assert (found and (found[0].min_products, found[1])) == (following and following)


def test_half_up_rounding():
    assert percent_of(1, 5000) == 1  # 0.5 → 1
    assert percent_of(3, 5000) == 2  # 1.5 → 2
    assert percent_of(1, 4999) == 0  # 0.4999 → 0


@pytest.mark.parametrize("months", [6, 13, 48])
def test_periods_the_plan_does_not_offer_are_refused(months):
    with pytest.raises(PricingError):
        price_line(BUSINESS, months, partner_pays=True, volume_rate_bp=0, vat_bp=VAT)


def test_a_period_that_is_not_whole_years_of_a_yearly_plan_is_refused():
    plan = PlanPrice("domain-x", 1500, 12, {18: 0})
    with pytest.raises(PricingError):
        price_line(plan, 18, partner_pays=True, volume_rate_bp=0, vat_bp=VAT)


@pytest.mark.parametrize(("amount", "bp"), [(-1, 100), (100, -1), (100, 10_001)])
def test_negative_amounts_and_rates_over_100_percent_are_refused(amount, bp):
    with pytest.raises(PricingError):
        percent_of(amount, bp)


# ---- properties -------------------------------------------------------------------------

basis_points = st.integers(0, 10_000)


@st.composite
def plans(draw):
    base = draw(st.sampled_from([1, 12]))
    counts = sorted(draw(st.sets(st.integers(1, 5), min_size=1, max_size=4)))
    discounts = sorted(
        draw(st.lists(st.integers(0, 5000), min_size=len(counts), max_size=len(counts)))
    )
    return PlanPrice(
        code="p",
        price_cents=draw(st.integers(0, 1_000_000)),
        base_months=base,
        period_discounts={
            c * base * (12 if base == 1 else 1): d for c, d in zip(counts, discounts, strict=True)
        },
        volume_eligible=draw(st.booleans()),
    )


@st.composite
def tier_tables(draw):
    mins = sorted(draw(st.sets(st.integers(1, 50), min_size=1, max_size=5)))
    rates = sorted(draw(st.lists(st.integers(0, 5000), min_size=len(mins), max_size=len(mins))))
    return [Tier(m, r) for m, r in zip(mins, rates, strict=True)]


@settings(max_examples=300, derandomize=True)
@given(plan=plans(), partner_pays=st.booleans(), rate=basis_points, vat=st.integers(0, 3000))
def test_net_never_exceeds_list_and_nothing_is_negative(plan, partner_pays, rate, vat):
    for months in plan.period_discounts:
        line = price_line(plan, months, partner_pays=partner_pays, volume_rate_bp=rate, vat_bp=vat)
        assert 0 <= line.net_cents <= line.list_cents
        assert line.total_cents == line.net_cents + line.vat_cents >= 0
        assert 0 <= line.commission_cents <= line.net_cents


@settings(max_examples=300, derandomize=True)
@given(plan=plans(), partner_pays=st.booleans(), rate=basis_points, vat=st.integers(0, 3000))
def test_a_longer_period_never_costs_more_per_month(plan, partner_pays, rate, vat):
    periods = sorted(plan.period_discounts)
    nets = {
        m: price_line(plan, m, partner_pays=partner_pays, volume_rate_bp=rate, vat_bp=vat).net_cents
        for m in periods
    }
    for shorter, longer in itertools.pairwise(periods):
        # Per month: net(longer)/longer ≤ net(shorter)/shorter, give or take rounding: each of
        # a line's two discounts rounds by at most half a cent, so the longer line may be a
        # cent above exact and the shorter one a cent below, i.e. L/S + 1 cents in all.
        assert nets[longer] * shorter <= nets[shorter] * longer + longer + shorter


@settings(max_examples=300, derandomize=True)
@given(plan=plans(), tiers=tier_tables(), n=st.integers(0, 60), vat=st.integers(0, 3000))
def test_more_eligible_products_never_raise_a_price(plan, tiers, n, vat):
    for months in plan.period_discounts:
        fewer = price_line(
            plan, months, partner_pays=True, volume_rate_bp=tier_rate(tiers, n), vat_bp=vat
        )
        more = price_line(
            plan, months, partner_pays=True, volume_rate_bp=tier_rate(tiers, n + 1), vat_bp=vat
        )
        assert more.total_cents <= fewer.total_cents


@settings(max_examples=200, derandomize=True)
@given(
    items=st.lists(plans(), min_size=1, max_size=6),
    partner_pays=st.booleans(),
    rate=basis_points,
    vat=st.integers(0, 3000),
)
def test_totals_are_exactly_the_sums_of_lines_and_the_same_every_time(
    items, partner_pays, rate, vat
):
    chosen = [(plan, min(plan.period_discounts)) for plan in items]
    first = quote(chosen, partner_pays=partner_pays, volume_rate_bp=rate, vat_bp=vat)
    again = quote(chosen, partner_pays=partner_pays, volume_rate_bp=rate, vat_bp=vat)
    assert first == again
    assert first.total_cents == sum(line.total_cents for line in first.lines)
    assert first.net_cents + first.vat_cents == first.total_cents
    assert first.commission_cents == sum(line.commission_cents for line in first.lines)
