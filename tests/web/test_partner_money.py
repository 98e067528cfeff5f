"""The partner's money pages: Billing, Commissions, History, statements, the dashboard, and
staff refunds."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Group, Invoice, InvoiceStatus, PaidVia, db, utcnow
from rules import billing, commissions, deposits, ledger, payments
from tests import factories
from tests.web.test_routes import snapshot


@pytest.fixture
def agency(app):
    """A partner (10% override) with two clients, each with two unpaid invoices."""
    partner = factories.create_partner()
    partner.commission_rate_bp = 1000
    factories.create_plan("web-business", price=1000, periods={12: 0})
    clients = []
    for c in range(2):
        client = factories.create_user()
        panel = factories.create_panel(client, name=f"Client {c}")
        factories.link_client(partner, panel, Group.WEB | Group.BILLING)
        for i in range(2):
            billing.add_new(
                client,
                plan_code="web-business",
                months=12,
                domain=f"c{c}-{i}.bg",
                panel_number=panel.number,
            )
            billing.checkout(client)
        clients.append((client, panel))
    db.session.commit()
    return partner, clients  # every invoice: 12000 + 2400 = 14400


def numbers():
    return db.session.scalars(select(Invoice.number).order_by(Invoice.number)).all()


def test_billing_lists_every_clients_unpaid_invoice_and_pays_them_at_once(
    testapp, login_as, agency
):
    partner, clients = agency
    factories.fund(partner, 4 * 14400)
    login_as(partner.user)
    page = testapp.get("/partner/billing")
    assert len(page.html.select("#unpaid tbody input[name=invoice]")) == 4
    only = testapp.get("/partner/billing", {"client": clients[0][1].number})
    assert len(only.html.select("#unpaid tbody input[name=invoice]")) == 2
    form = page.forms["billing-table"]
    for checkbox in form.fields["invoice"]:
        checkbox.checked = True
    form["order"] = "commission,deposit"
    done = form.submit().follow()
    assert "Платени са 4 фактури" in done.text
    assert (
        db.session.scalar(
            select(func.count(Invoice.id)).where(Invoice.status == InvoiceStatus.PAID)
        )
        == 4
    )
    assert deposits.balance(partner) == 0
    assert ledger.check() == []


def test_a_batch_with_a_foreign_invoice_is_refused_whole(testapp, login_as, agency):
    partner, _clients = agency
    factories.fund(partner, 10 * 14400)
    stranger = factories.create_user()
    panel = factories.create_panel(stranger)
    billing.add_new(
        stranger,
        plan_code="web-business",
        months=12,
        domain="stranger.bg",
        panel_number=panel.number,
    )
    foreign = billing.checkout(stranger).number
    db.session.commit()
    login_as(partner.user)
    form = testapp.get("/partner/billing").forms["billing-table"]
    fields = dict(form.submit_fields())
    fields.pop("invoice", None)
    body = [*fields.items(), *(("invoice", str(n)) for n in numbers())]
    assert str(foreign) in [v for k, v in body if k == "invoice"]
    before = snapshot()
    response = testapp.post("/partner/billing/pay", body, status=404)
    assert "нищо не е платено" in response.text
    assert snapshot() == before


def test_commissions_page_withdrawal_history_and_csv(testapp, login_as, agency):
    partner, _clients = agency
    for number in numbers():
        payments.pay_externally(
            db.session.scalar(select(Invoice).where(Invoice.number == number)),
            PaidVia.BANK_TRANSFER,
        )
    db.session.commit()
    login_as(partner.user)
    page = testapp.get("/partner/commissions")
    assert "48,00" in page.html.select_one("#commission-pending").text  # 4 × 10% of 12000
    commissions.clear(utcnow() + timedelta(days=31))
    db.session.commit()
    page = testapp.get("/partner/commissions")
    assert "48,00" in page.html.select_one("#commission-available").text
    form = testapp.get("/partner/commissions/withdraw").forms["withdraw-form"]
    form["amount"] = "20"
    form["iban"] = "BG80 BNBG 9661 1020 3456 78"
    assert "от 50" in form.submit(status=422).text
    history = testapp.get("/partner/history", {"account": "commission"})
    assert len(history.html.select("#history tbody tr")) == 8  # 4 held, 4 cleared
    download = testapp.get("/partner/history.csv", {"account": "commission"})
    assert download.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0][0] == "time_utc" and len(rows) == 9
    testapp.get("/partner/history", {"kind": "nonsense"}, status=422)


def test_a_client_statement_as_a_page_and_csv(testapp, login_as, agency):
    partner, clients = agency
    _client, panel = clients[0]
    invoice = db.session.scalar(select(Invoice).order_by(Invoice.id))
    payments.pay_externally(invoice, PaidVia.BANK_TRANSFER)
    db.session.commit()
    login_as(partner.user)
    page = testapp.get(f"/partner/clients/{panel.number}/statement")
    summary = page.html.select_one("#statement-summary").text
    assert "144,00" in summary and "12,00" in summary  # paid; its 10% commission
    download = testapp.get(f"/partner/clients/{panel.number}/statement.csv")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert [r[2] for r in rows[1:]] == ["paid", "unpaid"]
    testapp.get(f"/partner/clients/{panel.number}/statement", {"from": "2026-13-01"}, status=422)
    stranger_panel = factories.create_panel()
    testapp.get(f"/partner/clients/{stranger_panel.number}/statement", status=404)


def test_the_dashboard_shows_balances_chart_and_runway(testapp, login_as, agency):
    partner, _clients = agency
    own = factories.create_panel(partner.user, name="Own")
    plan = db.session.scalar(select(billing.Plan).where(billing.Plan.code == "web-business"))
    product = factories.add_product(own, plan, "own.bg")
    product.expires_on = utcnow().date() + timedelta(days=20)
    db.session.commit()
    login_as(partner.user)
    page = testapp.get("/partner/")
    assert page.html.select_one("#dashboard-deposit")
    assert len(page.html.select("#commission-chart svg rect")) == 12
    assert page.html.select_one("#runway-short")  # no deposit for the renewal in 20 days
    factories.fund(partner, 100_000)
    page = testapp.get("/partner/")
    assert not page.html.select_one("#runway-short")


def test_staff_refund_part_of_an_invoice(testapp, login_as, agency, create_user):
    _partner, _clients = agency
    invoice = db.session.scalar(select(Invoice).order_by(Invoice.id))
    payments.pay_externally(invoice, PaidVia.BANK_TRANSFER)
    db.session.commit()
    login_as(create_user(is_staff=True))
    form = testapp.get(f"/staff/invoices/{invoice.number}").forms["refund-form"]
    form["amount"] = "44"
    form["reason"] = "a month unused"
    assert form.submit().status_int == 303
    db.session.refresh(invoice)
    assert invoice.refunded_cents == 4400
    form = testapp.get(f"/staff/invoices/{invoice.number}").forms["refund-form"]
    form["amount"] = "100,01"  # 100,00 is left
    form["reason"] = "too much"
    assert "могат да се възстановят още най-много" in form.submit(status=422).text
    assert ledger.check() == []


def test_available_commission_moves_to_the_deposit_and_pays_waiting_orders(
    testapp, login_as, agency
):
    partner, _clients = agency
    for number in numbers():
        payments.pay_externally(
            db.session.scalar(select(Invoice).where(Invoice.number == number)),
            PaidVia.BANK_TRANSFER,
        )
    commissions.clear(utcnow() + timedelta(days=31))
    [waiting] = factories.own_orders(partner, 1)  # 12 × 1,00 € + VAT = 14,40 €, waiting for money
    login_as(partner.user)
    form = testapp.get("/partner/commissions").forms["to-deposit-form"]
    form["amount"] = "30,00"
    assert form.submit().status_int == 303
    db.session.refresh(waiting)
    assert waiting.status == InvoiceStatus.PAID  # paid from what was moved
    assert deposits.balance(partner) == 3000 - 1440
    assert ledger.balance("commission", partner).available == 1800
    form = testapp.get("/partner/commissions").forms["to-deposit-form"]
    form["amount"] = "18,01"  # more than is available
    before = snapshot()
    form.submit(status=422)
    assert snapshot() == before
    history = testapp.get("/partner/history", {"kind": "to_deposit"})
    assert len(history.html.select("#history tbody tr")) == 2  # out of one, into the other


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/partner/clients/{panel}/statement", {"to": "9999-12-31"}),
        ("/partner/clients/{panel}/statement.csv", {"from": "0001-01-01"}),
    ],
)
def test_far_dates_are_a_422_not_a_500(testapp, login_as, agency, path, params):
    partner, clients = agency
    login_as(partner.user)
    testapp.get(path.format(panel=clients[0][1].number), params, status=422)


def test_huge_invoice_numbers_are_a_422_not_a_500(testapp, login_as, agency):
    partner, _clients = agency
    login_as(partner.user)
    form = testapp.get("/partner/billing").forms["billing-table"]
    fields = [(k, v) for k, v in form.submit_fields() if k != "invoice"]
    testapp.post("/partner/billing/pay", [*fields, ("invoice", "9" * 30)], status=422)


def test_a_client_does_not_see_its_partners_commission(testapp, login_as, agency):
    _partner, clients = agency
    client, _panel = clients[0]
    login_as(client)
    invoice = db.session.scalar(select(Invoice).order_by(Invoice.id))
    page = testapp.get(f"/billing/invoices/{invoice.number}")
    assert not page.html.select(".earns")
    assert page.forms["cancel-invoice-form"].submit().status_int == 303
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.CANCELLED


def test_the_dashboard_says_why_each_own_invoice_waits_and_pays_a_covered_one(testapp, login_as):
    partner = factories.create_partner()
    invoices = factories.own_orders(partner, 2, price=250)  # 3,000 + 600 = 36,00 € each
    factories.fund(partner, 5_000)  # a top-up pays the oldest; 14,00 € left
    assert invoices[0].status == InvoiceStatus.PAID
    login_as(partner.user)
    page = testapp.get("/partner/")
    waiting = page.html.select_one(f"#waiting-{invoices[1].number}").text
    assert "чака още 22,00" in waiting and "Захрани" in waiting
    factories.fund(partner, 6_000)  # the top-up pays it by itself; 38,00 € left
    db.session.refresh(invoices[1])
    assert invoices[1].status == InvoiceStatus.PAID
    # an order issued while the deposit already covers it: the page offers to pay it now
    own = factories.create_panel(partner.user)
    billing.add_new(
        partner.user,
        plan_code="web-start",
        months=12,
        domain="mine2.bg",
        panel_number=own.number,
    )
    third = billing.checkout(partner.user)
    db.session.commit()
    page = testapp.get("/partner/")
    item = page.html.select_one(f"#waiting-{third.number}")
    assert "депозитът я покрива" in item.text
    paid = page.forms[f"pay-waiting-{third.number}"].submit()
    assert paid.status_int == 303
    db.session.refresh(third)
    assert third.status == InvoiceStatus.PAID
    assert not testapp.get("/partner/").html.select("#waiting-orders")


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_payment_shows_the_page_again_with_the_ticks_and_what_is_missing(
    testapp, login_as, agency, htmx
):
    """Nothing ticked, or more than the chosen balances hold: the same page (the table only,
    for htmx), the ticks and the chosen order kept, naming the invoice and the amount."""
    partner, _clients = agency
    factories.fund(partner, 20_000)  # one invoice of 144,00 € fits, two do not
    login_as(partner.user)
    headers = {"HX-Request": "true"} if htmx else {}
    form = testapp.get("/partner/billing").forms["billing-table"]
    before = snapshot()
    empty = form.submit(headers=headers, status=422)
    assert "Отметнете фактурите" in empty.html.select_one("#billing-error").text
    for checkbox in form.fields["invoice"][:2]:
        checkbox.checked = True
    form["order"] = "deposit"
    refused = form.submit(headers=headers, status=422)
    if htmx:
        assert refused.text.lstrip().startswith('<form id="billing-table"')
    first, second = sorted(numbers())[:2]
    message = refused.html.select_one("#billing-error").text
    assert f"до фактура {second} (144,00\xa0€)" in message
    assert "не достигат 88,00\xa0€" in message and "Нищо не е платено." in message
    kept = [box["value"] for box in refused.html.select("input[name=invoice][checked]")]
    assert sorted(int(v) for v in kept) == [first, second]
    assert refused.html.select_one("select[name=order] option[selected]")["value"] == "deposit"
    assert snapshot() == before
    # the same form again with one invoice less goes through
    fields = [(k, v) for k, v in refused.forms["billing-table"].submit_fields() if k != "invoice"]
    paid = testapp.post("/partner/billing/pay", [*fields, ("invoice", str(first))], headers=headers)
    assert paid.status_int in (200, 303)
    assert db.session.scalar(select(Invoice.status).where(Invoice.number == first)) == (
        InvoiceStatus.PAID
    )
