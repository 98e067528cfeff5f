"""One-place billing: many invoices of many clients paid in one transaction, or none."""

import pytest
from sqlalchemy import func, select

from models import Group, Invoice, InvoiceStatus, PaidVia, db
from rules import billing, deposits, ledger, payments
from rules.errors import NotFound
from tests import factories


@pytest.fixture
def agency(app):
    """A partner with 10 client panels (billing rights), each with 5 unpaid invoices."""
    partner = factories.create_partner()
    factories.create_plan("web-start", price=100, periods={12: 0}, eligible=False)
    numbers = []
    for c in range(10):
        client = factories.create_user()
        panel = factories.create_panel(client, name=f"Client {c}")
        factories.link_client(partner, panel, Group.BILLING)
        for i in range(5):
            billing.add_new(
                client,
                plan_code="web-start",
                months=12,
                domain=f"c{c}-{i}.bg",
                panel_number=panel.number,
            )
            numbers.append(billing.checkout(client).number)
    db.session.commit()
    return partner, numbers  # each invoice: 1200 + 240 VAT = 1440


def paid_count():
    return db.session.scalar(
        select(func.count(Invoice.id)).where(Invoice.status == InvoiceStatus.PAID)
    )


def test_fifty_invoices_across_ten_clients_are_paid_in_one_go(agency):
    partner, numbers = agency
    assert len(billing.unpaid_for(partner)) == 50
    factories.fund(partner, 50 * 1440)
    totals = payments.pay_many(partner, numbers, ["deposit"], actor=None)
    db.session.commit()
    assert totals == {"deposit": 50 * 1440}
    assert paid_count() == 50
    assert deposits.balance(partner) == 0
    assert ledger.check() == []


def test_one_short_and_nothing_is_paid(agency):
    partner, numbers = agency
    factories.fund(partner, 50 * 1440 - 1)
    with pytest.raises(ledger.InsufficientFunds):
        payments.pay_many(partner, numbers, ["deposit"], actor=None)
    db.session.rollback()
    assert paid_count() == 0
    assert deposits.balance(partner) == 50 * 1440 - 1


def test_a_foreign_or_paid_invoice_in_the_batch_refuses_it_all(agency):
    partner, numbers = agency
    factories.fund(partner, 100_000)
    stranger = factories.create_user()
    panel = factories.create_panel(stranger)
    billing.add_new(
        stranger,
        plan_code="web-start",
        months=12,
        domain="stranger.bg",
        panel_number=panel.number,
    )
    foreign = billing.checkout(stranger).number
    db.session.commit()
    with pytest.raises(NotFound):
        payments.pay_many(partner, [*numbers[:3], foreign], ["deposit"], actor=None)
    db.session.rollback()
    with pytest.raises(NotFound):
        payments.pay_many(partner, [*numbers[:3], 999_999], ["deposit"], actor=None)
    db.session.rollback()
    payments.pay_many(partner, numbers[:1], ["deposit"], actor=None)
    db.session.commit()
    with pytest.raises(billing.AlreadyPaid):
        payments.pay_many(partner, numbers[:3], ["deposit"], actor=None)
    db.session.rollback()
    assert paid_count() == 1
    assert ledger.check() == []


def test_waiting_own_orders_activate_after_a_top_up(app):
    partner = factories.create_partner()
    invoices = factories.own_orders(partner, 3)
    factories.fund(partner, 2 * 1440 + 100)  # covers the two oldest
    assert [i.status for i in invoices] == [
        InvoiceStatus.PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.UNPAID,
    ]
    assert invoices[0].paid_via == PaidVia.DEPOSIT
    assert deposits.balance(partner) == 100
    assert ledger.check() == []


def test_each_waiting_invoice_says_why_it_waits(app):
    """Oldest first against the deposit: covered (pay it now), short by how much (it pays
    itself after a top-up), or a renewal nobody asked to pay automatically."""
    partner = factories.create_partner()
    factories.fund(partner, 2000)
    invoices = factories.own_orders(partner, 3)  # 1,440 each: the first is covered
    waiting = payments.waiting_invoices(partner)
    assert [(w.invoice.number, w.reason, w.short_cents) for w in waiting] == [
        (invoices[0].number, "covered", 0),
        (invoices[1].number, "short", 880),
        (invoices[2].number, "short", 1440),
    ]


def test_money_back_in_the_deposit_pays_waiting_orders(app):
    """A refund to the deposit and a rejected withdrawal are money in the deposit, like a
    top-up: the waiting orders they cover pay themselves."""
    staff = factories.create_user(is_staff=True)
    partner = factories.create_partner()
    factories.fund(partner, 2000)
    withdrawal = deposits.request_withdrawal(
        partner, 2000, "BG80BNBG96611020345678", actor=partner.user
    )
    [order] = factories.own_orders(partner, 1)
    assert payments.waiting_invoices(partner)[0].reason == "short"
    deposits.reject(withdrawal, actor=staff, reason="the IBAN is not the partner's")
    db.session.commit()
    assert order.status == InvoiceStatus.PAID  # the 2,000 came back and paid it
    paid_before = factories.own_orders(partner, 1)  # another order, waiting for 880 more
    payments.refund(order, 1000, reason="goodwill", actor=staff)
    db.session.commit()
    assert paid_before[0].status == InvoiceStatus.PAID
    assert ledger.check() == []
