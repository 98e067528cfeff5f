"""The partner's deposit [R17-R18]: top-ups by bank transfer or provider, and activation.

A top-up request gives the partner a unique reference for its bank transfer; staff (or the
provider's webhook) credits what arrived, once: the top-up row is locked and the ledger
transfer's key is the top-up's. A partner becomes active when its deposit first reaches the
minimum staff set at approval.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    AccountKind,
    Invoice,
    InvoiceStatus,
    PaidVia,
    ProviderEvent,
    TopUp,
    TopUpStatus,
    Transfer,
    TransferKind,
    Withdrawal,
    WithdrawalStatus,
    db,
    utcnow,
)
from rules import audit, ledger, payments, rows, settings
from rules.errors import DomainError, NotFound
from rules.money import MAX_PRICE_CENTS, day_text, money_text
from rules.numbers import next_number


class DepositError(DomainError):
    """A top-up or webhook the rules refuse; nothing was credited."""


class AlreadyCredited(DepositError):
    status = 409

    def default_message(self):
        return _l("This top-up is already credited.")


class PartnerNotApproved(DepositError):
    def default_message(self):
        return _l("Only approved partners keep a deposit.")


class AmountOutOfRange(DepositError):
    def default_message(self):
        return _l("The amount must be more than 0 and at most €1 000 000.")


class UnknownReference(NotFound):
    def default_message(self):
        return _l("No top-up or invoice has this reference.")


class NotInvoiceTotal(DepositError):
    def default_message(self):
        return _l("An invoice is paid whole: the amount must be exactly its total.")


def balance(partner):
    return ledger.balance(AccountKind.DEPOSIT, partner).available


def request_top_up(partner, *, actor):
    """A reference for the partner's next bank transfer to its deposit."""
    if not partner.is_approved:
        raise PartnerNotApproved()
    number = next_number("top_up")
    top_up = TopUp(partner_id=partner.id, reference=f"DEP-{partner.number}-{number:06d}")
    db.session.add(top_up)
    db.session.flush()
    audit.record("topup.request", actor=actor, partner=partner.number, reference=top_up.reference)
    return top_up


def find_top_up(reference):
    return db.session.scalar(select(TopUp).where(TopUp.reference == (reference or "").strip()))


def credit(top_up, amount_cents, *, via=PaidVia.BANK_TRANSFER, received_on=None, actor=None):
    """Credit what arrived for ``top_up`` (by bank transfer or through the provider) to the
    partner's deposit, once."""
    if not 0 < amount_cents <= MAX_PRICE_CENTS:
        raise AmountOutOfRange()
    rows.lock(top_up)
    if top_up.status == TopUpStatus.CREDITED:
        raise AlreadyCredited()
    partner = top_up.partner
    deposit = ledger.account(AccountKind.DEPOSIT, partner)
    ledger.transfer(
        ledger.account(AccountKind.BANK),
        deposit,
        amount_cents,
        kind=TransferKind.TOPUP,
        key=f"topup:{top_up.id}",
        reference=top_up.reference,
        actor=actor,
    )
    top_up.status = TopUpStatus.CREDITED
    top_up.amount_cents = amount_cents
    top_up.credited_at = utcnow()
    top_up.received_on = received_on
    top_up.credited_by_id = getattr(actor, "id", None)
    top_up.credited_via = PaidVia(via)
    audit.record(
        "topup.credit",
        actor=actor,
        partner=partner.number,
        reference=top_up.reference,
        amount_cents=amount_cents,
    )
    if partner.activated_at is None and deposit.available >= (partner.minimum_deposit_cents or 0):
        partner.activated_at = utcnow()
        audit.record("partner.activate", actor=actor, partner=partner.number)
    db.session.flush()
    # orders waiting for funds activate by themselves once the deposit covers them
    payments.pay_waiting_orders(partner, actor=actor)


def find_invoice(reference):
    return db.session.scalar(
        select(Invoice).where(Invoice.reference == (reference or "").strip().upper())
    )


def confirm_bank_transfer(reference, amount_cents, *, received_on, actor):
    """Staff record a received transfer: it credits a top-up or pays an invoice whole."""
    top_up = find_top_up(reference)
    if top_up is not None:
        credit(
            top_up, amount_cents, via=PaidVia.BANK_TRANSFER, received_on=received_on, actor=actor
        )
        return top_up
    invoice = find_invoice(reference)
    if invoice is None:
        raise UnknownReference()
    if amount_cents != invoice.total_cents:
        raise NotInvoiceTotal()
    payments.pay_externally(invoice, PaidVia.BANK_TRANSFER, actor=actor, reference=reference)
    return invoice


# -- the payment provider's webhook ---------------------------------------------------------

EVENT_TYPES = {"payment.succeeded"}


class BadSignature(DepositError):
    status = 401

    def default_message(self):
        return _l("The signature does not match the body.")


class EventReplayed(DepositError):
    status = 409

    def default_message(self):
        return _l("This event was already processed.")


class WebhooksNotConfigured(DepositError):
    def default_message(self):
        return _l("Payment webhooks are not configured.")


class BodyNotJson(DepositError):
    def default_message(self):
        return _l("The body is not JSON.")


class BodyNotObject(DepositError):
    def default_message(self):
        return _l("The body is not a JSON object.")


class EventFieldWrong(DepositError):
    """The event's field ``name`` is missing or of the wrong type."""

    def __init__(self, name):
        self.name = name
        super().__init__(_l("The field “%(name)s” is missing or wrong.", name=name))


class EventFieldNotPrintable(DepositError):
    """The event's text field ``name`` holds control characters or worse."""

    def __init__(self, name):
        self.name = name
        super().__init__(_l("The field “%(name)s” must be printable text.", name=name))


class EventFieldTooLong(DepositError):
    def default_message(self):
        return _l("The event id or reference is too long.")


class UnknownEventType(DepositError):
    """The event's type (``kind``) is not one this app handles."""

    def __init__(self, kind):
        self.kind = kind
        super().__init__(_l("Unknown event type “%(type)s”.", type=kind[:60]))


class NotEuro(DepositError):
    def default_message(self):
        return _l("Only payments in EUR are accepted.")


def signature(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_event(secret, body, signature_header):
    """Verify the HMAC-SHA256 of the raw body and read the event, or refuse with a 4xx."""
    if not secret:
        raise WebhooksNotConfigured()
    expected = signature(secret, body)
    given = (signature_header or "").removeprefix("sha256=").strip()
    if not hmac.compare_digest(expected, given):
        raise BadSignature()
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyNotJson() from None
    if not isinstance(event, dict):
        raise BodyNotObject()
    fields = {
        "id": str,
        "type": str,
        "reference": str,
        "amount_cents": int,
        "currency": str,
    }
    for name, kind in fields.items():
        value = event.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("", None):
            raise EventFieldWrong(name)
        # printable text only: no NUL (PostgreSQL refuses it), no lone surrogate (no encoding
        # stores it), no control characters
        if kind is str and not value.isprintable():
            raise EventFieldNotPrintable(name)
    if len(event["id"]) > 100 or len(event["reference"]) > 40 or len(event["type"]) > 60:
        raise EventFieldTooLong()
    if not 0 < event["amount_cents"] <= MAX_PRICE_CENTS:
        raise AmountOutOfRange()
    if event["type"] not in EVENT_TYPES:
        raise UnknownEventType(event["type"])
    if event["currency"] != "EUR":
        raise NotEuro()
    return event


def handle_event(event):
    """Apply a verified event once: credit the top-up or pay the invoice it names."""
    record = ProviderEvent(
        event_id=event["id"],
        kind=event["type"],
        reference=event["reference"],
        amount_cents=event["amount_cents"],
        outcome="",
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        raise EventReplayed() from None
    top_up = find_top_up(event["reference"])
    if top_up is not None:
        credit(top_up, event["amount_cents"], via=PaidVia.PROVIDER)
        record.outcome = f"credited top-up {top_up.reference}"
    else:
        invoice = find_invoice(event["reference"])
        if invoice is None:
            raise UnknownReference()
        if event["amount_cents"] != invoice.total_cents:
            raise NotInvoiceTotal()
        payments.pay_externally(invoice, PaidVia.PROVIDER, reference=event["id"])
        record.outcome = f"paid invoice {invoice.number}"
    db.session.flush()
    return record


# -- withdrawing the deposit [R18] ---------------------------------------------------------

IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")


class AlreadyDecided(DepositError):
    status = 409

    def default_message(self):
        return _l("This withdrawal was already decided.")


class InvalidIban(DepositError):
    def default_message(self):
        return _l("Enter a valid IBAN, such as BG80 BNBG 9661 1020 3456 78.")


class IbanCheckFailed(DepositError):
    def default_message(self):
        return _l("This IBAN's check digits are wrong; check it again.")


class CommissionBelowMinimum(DepositError):
    """Less than ``minimum_cents`` of commission was to be withdrawn."""

    def __init__(self, minimum_cents):
        self.minimum_cents = minimum_cents
        super().__init__(
            _l("Commission can be withdrawn from %(amount)s on.", amount=money_text(minimum_cents))
        )


class UnpaidInvoicesFirst(DepositError):
    def default_message(self):
        return _l("Pay or cancel your unpaid invoices first; then the deposit can be withdrawn.")


class StillSettling(DepositError):
    """Provider payments that may still be reversed would be paid out (``can``: Withdrawable)."""

    def __init__(self, can):
        self.withdrawable = can
        super().__init__(
            _l(
                "You can withdraw up to %(amount)s now: %(settling)s paid through the payment"
                " provider settles by %(date)s and can be spent until then, not withdrawn.",
                amount=money_text(can.amount_cents),
                settling=money_text(can.settling_cents),
                date=day_text(max(when for _amount, when in can.settling)),
            )
        )


class RejectionReasonMissing(DepositError):
    def default_message(self):
        return _l("Give the reason.")


def own_unpaid_invoices(partner):
    return db.session.scalar(
        select(func.count(Invoice.id)).where(
            Invoice.partner_id == partner.id, Invoice.status == InvoiceStatus.UNPAID
        )
    )


def _iban(text):
    """An IBAN without spaces, upper-case, with its check digits verified (ISO 13616)."""
    iban = re.sub(r"\s+", "", text or "").upper()
    if not IBAN.fullmatch(iban):
        raise InvalidIban()
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise IbanCheckFailed()
    return iban


#: the least commission that can be withdrawn at once [R24] (COMMISSION_WITHDRAWAL_MIN_CENTS)
MIN_COMMISSION_WITHDRAWAL = 5_000


def min_commission_withdrawal():
    return settings.get("COMMISSION_WITHDRAWAL_MIN_CENTS", MIN_COMMISSION_WITHDRAWAL)


#: how long a payment through the provider may still be reversed (a chargeback): until then
#: it can be spent but not withdrawn (DEPOSIT_SETTLEMENT_DAYS)
SETTLEMENT = timedelta(days=7)


def settlement_period():
    return timedelta(days=settings.get("DEPOSIT_SETTLEMENT_DAYS", SETTLEMENT.days))


@dataclass
class Withdrawable:
    """What of the deposit can be withdrawn now, and the provider payments still settling."""

    available_cents: int
    #: (amount in cents, when it settles) of each provider payment younger than the period
    settling: list = field(default_factory=list)

    @property
    def settling_cents(self):
        return sum(amount for amount, _when in self.settling)

    @property
    def amount_cents(self):
        """The available balance beyond the provider money still settling (which the
        partner may spend: spending takes the settled money first)."""
        return max(0, self.available_cents - self.settling_cents)


def withdrawable(partner, now=None):
    """What the partner can withdraw from its deposit now [R18]."""
    now = now or utcnow()
    period = settlement_period()
    recent = db.session.execute(
        select(TopUp.amount_cents, TopUp.credited_at)
        .where(
            TopUp.partner_id == partner.id,
            TopUp.status == TopUpStatus.CREDITED,
            TopUp.credited_via == PaidVia.PROVIDER,
            TopUp.credited_at > now - period,
        )
        .order_by(TopUp.credited_at)
    ).all()
    return Withdrawable(
        balance(partner), [(amount, credited_at + period) for amount, credited_at in recent]
    )


def _check_settled(partner, amount_cents):
    """Refuse to pay out provider money that may still be reversed (a larger amount than the
    balance at all is the ledger's to refuse)."""
    can = withdrawable(partner)
    if can.settling and can.amount_cents < amount_cents <= can.available_cents:
        raise StillSettling(can)


def request_withdrawal(partner, amount_cents, iban, *, actor, source=AccountKind.DEPOSIT):
    """Hold ``amount_cents`` of the deposit (or available commission) for a payout to ``iban``
    until staff decides."""
    source = AccountKind(source)
    if not partner.is_approved:
        raise PartnerNotApproved()
    if not 0 < amount_cents <= MAX_PRICE_CENTS:
        raise AmountOutOfRange()
    iban = _iban(iban)
    if source == AccountKind.COMMISSION:
        minimum = min_commission_withdrawal()
        if amount_cents < minimum:
            raise CommissionBelowMinimum(minimum)
    elif own_unpaid_invoices(partner):
        raise UnpaidInvoicesFirst()
    else:
        _check_settled(partner, amount_cents)
    withdrawal = Withdrawal(
        partner_id=partner.id, amount_cents=amount_cents, iban=iban, source=source.value
    )
    db.session.add(withdrawal)
    db.session.flush()
    hold = ledger.transfer(
        ledger.account(source, partner),
        ledger.account(AccountKind.PAYOUTS),
        amount_cents,
        kind=TransferKind.WITHDRAWAL,
        key=f"withdrawal:{withdrawal.id}",
        pending=True,
        reference=f"WD-{withdrawal.id:06d}",
        actor=actor,
    )
    withdrawal.hold_id = hold.id
    audit.record(
        "withdrawal.request", actor=actor, partner=partner.number, amount_cents=amount_cents
    )
    db.session.flush()
    return withdrawal


def _decide(withdrawal, status, *, actor, reason=""):
    rows.lock(withdrawal)
    if withdrawal.status != WithdrawalStatus.REQUESTED:
        raise AlreadyDecided()
    hold = db.session.get(Transfer, withdrawal.hold_id)
    resolve = ledger.post if status == WithdrawalStatus.PAID else ledger.void
    resolve(hold, key=f"withdrawal:{withdrawal.id}:{status.value}", actor=actor)
    withdrawal.status = status
    withdrawal.decided_at = utcnow()
    withdrawal.decided_by_id = getattr(actor, "id", None)
    withdrawal.reason = reason.strip()[:500]
    audit.record(
        f"withdrawal.{status.value}",
        actor=actor,
        partner=withdrawal.partner.number,
        amount_cents=withdrawal.amount_cents,
    )
    db.session.flush()


def pay_out(withdrawal, *, actor):
    """Staff sent the money: the held amount leaves the deposit for good."""
    _decide(withdrawal, WithdrawalStatus.PAID, actor=actor)


def reject(withdrawal, *, actor, reason):
    """Staff refuse the payout: the held amount is available again (and pays the partner's
    waiting orders, as a top-up would)."""
    if not (reason or "").strip():
        raise RejectionReasonMissing()
    _decide(withdrawal, WithdrawalStatus.REJECTED, actor=actor, reason=reason)
    if withdrawal.source == AccountKind.DEPOSIT.value:
        payments.pay_waiting_orders(withdrawal.partner, actor=actor)
