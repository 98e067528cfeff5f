"""Moving money (DESIGN.md 3.6): every cent goes through a transfer between two accounts.

The rules, as TigerBeetle has them:

- a transfer's amount is a positive number of cents; debit and credit accounts differ;
- its key is an idempotency id: the same key with the same contents returns the transfer
  already written, the same key with other contents is refused, and concurrent twins write
  one row (the unique constraint decides, not a check before the insert);
- partner accounts (deposit, commission) refuse a debit that would take what is available
  (posted credits less posted and pending debits) below zero: checked here with the account
  rows locked, and by a CHECK constraint as the safety net;
- a pending transfer holds money until a later transfer posts or voids it, once.

Account rows are locked in id order before their sums are read: ``SELECT … FOR UPDATE`` on
PostgreSQL; on SQLite every writing transaction already holds the database's write lock from
its ``BEGIN IMMEDIATE`` (models/database.py). Functions flush, never commit.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import PARTNER_KINDS, Account, AccountKind, Phase, Transfer, db, utcnow
from rules.errors import DomainError

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class LedgerError(DomainError):
    """A transfer the rules refuse; nothing was written."""


class InsufficientFunds(LedgerError):
    def default_message(self):
        return _l("There is not enough money on the account for this.")


class KeyReused(LedgerError):
    status = 409

    def default_message(self):
        return _l("This request was already used for a different payment.")


class AlreadyResolved(LedgerError):
    status = 409

    def default_message(self):
        return _l("This amount was already paid out or released.")


class NotPositiveCents(LedgerError):
    def default_message(self):
        return _l("An amount must be a positive number of cents.")


class SameAccount(LedgerError):
    def default_message(self):
        return _l("A transfer needs two different accounts.")


class NotHeld(LedgerError):
    def default_message(self):
        return _l("Only a held amount can be paid out or released.")


def _code(kind, partner):
    return kind.value if partner is None else f"partner:{partner.id}:{kind.value}"


def existing_account(kind, partner=None):
    """The account if it was ever used, else None (reading never creates one)."""
    return db.session.scalar(
        select(Account).where(Account.code == _code(AccountKind(kind), partner))
    )


def account(kind, partner=None):
    """The system account ``kind``, or the partner's account of that kind (made on first use)."""
    kind = AccountKind(kind)
    if (partner is None) == (kind in PARTNER_KINDS):
        raise ValueError(f"{kind} is {'a partner' if partner is None else 'a system'} account")
    code = _code(kind, partner)
    found = db.session.scalar(select(Account).where(Account.code == code))
    if found is None:
        insert = _INSERT[db.session.get_bind().dialect.name]
        db.session.execute(
            insert(Account)
            .values(
                code=code,
                kind=kind,
                partner_id=None if partner is None else partner.id,
                debits_must_not_exceed_credits=partner is not None,
                debits_pending=0,
                debits_posted=0,
                credits_pending=0,
                credits_posted=0,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        found = db.session.scalar(select(Account).where(Account.code == code))
    return found


def lock(*accounts):
    """Lock the accounts' rows (in id order, so two transfers never deadlock) and reload them."""
    ids = sorted({a.id for a in accounts})
    rows = db.session.scalars(
        select(Account)
        .where(Account.id.in_(ids))
        .order_by(Account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def find(key):
    return db.session.scalar(select(Transfer).where(Transfer.key == key))


def _same(existing, debit, credit, amount, kind, phase, pending_id):
    return (
        existing.debit_account_id == debit.id
        and existing.credit_account_id == credit.id
        and existing.amount == amount
        and existing.kind == kind
        and existing.phase == phase
        and existing.pending_id == pending_id
    )


def _write(debit, credit, amount, *, kind, key, phase, pending_id=None, **fields):
    """Insert the transfer unless its key exists; return (transfer, written now?)."""
    existing = find(key)
    if existing is None:
        row = Transfer(
            key=key,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            kind=kind,
            phase=phase,
            pending_id=pending_id,
            **fields,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            # a concurrent twin with the same key committed first
            existing = find(key)
            if existing is None:
                raise
        else:
            return row, True
    if not _same(existing, debit, credit, amount, kind, phase, pending_id):
        raise KeyReused()
    return existing, False


def transfer(
    debit,
    credit,
    amount,
    *,
    kind,
    key,
    pending=False,
    reference="",
    details=None,
    actor=None,
):
    """Move ``amount`` cents from ``debit`` to ``credit`` (or hold it, when ``pending``)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise NotPositiveCents()
    if debit.id == credit.id:
        raise SameAccount()
    rows = lock(debit, credit)
    debit, credit = rows[debit.id], rows[credit.id]
    phase = Phase.PENDING if pending else Phase.POSTED
    if find(key) is None and debit.debits_must_not_exceed_credits and debit.available < amount:
        raise InsufficientFunds()
    row, written = _write(
        debit,
        credit,
        amount,
        kind=kind,
        key=key,
        phase=phase,
        reference=reference,
        details=details or {},
        actor_id=getattr(actor, "id", None),
    )
    if written:
        if pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        db.session.flush()
    return row


def _resolve(pending, phase, *, key, actor=None, reference=""):
    if pending.phase != Phase.PENDING:
        raise NotHeld()
    rows = lock(pending.debit_account, pending.credit_account)
    debit, credit = rows[pending.debit_account_id], rows[pending.credit_account_id]
    resolution = db.session.scalar(select(Transfer).where(Transfer.pending_id == pending.id))
    if resolution is not None and resolution.key != key:
        raise AlreadyResolved()
    row, written = _write(
        debit,
        credit,
        pending.amount,
        kind=pending.kind,
        key=key,
        phase=phase,
        pending_id=pending.id,
        reference=reference or pending.reference,
        details={},
        actor_id=getattr(actor, "id", None),
    )
    if written:
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if phase == Phase.POST_PENDING:
            debit.debits_posted += pending.amount
            credit.credits_posted += pending.amount
        db.session.flush()
    return row


def post(pending, *, key, actor=None, reference=""):
    """Complete a held transfer: the amount moves for good."""
    return _resolve(pending, Phase.POST_PENDING, key=key, actor=actor, reference=reference)


def void(pending, *, key, actor=None, reference=""):
    """Release a held transfer: the amount is available again."""
    return _resolve(pending, Phase.VOID_PENDING, key=key, actor=actor, reference=reference)


def is_resolved(pending):
    return (
        db.session.scalar(select(Transfer.id).where(Transfer.pending_id == pending.id)) is not None
    )


@dataclass(frozen=True)
class Disagreement:
    account: str
    what: str
    cached: int
    computed: int

    def __str__(self):
        return f"{self.account}: {self.what} is {self.cached}, transfers say {self.computed}"


def _sums(side):
    column = getattr(Transfer, f"{side}_account_id")
    amount = Transfer.amount
    posted = func.sum(
        case((Transfer.phase.in_([Phase.POSTED, Phase.POST_PENDING]), amount), else_=0)
    )
    pending = func.sum(
        case(
            (Transfer.phase == Phase.PENDING, amount),
            (Transfer.phase.in_([Phase.POST_PENDING, Phase.VOID_PENDING]), -amount),
            else_=0,
        )
    )
    rows = db.session.execute(select(column, posted, pending).group_by(column)).all()
    return {account_id: (p or 0, q or 0) for account_id, p, q in rows}


def check():
    """Recompute every account's sums from the transfers; list what disagrees (empty: all good).

    Also: no partner account below zero, and every post or void matches its pending transfer.
    """
    debits, credits = _sums("debit"), _sums("credit")
    problems = []
    for acc in db.session.scalars(select(Account).order_by(Account.id)):
        d_posted, d_pending = debits.get(acc.id, (0, 0))
        c_posted, c_pending = credits.get(acc.id, (0, 0))
        for what, cached, computed in (
            ("debits_posted", acc.debits_posted, d_posted),
            ("debits_pending", acc.debits_pending, d_pending),
            ("credits_posted", acc.credits_posted, c_posted),
            ("credits_pending", acc.credits_pending, c_pending),
        ):
            if cached != computed:
                problems.append(Disagreement(acc.code, what, cached, computed))
        if acc.debits_must_not_exceed_credits and d_posted + d_pending > c_posted:
            problems.append(Disagreement(acc.code, "available", c_posted - d_posted - d_pending, 0))
    pending = Transfer.__table__.alias("held")
    mismatched = db.session.execute(
        select(Transfer.key)
        .join(pending, pending.c.id == Transfer.pending_id)
        .where(
            (pending.c.phase != Phase.PENDING)
            | (pending.c.amount != Transfer.amount)
            | (pending.c.debit_account_id != Transfer.debit_account_id)
            | (pending.c.credit_account_id != Transfer.credit_account_id)
        )
    ).scalars()
    problems.extend(
        Disagreement(key, "resolves a transfer it does not match", 0, 0) for key in mismatched
    )
    return problems


def totals():
    """The whole book: how many transfers, and the posted and pending sums of their debits."""
    posted, pending = 0, 0
    for p, q in _sums("debit").values():
        posted, pending = posted + p, pending + q
    count = db.session.scalar(select(func.count(Transfer.id)))
    return {"transfers": count, "posted": posted, "pending": pending}


def history(account, *, limit=100):
    """The account's transfers, newest first, each with its sign for this account."""
    rows = db.session.scalars(
        select(Transfer)
        .where(
            (Transfer.debit_account_id == account.id) | (Transfer.credit_account_id == account.id)
        )
        .order_by(Transfer.id.desc())
        .limit(limit)
    ).all()
    return [(t, t.amount if t.credit_account_id == account.id else -t.amount) for t in rows]


@dataclass(frozen=True)
class Balance:
    """An account's figures for a page, also for an account not made yet (all zero)."""

    available: int = 0
    held: int = 0


def balance(kind, partner=None):
    found = existing_account(kind, partner)
    return Balance() if found is None else Balance(found.available, found.debits_pending)
