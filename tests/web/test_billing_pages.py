"""Ordering and paying through the pages: cart, checkout, invoice, deposit, staff, webhook."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    Group,
    IdempotencyRecord,
    Invoice,
    InvoiceStatus,
    Plan,
    Product,
    ProductStatus,
    TopUp,
    Transfer,
    db,
)
from rules import deposits, ledger
from tests import factories
from tests.web.test_routes import csrf_token, snapshot


@pytest.fixture
def shop(app):
    partner = factories.create_partner()
    own = factories.create_panel(partner.user, name="Own sites")
    factories.create_plan("web-business", price=1000, periods={12: 0, 24: 1000})
    factories.create_domain_plan()
    return partner, own


fund = factories.fund


def add_to_cart(testapp, own, plan="domain-bg", months="12", domain="bakery.bg"):
    page = testapp.get("/order/", {"plan": plan, "months": months})
    form = page.forms["add-form"]
    form["domain"] = domain
    form["panel"] = str(own.number)
    return form.submit(expect_errors=True)


def count(model, *where):
    return db.session.scalar(select(func.count(model.id)).where(*where))


def test_order_checkout_and_pay_from_the_deposit(testapp, login_as, shop):
    partner, own = shop
    fund(partner, 10_000)
    login_as(partner.user)
    assert add_to_cart(testapp, own).status_int == 303
    cart = testapp.get("/billing/cart")
    assert "bakery.bg" in cart.text
    invoice_page = cart.forms["checkout-form"].submit().follow()
    invoice = db.session.scalar(select(Invoice))
    assert invoice.total_cents == 2400 and invoice.status == InvoiceStatus.UNPAID
    assert invoice.lines[0].product.status == ProductStatus.PENDING
    paid = invoice_page.forms["pay-deposit-form"].submit().follow()
    assert "платена" in paid.html.select_one("#invoice-status").text
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.lines[0].product.status == ProductStatus.ACTIVE
    assert deposits.balance(partner) == 10_000 - 2400
    assert ledger.check() == []


def test_a_double_submit_pays_once_and_a_changed_replay_is_refused(testapp, login_as, shop):
    partner, own = shop
    fund(partner, 10_000)
    login_as(partner.user)
    add_to_cart(testapp, own)
    checkout = testapp.get("/billing/cart").forms["checkout-form"]
    first = checkout.submit()
    again = checkout.submit()  # the same form, the same key: a double click
    assert first.headers["Location"] == again.headers["Location"]
    assert count(Invoice) == 1
    pay = testapp.get(first.headers["Location"]).forms["pay-deposit-form"]
    assert pay.submit().status_int == 303
    assert pay.submit().status_int == 303  # replayed, not paid again
    assert count(Transfer) == 1 + 2
    assert deposits.balance(partner) == 10_000 - 2400
    pay["source"].force_value("commission")  # the same key with other contents
    assert "вече е изпратен с друго съдържание" in pay.submit(status=422).text


@pytest.mark.parametrize("key", ["", "short", "g" * 32, "0" * 31])
def test_money_posts_without_a_valid_key_are_refused(testapp, login_as, shop, key):
    partner, own = shop
    login_as(partner.user)
    add_to_cart(testapp, own)
    form = testapp.get("/billing/cart").forms["checkout-form"]
    form["idempotency_key"].force_value(key)
    before = snapshot()
    form.submit(status=422)
    assert snapshot() == before


def test_too_little_deposit_is_a_clear_refusal_and_nothing_moves(testapp, login_as, shop):
    partner, own = shop
    fund(partner, 100)
    login_as(partner.user)
    add_to_cart(testapp, own)
    invoice_page = testapp.get("/billing/cart").forms["checkout-form"].submit().follow()
    form = invoice_page.forms["pay-deposit-form"]
    assert invoice_page.html.select_one("#pay-deposit-form button").has_attr("disabled")
    before = snapshot()
    response = testapp.post(
        invoice_page.request.path + "/pay",
        {
            "csrf_token": form["csrf_token"].value,
            "idempotency_key": form["idempotency_key"].value,
            "source": "deposit",
        },
        status=422,
    )
    assert "Депозитът ви не покрива тази фактура" in response.text
    assert snapshot() == before


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("bakery.com", "само домейни .bg"),
        ("blog.bakery.bg", "не поддомейн"),
        ("", "Въведете име на домейн"),
        ("bad domain.bg", "не е валидно име на домейн"),
    ],
)
def test_bad_domains_are_refused_on_the_order_page(testapp, login_as, shop, domain, message):
    partner, own = shop
    login_as(partner.user)
    before = snapshot()
    response = add_to_cart(testapp, own, domain=domain)
    assert response.status_int == 422
    assert message in response.html.select_one("#add-error").text
    assert snapshot() == before


def test_tampered_plan_and_period_on_add_are_refused(testapp, login_as, shop):
    partner, own = shop
    login_as(partner.user)
    form = testapp.get("/order/", {"plan": "domain-bg", "months": "12"}).forms["add-form"]
    form["domain"] = "bakery.bg"
    form["panel"] = str(own.number)
    form["months"].force_value("7")
    assert form.submit(status=422)
    form["months"].force_value("12")
    form["plan"].force_value("nope")
    assert form.submit(status=422)
    assert count(Product) == 0


def test_ordering_into_a_panel_without_billing_is_not_offered(testapp, login_as, shop):
    partner, _own = shop
    other = factories.create_panel()
    login_as(partner.user)
    form = testapp.get("/order/", {"plan": "domain-bg", "months": "12"}).forms["add-form"]
    assert str(other.number) not in [value for value, *_ in form["panel"].options]
    form["domain"] = "bakery.bg"
    form["panel"].force_value(str(other.number))
    form.submit(status=422)
    assert count(Product) == 0


def test_staff_record_a_transfer_that_credits_a_top_up(testapp, login_as, shop, create_user):
    partner, _own = shop
    top_up = deposits.request_top_up(partner, actor=partner.user)
    db.session.commit()
    login_as(create_user(is_staff=True))
    form = testapp.get("/staff/payments").forms["confirm-form"]
    form["reference"] = top_up.reference
    form["amount"] = "600,00"
    form["received_on"] = date.today().isoformat()
    assert form.submit().status_int == 303
    assert deposits.balance(partner) == 60_000
    db.session.refresh(partner)
    assert partner.activated_at is not None  # reached the 500 € minimum
    page = testapp.get("/staff/payments", {"check": "1"})
    assert page.html.select_one("#check-result.saved")


@pytest.mark.parametrize(
    ("reference", "amount", "status"),
    [("NOPE-1", "10", 404), ("", "10", 422), ("REF", "-1", 422), ("REF", "0", 422)],
)
def test_bad_transfers_are_refused(testapp, login_as, shop, create_user, reference, amount, status):
    login_as(create_user(is_staff=True))
    form = testapp.get("/staff/payments").forms["confirm-form"]
    form["reference"] = reference
    form["amount"] = amount
    form["received_on"] = date.today().isoformat()
    before = snapshot()
    form.submit(status=status)
    assert snapshot() == before


def test_partner_gets_a_reference_and_sees_its_deposit(testapp, login_as, shop):
    partner, _own = shop
    login_as(partner.user)
    page = testapp.get("/partner/deposit")
    assert page.html.select_one("#deposit-available").text.strip().startswith("0,00")
    page = page.forms["top-up-form"].submit().follow()
    top_up = db.session.scalar(select(TopUp))
    assert top_up.reference in page.text
    deposits.credit(top_up, 1234)
    db.session.commit()
    page = testapp.get("/partner/deposit")
    assert "12,34" in page.html.select_one("#deposit-available").text
    assert "12,34" in page.html.select_one("#deposit-history").text


def test_webhook_credits_once_and_refuses_replays_and_forgeries(testapp, shop):
    partner, _own = shop
    top_up = deposits.request_top_up(partner, actor=partner.user)
    db.session.commit()
    event = {
        "id": "evt_42",
        "type": "payment.succeeded",
        "reference": top_up.reference,
        "amount_cents": 5000,
        "currency": "EUR",
    }
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Signature": "sha256=" + deposits.signature("whsec-test", body),
    }
    ok = testapp.post("/webhooks/payments", body, headers=headers)
    assert ok.json == {"ok": True, "outcome": f"credited top-up {top_up.reference}"}
    replay = testapp.post("/webhooks/payments", body, headers=headers, status=409)
    assert replay.json["ok"] is False
    tampered = body.replace(b"5000", b"9000")
    testapp.post("/webhooks/payments", tampered, headers=headers, status=401)
    assert deposits.balance(partner) == 5000
    assert count(IdempotencyRecord) == 0


def test_renewals_page_puts_ticked_products_in_the_cart(testapp, login_as, shop):
    partner, own = shop
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-business"))
    product = factories.add_product(own, plan, "soon.bg")
    product.expires_on = date.today()
    db.session.commit()
    login_as(partner.user)
    page = testapp.get("/billing/renewals", {"days": "30"})
    form = page.forms["renewals-form"]
    form["product"] = str(product.id)
    form[f"months-{product.id}"] = "24"
    cart = form.submit().follow()
    assert "soon.bg" in cart.text and "2 години" in cart.text


def test_auto_renewal_is_switched_on_the_renewals_page(testapp, login_as, shop):
    partner, own = shop
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-business"))
    product = factories.add_product(own, plan, "auto.bg")
    product.expires_on = date.today()
    db.session.commit()
    login_as(partner.user)
    page = testapp.get("/billing/renewals")
    page = page.forms[f"auto-renew-{product.id}"].submit().follow()
    db.session.refresh(product)
    assert product.auto_renew
    page.forms[f"auto-renew-{product.id}"].submit()
    db.session.refresh(product)
    assert not product.auto_renew


@pytest.mark.parametrize(
    ("days", "lands"), [("60", "60"), ("9" * 70_000, "30"), ("30\r\nX-Evil: 1", "30"), ("", "30")]
)
def test_the_auto_renewal_switch_goes_back_to_a_known_window_only(
    testapp, login_as, shop, days, lands
):
    partner, own = shop
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-business"))
    product = factories.add_product(own, plan, "auto.bg")
    product.expires_on = date.today()
    db.session.commit()
    login_as(partner.user)
    response = testapp.post(
        f"/billing/products/{product.id}/auto-renew",
        {"csrf_token": csrf_token(testapp), "on": "1", "days": days},
    )
    assert response.status_int == 303
    assert response.headers["Location"] == f"/billing/renewals?days={lands}"


def test_a_client_without_a_partner_cannot_switch_auto_renewal_on(testapp, login_as, shop):
    client = factories.create_user()
    panel = factories.create_panel(client)
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-business"))
    product = factories.add_product(panel, plan, "alone.bg")
    product.expires_on = date.today()
    db.session.commit()
    login_as(client)
    form = testapp.get("/billing/renewals").forms[f"auto-renew-{product.id}"]
    assert "няма партньор" in form.submit(status=422).text
    db.session.refresh(product)
    assert not product.auto_renew


def test_staff_see_a_partners_ledger(testapp, login_as, shop, create_user):
    partner, _own = shop
    fund(partner, 4_200)
    login_as(create_user(is_staff=True))
    page = testapp.get(f"/staff/partners/{partner.id}/ledger")
    assert "42,00" in page.html.select_one("#account-deposit").text


def test_pay_from_commission_on_the_invoice_page(testapp, login_as, shop):
    from tests.rules.test_billing import earn_commission

    partner, own = shop
    earn_commission(partner, 5_000)
    login_as(partner.user)
    add_to_cart(testapp, own)
    page = testapp.get("/billing/cart").forms["checkout-form"].submit().follow()
    page = page.forms["pay-commission-form"].submit().follow()
    assert "от комисионни" in page.html.select_one("#invoice-status").text
    assert ledger.balance("commission", partner).available == 5_000 - 2400


def test_a_client_sees_and_pays_by_transfer_what_its_partner_ordered_for_it(
    testapp, make_testapp, login_as, shop, create_user
):
    partner, _own = shop
    client = create_user()
    panel = factories.create_panel(client, name="Client's")
    factories.link_client(partner, panel, 15)
    login_as(partner.user)
    add_to_cart(testapp, panel, domain="client-shop.bg")
    form = testapp.get("/billing/cart", {"payer": "client"}).forms["checkout-form"]
    form["payer"] = "client"
    form.submit()
    invoice = db.session.scalar(select(Invoice))
    assert invoice.partner_id is None  # not the partner's own invoice
    client_app = login_as(client, make_testapp())
    listing = client_app.get("/billing/invoices")
    assert str(invoice.number) in listing.html.select_one("#invoices").text
    page = client_app.get(f"/billing/invoices/{invoice.number}")
    assert invoice.reference in page.html.select_one("#pay-bank").text
    assert not page.html.select("#pay-deposit-form")  # a client has no deposit


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser goes
        json.dumps(
            {
                "id": "e",
                "type": "payment.succeeded",
                "reference": "R",
                "amount_cents": 10**30,
                "currency": "EUR",
            }
        ).encode(),
        # a lone surrogate and a NUL: valid JSON, but text no database stores
        b'{"id": "\\ud800", "type": "payment.succeeded", "reference": "R", '
        b'"amount_cents": 100, "currency": "EUR"}',
        b'{"id": "evt\\u0000", "type": "payment.succeeded", "reference": "R", '
        b'"amount_cents": 100, "currency": "EUR"}',
        b'{"id": "evt", "type": "payment.succeeded", "reference": "DEP-\\u0000", '
        b'"amount_cents": 100, "currency": "EUR"}',
        b'{"id": "evt", "type": "payment.succeeded\\ud83d", "reference": "R", '
        b'"amount_cents": 100, "currency": "EUR"}',
    ],
)
def test_odd_signed_webhook_bodies_are_a_json_4xx(testapp, body):
    headers = {
        "Content-Type": "application/json",
        "X-Signature": "sha256=" + deposits.signature("whsec-test", body),
    }
    before = snapshot()
    answer = testapp.post("/webhooks/payments", body, headers=headers, status=422)
    assert answer.json["ok"] is False
    assert snapshot() == before


def partner_pays_for_its_client(testapp, shop, login_as, client, bystander):
    """The shop's partner, at its 5% tier (three eligible products of its own), orders for the
    panel "Дентален кабинет" it made — ``client`` holds billing there, ``bystander`` only web —
    and pays from its deposit, logged in on ``testapp``. Returns the paid invoice."""
    partner, own = shop
    plan = db.session.scalar(select(Plan).where(Plan.code == "web-business"))
    for i in range(3):  # three eligible products: the partner's 5% volume tier
        factories.add_product(own, plan, f"site{i}.bg")
    client_panel = factories.create_panel(partner.user, name="Дентален кабинет")
    factories.grant(client_panel, client, Group.BILLING | Group.WEB)
    factories.grant(client_panel, bystander, Group.WEB)
    fund(partner, 100_000)
    login_as(partner.user)
    add_to_cart(testapp, client_panel, plan="web-business", domain="dentist.bg")
    testapp.get("/billing/cart").forms["checkout-form"].submit()
    invoice = db.session.scalar(select(Invoice))
    assert invoice.lines[0].volume_discount_cents > 0  # priced at the partner's tier
    testapp.get(f"/billing/invoices/{invoice.number}").forms["pay-deposit-form"].submit()
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    return invoice


def test_what_each_role_sees_on_an_invoice_its_partner_paid(
    testapp, make_testapp, login_as, shop, create_user
):
    """The partner (its buyer) sees its wholesale price and how it paid; the client with
    billing on the panel sees the catalogue price and that the partner settled it, and finds
    it in its list; a member without billing and a stranger see nothing of it."""
    client, bystander, stranger = create_user(), create_user(), create_user()
    invoice = partner_pays_for_its_client(testapp, shop, login_as, client, bystander)

    mine = testapp.get(f"/billing/invoices/{invoice.number}")
    assert "Отстъпка за количество" in mine.text and "от депозита" in mine.text
    assert mine.html.select_one("#invoice-total").text.strip() == "136,80\xa0€"  # 5% off

    client_app = login_as(client, make_testapp())
    listed = client_app.get("/billing/invoices").html.select_one("#invoices")
    assert [a.text for a in listed.select("a")] == [str(invoice.number)]
    assert "144,00" in listed.text and "136,80" not in listed.text  # her price in the list too
    seen = client_app.get(f"/billing/invoices/{invoice.number}")
    text = seen.html.select_one("#invoice").text
    assert "Отстъпка за количество" not in text and "депозит" not in text
    assert "комисион" not in text
    assert "уредена от вашия партньор" in seen.html.select_one("#invoice-status").text
    assert seen.html.select_one("#invoice-total").text.strip() == "144,00\xa0€"  # 12 × 10 € + VAT
    assert not seen.html.select("#pay-deposit-form, #pay-bank, #cancel-invoice-form")

    for outsider in (bystander, stranger):
        other = login_as(outsider, make_testapp())
        other.get(f"/billing/invoices/{invoice.number}", status=404)
        rows = other.get("/billing/invoices").html.select("#invoices a")
        assert [a.text for a in rows] == []
