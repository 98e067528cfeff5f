"""Ordering: the order page, whose price breakdown the server recomputes on every change.

Only the plan, the period and who pays are read from the request; a price, discount or rate
sent along is ignored, because every figure comes from rules/catalogue.py. Checkout (invoices
and payment) builds on this page.
"""

from flask import Blueprint, flash, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from models import db
from rules import billing, catalogue, listings, partners, pricing
from rules.errors import DomainError
from web import htmx, labels
from web.catalogue_forms import NEW_PANEL, AddToCartForm, OrderQuoteForm
from web.refusals import PayerNotChosen, refusal

bp = Blueprint("orders", __name__, url_prefix="/order")

PAYERS = {"partner", "client"}


@bp.before_request
@login_required
def _require_login():
    """Ordering needs an account."""


def _choose(args, plans, partner):
    """Read plan, period and payer from the query: (plan, months, partner pays?) or DomainError.

    The form says whose periods it listed (``periods_of``): after a plan change the period
    stays when the new plan offers it, else it becomes the new plan's shortest. A period the
    plan does not offer, asked for that plan, is an error, as is an unknown or retired plan.
    """
    plan = catalogue.orderable_plan(args.get("plan") or plans[0].code)
    offered = {str(p.months): p.months for p in plan.periods}
    raw = args.get("months")
    if raw in offered:
        months = offered[raw]
    elif raw is None or args.get("periods_of", plan.code) != plan.code:
        months = min(offered.values())
    else:
        raise catalogue.PeriodNotOffered()
    payer = args.get("payer", "partner") if partner is not None else "partner"
    if payer not in PAYERS:
        raise PayerNotChosen()
    return plan, months, partner is None or payer == "partner"


def _page(args, add_form=None, status=200):
    """The order page for ``args`` (plan, months, payer), with the add-to-cart form."""
    partner = partners.partner_of(current_user)
    partner = partner if partner is not None and partner.is_approved else None
    plans = catalogue.orderable_plans()
    form = OrderQuoteForm(args)
    form.plan.choices = [SelectChoice(p.code, p.name(str(get_locale()))) for p in plans]
    context = {"form": form, "partner": partner, "plans": plans, "quote": None, "error": None}
    if plans:
        standing = catalogue.standing(partner) if partner is not None else None
        try:
            plan, months, partner_pays = _choose(args, plans, partner)
        except DomainError as error:
            context["error"], status = error.message, error.status
            plan, months, partner_pays = None, None, True
        by_code = {p.code: p for p in plans}
        shown = plan or by_code.get(args.get("plan"), plans[0])
        form.months.choices = [
            SelectChoice(str(p.months), labels.period(p.months)) for p in shown.periods
        ]
        if plan is not None:
            form.plan.data, form.months.data = plan.code, str(months)
            form.payer.data = "partner" if partner_pays else "client"
            quote = catalogue.order_quote(
                plan, months, standing=standing, partner_pays=partner_pays
            )
            add_form = add_form or AddToCartForm(formdata=None)
            add_form.panel.choices = _panel_choices()
            context.update(
                plan=plan,
                quote=quote,
                per_month_cents=pricing.per_month(quote.net_cents, months),
                months=months,
                period_label=labels.period(months),
                partner_pays=partner_pays,
                standing=standing,
                add_form=add_form,
            )
    return htmx.render("orders/new.html", "orders/_form.html", status=status, **context)


def _panel_choices():
    choices = [
        SelectChoice(str(p.number), f"{p.name} (№ {p.number})")
        for p in listings.billing_panels(current_user)
    ]
    return [*choices, SelectChoice(NEW_PANEL, _l("A new panel"))]


@bp.get("/")
def new():
    """Show what an order line costs and why: list → period → volume → net → VAT → total."""
    return _page(request.args)


@bp.post("/")
def add():
    """Put the quoted line in the cart: its domain and the panel it goes to."""
    form = AddToCartForm()
    form.panel.choices = _panel_choices()
    if form.validate():
        with refusal(form) as refused:
            billing.add_new(
                current_user,
                plan_code=request.form.get("plan"),
                months=_months(request.form.get("months")),
                domain=form.domain.data,
                panel_number=None if form.panel.data == NEW_PANEL else int(form.panel.data),
                new_panel_name=form.new_panel_name.data or form.domain.data,
            )
        if not refused:
            db.session.commit()
            flash(_l("Added to the cart."), "success")
            return htmx.full_page_redirect(url_for("billing.cart"))
    return _page(request.form, add_form=form, status=422)


def _months(raw):
    """A period as sent; anything but a small whole number is simply not offered."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 4 else -1
