"""Orders, invoices, the deposit and the provider webhook, on the rules (no HTTP)."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    Group,
    Invoice,
    InvoiceStatus,
    PaidVia,
    Partner,
    Product,
    ProductStatus,
    ProviderEvent,
    Transfer,
    VatRate,
    db,
    utcnow,
)
from rules import billing, deposits, domains, ledger, payments
from rules.errors import NotFound, PermissionDenied
from tests import factories
from tests.concurrency import run_concurrently

TODAY = date(2026, 11, 29)


@pytest.fixture
def shop(app):
    """A partner at N = 3 (5%), its own panel, and a catalogue: hosting and .bg domains."""
    partner = factories.create_partner()
    own = factories.create_panel(partner.user, name="Own")
    hosting = factories.create_plan("web-business", price=1000, periods={1: 0, 12: 0, 24: 1000})
    domain = factories.create_domain_plan()
    for i in range(3):
        factories.add_product(own, hosting, f"old{i}.bg")
    return partner, own, hosting, domain


fund = factories.fund


def order(partner, own, *, plan="web-business", months=12, domain="new-site.bg"):
    billing.add_new(
        partner.user, plan_code=plan, months=months, domain=domain, panel_number=own.number
    )
    invoice = billing.checkout(partner.user, today=TODAY)
    db.session.commit()
    return invoice


def test_checkout_prices_the_cart_with_the_partner_tier_and_products_wait(shop):
    partner, own, _hosting, _domain = shop
    billing.add_new(
        partner.user, plan_code="web-business", months=24, domain="Shop.BG", panel_number=own.number
    )
    billing.add_new(
        partner.user, plan_code="domain-bg", months=12, domain="shop.bg", panel_number=own.number
    )
    invoice = billing.checkout(partner.user, today=TODAY)
    db.session.commit()
    # hosting: 24000 − 10% = 21600 − 5% = 20520, VAT 4104; domain: 2000, VAT 400
    assert [(line.net_cents, line.vat_cents) for line in invoice.lines] == [
        (20520, 4104),
        (2000, 400),
    ]
    assert (invoice.net_cents, invoice.vat_cents, invoice.total_cents) == (22520, 4504, 27024)
    assert invoice.status == InvoiceStatus.UNPAID and invoice.partner_id == partner.id
    assert invoice.reference == f"INV-{invoice.number:06d}"
    products = [line.product for line in invoice.lines]
    assert [(p.domain, p.status) for p in products] == [
        ("shop.bg", ProductStatus.PENDING),
        ("shop.bg", ProductStatus.PENDING),
    ]
    assert billing.cart(partner.user) == []


def test_paying_from_the_deposit_activates_at_once(shop):
    partner, own, *_ = shop
    fund(partner, 50_000)
    invoice = order(partner, own)
    payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.commit()
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_via == PaidVia.DEPOSIT
    product = invoice.lines[0].product
    assert product.status == ProductStatus.ACTIVE
    assert product.expires_on == billing.add_months(date.today(), 12)
    assert deposits.balance(partner) == 50_000 - invoice.total_cents
    assert ledger.check() == []
    with pytest.raises(billing.AlreadyPaid):
        payments.pay_from_deposit(invoice, partner, actor=partner.user)


def test_too_little_deposit_leaves_the_invoice_unpaid_and_products_pending(shop):
    partner, own, *_ = shop
    fund(partner, 100)
    invoice = order(partner, own)
    with pytest.raises(ledger.InsufficientFunds):
        payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.rollback()
    assert invoice.status == InvoiceStatus.UNPAID
    assert invoice.lines[0].product.status == ProductStatus.PENDING
    assert deposits.balance(partner) == 100
    # staff confirms the bank transfer: paid whole, active
    staff = factories.create_user(is_staff=True)
    with pytest.raises(deposits.DepositError):
        deposits.confirm_bank_transfer(invoice.reference, 1, received_on=TODAY, actor=staff)
    deposits.confirm_bank_transfer(
        invoice.reference, invoice.total_cents, received_on=TODAY, actor=staff
    )
    db.session.commit()
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_via == PaidVia.BANK_TRANSFER
    assert invoice.lines[0].product.status == ProductStatus.ACTIVE
    assert ledger.check() == []


def test_a_renewal_extends_from_the_current_expiry(shop):
    partner, own, hosting, _ = shop
    fund(partner, 50_000)
    product = factories.add_product(own, hosting, "renew.bg")
    product.expires_on = date(2027, 1, 31)
    db.session.commit()
    billing.add_renewal(partner.user, product, 1)
    invoice = billing.checkout(partner.user, today=TODAY)
    payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.commit()
    assert product.expires_on == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("plan", "domain", "error"),
    [
        ("domain-bg", "shop.com", domains.InvalidDomain),  # another TLD
        ("domain-bg", "blog.shop.bg", domains.InvalidDomain),  # a subdomain is not registered
        ("web-business", "", domains.InvalidDomain),
        ("web-business", "not a domain", domains.InvalidDomain),
        ("web-business", "x" * 64 + ".bg", domains.InvalidDomain),
        ("web-business", "shop.notatld", domains.InvalidDomain),
        ("nope", "shop.bg", billing.catalogue.NotOrderable),
    ],
)
def test_bad_orders_are_refused(shop, plan, domain, error):
    partner, own, *_ = shop
    with pytest.raises(error):
        billing.add_new(
            partner.user, plan_code=plan, months=12, domain=domain, panel_number=own.number
        )


def test_a_hosting_plan_may_be_on_a_subdomain_and_idn(shop):
    partner, own, *_ = shop
    item = billing.add_new(
        partner.user,
        plan_code="web-business",
        months=12,
        domain="blog.XN--E1AFMKFD.xn--90ae",
        panel_number=own.number,
    )
    assert item.domain == "blog.пример.бг"


def test_ordering_into_a_panel_needs_billing(shop):
    partner, _own, *_ = shop
    client = factories.create_panel()
    factories.link_client(partner, client, Group.WEB)
    stranger = factories.create_panel()
    with pytest.raises(PermissionDenied):
        billing.add_new(
            partner.user,
            plan_code="web-business",
            months=12,
            domain="client-site.bg",
            panel_number=client.number,
        )
    with pytest.raises(NotFound):
        billing.add_new(
            partner.user,
            plan_code="web-business",
            months=12,
            domain="client-site.bg",
            panel_number=stranger.number,
        )


def test_a_client_sees_and_pays_only_what_it_may(shop):
    partner, own, *_ = shop
    invoice = order(partner, own)
    client = factories.create_user()
    with pytest.raises(NotFound):
        billing.invoice_for(client, invoice.number)
    factories.grant(own, client, Group.BILLING)
    assert billing.invoice_for(client, invoice.number) == invoice


def test_top_ups_credit_once_and_activate_the_partner(shop):
    partner, *_ = shop
    assert partner.activated_at is None  # minimum 500 € (factories)
    first = fund(partner, 20_000)
    assert partner.activated_at is None
    with pytest.raises(deposits.AlreadyCredited):
        deposits.credit(first, 20_000)
    db.session.rollback()
    fund(partner, 30_000)
    assert partner.activated_at is not None
    assert deposits.balance(partner) == 50_000
    assert ledger.check() == []


def test_concurrent_payments_of_many_invoices_never_overspend(app, shop):
    """100 invoices of 10 € against a deposit of 100 €, paid at once: exactly 10 are paid."""
    partner, own, *_ = shop
    db.session.add(VatRate(rate_bp=0, effective_from=utcnow()))
    db.session.commit()
    fund(partner, 100_00)
    numbers = []
    for i in range(100):
        invoice = order(partner, own, months=1, domain=f"site{i}.bg")
        numbers.append(invoice.number)
    assert invoice.total_cents == 950  # 1000 − 5%: the deposit covers 10 of them and a bit
    partner_id = partner.id

    def pay(i):
        partner = db.session.get(Partner, partner_id)
        invoice = billing.invoice_for(partner.user, numbers[i])
        payments.pay_from_deposit(invoice, partner, actor=partner.user)
        return "paid"

    results = run_concurrently(app, 100, pay)
    refused = [r for r in results if isinstance(r, ledger.InsufficientFunds)]
    assert (results.count("paid"), len(refused)) == (10, 90), set(map(repr, results))
    db.session.commit()
    assert deposits.balance(partner) == 100_00 - 10 * 950
    assert (
        db.session.scalar(
            select(func.count(Invoice.id)).where(Invoice.status == InvoiceStatus.PAID)
        )
        == 10
    )
    assert (
        db.session.scalar(
            select(func.count(Product.id)).where(Product.status == ProductStatus.ACTIVE)
        )
        == 3 + 10
    )
    assert ledger.check() == []


def test_two_concurrent_payments_of_one_invoice_pay_once(app, shop):
    partner, own, *_ = shop
    fund(partner, 100_000)
    number, partner_id = order(partner, own).number, partner.id

    def pay(_i):
        partner = db.session.get(Partner, partner_id)
        payments.pay_from_deposit(
            billing.invoice_for(partner.user, number), partner, actor=partner.user
        )
        return "paid"

    results = run_concurrently(app, 2, pay)
    assert results.count("paid") == 1
    assert sum(isinstance(r, billing.AlreadyPaid) for r in results) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count(Transfer.id))) == 1 + 2  # top-up, net, VAT
    assert ledger.check() == []


def test_a_crash_between_debit_and_activation_leaves_nothing_and_a_retry_works(shop, monkeypatch):
    partner, own, *_ = shop
    fund(partner, 50_000)
    invoice = order(partner, own)
    real_paid = payments._paid

    def crash(*args, **kwargs):
        raise RuntimeError("the server died here")

    monkeypatch.setattr(payments, "_paid", crash)
    with pytest.raises(RuntimeError):
        payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.rollback()
    assert deposits.balance(partner) == 50_000
    assert db.session.scalar(select(func.count(Transfer.id))) == 1
    assert invoice.status == InvoiceStatus.UNPAID
    monkeypatch.setattr(payments, "_paid", real_paid)
    payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.commit()
    assert invoice.status == InvoiceStatus.PAID
    assert deposits.balance(partner) == 50_000 - invoice.total_cents
    assert ledger.check() == []


SECRET = "whsec-test"


def signed(event):
    body = json.dumps(event).encode()
    return body, deposits.signature(SECRET, body)


def event(reference, amount, event_id="evt_1", **changes):
    return {
        "id": event_id,
        "type": "payment.succeeded",
        "reference": reference,
        "amount_cents": amount,
        "currency": "EUR",
        **changes,
    }


def test_a_signed_event_credits_a_top_up_once(shop):
    partner, *_ = shop
    top_up = deposits.request_top_up(partner, actor=partner.user)
    db.session.commit()
    body, sig = signed(event(top_up.reference, 12_345))
    deposits.handle_event(deposits.parse_event(SECRET, body, f"sha256={sig}"))
    db.session.commit()
    assert deposits.balance(partner) == 12_345
    with pytest.raises(deposits.EventReplayed):
        deposits.handle_event(deposits.parse_event(SECRET, body, sig))
    db.session.rollback()
    assert deposits.balance(partner) == 12_345
    assert db.session.scalar(select(ProviderEvent.outcome)) == f"credited top-up {top_up.reference}"


@pytest.mark.parametrize(
    ("body", "sig", "error"),
    [
        (b'{"id": "x"}', "bad", deposits.BadSignature),
        (b"not json", None, deposits.DepositError),
        (b"[1, 2]", None, deposits.DepositError),
        (
            json.dumps(event("DEP-1", 100, type="refund.created")).encode(),
            None,
            deposits.DepositError,
        ),
        (json.dumps(event("DEP-1", "100")).encode(), None, deposits.DepositError),
        (json.dumps(event("DEP-1", True)).encode(), None, deposits.DepositError),
        (json.dumps(event("DEP-1", 100, currency="USD")).encode(), None, deposits.DepositError),
        (json.dumps({"id": "x"}).encode(), None, deposits.DepositError),
    ],
)
def test_bad_webhooks_are_refused(app, body, sig, error):
    with pytest.raises(error):
        deposits.parse_event(SECRET, body, sig or deposits.signature(SECRET, body))


def test_concurrent_redeliveries_credit_once(app, shop):
    partner, *_ = shop
    top_up = deposits.request_top_up(partner, actor=partner.user)
    db.session.commit()
    body, sig = signed(event(top_up.reference, 5_000, event_id="evt_twice"))
    results = run_concurrently(
        app, 10, lambda i: deposits.handle_event(deposits.parse_event(SECRET, body, sig)).id
    )
    assert len([r for r in results if isinstance(r, int)]) == 1
    db.session.commit()
    assert deposits.balance(partner) == 5_000
    assert ledger.check() == []


def earn_commission(partner, cents):
    """Commission as issue 6 will book it: the expense account pays the partner's account."""
    ledger.transfer(
        ledger.account("commission_expense"),
        ledger.account("commission", partner),
        cents,
        kind="commission",
        key=f"test-commission:{partner.id}:{cents}",
    )
    db.session.commit()


def test_an_invoice_can_be_paid_whole_from_available_commission(shop):
    partner, own, *_ = shop
    invoice = order(partner, own)
    earn_commission(partner, invoice.total_cents - 1)
    with pytest.raises(ledger.InsufficientFunds):
        payments.pay_from_balance(invoice, partner, "commission", actor=partner.user)
    db.session.rollback()
    earn_commission(partner, 1)
    payments.pay_from_balance(invoice, partner, "commission", actor=partner.user)
    db.session.commit()
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_via == PaidVia.COMMISSION
    assert ledger.balance("commission", partner).available == 0
    assert deposits.balance(partner) == 0
    assert ledger.check() == []
