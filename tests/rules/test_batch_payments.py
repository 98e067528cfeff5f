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
    own = factories.create_panel(partner.user)
    factories.create_plan("web-start", price=100, periods={12: 0}, eligible=False)
    invoices = []
    for i in range(3):
        billing.add_new(
            partner.user,
            plan_code="web-start",
            months=12,
            domain=f"own{i}.bg",
            panel_number=own.number,
        )
        invoices.append(billing.checkout(partner.user))
    db.session.commit()
    factories.fund(partner, 2 * 1440 + 100)  # covers the two oldest
    assert [i.status for i in invoices] == [
        InvoiceStatus.PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.UNPAID,
    ]
    assert invoices[0].paid_via == PaidVia.DEPOSIT
    assert deposits.balance(partner) == 100
    assert ledger.check() == []
