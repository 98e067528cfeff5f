"""The order page: the server prices every change; figures sent by the browser are ignored."""

import pytest

from tests import factories


@pytest.fixture
def catalogue(app):
    business = factories.create_plan(
        "web-business", price=1000, periods={12: 0, 24: 1000, 36: 1500}
    )
    domain = factories.create_domain_plan(price=2500, periods={12: 0, 24: 300})
    return business, domain


@pytest.fixture
def partner_at_5(catalogue):
    """An approved partner with 5 eligible products: the 10% tier."""
    partner = factories.create_partner()
    panel = factories.create_panel(partner.user)
    for i in range(5):
        factories.add_product(panel, catalogue[0], f"site{i}.bg")
    return partner


def figures(page):
    """The amounts of the breakdown by cell id, and the commission sentence if any."""
    found = {
        cell["id"]: cell.text.strip().replace("\xa0", " ")
        for cell in page.html.select("#breakdown td.amount")
    }
    commission = page.html.select_one("#commission")
    found["commission"] = commission.text.strip().replace("\xa0", " ") if commission else None
    return found


def test_a_partner_paying_gets_its_tier_and_sees_the_whole_breakdown(
    testapp, login_as, partner_at_5
):
    login_as(partner_at_5.user)
    page = testapp.get("/order/", {"plan": "web-business", "months": "24"})
    # 1000 × 24 = 24000 → −10% period (2400) → −10% volume (2160) → 19440 + 20% VAT 3888
    assert figures(page) == {
        "list-price": "240,00 €",
        "period-discount": "−24,00 €",
        "volume-discount": "−21,60 €",
        "net": "194,40 €",
        "vat": "38,88 €",
        "total": "233,28 €",
        "per-month": "8,10 €",  # 19440 / 24, net
        "commission": None,
    }
    assert "10%: вашето ниво при 5 продукта" in page.text


def test_a_partner_quoting_for_a_paying_client_sees_its_commission(testapp, login_as, partner_at_5):
    login_as(partner_at_5.user)
    page = testapp.get("/order/", {"plan": "web-business", "months": "24", "payer": "client"})
    found = figures(page)
    assert found["volume-discount"] == "0,00 €"  # no discount, not −0,00 €
    assert found["net"] == "216,00 €"
    assert "21,60 €" in found["commission"]  # 10% of 21600


def test_a_client_pays_the_price_without_volume_discount_and_no_payer_choice(
    testapp, login_as, catalogue, create_user
):
    login_as(create_user())
    page = testapp.get("/order/", {"plan": "web-business", "months": "36", "payer": "partner"})
    assert figures(page)["net"] == "306,00 €"  # 36000 − 15%
    assert not page.html.select("input[name=payer]")


def test_tampered_price_fields_change_nothing(testapp, login_as, partner_at_5):
    login_as(partner_at_5.user)
    query = {"plan": "web-business", "months": "24"}
    honest = testapp.get("/order/", query)
    tampered = testapp.get(
        "/order/",
        {
            **query,
            "price_cents": "1",
            "price": "0.01",
            "discount_bp": "10000",
            "volume_rate_bp": "10000",
            "net_cents": "0",
            "total": "0",
            "vat_bp": "0",
        },
    )
    assert figures(tampered) == figures(honest)


def test_plan_change_keeps_or_adjusts_the_period(testapp, login_as, partner_at_5):
    login_as(partner_at_5.user)
    headers = {"HX-Request": "true"}
    # 36 months of hosting were listed; the plan changes to a domain that has no 36 months
    changed = {"plan": "domain-bg", "months": "36", "periods_of": "web-business"}
    fragment = testapp.get("/order/", changed, headers=headers)
    assert "<html" not in fragment.text
    assert fragment.html.select_one("#months option[selected]")["value"] == "12"
    assert figures(fragment)["total"] == "30,00 €"  # 2500 + 20%
    assert fragment.html.select_one("input[name=periods_of]")["value"] == "domain-bg"
    # a period the new plan offers is kept; the same works without htmx (no-JS submit)
    kept = testapp.get("/order/", {**changed, "months": "24"})
    assert kept.html.select_one("#months option[selected]")["value"] == "24"
    # asking the domain itself for 36 months is an error, not a silent change
    testapp.get("/order/", {**changed, "periods_of": "domain-bg"}, status=422)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"plan": "nope"}, "не е в каталога"),
        ({"plan": "web-business", "months": "5"}, "не се продава за този период"),
        ({"plan": "web-business", "months": "1e3"}, "не се продава за този период"),
        ({"plan": "web-business", "months": "-12"}, "не се продава за този период"),
        ({"plan": "web-business", "months": "12", "payer": "everyone"}, "Изберете кой плаща"),
        ({"plan": "old"}, "не е в каталога"),
    ],
)
def test_bad_choices_get_a_clear_422(testapp, login_as, partner_at_5, query, message):
    factories.create_plan("old", retired=True)
    login_as(partner_at_5.user)
    page = testapp.get("/order/", query, status=422)
    assert message in page.html.select_one("#order-error").text
    assert not page.html.select("#breakdown")


def test_partner_area_shows_tier_progress(testapp, login_as, partner_at_5, catalogue):
    login_as(partner_at_5.user)
    page = testapp.get("/partner/")
    tier = page.html.select_one("#tier")
    assert "5 продукта се отчитат за отстъпката: 10% отстъпка и комисионна." in tier.text
    assert "Още 5 продукта до следващото ниво (15%)." in tier.text
    progress = tier.select_one("progress")
    assert (progress["value"], progress["max"]) == ("5", "10")


def test_below_the_first_tier_the_page_says_how_far_it_is(testapp, login_as, catalogue):
    partner = factories.create_partner()
    factories.add_product(factories.create_panel(partner.user), catalogue[0], "one.bg")
    login_as(partner.user)
    page = testapp.get("/order/", {"plan": "web-business", "months": "12"})
    assert "още нямате ниво: още 2 продукта за 5%" in page.text
    domain = testapp.get("/order/", {"plan": "domain-bg", "months": "24"})
    assert not domain.html.select("#per-month")  # a yearly price has no monthly figure


def test_a_client_sending_a_payer_is_not_refused(testapp, login_as, catalogue, create_user):
    login_as(create_user())
    testapp.get("/order/", {"plan": "web-business", "months": "12", "payer": "nonsense"})
