"""The renewal and payment module: the cart, checkout, invoices, paying, renewals [R3, R19-R21].

Money POSTs (checkout, paying) carry an idempotency key (web/idempotency.py) and do not
commit themselves: the decorator commits the work with the record of where it led.
"""

import io

from flask import Blueprint, current_app, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import AccountKind, InvoiceStatus, Product, db
from rules import auto_renew as auto_renewal
from rules import billing, deposits, ledger, partners, payments
from rules.errors import NotFound
from web import errors, htmx, labels, pdf
from web.idempotency import idempotent
from web.refusals import NoProductsTicked, PayerNotChosen, PaymentSourceNotChosen

bp = Blueprint("billing", __name__, url_prefix="/billing")

RENEWAL_WINDOWS = (30, 60, 90)


def renewal_window(text):
    """The renewals page's window in days: one of RENEWAL_WINDOWS (30 for anything else)."""
    return int(text) if text in {str(d) for d in RENEWAL_WINDOWS} else RENEWAL_WINDOWS[0]


@bp.before_request
@login_required
def _require_login():
    """Ordering and paying need an account."""


def _paying_partner():
    partner = partners.partner_of(current_user)
    return partner if partner is not None and partner.is_approved else None


@bp.get("/cart")
def cart():
    """Show the cart with each line priced as checkout would price it now."""
    partner = _paying_partner()
    partner_pays = request.args.get("payer", "partner") == "partner"
    items = billing.cart(current_user)
    lines = [
        (item, billing.line_preview(current_user, item, partner_pays=partner_pays))
        for item in items
    ]
    return render_template(
        "billing/cart.html",
        lines=lines,
        total=sum(line.total_cents for _item, line in lines),
        partner=partner,
        partner_pays=partner_pays,
    )


@bp.post("/cart/<int:item_id>/remove")
def remove(item_id):
    """Take a line out of the cart."""
    billing.remove(current_user, item_id)
    db.session.commit()
    return htmx.full_page_redirect(url_for("billing.cart"))


@bp.post("/cart/checkout")
@idempotent
def checkout():
    """Issue one invoice for the whole cart, priced now; then pay it."""
    payer = request.form.get("payer", "partner")
    if payer not in {"partner", "client"}:
        raise PayerNotChosen()
    invoice = billing.checkout(current_user, partner_pays=payer == "partner")
    flash(
        _("Invoice %(number)s is issued. Pay it to activate the products.", number=invoice.number),
        "success",
    )
    return htmx.full_page_redirect(url_for("billing.invoice", number=invoice.number))


@bp.get("/invoices")
def invoices():
    """List the invoices the user placed."""
    return render_template("billing/invoices.html", invoices=billing.invoices_of(current_user))


def _bank():
    config = current_app.config
    return {
        "holder": config["BANK_ACCOUNT_HOLDER"],
        "iban": config["BANK_IBAN"],
        "bic": config["BANK_BIC"],
    }


@bp.get("/invoices/<int:number>")
def invoice(number):
    """Show an invoice as a printable page, with the ways to pay it while unpaid."""
    found = billing.invoice_for(current_user, number)
    partner = _paying_partner()
    wholesale = billing.sees_wholesale(current_user, found)
    return render_template(
        "billing/invoice.html",
        invoice=found,
        wholesale=wholesale,
        client_lines=None if wholesale else billing.client_lines(found),
        partner=partner,
        deposit=deposits.balance(partner) if partner else None,
        commission=ledger.balance(AccountKind.COMMISSION, partner).available if partner else 0,
        bank=_bank(),
        unpaid=found.status == InvoiceStatus.UNPAID,
        can_cancel=found.status == InvoiceStatus.UNPAID
        and (found.buyer_id == current_user.id or (partner and found.partner_id == partner.id)),
        earner=partner.id if partner else None,
    )


@bp.get("/invoices/<int:number>.pdf")
def invoice_pdf(number):
    """The invoice as a PDF with the Bulgarian invoice's fields, as the user sees the page."""
    found = billing.invoice_for(current_user, number)
    wholesale = billing.sees_wholesale(current_user, found)
    config = current_app.config
    html = render_template(
        "billing/invoice_pdf.html",
        invoice=found,
        wholesale=wholesale,
        client_lines=None if wholesale else billing.client_lines(found),
        supplier={
            "name": config["SUPPLIER_NAME"],
            "address": config["SUPPLIER_ADDRESS"],
            "eik": config["SUPPLIER_EIK"],
            "vat_number": config["SUPPLIER_VAT_NUMBER"],
        },
        bank=_bank(),
    )
    try:
        document = pdf.from_html(html)
    except pdf.PdfUnavailable as error:
        current_app.logger.error("PDF unavailable: %s", error)
        return errors.render_error(503, _("Invoices cannot be made into PDF on this server yet."))
    return send_file(
        io.BytesIO(document),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"invoice-{found.number:010d}.pdf",
    )


@bp.post("/invoices/<int:number>/pay")
@idempotent
def pay(number):
    """Pay the whole invoice from the deposit or available commission; activate at once."""
    found = billing.invoice_for(current_user, number)
    partner = _paying_partner()
    if partner is None:
        raise payments.NoBalanceToPayFrom()
    sources = {"deposit": AccountKind.DEPOSIT, "commission": AccountKind.COMMISSION}
    if request.form.get("source") not in sources:
        raise PaymentSourceNotChosen()
    payments.pay_from_balance(found, partner, sources[request.form["source"]], actor=current_user)
    flash(_("Invoice %(number)s is paid; its products are active.", number=found.number), "success")
    return htmx.full_page_redirect(url_for("billing.invoice", number=found.number))


@bp.get("/renewals")
def renewals():
    """Products expiring in the next 30/60/90 days in every panel where the user holds billing."""
    days = renewal_window(request.args.get("days"))
    return render_template(
        "billing/renewals.html",
        products=billing.expiring(current_user, days),
        days=days,
        windows=RENEWAL_WINDOWS,
    )


@bp.post("/renewals")
def renew():
    """Put the ticked products, each with its chosen period, in the cart."""
    chosen = request.form.getlist("product")
    if not chosen:
        raise NoProductsTicked()
    if len(chosen) > billing.MAX_CART or not all(
        c.isascii() and c.isdigit() and len(c) <= 12 for c in chosen
    ):
        raise NoProductsTicked()
    for product_id in chosen:
        product = db.session.get(Product, int(product_id))
        if product is None:
            raise NotFound()
        months = request.form.get(f"months-{product_id}", "")
        if not (months.isascii() and months.isdigit() and len(months) <= 3):
            raise billing.catalogue.PeriodNotOffered()
        billing.add_renewal(current_user, product, int(months))
    db.session.commit()
    flash(_("Added to the cart."), "success")
    return htmx.full_page_redirect(url_for("billing.cart"))


@bp.post("/products/<int:product_id>/auto-renew")
def auto_renew(product_id):
    """Switch a product's renewal from the partner's deposit on or off."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    auto_renewal.set_auto_renew(current_user, product, request.form.get("on") == "1")
    db.session.commit()
    flash(
        _("%(name)s renews automatically.", name=product.domain or labels.product_name(product))
        if product.auto_renew
        else _(
            "%(name)s no longer renews automatically.",
            name=product.domain or labels.product_name(product),
        ),
        "success",
    )
    days = renewal_window(request.form.get("days"))
    return htmx.full_page_redirect(url_for("billing.renewals", days=days))


@bp.post("/invoices/<int:number>/cancel")
def cancel(number):
    """Cancel an unpaid invoice the user placed (its new products are dropped with it)."""
    found = billing.invoice_for(current_user, number)
    payments.cancel_by_buyer(current_user, found)
    db.session.commit()
    flash(_("Invoice %(number)s is cancelled.", number=found.number), "success")
    return htmx.full_page_redirect(url_for("billing.invoice", number=found.number))
