"""Paying, cancelling and refunding invoices (DESIGN.md 3.5): money moves only here and in
the ledger.

An invoice is paid whole, from one or more of the partner's balances in the order it chose,
or from outside (a bank transfer staff confirm, a provider's webhook); the invoice row is
locked first and its transfers' keys are the invoice's, so nothing is paid twice. Paying
activates the products and books the managed commissions; a refund returns money to where
it came from and reverses commissions in proportion.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    AccountKind,
    Invoice,
    InvoiceStatus,
    LineKind,
    PaidVia,
    Partner,
    ProductStatus,
    Refund,
    TransferKind,
    db,
    utcnow,
)
from rules import audit, commissions, ledger, partners, rows, services
from rules.billing import AlreadyPaid, BillingError, add_months, payable_by
from rules.errors import NotFound
from rules.money import money_text


class InvoiceCancelled(BillingError):
    def default_message(self):
        return _l("This invoice is cancelled.")


class RenewedSinceIssued(BillingError):
    """A product the invoice renews (``name``) was renewed after the invoice was issued."""

    def __init__(self, name):
        self.name = name
        super().__init__(
            _l(
                "%(name)s was renewed after this invoice was issued; paying it would renew"
                " it twice. Cancel this invoice.",
                name=name,
            )
        )


class NoBalanceToPayFrom(BillingError):
    def default_message(self):
        return _l("Only partners pay from a deposit; pay by bank transfer.")


class CommissionDoesNotCover(ledger.InsufficientFunds):
    def default_message(self):
        return _l("Your available commission does not cover this invoice.")


class DepositDoesNotCover(ledger.InsufficientFunds):
    def default_message(self):
        return _l("Your deposit does not cover this invoice; top it up or pay by bank transfer.")


class NoInvoicesTicked(BillingError):
    def default_message(self):
        return _l("Tick the invoices to pay.")


class InvoiceNotPayable(NotFound):
    def default_message(self):
        return _l("One of the invoices is not one you may pay; nothing was paid.")


class TickedInvoiceNotUnpaid(AlreadyPaid):
    """Invoice ``number`` of a batch is paid or cancelled already, so none is paid."""

    def __init__(self, number):
        self.number = number
        super().__init__(_l("Invoice %(number)s is not unpaid; nothing was paid.", number=number))


class NotRefundable(BillingError):
    def default_message(self):
        return _l("Only a paid invoice can be refunded.")


class RefundReasonMissing(BillingError):
    def default_message(self):
        return _l("Give the reason.")


class AmountNotPositive(BillingError):
    def default_message(self):
        return _l("The amount must be more than 0.")


class RefundTooLarge(BillingError):
    """More than the ``refundable_cents`` left of the invoice was to be refunded."""

    def __init__(self, refundable_cents):
        self.refundable_cents = refundable_cents
        super().__init__(
            _l(
                "At most %(amount)s of this invoice can still be refunded.",
                amount=money_text(refundable_cents),
            )
        )


def _lock(invoice, *, to_pay=True):
    """Lock the invoice row and reload it; refuse unless it is unpaid (and, to pay it, current)."""
    rows.lock(invoice)
    if invoice.status == InvoiceStatus.PAID:
        raise AlreadyPaid()
    if invoice.status == InvoiceStatus.CANCELLED:
        raise InvoiceCancelled()
    for line in invoice.lines if to_pay else ():
        if line.kind == LineKind.RENEWAL and line.product.expires_on != line.renews_from:
            raise RenewedSinceIssued(line.product.domain or line.product.plan_name)


def _book(invoice, source, *, actor, reference=""):
    """The invoice's transfers from ``source``: its net to revenue, its VAT to the VAT account."""
    for suffix, amount, target in (
        ("net", invoice.net_cents, AccountKind.REVENUE),
        ("vat", invoice.vat_cents, AccountKind.VAT),
    ):
        if amount:
            ledger.transfer(
                source,
                ledger.account(target),
                amount,
                kind=TransferKind.PAYMENT,
                key=f"invoice:{invoice.id}:{suffix}",
                reference=reference or invoice.reference,
                actor=actor,
            )


#: the partner balances an invoice can be paid from, and how the invoice then says it was paid
BALANCES = {AccountKind.DEPOSIT: PaidVia.DEPOSIT, AccountKind.COMMISSION: PaidVia.COMMISSION}


def pay_from_deposit(invoice, partner, *, actor):
    """Pay the whole invoice from the partner's deposit and activate its products at once."""
    pay_from_balance(invoice, partner, AccountKind.DEPOSIT, actor=actor)


def pay_from_balance(invoice, partner, kind, *, actor):
    """Pay the whole invoice from the partner's deposit or available commission [R24]."""
    pay_from_balances(invoice, partner, [kind], actor=actor)


def pay_from_balances(invoice, partner, order, *, actor):
    """Pay the whole invoice from the partner's balances in ``order`` (e.g. commission, then
    deposit), each covering what it can; refused unless together they cover all of it.

    Returns {account kind: cents taken}.
    """
    _lock(invoice)
    sources = []
    for kind in dict.fromkeys(AccountKind(k) for k in order):  # each balance once, in order
        account = ledger.account(kind, partner)
        sources.append((AccountKind(kind), ledger.lock(account)[account.id]))
    if sum(account.available for _kind, account in sources) < invoice.total_cents:
        if [kind for kind, _a in sources] == [AccountKind.COMMISSION]:
            raise CommissionDoesNotCover()
        raise DepositDoesNotCover()
    taken = _book_from(invoice, sources, actor=actor)
    used = [kind for kind, cents in taken.items() if cents]
    via = BALANCES[used[0]] if len(used) == 1 else PaidVia.BALANCES
    invoice.paid_by_partner_id = partner.id
    _paid(invoice, via, actor=actor)
    return taken


def _book_from(invoice, sources, *, actor):
    """Book the invoice's net then VAT from each source in turn, as far as each reaches."""
    left = {"net": invoice.net_cents, "vat": invoice.vat_cents}
    targets = {"net": AccountKind.REVENUE, "vat": AccountKind.VAT}
    taken = {}
    for kind, account in sources:
        room = account.available
        taken[kind] = 0
        for part in ("net", "vat"):
            amount = min(room, left[part])
            if amount <= 0:
                continue
            ledger.transfer(
                account,
                ledger.account(targets[part]),
                amount,
                kind=TransferKind.PAYMENT,
                key=f"invoice:{invoice.id}:{part}:{kind.value}",
                reference=invoice.reference,
                actor=actor,
            )
            room -= amount
            left[part] -= amount
            taken[kind] += amount
    if any(left.values()):  # the caller checked the sum; this would be a bug, not a user error
        raise RuntimeError(f"invoice {invoice.number} not covered: {left}")
    return taken


def pay_externally(invoice, via, *, actor=None, reference=""):
    """Record a bank transfer or provider payment of the whole invoice; activate its products."""
    _lock(invoice)
    _book(invoice, ledger.account(AccountKind.BANK), actor=actor, reference=reference)
    _paid(invoice, via, actor=actor)


def _paid(invoice, via, *, actor, today=None):
    today = today or date.today()
    invoice.status = InvoiceStatus.PAID
    invoice.paid_via = via
    invoice.paid_at = utcnow()
    for line in invoice.lines:
        product = line.product
        start = today
        if line.kind == LineKind.RENEWAL and product.expires_on and product.expires_on > today:
            start = product.expires_on
        product.expires_on = add_months(start, line.months)
        if product.status != ProductStatus.ACTIVE:
            product.status = ProductStatus.ACTIVE
            services.on_activated(product)
    db.session.flush()
    commissions.earn(invoice)
    audit.record(
        "invoice.pay",
        actor=actor,
        number=invoice.number,
        via=via.value,
        total_cents=invoice.total_cents,
    )


def cancel(invoice, *, actor):
    """Cancel an unpaid invoice; its new products are cancelled with it."""
    _lock(invoice, to_pay=False)
    invoice.status = InvoiceStatus.CANCELLED
    invoice.cancelled_at = utcnow()
    for line in invoice.lines:
        if line.kind == LineKind.NEW:
            line.product.status = ProductStatus.CANCELLED
    audit.record("invoice.cancel", actor=actor, number=invoice.number)


def refund(invoice, amount_cents, *, reason, actor):
    """Give back ``amount_cents`` of a paid invoice, to where it came from; commissions follow.

    Net and VAT are returned in the invoice's proportion; the partner's balance it was paid
    from gets it back, else the bank (money going out). Never more than was paid in all.
    """
    _lock_paid(invoice)
    if not reason or not reason.strip():
        raise RefundReasonMissing()
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise AmountNotPositive()
    if invoice.refunded_cents + amount_cents > invoice.total_cents:
        raise RefundTooLarge(invoice.total_cents - invoice.refunded_cents)
    record = Refund(invoice_id=invoice.id, amount_cents=amount_cents, reason=reason.strip()[:500])
    record.actor_id = getattr(actor, "id", None)
    db.session.add(record)
    db.session.flush()

    # the net share of everything refunded so far, minus what earlier refunds took: so that
    # many small refunds split net and VAT as one refund of their sum would
    def net_share(refunded):
        return (refunded * invoice.net_cents * 2 + invoice.total_cents) // (2 * invoice.total_cents)

    net = net_share(invoice.refunded_cents + amount_cents) - net_share(invoice.refunded_cents)
    parts = (("net", net, AccountKind.REVENUE), ("vat", amount_cents - net, AccountKind.VAT))
    destination = _refund_destination(invoice)
    for part, amount, source in parts:
        if amount > 0:
            ledger.transfer(
                ledger.account(source),
                destination,
                amount,
                kind=TransferKind.REFUND,
                key=f"refund:{record.id}:{part}",
                reference=invoice.reference,
                actor=actor,
            )
    invoice.refunded_cents += amount_cents
    commissions.reverse(invoice, record)
    audit.record(
        "invoice.refund",
        actor=actor,
        number=invoice.number,
        amount_cents=amount_cents,
        reason=record.reason,
    )
    db.session.flush()
    if destination.kind == AccountKind.DEPOSIT:  # money in the deposit: waiting orders go
        pay_waiting_orders(db.session.get(Partner, destination.partner_id), actor=actor)
    return record


def _lock_paid(invoice):
    rows.lock(invoice)
    if invoice.status != InvoiceStatus.PAID:
        raise NotRefundable()


def _refund_destination(invoice):
    """The balance the invoice was paid from (its first, for a mixed payment), else the bank."""
    if invoice.paid_by_partner_id is not None:
        partner = db.session.get(Partner, invoice.paid_by_partner_id)
        kind = (
            AccountKind.COMMISSION
            if invoice.paid_via == PaidVia.COMMISSION
            else AccountKind.DEPOSIT
        )
        return ledger.account(kind, partner)
    return ledger.account(AccountKind.BANK)


def pay_many(partner, numbers, order, *, actor):
    """Pay every invoice in ``numbers`` from the partner's balances, in one transaction: all of
    them or none. Returns {account kind: cents taken} over the whole batch."""
    numbers = sorted(set(numbers))
    if not numbers:
        raise NoInvoicesTicked()
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.number.in_(numbers)).order_by(Invoice.id)
    ).all()
    if len(invoices) != len(numbers) or not all(payable_by(partner, i) for i in invoices):
        raise InvoiceNotPayable()
    for invoice in invoices:
        if invoice.status != InvoiceStatus.UNPAID:
            raise TickedInvoiceNotUnpaid(invoice.number)
    _check_covered(partner, invoices, order)
    totals = {}
    for invoice in invoices:
        for kind, cents in pay_from_balances(invoice, partner, order, actor=actor).items():
            totals[kind] = totals.get(kind, 0) + cents
    return totals


@dataclass(frozen=True)
class Waiting:
    """One of the partner's own unpaid invoices, and why it is not paid yet."""

    invoice: Invoice
    #: "covered": the deposit covers it now (pay it); "short": it waits for ``short_cents``
    #: more in the deposit and then pays itself; "decision": a renewal nobody asked to pay
    #: automatically (pay it, or switch auto-renewal on)
    reason: str
    short_cents: int = 0


def _pays_itself(invoice):
    """Orders, and renewals the partner asked for: paid from the deposit when it can."""
    return all(line.kind == LineKind.NEW or line.product.auto_renew for line in invoice.lines)


def waiting_invoices(partner):
    """The partner's own unpaid invoices, oldest first, each with why it waits (the deposit is
    taken oldest first, as pay_waiting_orders takes it)."""
    left = ledger.balance(AccountKind.DEPOSIT, partner).available
    waiting = []
    for invoice in db.session.scalars(
        select(Invoice)
        .where(Invoice.partner_id == partner.id, Invoice.status == InvoiceStatus.UNPAID)
        .order_by(Invoice.id)
    ):
        if not _pays_itself(invoice):
            waiting.append(Waiting(invoice, "decision"))
        elif invoice.total_cents <= left:
            left -= invoice.total_cents
            waiting.append(Waiting(invoice, "covered"))
        else:
            waiting.append(Waiting(invoice, "short", invoice.total_cents - left))
            left = 0
    return waiting


class BatchNotCovered(ledger.InsufficientFunds):
    """The chosen balances run out before the ticked invoices do; nothing was paid."""

    def __init__(self, invoice, short_cents, total_cents):
        super().__init__(
            _l(
                "The balances you chose cover the ticked invoices up to invoice %(number)s"
                " (%(total)s): %(short)s more is needed for it, %(missing)s for all of them."
                " Nothing was paid.",
                number=invoice.number,
                total=money_text(invoice.total_cents),
                short=money_text(short_cents),
                missing=money_text(total_cents),
            )
        )
        self.invoice = invoice


def _check_covered(partner, invoices, order):
    """Refuse, naming the first invoice they do not cover, when the chosen balances cannot pay
    every ticked invoice (taken in the order pay_many pays them)."""
    available = sum(
        ledger.balance(AccountKind(kind), partner).available for kind in dict.fromkeys(order)
    )
    missing = sum(invoice.total_cents for invoice in invoices) - available
    left = available
    for invoice in invoices:
        if invoice.total_cents > left:
            raise BatchNotCovered(invoice, invoice.total_cents - left, missing)
        left -= invoice.total_cents


def pay_waiting_orders(partner, *, actor=None):
    """After a top-up: pay the partner's own unpaid invoices, oldest first, while the deposit
    covers them — waiting orders activate by themselves. Returns the invoices paid."""
    waiting = db.session.scalars(
        select(Invoice)
        .where(Invoice.partner_id == partner.id, Invoice.status == InvoiceStatus.UNPAID)
        .order_by(Invoice.id)
    ).all()
    paid = []
    for invoice in waiting:
        # orders, and renewals the partner asked for; a plain renewal waits for a decision
        if not _pays_itself(invoice):
            continue
        try:
            with db.session.begin_nested():
                pay_from_deposit(invoice, partner, actor=actor)
        except ledger.InsufficientFunds:
            break
        except BillingError:
            continue  # out of date (renewed meanwhile): it waits for the partner to cancel it
        paid.append(invoice)
    return paid


def cancel_by_buyer(user, invoice):
    """The buyer (or the partner whose own invoice it is) cancels an unpaid invoice."""
    partner = partners.partner_of(user)
    if invoice.buyer_id != user.id and not (partner and invoice.partner_id == partner.id):
        raise NotFound()
    cancel(invoice, actor=user)
