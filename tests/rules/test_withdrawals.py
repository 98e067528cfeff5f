"""Withdrawing the deposit [R18]: held until staff decides, exactly once, never overdrawn."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import PaidVia, Partner, Transfer, Withdrawal, WithdrawalStatus, db
from rules import billing, deposits, ledger, payments
from tests import factories
from tests.concurrency import run_concurrently

IBAN = "BG80BNBG96611020345678"


@pytest.fixture
def partner(app):
    partner = factories.create_partner()
    factories.fund(partner, 10_000)
    return partner


def test_a_withdrawal_holds_then_pays_out(partner):
    staff = factories.create_user(is_staff=True)
    withdrawal = deposits.request_withdrawal(
        partner, 4_000, "bg80 bnbg 9661 1020 3456 78", actor=partner.user
    )
    db.session.commit()
    assert withdrawal.iban == IBAN
    assert deposits.balance(partner) == 6_000  # held, not spendable
    deposits.pay_out(withdrawal, actor=staff)
    db.session.commit()
    assert withdrawal.status == WithdrawalStatus.PAID
    assert deposits.balance(partner) == 6_000
    assert ledger.balance("deposit", partner).held == 0
    with pytest.raises(deposits.AlreadyDecided):
        deposits.reject(withdrawal, actor=staff, reason="too late")
    assert ledger.check() == []


def test_a_rejected_withdrawal_releases_the_amount(partner):
    staff = factories.create_user(is_staff=True)
    withdrawal = deposits.request_withdrawal(partner, 10_000, IBAN, actor=partner.user)
    with pytest.raises(deposits.DepositError):
        deposits.reject(withdrawal, actor=staff, reason="  ")
    deposits.reject(withdrawal, actor=staff, reason="IBAN belongs to someone else")
    db.session.commit()
    assert deposits.balance(partner) == 10_000
    assert ledger.check() == []


@pytest.mark.parametrize(
    ("amount", "iban", "error"),
    [
        (10_001, IBAN, ledger.InsufficientFunds),
        (0, IBAN, deposits.DepositError),
        (-5, IBAN, deposits.DepositError),
        (100, "BG81BNBG96611020345678", deposits.DepositError),  # wrong check digits
        (100, "not an iban", deposits.DepositError),
    ],
)
def test_bad_withdrawals_are_refused_and_hold_nothing(partner, amount, iban, error):
    with pytest.raises(error):
        deposits.request_withdrawal(partner, amount, iban, actor=partner.user)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Withdrawal.id))) == 0
    assert deposits.balance(partner) == 10_000


def test_no_withdrawal_while_own_invoices_are_unpaid(partner):
    own = factories.create_panel(partner.user)
    factories.create_plan("web-business")
    billing.add_new(
        partner.user, plan_code="web-business", months=12, domain="own.bg", panel_number=own.number
    )
    billing.checkout(partner.user)
    db.session.commit()
    with pytest.raises(deposits.DepositError):
        deposits.request_withdrawal(partner, 100, IBAN, actor=partner.user)


def test_twenty_concurrent_withdrawals_of_the_whole_deposit_hold_it_once(app, partner):
    partner_id = partner.id

    def withdraw(i):
        partner = db.session.get(Partner, partner_id)
        return deposits.request_withdrawal(partner, 10_000, IBAN, actor=partner.user).id

    results = run_concurrently(app, 20, withdraw)
    done = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, ledger.InsufficientFunds)]
    assert (len(done), len(refused)) == (1, 19), set(map(repr, results))
    db.session.commit()
    assert deposits.balance(partner) == 0
    assert db.session.scalar(select(func.count(Withdrawal.id))) == 1
    assert ledger.check() == []


def test_two_staff_paying_out_at_once_pay_once(app, partner):
    withdrawal_id = deposits.request_withdrawal(partner, 3_000, IBAN, actor=partner.user).id
    staff_ids = [factories.create_user(is_staff=True).id for _ in range(2)]
    db.session.commit()

    def decide(i):
        from models import User

        staff = db.session.get(User, staff_ids[i])
        withdrawal = db.session.get(Withdrawal, withdrawal_id)
        if i == 0:
            deposits.pay_out(withdrawal, actor=staff)
        else:
            deposits.reject(withdrawal, actor=staff, reason="no")
        return "decided"

    results = run_concurrently(app, 2, decide)
    assert results.count("decided") == 1
    assert sum(isinstance(r, deposits.AlreadyDecided) for r in results) == 1
    db.session.commit()
    resolutions = db.session.scalar(
        select(func.count(Transfer.id)).where(Transfer.pending_id.is_not(None))
    )
    assert resolutions == 1
    assert ledger.check() == []


def provider_top_up(partner, cents, event_id):
    """A top-up paid through the payment provider (its signed webhook event)."""
    top_up = deposits.request_top_up(partner, actor=partner.user)
    deposits.handle_event(
        {
            "id": event_id,
            "type": "payment.succeeded",
            "reference": top_up.reference,
            "amount_cents": cents,
            "currency": "EUR",
        }
    )
    db.session.commit()
    return top_up


def test_provider_money_is_spendable_at_once_and_withdrawable_after_settling(partner):
    """10,000 by bank transfer, then 5,000 through the provider: all 15,000 can be spent,
    10,000 withdrawn; after DEPOSIT_SETTLEMENT_DAYS (7) all of it."""
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        top_up = provider_top_up(partner, 5_000, "evt-card-1")
        assert top_up.credited_via == PaidVia.PROVIDER
        assert deposits.balance(partner) == 15_000
        can = deposits.withdrawable(partner)
        assert (can.amount_cents, can.settling) == (10_000, [(5_000, start + timedelta(days=7))])
        with pytest.raises(deposits.DepositError, match=r"до 100,00\xa0€ сега.*8.12.2026"):
            deposits.request_withdrawal(partner, 10_001, IBAN, actor=partner.user)
        db.session.rollback()
        deposits.request_withdrawal(partner, 10_000, IBAN, actor=partner.user)
        db.session.commit()
        assert deposits.withdrawable(partner).amount_cents == 0  # 5,000 left, all settling
        clock.move_to(start + timedelta(days=7, seconds=1))
        assert deposits.withdrawable(partner).amount_cents == 5_000
        deposits.request_withdrawal(partner, 5_000, IBAN, actor=partner.user)
        db.session.commit()
    assert deposits.balance(partner) == 0
    assert ledger.check() == []


@pytest.mark.config(DEPOSIT_SETTLEMENT_DAYS=0)
def test_the_settlement_period_is_a_setting(partner):
    provider_top_up(partner, 5_000, "evt-card-2")
    assert deposits.withdrawable(partner).amount_cents == 15_000


def test_spending_takes_the_settled_money_first(partner):
    """What is spent comes out of the settled money: with 10,000 settled and 5,000 settling,
    after 14,400 spent nothing can be withdrawn until the 5,000 settle."""
    provider_top_up(partner, 5_000, "evt-card-3")
    own = factories.create_panel(partner.user)
    factories.create_plan("web-business", price=1000)  # 12 months: 12,000 + 20% VAT
    billing.add_new(
        partner.user, plan_code="web-business", months=12, domain="own.bg", panel_number=own.number
    )
    invoice = billing.checkout(partner.user)
    payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.commit()
    assert deposits.balance(partner) == 600
    assert deposits.withdrawable(partner).amount_cents == 0
