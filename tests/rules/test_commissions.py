"""Managed commissions: who earns what, when it clears, how refunds take it back."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import (
    Commission,
    CommissionStatus,
    Group,
    InvoiceStatus,
    PaidVia,
    Partner,
    db,
    utcnow,
)
from rules import billing, commissions, deposits, jobs, ledger, partners, payments
from tests import factories
from tests.concurrency import run_concurrently

IBAN = "BG80BNBG96611020345678"
_serial = itertools.count()


@pytest.fixture
def world(app):
    """A partner with a client panel (billing rights) and its own panel, and two plans."""
    partner = factories.create_partner()
    client = factories.create_user()
    client_panel = factories.create_panel(client, name="Client")
    factories.link_client(partner, client_panel, Group.WEB | Group.BILLING)
    own = factories.create_panel(partner.user, name="Own")
    eligible = factories.create_plan("web-business", price=1000, periods={12: 0})
    factories.create_plan("web-start", price=300, periods={12: 0}, eligible=False)
    return partner, client, client_panel, own, eligible


def order(user, panel, plan="web-business", *, partner_pays=True, domain=None):
    billing.add_new(
        user,
        plan_code=plan,
        months=12,
        domain=domain or f"s{panel.id}-{plan}.bg",
        panel_number=panel.number,
    )
    invoice = billing.checkout(user, partner_pays=partner_pays)
    db.session.commit()
    return invoice


def pay_by_transfer(invoice):
    payments.pay_externally(invoice, PaidVia.BANK_TRANSFER)
    db.session.commit()


def with_tier(partner, panel, plan, n):
    for i in range(n):
        factories.add_product(panel, plan, f"tier{i}.bg")


def commission_of(invoice):
    return db.session.scalars(
        select(Commission)
        .join(Commission.invoice_line)
        .where(Commission.invoice_line.has(invoice_id=invoice.id))
    ).all()


@pytest.mark.parametrize(
    ("who_orders", "who_pays", "plan", "tier_products", "expected"),
    [
        # the client orders and pays in its panel: 10% of 12000 at N=5 (5 + the new one is
        # pending, so N = 5) -> 1200
        ("client", "bank", "web-business", 5, 1200),
        # N = 3: 5% -> 600
        ("client", "bank", "web-business", 3, 600),
        # below the first tier: rate 0, no commission
        ("client", "bank", "web-business", 2, 0),
        # the lowest plan is never eligible
        ("client", "bank", "web-start", 10, 0),
        # the partner orders for the client, the client pays: commission on the full price
        ("partner-for-client", "bank", "web-business", 3, 600),
        # the partner pays from its deposit (its discount): no commission
        ("partner", "deposit", "web-business", 3, 0),
        # the client's invoice (full price) paid by the partner from its deposit: the partner
        # did not get its discount, so it earns the commission instead
        ("client", "deposit", "web-business", 3, 600),
    ],
)
def test_who_earns_what(world, who_orders, who_pays, plan, tier_products, expected):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, tier_products)
    factories.fund(partner, 100_000)
    if who_orders == "client":
        invoice = order(client, client_panel, plan)
    elif who_orders == "partner-for-client":
        invoice = order(partner.user, client_panel, plan, partner_pays=False)
    else:
        invoice = order(partner.user, client_panel, plan)
    if who_pays == "bank":
        pay_by_transfer(invoice)
    else:
        payments.pay_from_deposit(invoice, partner, actor=partner.user)
        db.session.commit()
    earned = commission_of(invoice)
    assert sum(c.amount_cents for c in earned) == expected
    assert all(c.status == CommissionStatus.PENDING for c in earned)
    # the invoice said so when it was issued
    assert invoice.lines[0].commission_cents == (0 if who_orders == "partner" else expected)
    assert ledger.balance("commission", partner).available == 0  # held, not spendable
    assert ledger.check() == []


def test_renewals_earn_for_ever_even_after_a_move_and_unlinking(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    invoice = order(client, client_panel)
    pay_by_transfer(invoice)
    product = invoice.lines[0].product
    # the client leaves the partner, and the product moves to another panel of the client
    partners.unlink(client_panel, actor=client)
    elsewhere = factories.create_panel(client, name="Elsewhere")
    product.panel_id = elsewhere.id
    db.session.commit()
    billing.add_renewal(client, product, 12)
    renewal = billing.checkout(client)
    db.session.commit()
    pay_by_transfer(renewal)
    assert [c.amount_cents for c in commission_of(renewal)] == [600]


def test_a_product_first_ordered_outside_a_client_panel_earns_nobody(world):
    partner, client, _client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    alone = factories.create_panel(client, name="Not in the list")
    invoice = order(client, alone)
    pay_by_transfer(invoice)
    assert commission_of(invoice) == []


def test_a_staff_override_rate_wins_over_the_tier(world):
    partner, client, client_panel, *_ = world
    partner.commission_rate_bp = 2000
    db.session.commit()
    invoice = order(client, client_panel)
    pay_by_transfer(invoice)
    assert [c.amount_cents for c in commission_of(invoice)] == [2400]


def test_clearing_happens_at_30_days_not_a_second_before(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        invoice = order(client, client_panel)
        pay_by_transfer(invoice)
    [commission] = commission_of(invoice)
    assert commissions.clear(start + timedelta(days=30) - timedelta(seconds=1)) == 0
    db.session.commit()
    assert ledger.balance("commission", partner).available == 0
    assert commissions.clear(start + timedelta(days=30)) == 1
    db.session.commit()
    assert commission.status == CommissionStatus.AVAILABLE
    assert ledger.balance("commission", partner).available == 600
    assert ledger.check() == []


def test_a_refund_inside_the_window_shrinks_or_voids_the_held_commission(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    staff = factories.create_user(is_staff=True)
    invoice = order(client, client_panel)  # 12000 + 2400 VAT; commission 600
    pay_by_transfer(invoice)
    [commission] = commission_of(invoice)
    payments.refund(invoice, 3600, reason="a quarter back", actor=staff)
    db.session.commit()
    assert commission.reversed_cents == 150 and commission.status == CommissionStatus.PENDING
    assert ledger.balance("commission", partner).available == 0
    payments.refund(invoice, invoice.total_cents - 3600, reason="the rest", actor=staff)
    db.session.commit()
    assert commission.reversed_cents == 600 and commission.status == CommissionStatus.VOIDED
    with pytest.raises(billing.BillingError):
        payments.refund(invoice, 1, reason="too much", actor=staff)
    db.session.rollback()
    assert commissions.clear(utcnow() + timedelta(days=31)) == 0
    assert ledger.check() == []


def test_a_refund_after_clearing_takes_back_and_leaves_a_debt_for_later(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    staff = factories.create_user(is_staff=True)
    first = order(client, client_panel, domain="first.bg")
    pay_by_transfer(first)
    commissions.clear(utcnow() + timedelta(days=31))
    db.session.commit()
    assert ledger.balance("commission", partner).available == 600
    # the partner spends 500 of it on an invoice of its own...
    pricey = factories.create_plan("web-tiny", price=1, periods={12: 0}, eligible=False)
    del pricey
    ledger.transfer(
        ledger.account("commission", partner),
        ledger.account("revenue"),
        500,
        kind="payment",
        key="spent",
    )
    db.session.commit()
    # ...then the first invoice is refunded whole: 100 taken back now, 500 owed
    payments.refund(first, first.total_cents, reason="cancelled", actor=staff)
    db.session.commit()
    db.session.refresh(partner)
    assert ledger.balance("commission", partner).available == 0
    assert partner.commission_debt_cents == 500
    # the next commission pays the debt first
    second = order(client, client_panel, domain="second.bg")
    pay_by_transfer(second)
    commissions.clear(utcnow() + timedelta(days=62))
    db.session.commit()
    db.session.refresh(partner)
    assert partner.commission_debt_cents == 0
    assert ledger.balance("commission", partner).available == 100
    assert ledger.check() == []


def test_paying_from_commission_then_deposit_in_the_chosen_order(world):
    partner, client, client_panel, own, _eligible = world
    partner.commission_rate_bp = 5000  # 50% to have something to spend quickly
    db.session.commit()
    earned = order(client, client_panel, domain="earner.bg")
    pay_by_transfer(earned)
    commissions.clear(utcnow() + timedelta(days=31))
    factories.fund(partner, 100_000)
    mine = order(partner.user, own, domain="mine.bg")  # 12000 + 2400 = 14400
    taken = payments.pay_from_balances(mine, partner, ["commission", "deposit"], actor=None)
    db.session.commit()
    assert taken == {"commission": 6000, "deposit": 8400}
    assert mine.paid_via == PaidVia.BALANCES
    assert ledger.balance("commission", partner).available == 0
    assert deposits.balance(partner) == 100_000 - 8400
    assert ledger.check() == []


def test_withdraw_all_commission_against_paying_with_it_at_once_one_wins(app, world):
    partner, client, client_panel, own, _eligible = world
    partner.commission_rate_bp = 5000
    db.session.commit()
    pay_by_transfer(order(client, client_panel, domain="earner.bg"))
    commissions.clear(utcnow() + timedelta(days=31))
    db.session.commit()
    available = ledger.balance("commission", partner).available  # 6000
    bill = order(partner.user, own, "web-start", domain="bill.bg")  # 3600 + 720 VAT
    assert bill.total_cents <= available
    partner_id, number = partner.id, bill.number

    def act(i):
        partner = db.session.get(Partner, partner_id)
        if i == 0:
            deposits.request_withdrawal(partner, available, IBAN, actor=None, source="commission")
        else:
            invoice = billing.invoice_for(partner.user, number)
            payments.pay_from_balance(invoice, partner, "commission", actor=None)
        return "done"

    results = run_concurrently(app, 2, act)
    assert results.count("done") == 1, results
    assert any(isinstance(r, ledger.InsufficientFunds) for r in results)
    db.session.commit()
    assert ledger.balance("commission", partner).available >= 0
    assert ledger.check() == []


def test_commission_withdrawal_has_a_minimum(world):
    partner, *_ = world
    with pytest.raises(deposits.DepositError):
        deposits.request_withdrawal(partner, 4_999, IBAN, actor=None, source="commission")


def test_two_clearing_jobs_at_once_post_each_commission_once(app, world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    for i in range(5):
        pay_by_transfer(order(client, client_panel, domain=f"c{i}.bg"))
    later = utcnow() + timedelta(days=31)
    results = run_concurrently(app, 2, lambda i: commissions.clear(later))
    assert sum(r for r in results if isinstance(r, int)) == 5, results
    db.session.commit()
    # the tier rises as the client's products become active: 5%, 5%, then 10% (N reaches 5)
    assert ledger.balance("commission", partner).available == 600 + 600 + 3 * 1200
    assert (
        db.session.scalar(
            select(func.count(Commission.id)).where(Commission.status == CommissionStatus.AVAILABLE)
        )
        == 5
    )
    assert ledger.check() == []


def test_the_daily_job_clears_commissions(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    pay_by_transfer(order(client, client_panel))
    report = jobs.run(utcnow().date() + timedelta(days=31))
    assert report.commissions_cleared == 1
    assert ledger.balance("commission", partner).available == 600
    assert InvoiceStatus.PAID


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    refunds=st.lists(st.integers(1, 14_400), min_size=1, max_size=6),
    clear_after=st.integers(0, 6),
)
def test_refund_sequences_never_reverse_more_than_was_earned(world, refunds, clear_after):
    """Any sequence of partial refunds, with clearing at any point among them."""
    partner, client, client_panel, _own, _eligible = world
    partner.commission_rate_bp = 1000
    staff = factories.create_user(is_staff=True)
    invoice = order(client, client_panel, domain=f"r{next(_serial)}.bg")  # total 14400
    pay_by_transfer(invoice)
    [commission] = commission_of(invoice)
    refunded = 0
    for step, amount in enumerate(refunds):
        if step == clear_after:
            commissions.clear(utcnow() + timedelta(days=31))
            db.session.commit()
        if refunded + amount > invoice.total_cents:
            with pytest.raises(billing.BillingError):
                payments.refund(invoice, amount, reason="too much", actor=staff)
            db.session.rollback()
            continue
        payments.refund(invoice, amount, reason="part", actor=staff)
        db.session.commit()
        refunded += amount
        assert 0 <= commission.reversed_cents <= commission.amount_cents
        # the share taken back follows the share refunded, rounded half up
        expected = (commission.amount_cents * refunded * 2 + 14_400) // (2 * 14_400)
        assert commission.reversed_cents == expected
        assert ledger.check() == []
    db.session.refresh(partner)
    taken = ledger.balance("commission", partner).available
    assert taken + partner.commission_debt_cents >= 0
    assert ledger.check() == []


@pytest.mark.config(COMMISSION_CLEARING_DAYS=7, COMMISSION_WITHDRAWAL_MIN_CENTS=100)
def test_the_window_and_the_minimum_are_settings(world):
    partner, client, client_panel, own, eligible = world
    with_tier(partner, own, eligible, 3)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        pay_by_transfer(order(client, client_panel))
    assert commissions.clear(start + timedelta(days=7)) == 1
    db.session.commit()
    deposits.request_withdrawal(partner, 100, IBAN, actor=None, source="commission")


def test_many_small_refunds_split_net_and_vat_as_one_would(world):
    _partner, client, client_panel, *_ = world
    staff = factories.create_user(is_staff=True)
    invoice = order(client, client_panel)  # 12000 net + 2400 VAT
    pay_by_transfer(invoice)
    for _ in range(12):
        payments.refund(invoice, 1, reason="a cent", actor=staff)
    db.session.commit()
    revenue = ledger.account("revenue")
    vat = ledger.account("vat")
    # 12 cents of 14400 = 10 cents of net and 2 of VAT
    assert revenue.credits_posted - revenue.debits_posted == 12000 - 10
    assert vat.credits_posted - vat.debits_posted == 2400 - 2
