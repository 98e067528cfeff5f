"""TigerBeetle's simulator in miniature: random money operations, invariants after each step.

A Hypothesis state machine tops up, orders, pays (from the deposit or by bank transfer),
withdraws, decides withdrawals, runs the daily job as the clock moves, and tries things
that must be refused. After every step: the book balances (``ledger check``), no partner
account is below zero, the deposit equals what the model expects, and a refused operation
changed nothing. Each example works on a partner of its own, so examples do not meet.
The seed is fixed (derandomize): CI runs the same examples every time.
"""

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from models import (
    Account,
    Group,
    Invoice,
    InvoiceStatus,
    Transfer,
    WithdrawalStatus,
    db,
    utcnow,
)
from rules import billing, deposits, jobs, ledger, payments
from rules.errors import DomainError
from tests import factories

IBAN = "BG80BNBG96611020345678"
_sites = itertools.count()


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.partner = factories.create_partner()
        self.panel = factories.create_panel(self.partner.user)
        self.client_panel = factories.create_panel()
        self.client = self.client_panel.owner
        factories.link_client(self.partner, self.client_panel, Group.BILLING | Group.WEB)
        self.partner.commission_rate_bp = 1500
        self.paid = []
        self.staff = factories.create_user(is_staff=True)
        self.today = date(2027, 1, 1)
        self.expected_deposit = 0
        self.held = {}  # withdrawal id -> amount
        self.invoices = []
        self.top_ups = []

    # -- helpers --------------------------------------------------------------------------

    def _state(self):
        db.session.expire_all()
        return (
            deposits.balance(self.partner),
            db.session.scalar(select(func.count(Transfer.id))),
            tuple(i.status for i in self.invoices),
        )

    def _refused(self, operation, error=DomainError):
        before = self._state()
        with pytest.raises(error):
            operation()
        db.session.rollback()
        assert self._state() == before, "a refused operation changed something"

    # -- operations -----------------------------------------------------------------------

    @rule(cents=st.integers(1, 50_000))
    def top_up(self, cents):
        # the partner's own unpaid invoices: its orders, and renewals the daily job issued
        waiting = db.session.scalars(
            select(Invoice)
            .where(Invoice.partner_id == self.partner.id, Invoice.status == InvoiceStatus.UNPAID)
            .order_by(Invoice.id)
        ).all()
        top_up = deposits.request_top_up(self.partner, actor=self.partner.user)
        deposits.credit(top_up, cents, actor=self.staff)
        db.session.commit()
        self.top_ups.append(top_up)
        self.expected_deposit += cents
        # orders waiting for funds are paid by themselves, oldest first, while it covers them
        for invoice in waiting:
            if invoice.total_cents > self.expected_deposit:
                break
            self.expected_deposit -= invoice.total_cents
            assert invoice.status == InvoiceStatus.PAID

    @rule(months=st.sampled_from([1, 12, 24]), renew=st.booleans())
    def order(self, months, renew):
        billing.add_new(
            self.partner.user,
            plan_code="web-business",
            months=months,
            domain=f"site{next(_sites)}.bg",
            panel_number=self.panel.number,
        )
        self.invoices.append(billing.checkout(self.partner.user, today=self.today))
        db.session.commit()

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def pay_from_deposit(self, data):
        invoice = data.draw(st.sampled_from(self.invoices))
        if invoice.status != InvoiceStatus.UNPAID:
            self._refused(lambda: payments.pay_from_deposit(invoice, self.partner, actor=None))
        elif invoice.total_cents > deposits.balance(self.partner):
            self._refused(
                lambda: payments.pay_from_deposit(invoice, self.partner, actor=None),
                ledger.InsufficientFunds,
            )
        else:
            payments.pay_from_deposit(invoice, self.partner, actor=None)
            db.session.commit()
            self.expected_deposit -= invoice.total_cents
            self.paid.append(invoice)

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), off_by=st.sampled_from([0, 0, 1, -1]))
    def bank_transfer_for_invoice(self, data, off_by):
        invoice = data.draw(st.sampled_from(self.invoices))
        pay = lambda: deposits.confirm_bank_transfer(  # noqa: E731
            invoice.reference,
            invoice.total_cents + off_by,
            received_on=self.today,
            actor=self.staff,
        )
        if invoice.status != InvoiceStatus.UNPAID or off_by:
            self._refused(pay)
        else:
            pay()
            db.session.commit()

    @precondition(lambda self: self.top_ups)
    @rule(data=st.data())
    def credit_a_top_up_again(self, data):
        top_up = data.draw(st.sampled_from(self.top_ups))
        self._refused(lambda: deposits.credit(top_up, 100, actor=self.staff))

    @rule(cents=st.integers(-100, 60_000))
    def withdraw(self, cents):
        unpaid = deposits.own_unpaid_invoices(self.partner)
        ask = lambda: deposits.request_withdrawal(  # noqa: E731
            self.partner, cents, IBAN, actor=self.partner.user
        )
        if cents <= 0 or unpaid or cents > deposits.balance(self.partner):
            self._refused(ask)
        else:
            withdrawal = ask()
            db.session.commit()
            self.held[withdrawal.id] = cents
            self.expected_deposit -= cents

    @precondition(lambda self: self.held)
    @rule(data=st.data(), pay=st.booleans())
    def decide_withdrawal(self, data, pay):
        from models import Withdrawal

        withdrawal_id = data.draw(st.sampled_from(sorted(self.held)))
        withdrawal = db.session.get(Withdrawal, withdrawal_id)
        if pay:
            deposits.pay_out(withdrawal, actor=self.staff)
        else:
            deposits.reject(withdrawal, actor=self.staff, reason="test")
            self.expected_deposit += self.held[withdrawal_id]
        db.session.commit()
        del self.held[withdrawal_id]
        again = deposits.reject if pay else deposits.pay_out
        kwargs = {"reason": "again"} if pay else {}
        self._refused(lambda: again(withdrawal, actor=self.staff, **kwargs))
        assert withdrawal.status in (WithdrawalStatus.PAID, WithdrawalStatus.REJECTED)

    @rule(months=st.sampled_from([1, 12]))
    def client_orders_and_pays_by_transfer(self, months):
        billing.add_new(
            self.client,
            plan_code="web-business",
            months=months,
            domain=f"client{next(_sites)}.bg",
            panel_number=self.client_panel.number,
        )
        invoice = billing.checkout(self.client, today=self.today)
        deposits.confirm_bank_transfer(
            invoice.reference, invoice.total_cents, received_on=self.today, actor=self.staff
        )
        db.session.commit()
        self.paid.append(invoice)
        assert invoice.lines[0].commission_cents > 0  # a client's payment earns the partner

    @rule()
    def commissions_clear(self):
        from rules import commissions

        commissions.clear(utcnow() + timedelta(days=400))
        db.session.commit()

    @precondition(lambda self: self.paid)
    @rule(data=st.data(), share=st.integers(1, 100))
    def staff_refund(self, data, share):
        invoice = data.draw(st.sampled_from(self.paid))
        left = invoice.total_cents - invoice.refunded_cents
        amount = max(1, invoice.total_cents * share // 100)
        refund = lambda: payments.refund(invoice, amount, reason="test", actor=self.staff)  # noqa: E731
        if amount > left:
            self._refused(refund)
            return
        refund()
        db.session.commit()
        if invoice.paid_by_partner_id == self.partner.id:
            self.expected_deposit += amount  # it goes back to the deposit it came from

    @rule(days=st.integers(1, 200))
    def time_passes(self, days):
        self.today += timedelta(days=days)
        before = deposits.balance(self.partner)
        jobs.run(self.today)
        # auto-renewal is off in this machine, so the job moves no money
        assert deposits.balance(self.partner) == before

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def the_book_balances(self):
        db.session.expire_all()
        assert ledger.check() == []

    @invariant()
    def no_partner_account_is_negative(self):
        negative = db.session.scalar(
            select(func.count(Account.id)).where(
                Account.debits_must_not_exceed_credits,
                Account.debits_posted + Account.debits_pending > Account.credits_posted,
            )
        )
        assert negative == 0

    @invariant()
    def no_commission_is_reversed_beyond_what_it_earned(self):
        from models import Commission

        broken = db.session.scalar(
            select(func.count(Commission.id)).where(
                (Commission.reversed_cents < 0)
                | (Commission.reversed_cents > Commission.amount_cents)
            )
        )
        assert broken == 0

    @invariant()
    def the_deposit_is_what_the_model_expects(self):
        assert deposits.balance(self.partner) == self.expected_deposit


@pytest.mark.timeout(600)
def test_money_state_machine(app):
    factories.create_plan("web-business", price=999, periods={1: 0, 12: 500, 24: 1000})
    MoneyMachine.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    MoneyMachine.TestCase().runTest()
