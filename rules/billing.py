"""Orders, invoices and paying them (DESIGN.md 3.5): the cart, checkout, pay, activate.

An invoice is priced by the quote engine when it is issued and never repriced. It is paid
whole, from one source: the partner's deposit (the products activate at once [R19]), or an
external payment (a bank transfer staff confirms, or a provider's webhook) — until then its
products wait as pending [R21]. Money moves only through rules/ledger.py; paying twice is
impossible because the invoice row is locked and its transfers' keys are the invoice's.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from models import (
    CartItem,
    Grant,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Panel,
    Partner,
    Plan,
    PlanKind,
    Product,
    ProductStatus,
    db,
)
from rules import (
    access,
    audit,
    catalogue,
    commissions,
    domains,
    panels,
    partners,
)
from rules.errors import DomainError, NotFound
from rules.listings import billing_panels
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


class NoPanelChosen(BillingError):
    def default_message(self):
        return _l("Choose a panel for the product, or name a new one.")


class CartFull(BillingError):
    def default_message(self):
        return _l("The cart is full; check out what is in it first.")


class CartEmpty(BillingError):
    def default_message(self):
        return _l("The cart is empty.")


class NotRenewable(BillingError):
    def default_message(self):
        return _l("This product cannot be renewed.")


class RenewalAlreadyInvoiced(BillingError):
    """An unpaid invoice (``number``) already renews the product."""

    def __init__(self, number):
        self.number = number
        super().__init__(
            _l(
                "Invoice %(number)s already renews this product; pay or cancel it first.",
                number=number,
            )
        )


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
        raise NoPanelChosen()
    if _cart_size(user) >= MAX_CART:
        raise CartFull()
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
        raise NotRenewable()
    _offered(product.plan, months)  # a retired plan still renews
    open_invoice = open_renewal(product)
    if open_invoice is not None:
        raise RenewalAlreadyInvoiced(open_invoice)
    item = db.session.scalar(
        select(CartItem).where(CartItem.user_id == user.id, CartItem.renew_product_id == product.id)
    )
    if item is None:
        if _cart_size(user) >= MAX_CART:
            raise CartFull()
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
        raise CartEmpty()
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


def _billing_panel_ids(user):
    """The panels where the user holds ``billing`` (owned, or granted), as a subquery."""
    return (
        select(Panel.id)
        .outerjoin(Grant, and_(Grant.panel_id == Panel.id, Grant.user_id == user.id))
        .where(or_(Panel.owner_id == user.id, Grant.groups.op("&")(int(Group.BILLING)) != 0))
    )


def invoices_of(user, *, limit=200):
    """The invoices the user may open (invoice_for), with the total it sees (sees_wholesale):
    the ones it placed, and those whose every line is in a panel where it holds billing —
    the list and the pages agree."""
    outside = (
        select(InvoiceLine.id)
        .where(InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.panel_id.not_in(_billing_panel_ids(user)))
    )
    invoices = db.session.scalars(
        select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(or_(Invoice.buyer_id == user.id, ~exists(outside)))
        .order_by(Invoice.number.desc())
        .limit(limit)
    ).all()
    partner = partners.partner_of(user)
    return [
        (invoice, invoice.total_cents)
        if sees_wholesale(user, invoice, partner=partner)
        else (invoice, sum(row.total_cents for row in client_lines(invoice)))
        for invoice in invoices
    ]


@dataclass(frozen=True)
class ClientLine:
    """An invoice line as a client sees it: at the catalogue's price for the period (what a
    client pays itself), without the partner's volume discount or commission."""

    line: object
    net_cents: int
    vat_cents: int

    @property
    def total_cents(self):
        return self.net_cents + self.vat_cents


def sees_wholesale(user, invoice, *, partner=False):
    """Whether the user sees the invoice as priced: its buyer's side. A partner's own invoice
    carries the partner's volume discount (its wholesale price) and how the partner settled
    it; to the client whose panel it covers it is shown at the client's price instead."""
    if invoice.partner_id is None or invoice.buyer_id == user.id:
        return True
    if partner is False:  # not looked up by the caller
        partner = partners.partner_of(user)
    return partner is not None and partner.id == invoice.partner_id


def client_lines(invoice):
    """The invoice's lines at the client's price (list price less the period discount), with
    VAT at the invoice's rate, rounded per line like every invoice."""
    return [
        ClientLine(line, net, percent_of(net, invoice.vat_bp))
        for line in invoice.lines
        for net in [line.list_cents - line.period_discount_cents]
    ]


def expiring(user, days, *, today=None, limit=500):
    """Active products expiring within ``days`` in every panel where the user holds billing."""
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


def unpaid_for(partner, *, panel_number=None, due_by=None, limit=500):
    """Unpaid invoices of the partner's own and its clients' panels where it holds billing."""
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
