"""Orders, invoices and paying them (DESIGN.md 3.5): the cart, checkout, pay, activate.

An invoice is priced by the quote engine when it is issued and never repriced. It is paid
whole, from one source: the partner's deposit (the products activate at once [R19]), or an
external payment (a bank transfer staff confirms, or a provider's webhook) — until then its
products wait as pending [R21]. Money moves only through rules/ledger.py; paying twice is
impossible because the invoice row is locked and its transfers' keys are the invoice's.
"""

import calendar
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import (
    AccountKind,
    CartItem,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PaidVia,
    Panel,
    Partner,
    Plan,
    PlanKind,
    Product,
    ProductStatus,
    Refund,
    TransferKind,
    db,
    utcnow,
)
from rules import access, audit, catalogue, commissions, domains, ledger, panels, partners, rows
from rules.errors import DomainError, NotFound
from rules.numbers import next_number
from rules.pricing import percent_of, price_line

#: days an unpaid invoice stays open before its new products lapse
DUE_DAYS = 14
#: lines in one cart
MAX_CART = 50
#: plans a new product needs a domain for (a VPS may have none)
NEEDS_DOMAIN = {PlanKind.SHARED_HOSTING, PlanKind.EMAIL, PlanKind.SSL, PlanKind.DOMAIN}


class BillingError(DomainError):
    """An order or payment the rules refuse; nothing was changed."""


class AlreadyPaid(BillingError):
    status = 409

    def default_message(self):
        return _l("This invoice is already paid.")


def add_months(day, months):
    """``day`` plus ``months`` calendar months (31 January + 1 month = 28 or 29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _offered(plan, months):
    if months not in {p.months for p in plan.periods}:
        raise catalogue.PeriodNotOffered()


def _product_domain(plan, typed):
    if plan.kind == PlanKind.DOMAIN:
        return domains.validate(typed, registrable_only=True, suffix=domains.plan_suffix(plan.code))
    if plan.kind in NEEDS_DOMAIN or (typed or "").strip():
        return domains.validate(typed)
    return None


def _cart_size(user):
    return db.session.scalar(select(db.func.count(CartItem.id)).where(CartItem.user_id == user.id))


def add_new(user, *, plan_code, months, domain, panel_number=None, new_panel_name=None):
    """Put a new product in the user's cart, for a panel where the user holds ``billing``."""
    plan = catalogue.orderable_plan(plan_code)
    _offered(plan, months)
    name = _product_domain(plan, domain)
    panel = None
    if panel_number is not None:
        panel = access.panel_for(user, panel_number, Group.BILLING).panel
    elif not (new_panel_name or "").strip():
        raise BillingError(_l("Choose a panel for the product, or name a new one."))
    if _cart_size(user) >= MAX_CART:
        raise BillingError(_l("The cart is full; check out what is in it first."))
    item = CartItem(
        user_id=user.id,
        plan_id=plan.id,
        months=months,
        domain=name,
        panel_id=panel.id if panel else None,
        new_panel_name=None if panel else new_panel_name.strip()[:120],
    )
    db.session.add(item)
    db.session.flush()
    return item


def add_renewal(user, product, months):
    """Put the renewal of ``product`` in the cart (the user holds ``billing`` on its panel)."""
    access.require(user, product.panel, Group.BILLING)
    if product.plan is None or product.status == ProductStatus.CANCELLED:
        raise BillingError(_l("This product cannot be renewed."))
    _offered(product.plan, months)  # a retired plan still renews
    open_invoice = open_renewal(product)
    if open_invoice is not None:
        raise BillingError(
            _l(
                "Invoice %(number)s already renews this product; pay or cancel it first.",
                number=open_invoice,
            )
        )
    item = db.session.scalar(
        select(CartItem).where(CartItem.user_id == user.id, CartItem.renew_product_id == product.id)
    )
    if item is None:
        if _cart_size(user) >= MAX_CART:
            raise BillingError(_l("The cart is full; check out what is in it first."))
        item = CartItem(user_id=user.id, plan_id=product.plan_id, renew_product_id=product.id)
        db.session.add(item)
    item.months = months
    db.session.flush()
    return item


def open_renewal(product):
    """The number of an unpaid invoice that renews ``product``, if there is one."""
    return db.session.scalar(
        select(Invoice.number)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(
            InvoiceLine.product_id == product.id,
            InvoiceLine.kind == LineKind.RENEWAL,
            Invoice.status == InvoiceStatus.UNPAID,
        )
        .limit(1)
    )


def cart(user):
    return db.session.scalars(
        select(CartItem)
        .options(
            selectinload(CartItem.plan).selectinload(Plan.periods),
            selectinload(CartItem.panel),
            selectinload(CartItem.renew_product),
        )
        .where(CartItem.user_id == user.id)
        .order_by(CartItem.id)
    ).all()


def remove(user, item_id):
    item = db.session.get(CartItem, item_id)
    if item is None or item.user_id != user.id:
        raise NotFound()
    db.session.delete(item)


def _payer_standing(user, partner_pays):
    """The buying partner and its standing when it pays itself, else (partner or None, None)."""
    partner = partners.partner_of(user)
    if partner is None or not partner.is_approved:
        return None, None
    return partner, (catalogue.standing(partner) if partner_pays else None)


def checkout(user, *, partner_pays=True, today=None):
    """Turn the cart into one invoice priced now; new products wait as pending until paid."""
    items = cart(user)
    if not items:
        raise BillingError(_l("The cart is empty."))
    entries, new_panels = [], {}
    for item in items:
        if item.renew_product_id is not None:
            product = item.renew_product
            access.require(user, product.panel, Group.BILLING)
            entries.append((item.plan, item.months, product, LineKind.RENEWAL))
        else:
            if item.plan.retired_at is not None:
                raise catalogue.NotOrderable()
            _offered(item.plan, item.months)
            panel = _target_panel(user, item, new_panels)
            product = Product(
                panel_id=panel.id,
                plan_id=item.plan.id,
                plan_name=item.plan.name_bg,
                kind=catalogue.PRODUCT_KIND[item.plan.kind],
                domain=item.domain,
                status=ProductStatus.PENDING,
                attributed_partner_id=commissions.attributed_partner_id(panel.id),
            )
            db.session.add(product)
            entries.append((item.plan, item.months, product, LineKind.NEW))
        db.session.delete(item)
    db.session.flush()
    partner, standing = _payer_standing(user, partner_pays)
    return issue_invoice(user, entries, partner=partner, standing=standing, today=today)


def issue_invoice(buyer, entries, *, partner=None, standing=None, today=None):
    """One invoice for ``entries`` of (plan, months, product, line kind), priced now.

    With ``standing`` the partner pays: its volume rate applies and the invoice is its own.
    """
    today = today or date.today()
    rate = standing.rate_bp if standing else 0
    vat = catalogue.vat_bp()
    number = next_number("invoice")
    invoice = Invoice(
        number=number,
        reference=f"INV-{number:06d}",
        buyer_id=buyer.id,
        partner_id=partner.id if partner is not None and standing is not None else None,
        volume_rate_bp=rate,
        vat_bp=vat,
        net_cents=0,
        vat_cents=0,
        total_cents=0,
        # a renewal is due when the product expires (if that is later than the usual term)
        due_on=max(
            [today + timedelta(days=DUE_DAYS)]
            + [p.expires_on for _pl, _m, p, k in entries if k == LineKind.RENEWAL and p.expires_on]
        ),
    )
    db.session.add(invoice)
    for plan, months, product, kind in entries:
        _offered(plan, months)
        line = price_line(
            catalogue.plan_price(plan),
            months,
            partner_pays=standing is not None,
            volume_rate_bp=rate,
            vat_bp=vat,
        )
        earner, earner_rate, commission = _expected_commission(product, plan, line, invoice)
        invoice.lines.append(
            InvoiceLine(
                commission_partner_id=earner,
                commission_rate_bp=earner_rate,
                renews_from=product.expires_on if kind == LineKind.RENEWAL else None,
                product_id=product.id,
                panel_id=product.panel_id,
                plan_id=plan.id,
                kind=kind,
                description=f"{plan.name_bg} / {plan.name_en}"
                + (f" — {product.domain}" if product.domain else ""),
                months=months,
                list_cents=line.list_cents,
                period_discount_cents=line.period_discount_cents,
                volume_discount_cents=line.volume_discount_cents,
                net_cents=line.net_cents,
                vat_cents=line.vat_cents,
                total_cents=line.total_cents,
                commission_cents=commission,
            )
        )
    invoice.net_cents = sum(line.net_cents for line in invoice.lines)
    invoice.vat_cents = sum(line.vat_cents for line in invoice.lines)
    invoice.total_cents = invoice.net_cents + invoice.vat_cents
    db.session.flush()
    audit.record(
        "invoice.issue", actor=buyer, number=invoice.number, total_cents=invoice.total_cents
    )
    return invoice


def _expected_commission(product, plan, line, invoice):
    """Who the line will earn a managed commission for, at what rate, how much (as issued)."""
    partner_id = product.attributed_partner_id
    if partner_id is None or partner_id == invoice.partner_id or not plan.volume_eligible:
        return None, 0, 0
    partner = db.session.get(Partner, partner_id)
    if partner is None or not partner.is_approved:
        return None, 0, 0
    rate_bp = commissions.rate(partner)
    return partner_id, rate_bp, percent_of(line.net_cents, rate_bp)


def _target_panel(user, item, new_panels):
    if item.panel_id is not None:
        return access.panel_for(user, item.panel.number, Group.BILLING).panel
    name = item.new_panel_name or item.domain or "—"
    if name not in new_panels:
        new_panels[name] = panels.create_panel(name=name, owner=user, actor=user)
    return new_panels[name]


def invoice_for(user, number):
    """The invoice ``number`` if the user may see it: its buyer, or billing on all its panels."""
    invoice = db.session.scalar(
        select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.number == number)
    )
    if invoice is None:
        raise NotFound()
    if invoice.buyer_id != user.id:
        panel_ids = {line.panel_id for line in invoice.lines}
        for panel in db.session.scalars(select(Panel).where(Panel.id.in_(panel_ids))):
            member = access.membership(user, panel)
            if member is None or not member.has(Group.BILLING):
                raise NotFound()
    return invoice


def _lock(invoice, *, to_pay=True):
    """Lock the invoice row and reload it; refuse unless it is unpaid (and, to pay it, current)."""
    rows.lock(invoice)
    if invoice.status == InvoiceStatus.PAID:
        raise AlreadyPaid()
    if invoice.status == InvoiceStatus.CANCELLED:
        raise BillingError(_l("This invoice is cancelled."))
    for line in invoice.lines if to_pay else ():
        if line.kind == LineKind.RENEWAL and line.product.expires_on != line.renews_from:
            raise BillingError(
                _l(
                    "%(name)s was renewed after this invoice was issued; paying it would renew"
                    " it twice. Cancel this invoice.",
                    name=line.product.domain or line.product.plan_name,
                )
            )


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
            raise ledger.InsufficientFunds(
                _l("Your available commission does not cover this invoice.")
            )
        raise ledger.InsufficientFunds(
            _l("Your deposit does not cover this invoice; top it up or pay by bank transfer.")
        )
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
        product.status = ProductStatus.ACTIVE
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


def invoices_of(user, *, limit=200):
    """The invoices the user placed, and those for products in the panels it owns."""
    owned = (
        select(InvoiceLine.invoice_id)
        .join(Panel, Panel.id == InvoiceLine.panel_id)
        .where(Panel.owner_id == user.id)
    )
    return db.session.scalars(
        select(Invoice)
        .where((Invoice.buyer_id == user.id) | Invoice.id.in_(owned))
        .order_by(Invoice.number.desc())
        .limit(limit)
    ).all()


def expiring(user, days, *, today=None, limit=500):
    """Active products expiring within ``days`` in every panel where the user holds billing."""
    from rules.listings import billing_panels

    today = today or date.today()
    panel_ids = [p.id for p in billing_panels(user, limit=10_000)]
    return db.session.scalars(
        select(Product)
        .options(selectinload(Product.panel), selectinload(Product.plan).selectinload(Plan.periods))
        .where(
            Product.panel_id.in_(panel_ids),
            Product.plan_id.is_not(None),
            Product.status.in_([ProductStatus.ACTIVE, ProductStatus.EXPIRED]),
            Product.expires_on <= today + timedelta(days=days),
        )
        .order_by(Product.expires_on, Product.id)
        .limit(limit)
    ).all()


def line_preview(user, item, *, partner_pays=True):
    """How a cart item would be priced at checkout now (the invoice reprices nothing later)."""
    _partner, standing = _payer_standing(user, partner_pays)
    return price_line(
        catalogue.plan_price(item.plan),
        item.months,
        partner_pays=standing is not None,
        volume_rate_bp=standing.rate_bp if standing else 0,
        vat_bp=catalogue.vat_bp(),
    )


def set_auto_renew(user, product, on):
    """Let the product renew from the managing partner's deposit (or stop it)."""
    access.require(user, product.panel, Group.BILLING)
    if on and not _can_auto_renew(product):
        raise BillingError(
            _l("Auto-renewal pays from a partner's deposit; this panel has no partner for it.")
        )
    product.auto_renew = bool(on)
    audit.record(
        "product.auto_renew", actor=user, panel=product.panel, domain=product.domain, on=bool(on)
    )


def _can_auto_renew(product):
    from rules.jobs import managing_partner

    return managing_partner(product) is not None


def refund(invoice, amount_cents, *, reason, actor):
    """Give back ``amount_cents`` of a paid invoice, to where it came from; commissions follow.

    Net and VAT are returned in the invoice's proportion; the partner's balance it was paid
    from gets it back, else the bank (money going out). Never more than was paid in all.
    """
    _lock_paid(invoice)
    if not reason or not reason.strip():
        raise BillingError(_l("Give the reason."))
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise BillingError(_l("The amount must be more than 0."))
    if invoice.refunded_cents + amount_cents > invoice.total_cents:
        raise BillingError(
            _l(
                "At most %(amount)s of this invoice can still be refunded.",
                amount=f"{(invoice.total_cents - invoice.refunded_cents) / 100:.2f} €",
            )
        )
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
    return record


def _lock_paid(invoice):
    rows.lock(invoice)
    if invoice.status != InvoiceStatus.PAID:
        raise BillingError(_l("Only a paid invoice can be refunded."))


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


def payable_by(partner, invoice):
    """Whether the partner may pay the invoice: its own, or billing on every panel of it."""
    if invoice.partner_id == partner.id or invoice.buyer_id == partner.user_id:
        return True
    panel_ids = {line.panel_id for line in invoice.lines}
    for panel in db.session.scalars(select(Panel).where(Panel.id.in_(panel_ids))):
        member = access.membership(partner.user, panel)
        if member is None or not member.has(Group.BILLING):
            return False
    return bool(panel_ids)


def pay_many(partner, numbers, order, *, actor):
    """Pay every invoice in ``numbers`` from the partner's balances, in one transaction: all of
    them or none. Returns {account kind: cents taken} over the whole batch."""
    numbers = sorted(set(numbers))
    if not numbers:
        raise BillingError(_l("Tick the invoices to pay."))
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.number.in_(numbers)).order_by(Invoice.id)
    ).all()
    if len(invoices) != len(numbers) or not all(payable_by(partner, i) for i in invoices):
        raise NotFound(_l("One of the invoices is not one you may pay; nothing was paid."))
    totals = {}
    for invoice in invoices:
        if invoice.status != InvoiceStatus.UNPAID:
            raise AlreadyPaid(
                _l("Invoice %(number)s is not unpaid; nothing was paid.", number=invoice.number)
            )
        for kind, cents in pay_from_balances(invoice, partner, order, actor=actor).items():
            totals[kind] = totals.get(kind, 0) + cents
    return totals


def unpaid_for(partner, *, panel_number=None, due_by=None, limit=500):
    """Unpaid invoices of the partner's own and its clients' panels where it holds billing."""
    from rules.listings import billing_panels

    panel_ids = [p.id for p in billing_panels(partner.user, limit=100_000)]
    if panel_number is not None:
        panel_ids = [
            p.id for p in billing_panels(partner.user, limit=100_000) if p.number == panel_number
        ]
    query = (
        select(Invoice)
        .where(
            Invoice.status == InvoiceStatus.UNPAID,
            Invoice.id.in_(
                select(InvoiceLine.invoice_id).where(InvoiceLine.panel_id.in_(panel_ids))
            ),
        )
        .options(selectinload(Invoice.lines).selectinload(InvoiceLine.panel))
        .order_by(Invoice.due_on, Invoice.number)
        .limit(limit)
    )
    if due_by is not None:
        query = query.where(Invoice.due_on <= due_by)
    return db.session.scalars(query).all()


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
        if not all(line.kind == LineKind.NEW or line.product.auto_renew for line in invoice.lines):
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
