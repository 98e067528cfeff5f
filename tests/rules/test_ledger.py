"""The ledger: double entry, no overdraft, idempotent keys, holds, append-only, the check."""

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from models import Account, AccountKind, Partner, Phase, Transfer, TransferKind, db
from rules import ledger
from tests import factories
from tests.concurrency import run_concurrently


@pytest.fixture
def partner(app):
    return factories.create_partner()


def top_up(partner, amount, key="top-up-1"):
    deposit = ledger.account(AccountKind.DEPOSIT, partner)
    ledger.transfer(
        ledger.account(AccountKind.BANK), deposit, amount, kind=TransferKind.TOPUP, key=key
    )
    db.session.commit()
    return deposit


def pay(partner, amount, key):
    if isinstance(partner, int):  # a thread loads the partner in its own session
        partner = db.session.get(Partner, partner)
    return ledger.transfer(
        ledger.account(AccountKind.DEPOSIT, partner),
        ledger.account(AccountKind.REVENUE),
        amount,
        kind=TransferKind.PAYMENT,
        key=key,
    )


def test_a_transfer_moves_money_and_both_sides_agree(partner):
    deposit = top_up(partner, 10_000)
    pay(partner, 2_500, "order-1")
    db.session.commit()
    assert deposit.available == 7_500
    revenue = ledger.account(AccountKind.REVENUE)
    bank = ledger.account(AccountKind.BANK)
    assert (revenue.credits_posted, bank.debits_posted) == (2_500, 10_000)
    assert ledger.check() == []


def test_a_partner_account_never_goes_below_zero(partner):
    deposit = top_up(partner, 1_000)
    with pytest.raises(ledger.InsufficientFunds):
        pay(partner, 1_001, "too-much")
    db.session.rollback()
    pay(partner, 1_000, "exactly")
    db.session.commit()
    assert deposit.available == 0
    assert db.session.scalar(select(func.count(Transfer.id))) == 2


def test_the_database_refuses_a_negative_partner_balance_too(partner):
    deposit = top_up(partner, 1_000)
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Account).where(Account.id == deposit.id).values(debits_posted=1_001)
        )
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, None])
def test_amounts_are_positive_whole_cents(partner, amount):
    top_up(partner, 1_000)
    with pytest.raises(ledger.LedgerError):
        pay(partner, amount, "bad")


def test_the_same_key_writes_once_and_a_different_use_is_refused(partner):
    deposit = top_up(partner, 1_000)
    first = pay(partner, 300, "order-7")
    db.session.commit()
    again = pay(partner, 300, "order-7")
    assert again.id == first.id
    assert deposit.available == 700
    with pytest.raises(ledger.KeyReused):
        pay(partner, 400, "order-7")
    # a replay is answered even when the money has since run out
    pay(partner, 700, "order-8")
    assert pay(partner, 300, "order-7").id == first.id


def test_holds_are_posted_or_voided_once(partner):
    deposit = top_up(partner, 1_000)
    payouts = ledger.account(AccountKind.PAYOUTS)
    hold = ledger.transfer(
        deposit, payouts, 600, kind=TransferKind.WITHDRAWAL, key="w-1", pending=True
    )
    db.session.commit()
    assert deposit.available == 400  # held money is not spendable
    with pytest.raises(ledger.InsufficientFunds):
        pay(partner, 401, "order-x")
    db.session.rollback()
    ledger.post(hold, key="w-1:post")
    db.session.commit()
    assert (deposit.available, deposit.debits_pending, deposit.debits_posted) == (400, 0, 600)
    assert ledger.post(hold, key="w-1:post").phase == Phase.POST_PENDING  # a replay
    with pytest.raises(ledger.AlreadyResolved):
        ledger.void(hold, key="w-1:void")

    second = ledger.transfer(
        deposit, payouts, 400, kind=TransferKind.WITHDRAWAL, key="w-2", pending=True
    )
    ledger.void(second, key="w-2:void")
    db.session.commit()
    assert deposit.available == 400
    with pytest.raises(ledger.AlreadyResolved):
        ledger.post(second, key="w-2:post")
    assert ledger.check() == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_transfers SET amount = 1", "DELETE FROM ledger_transfers"],
)
def test_transfers_are_append_only(partner, statement):
    top_up(partner, 1_000)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(Transfer.amount)) == 1_000


def test_the_check_finds_a_cached_sum_that_disagrees(partner, cli):
    deposit = top_up(partner, 1_000)
    assert cli.invoke(args=["ledger", "check"]).exit_code == 0
    db.session.execute(update(Account).where(Account.id == deposit.id).values(credits_posted=2_000))
    db.session.commit()
    [problem] = ledger.check()
    assert (problem.what, problem.cached, problem.computed) == ("credits_posted", 2_000, 1_000)
    result = cli.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert "credits_posted is 2000, transfers say 1000" in result.output


def test_concurrent_payments_never_overspend(app, partner):
    """100 payments of 10 against 100 at once: exactly 10 go through, the rest are refused."""
    deposit = top_up(partner, 100)
    partner_id = partner.id
    results = run_concurrently(app, 100, lambda i: pay(partner_id, 10, f"order-{i}").id)
    paid = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, ledger.InsufficientFunds)]
    assert (len(paid), len(refused)) == (10, 90), [r for r in results if r not in paid + refused]
    db.session.commit()  # end the test's own snapshot, then read afresh
    assert deposit.available == 0
    assert ledger.check() == []


def test_concurrent_twins_with_one_key_write_once(app, partner):
    deposit = top_up(partner, 100)
    partner_id = partner.id
    results = run_concurrently(app, 20, lambda i: pay(partner_id, 10, "double-click").id)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    db.session.commit()  # end the test's own snapshot, then read afresh
    assert deposit.available == 90
    assert ledger.check() == []


def naive_pay(app, partner_id, deposit_id, revenue_id, key, barrier):
    """Read, check, then write in another transaction without a lock: the race to avoid."""
    balance = db.session.scalar(
        select(func.coalesce(func.sum(Transfer.amount), 0)).where(
            Transfer.credit_account_id == deposit_id
        )
    ) - db.session.scalar(
        select(func.coalesce(func.sum(Transfer.amount), 0)).where(
            Transfer.debit_account_id == deposit_id
        )
    )
    db.session.commit()
    barrier.wait()
    if balance >= 10:
        db.session.execute(
            insert(Transfer).values(
                key=key,
                debit_account_id=deposit_id,
                credit_account_id=revenue_id,
                amount=10,
                kind=TransferKind.PAYMENT,
                phase=Phase.POSTED,
                reference="",
                details={},
                created_at=func.now(),
            )
        )
    return balance


def test_the_naive_read_check_write_is_caught(app, partner):
    """The negative control: without the rules' locking, the same load overspends."""
    import threading

    deposit = top_up(partner, 100)
    revenue = ledger.account(AccountKind.REVENUE)
    db.session.commit()
    barrier = threading.Barrier(20, timeout=30)
    ids = (partner.id, deposit.id, revenue.id)
    results = run_concurrently(app, 20, lambda i: naive_pay(app, *ids, f"naive-{i}", barrier))
    assert results == [100] * 20  # every thread saw the whole deposit before anyone paid
    db.session.commit()
    spent = db.session.scalar(
        select(func.sum(Transfer.amount)).where(Transfer.debit_account_id == deposit.id)
    )
    assert spent == 200  # twice the deposit: the race this module exists to prevent
    assert ledger.check() != []  # and the check sees the book no longer agrees
