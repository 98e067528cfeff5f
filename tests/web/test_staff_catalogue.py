"""Staff edit plans, tiers and VAT through the forms; bad input is a 422 that stores nothing."""

import pytest
from sqlalchemy import select

from models import AuditEntry, Plan, VatRate, VolumeTier, db
from rules import catalogue
from rules.pricing import Tier
from tests import factories
from tests.web.test_routes import snapshot


@pytest.fixture
def staff(login_as, create_user):
    user = create_user(is_staff=True)
    login_as(user)
    return user


def errors(page):
    return " ".join(e.text for e in page.html.select(".field-error"))


def test_staff_add_a_plan_through_the_form(testapp, staff):
    form = testapp.get("/staff/catalogue/plans/new").forms["plan-form"]
    form["code"] = "web-ultra"
    form["kind"] = "shared_hosting"
    form["name_bg"] = "Хостинг Ултра"
    form["name_en"] = "Hosting Ultra"
    form["price"] = "19,90"
    form["base_months"] = "1"
    form["volume_eligible"] = True
    form["periods-0-months"] = "12"
    form["periods-0-discount"] = "0"
    form["periods-1-months"] = "24"
    form["periods-1-discount"] = "7.5"
    response = form.submit()
    assert response.status_int == 303
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-ultra"))
    assert plan.price_cents == 1990 and plan.volume_eligible
    assert {p.months: p.discount_bp for p in plan.periods} == {12: 0, 24: 750}
    listing = response.follow()
    assert "web-ultra" in listing.text and "Хостинг Ултра" in listing.text


def test_staff_edit_a_plan_and_the_audit_log_says_what_changed(testapp, staff):
    plan = factories.create_plan("web-business", price=599, periods={12: 0, 24: 1000})
    form = testapp.get(f"/staff/catalogue/plans/{plan.id}").forms["plan-form"]
    assert form["price"].value == "5.99"
    assert (form["mailboxes"].value, form["mail_quota_mb"].value) == ("25", "10240")
    form["mailboxes"], form["mail_quota_mb"] = "5", "2048"
    assert form["periods-1-discount"].value == "10"
    assert "code" not in form.fields  # the code, kind and price basis are fixed
    form["price"] = "6.49"
    form["periods-1-months"] = ""  # drop the 24 months
    form["periods-1-discount"] = ""
    form["periods-2-months"] = "36"
    form["periods-2-discount"] = "15"
    form["retired"] = True
    assert form.submit().status_int == 303
    db.session.refresh(plan)
    assert plan.price_cents == 649 and plan.retired_at is not None
    assert (plan.mailboxes, plan.mail_quota_mb) == (5, 2048)
    assert [(p.months, p.discount_bp) for p in plan.periods] == [(12, 0), (36, 1500)]
    log = testapp.get("/staff/audit")
    assert "5,99\xa0€ → 6,49\xa0€" in log.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "-5", "Въведете сума в евро"),
        ("price", "NaN", "Въведете сума в евро"),
        ("price", "1e3", "Въведете сума в евро"),
        ("price", "12.345", "Въведете сума в евро"),
        ("price", "99999999999", "Въведете сума в евро"),
        ("price", "", "Попълнете"),
        ("periods-0-discount", "101", "Въведете процент"),
        ("periods-0-discount", "-1", "Въведете процент"),
        ("periods-0-discount", "nan", "Въведете процент"),
        ("periods-0-months", "1.5", "Въведете цяло число"),
        ("periods-0-months", "", "Попълнете и двете полета или оставете реда празен"),
        ("periods-1-months", "12", "само веднъж"),
        ("periods-1-discount", "0", "по-малка отстъпка"),
        ("name_en", "", "Въведете име на плана"),
        ("mailboxes", "-1", "Въведете цяло число от 0 до 10000"),
        ("mail_quota_mb", "99999999", "Въведете цяло число от 0 до 10000000"),
        ("mail_quota_mb", "lots", "цяло число"),
    ],
)
def test_bad_plan_input_is_refused_and_nothing_changes(testapp, staff, field, value, message):
    plan = factories.create_plan("web-business", price=599, periods={12: 500, 24: 1000})
    form = testapp.get(f"/staff/catalogue/plans/{plan.id}").forms["plan-form"]
    form[field] = value
    before = snapshot()
    response = form.submit(status=422)
    assert message in response.text
    assert snapshot() == before


def test_removing_every_period_is_refused(testapp, staff):
    plan = factories.create_plan("web-business")
    form = testapp.get(f"/staff/catalogue/plans/{plan.id}").forms["plan-form"]
    for i in range(2):
        form[f"periods-{i}-months"] = ""
        form[f"periods-{i}-discount"] = ""
    before = snapshot()
    assert "поне един период" in form.submit(status=422).text
    assert snapshot() == before


def test_a_second_plan_with_the_same_code_is_refused(testapp, staff):
    factories.create_plan("web-business")
    form = testapp.get("/staff/catalogue/plans/new").forms["plan-form"]
    form["code"] = "web-business"
    form["name_bg"] = form["name_en"] = "X"
    form["price"] = "1"
    assert "вече има този код" in form.submit(status=422).text


def test_staff_set_the_tiers(testapp, staff):
    form = testapp.get("/staff/catalogue/tiers").forms["tiers-form"]
    assert form["tiers-0-min_products"].value == "3" and form["tiers-0-rate"].value == "5"
    form["tiers-0-min_products"] = "2"
    form["tiers-0-rate"] = "2,5"
    form["tiers-3-min_products"] = "20"
    form["tiers-3-rate"] = "20"
    assert form.submit().status_int == 303
    assert catalogue.tiers() == [Tier(2, 250), Tier(5, 1000), Tier(10, 1500), Tier(20, 2000)]
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
        "tiers.update"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tiers-1-rate": "4"}, "по-висок процент"),  # an inversion
        ({"tiers-1-min_products": "3"}, "от един и същ брой"),
        ({"tiers-0-rate": "1e1"}, "Въведете процент"),
        ({"tiers-0-min_products": "-3"}, "Въведете цяло число"),
        ({"tiers-0-min_products": "0"}, "1 или повече"),
        ({"tiers-0-rate": ""}, "Попълнете и двете полета или оставете реда празен"),
        (
            {f"tiers-{i}-{f}": "" for i in range(3) for f in ("min_products", "rate")},
            "поне едно ниво",
        ),
    ],
)
def test_bad_tiers_are_refused_and_nothing_changes(testapp, staff, changes, message):
    form = testapp.get("/staff/catalogue/tiers").forms["tiers-form"]
    for name, value in changes.items():
        form[name] = value
    response = form.submit(status=422)
    assert message in response.text
    assert db.session.scalar(select(VolumeTier.id)) is None


def test_staff_set_vat_from_today(testapp, staff):
    form = testapp.get("/staff/catalogue/vat").forms["vat-form"]
    assert form["rate"].value == "20"
    form["rate"] = "9"
    assert form.submit().status_int == 303
    assert catalogue.vat_bp() == 900


@pytest.mark.parametrize(
    ("rate", "day", "message"),
    [
        ("20", "2001-01-01", "най-рано днес"),
        ("20", "2099-01-01", "най-много две години"),
        ("120", None, "Въведете процент"),
        ("NaN", None, "Въведете процент"),
        ("20", "not a date", "Въведете датата"),
        ("20", "", "Въведете датата"),
    ],
)
def test_bad_vat_is_refused(testapp, staff, rate, day, message):
    form = testapp.get("/staff/catalogue/vat").forms["vat-form"]
    form["rate"] = rate
    if day is not None:
        form["effective_on"] = day
    assert message in form.submit(status=422).text
    assert db.session.scalar(select(VatRate.id)) is None


def test_unknown_plan_is_404(testapp, staff):
    testapp.get("/staff/catalogue/plans/999999", status=404)


@pytest.mark.parametrize("row", ["²", "٣", "1x", "9999999"])
def test_odd_row_numbers_are_ignored_not_a_500(testapp, staff, row):
    plan = factories.create_plan("web-business", periods={12: 0})
    form = testapp.get(f"/staff/catalogue/plans/{plan.id}").forms["plan-form"]
    fields = dict(form.submit_fields())
    fields[f"periods-{row}-months"] = "24"
    fields[f"periods-{row}-discount"] = "5"
    response = testapp.post(f"/staff/catalogue/plans/{plan.id}", fields)
    assert response.status_int == 303
    db.session.refresh(plan)
    assert [p.months for p in plan.periods] == [12]


def test_staff_withdraw_a_scheduled_vat_rate(testapp, staff):
    from datetime import timedelta

    from models import utcnow

    later = VatRate(rate_bp=2100, effective_from=utcnow() + timedelta(days=30))
    now = VatRate(rate_bp=2000, effective_from=utcnow() - timedelta(days=1))
    db.session.add_all([later, now])
    db.session.commit()
    page = testapp.get("/staff/catalogue/")
    forms = [f for f in page.forms.values() if "/cancel" in (f.action or "")]
    assert [f.action for f in forms] == [f"/staff/catalogue/vat/{later.id}/cancel"]
    assert forms[0].submit().status_int == 303
    assert db.session.scalars(select(VatRate.id)).all() == [now.id]
    testapp.post(
        f"/staff/catalogue/vat/{now.id}/cancel",
        {"csrf_token": page.forms["language-form"]["csrf_token"].value},
        status=422,
    )
