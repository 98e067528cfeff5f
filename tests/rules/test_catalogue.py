"""The catalogue in the database: a partner's N and tier, order quotes, staff changes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Group, Plan, PlanKind, User, VatRate, VolumeTier, db
from rules import catalogue, catalogue_admin, partners
from rules.catalogue_admin import CatalogueError, PlanChange
from rules.pricing import Tier
from tests import factories


def test_n_counts_active_eligible_products_in_own_and_client_panels(app):
    partner = factories.create_partner()
    business = factories.create_plan("web-business", eligible=True)
    start = factories.create_plan("web-start", eligible=False, price=299)
    own = factories.create_panel(partner.user)
    client = factories.create_panel()
    factories.link_client(partner, client, Group.WEB)
    stranger = factories.create_panel()  # not the partner's
    other_partner = factories.create_partner()
    theirs = factories.create_panel()
    factories.link_client(other_partner, theirs, Group.WEB)

    factories.add_product(own, business, "studio.bg")  # counts
    factories.add_product(own, business, "blog.studio.bg")  # counts
    factories.add_product(client, business, "bakery.bg")  # counts
    factories.add_product(own, start, "cheap.bg")  # the lowest plan: not eligible
    factories.add_product(client, business, "old.bg", status="expired")  # not active
    factories.add_product(client, business, "new.bg", status="pending")  # not paid yet
    factories.add_product(stranger, business, "stranger.bg")
    factories.add_product(theirs, business, "theirs.bg")
    factories.create_panel(partner.user, products=[("hosting", "legacy.bg")])  # no plan

    assert catalogue.eligible_products(partner) == 3
    assert catalogue.eligible_products(other_partner) == 1


def test_a_client_panel_the_partner_also_owns_counts_once(app):
    partner = factories.create_partner()
    plan = factories.create_plan()
    panel, _ = partners.create_client_panel(
        partner,
        name="Client",
        client_email="c@example.com",
        groups=Group.WEB,
        actor=partner.user,
    )
    factories.add_product(panel, plan, "client.bg")
    assert catalogue.eligible_products(partner) == 1


@pytest.mark.parametrize(
    ("n", "rate", "next_", "more"),
    [
        (0, 0, Tier(3, 500), 3),
        (2, 0, Tier(3, 500), 1),
        (3, 500, Tier(5, 1000), 2),
        (4, 500, Tier(5, 1000), 1),
        (5, 1000, Tier(10, 1500), 5),
        (10, 1500, None, 0),
    ],
)
def test_standing_at_each_tier_edge(app, n, rate, next_, more):
    partner = factories.create_partner()
    plan = factories.create_plan()
    panel = factories.create_panel(partner.user)
    for i in range(n):
        factories.add_product(panel, plan, f"site{i}.bg")
    standing = catalogue.standing(partner)
    assert (standing.eligible, standing.rate_bp, standing.next, standing.more) == (
        n,
        rate,
        next_,
        more,
    )


def test_order_quote_uses_the_partner_tier_only_when_the_partner_pays(app):
    partner = factories.create_partner()
    plan = factories.create_plan(price=1000, periods={12: 0, 24: 1000})
    panel = factories.create_panel(partner.user)
    for i in range(5):
        factories.add_product(panel, plan, f"site{i}.bg")
    standing = catalogue.standing(partner)  # N = 5: 10%
    # 1000 × 24 = 24000; −10% period = 21600; −10% volume = 19440; VAT 3888
    paid = catalogue.order_quote(plan, 24, standing=standing, partner_pays=True)
    assert (paid.net_cents, paid.vat_cents, paid.total_cents, paid.commission_cents) == (
        19440,
        3888,
        23328,
        0,
    )
    # a client pays 21600 + VAT; the partner earns 10% of 21600
    client = catalogue.order_quote(plan, 24, standing=standing, partner_pays=False)
    assert (client.net_cents, client.commission_cents) == (21600, 2160)
    # someone who is no partner pays the full price and earns nobody anything
    plain = catalogue.order_quote(plan, 24)
    assert (plain.net_cents, plain.commission_cents) == (21600, 0)
    with pytest.raises(catalogue.PeriodNotOffered):
        catalogue.order_quote(plan, 36)


def test_retired_and_unknown_plans_take_no_orders(app):
    factories.create_plan("old", retired=True)
    for code in ("old", "nope", "", None):
        with pytest.raises(catalogue.NotOrderable):
            catalogue.orderable_plan(code)


def change(**overrides):
    values = {
        "code": "web-new",
        "kind": PlanKind.SHARED_HOSTING,
        "name_bg": "Хостинг Нов",
        "name_en": "Hosting New",
        "price_cents": 799,
        "base_months": 1,
        "volume_eligible": True,
        "retired": False,
        "periods": {12: 0, 24: 1000},
    }
    return PlanChange(**{**values, **overrides})


def test_staff_create_and_change_a_plan_with_an_audit_trail(app):
    staff = factories.create_user(is_staff=True)
    plan, changed = catalogue_admin.save_plan(None, change(), actor=staff)
    db.session.commit()
    assert changed
    assert {p.months: p.discount_bp for p in plan.periods} == {12: 0, 24: 1000}

    catalogue_admin.save_plan(
        plan,
        change(code="ignored", price_cents=899, periods={12: 0, 36: 1500}, retired=True),
        actor=staff,
    )
    db.session.commit()
    db.session.refresh(plan)
    assert plan.code == "web-new"  # the code never changes
    assert plan.price_cents == 899 and plan.retired_at is not None
    assert {p.months: p.discount_bp for p in plan.periods} == {12: 0, 36: 1500}

    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries[-2:]] == ["plan.create", "plan.update"]
    assert entries[-1].details["changes"]["price_cents"] == {"before": 799, "after": 899}
    assert entries[-1].details["changes"]["periods_bp"] == {
        "before": {"12": 0, "24": 1000},
        "after": {"12": 0, "36": 1500},
    }
    assert entries[-1].actor_id == staff.id

    # saving the same values again changes and records nothing
    count = len(entries)
    _plan, changed = catalogue_admin.save_plan(
        plan, change(price_cents=899, periods={12: 0, 36: 1500}, retired=True), actor=staff
    )
    assert not changed
    db.session.commit()
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == count


@pytest.mark.parametrize(
    "overrides",
    [
        {"code": "Web Pro"},
        {"code": ""},
        {"code": "-start"},
        {"name_bg": "  "},
        {"name_en": ""},
        {"price_cents": -1},
        {"price_cents": 100_000_001},
        {"base_months": 6},
        {"kind": PlanKind.DOMAIN, "base_months": 1},
        {"periods": {}},
        {"periods": {0: 0}},
        {"periods": {121: 0}},
        {"periods": {12: -1}},
        {"periods": {12: 10_001}},
        {"periods": {12: 1000, 24: 500}},  # longer but a smaller discount
        {"kind": PlanKind.DOMAIN, "base_months": 12, "periods": {18: 0}},  # not whole years
        {"kind": PlanKind.VPS, "volume_eligible": True},  # only shared hosting counts
        {"kind": PlanKind.DOMAIN, "base_months": 12, "volume_eligible": True},
    ],
)
def test_plans_breaking_a_rule_are_refused_and_nothing_is_stored(app, overrides):
    staff = factories.create_user(is_staff=True)
    with pytest.raises(CatalogueError):
        catalogue_admin.save_plan(None, change(**overrides), actor=staff)
    db.session.rollback()
    assert db.session.scalar(select(Plan.id)) is None


def test_plan_codes_are_unique(app):
    staff = factories.create_user(is_staff=True)
    factories.create_plan("web-new")
    with pytest.raises(CatalogueError):
        catalogue_admin.save_plan(None, change(), actor=staff)


def test_tiers_are_replaced_and_audited(app):
    staff = factories.create_user(is_staff=True)
    assert catalogue_admin.save_tiers([(10, 1200), (2, 300), (5, 800)], actor=staff)
    db.session.commit()
    assert catalogue.tiers() == [Tier(2, 300), Tier(5, 800), Tier(10, 1200)]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tiers.update"))
    assert entry.details == {
        "tiers_bp": {
            "before": {"3": 500, "5": 1000, "10": 1500},
            "after": {"2": 300, "5": 800, "10": 1200},
        }
    }
    assert not catalogue_admin.save_tiers([(2, 300), (5, 800), (10, 1200)], actor=staff)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [(3, 500), (3, 600)],  # two tiers at the same count
        [(3, 500), (5, 500)],  # no higher rate
        [(3, 500), (5, 400)],  # an inversion: more products, less discount
        [(0, 500)],
        [(3, 10_001)],
        [(3, -1)],
    ],
)
def test_tier_tables_breaking_a_rule_are_refused(app, rows):
    staff = factories.create_user(is_staff=True)
    with pytest.raises(CatalogueError):
        catalogue_admin.save_tiers(rows, actor=staff)
    db.session.rollback()
    assert db.session.scalar(select(VolumeTier.id)) is None
    assert catalogue.tiers() == list(catalogue.DEFAULT_TIERS)


def test_vat_changes_today_or_later_never_back_dated(app):
    staff = factories.create_user(is_staff=True)
    today = date.today()
    later = catalogue_admin.schedule_vat(2100, today + timedelta(days=30), actor=staff, today=today)
    db.session.commit()
    assert catalogue.vat_bp() == 2000  # not yet
    catalogue_admin.schedule_vat(900, today, actor=staff, today=today)
    db.session.commit()
    assert catalogue.vat_bp() == 900
    for rate, day in [
        (1000, today - timedelta(days=1)),  # back-dated
        (1000, today + timedelta(days=800)),  # beyond two years
        (10_001, today),
    ]:
        with pytest.raises(CatalogueError):
            catalogue_admin.schedule_vat(rate, day, actor=staff, today=today)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(VatRate.id))) == 2
    details = [
        e.details
        for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "vat.update"))
    ]
    assert [d["rate_bp"] for d in details] == [
        {"before": 2000, "after": 2100},
        {"before": 2000, "after": 900},
    ]
    # a scheduled rate can be withdrawn before it starts; one in force cannot
    catalogue_admin.cancel_vat(later, actor=staff)
    db.session.commit()
    current = db.session.scalar(select(VatRate))
    with pytest.raises(CatalogueError):
        catalogue_admin.cancel_vat(current, actor=staff)


def test_a_later_vat_date_starts_at_midnight_in_sofia(app):
    staff = factories.create_user(is_staff=True)
    rate = catalogue_admin.schedule_vat(2100, date(2027, 7, 1), actor=staff, today=date(2027, 6, 1))
    # Sofia is UTC+3 in summer: its midnight is 21:00 UTC the day before
    assert rate.effective_from == datetime(2027, 6, 30, 21, 0, tzinfo=UTC)


def test_two_staff_adding_one_code_at_once_get_one_plan_and_a_message(app):
    from tests.concurrency import run_concurrently

    staff_id = factories.create_user(is_staff=True).id

    def add(_i):
        staff = db.session.get(User, staff_id)
        return catalogue_admin.save_plan(None, change(), actor=staff)[0].code

    results = run_concurrently(app, 2, add)
    assert sorted(map(type, results), key=str) == sorted(
        [str, catalogue_admin.PlanCodeTaken], key=str
    )
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Plan.id))) == 1
