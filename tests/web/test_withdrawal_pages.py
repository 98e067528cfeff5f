"""Withdrawing through the pages: a fresh login first, held at once, staff decide once."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import Withdrawal, WithdrawalStatus, db, utcnow
from rules import deposits, ledger
from tests import factories
from tests.factories import PASSWORD as USER_PASSWORD
from tests.web.test_routes import snapshot

IBAN = "BG80 BNBG 9661 1020 3456 78"


@pytest.fixture
def partner(app):
    partner = factories.create_partner()
    factories.fund(partner, 10_000)
    return partner


def test_a_partner_withdraws_and_staff_pay_it_out(testapp, make_testapp, login_as, partner):
    login_as(partner.user)
    form = testapp.get("/partner/deposit/withdraw").forms["withdraw-form"]
    form["amount"] = "40,00"
    form["iban"] = IBAN
    page = form.submit().follow()
    assert "60,00" in page.html.select_one("#deposit-available").text
    withdrawal = db.session.scalar(select(Withdrawal))
    assert withdrawal.status == WithdrawalStatus.REQUESTED

    staff_app = make_testapp()
    login_as(factories.create_user(is_staff=True), staff_app)
    listing = staff_app.get("/staff/withdrawals")
    pay = next(f for f in listing.forms.values() if f.action.endswith("/pay"))
    assert pay.submit().status_int == 303
    assert pay.submit().status_int == 303  # a double click replays, it does not pay twice
    db.session.refresh(withdrawal)
    assert withdrawal.status == WithdrawalStatus.PAID
    assert deposits.balance(partner) == 6_000
    assert ledger.check() == []


def test_an_old_login_must_confirm_the_password_first(testapp, login_as, partner):
    with time_machine.travel(utcnow() - timedelta(minutes=30), tick=True):
        login_as(partner.user)
    response = testapp.get("/partner/deposit/withdraw")
    assert response.status_int == 302
    assert "/account/confirm" in response.headers["Location"]
    confirm = response.follow().forms["reauthenticate-form"]
    confirm["password"] = "wrong password"
    assert confirm.submit(status=422)
    confirm = testapp.get(response.headers["Location"]).forms["reauthenticate-form"]
    confirm["password"] = USER_PASSWORD
    back = confirm.submit()
    assert back.headers["Location"] == "/partner/deposit/withdraw"
    assert back.follow().forms["withdraw-form"]


def test_a_stale_post_is_sent_to_confirm_and_nothing_is_held(testapp, login_as, partner):
    login_as(partner.user)
    form = testapp.get("/partner/deposit/withdraw").forms["withdraw-form"]
    form["amount"] = "10"
    form["iban"] = IBAN
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=True):
        before = snapshot()
        response = form.submit()
        assert "/account/confirm" in response.headers["Location"]
        assert snapshot() == before


@pytest.mark.parametrize(
    ("amount", "iban", "message"),
    [
        ("100,01", IBAN, "Няма достатъчно пари"),
        ("0", IBAN, "Сумата трябва да е над 0"),
        ("1e3", IBAN, "Въведете сума в евро"),
        ("10", "BG81 BNBG 9661 1020 3456 78", "Контролните цифри"),
        ("10", "", "Въведете IBAN"),
    ],
)
def test_bad_withdrawals_are_refused_on_the_page(testapp, login_as, partner, amount, iban, message):
    login_as(partner.user)
    form = testapp.get("/partner/deposit/withdraw").forms["withdraw-form"]
    form["amount"] = amount
    form["iban"] = iban
    before = snapshot()
    response = form.submit(status=422)
    assert message in response.text
    assert snapshot() == before
    assert db.session.scalar(select(func.count(Withdrawal.id))) == 0


def test_provider_money_shows_when_it_can_be_withdrawn_and_is_held_until_then(
    testapp, login_as, partner
):
    from tests.rules.test_withdrawals import provider_top_up

    provider_top_up(partner, 5_000, "evt-card-page")
    login_as(partner.user)
    deposit = testapp.get("/partner/deposit")
    settling = deposit.html.select_one("#settling").text
    assert "100,00" in settling  # can be withdrawn now
    assert "50,00" in settling and "платежния доставчик" in settling
    form = testapp.get("/partner/deposit/withdraw").forms["withdraw-form"]
    form["amount"], form["iban"] = "150,00", IBAN
    before = snapshot()
    refused = form.submit(status=422)
    assert "Можете да изтеглите до 100,00\xa0€ сега" in refused.text
    assert snapshot() == before
    form = refused.forms["withdraw-form"]
    form["amount"], form["iban"] = "100,00", IBAN
    assert form.submit().status_int == 303
    assert deposits.balance(partner) == 5_000
