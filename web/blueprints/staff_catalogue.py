"""Staff pages for the catalogue: plans and their periods, volume tiers and VAT.

Forms parse what staff typed (web/catalogue_forms.py); rules/catalogue_admin.py checks the
rules across fields and rows and writes each change with its audit entry. A refused change
answers 422 with the form as typed and stores nothing.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Plan, PlanKind, VatRate, db, utcnow
from rules import catalogue, catalogue_admin
from rules.errors import NotFound
from web.blueprints.staff import require_staff
from web.catalogue_forms import PlanForm, TiersForm, VatForm

bp = Blueprint("staff_catalogue", __name__, url_prefix="/staff/catalogue")
bp.before_request(require_staff)

BLANK_ROWS = 3


@bp.get("/")
def index():
    """Show every plan (retired ones too), the volume tiers and the VAT rates."""
    plans = db.session.scalars(
        select(Plan).options(selectinload(Plan.periods)).order_by(Plan.price_cents, Plan.code)
    ).all()
    plans.sort(key=lambda p: catalogue.KIND_ORDER.index(p.kind))
    return render_template(
        "staff/catalogue.html",
        plans=plans,
        tiers=catalogue.tiers(),
        vat_bp=catalogue.vat_bp(),
        vat_history=catalogue_admin.vat_history(),
        now=utcnow(),
    )


def _pad(field_list, rows=BLANK_ROWS):
    """Leave a few blank rows to add to the list."""
    while len(field_list) < len(field_list.object_data or ()) + rows and (
        len(field_list) < field_list.max_entries
    ):
        field_list.append_entry()


def _refused(template, form, status=422, **context):
    db.session.rollback()
    return render_template(template, form=form, **context), status


def _plan(plan_id):
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound()
    return plan


FIXED = ("code", "kind", "base_months")  # what identifies a plan never changes once made


def _plan_form(plan=None, formdata=None):
    if plan is None:
        data = {
            "base_months": "1",
            "volume_eligible": True,  # shared hosting counts, but for the cheapest plan
            "periods": [{"months": 12, "discount": 0}],
        }
    else:
        data = {
            "name_bg": plan.name_bg,
            "name_en": plan.name_en,
            "price": plan.price_cents,
            "volume_eligible": plan.volume_eligible,
            "mailboxes": plan.mailboxes,
            "mail_quota_mb": plan.mail_quota_mb,
            "retired": plan.retired_at is not None,
            "periods": [{"months": p.months, "discount": p.discount_bp} for p in plan.periods],
        }
    form = PlanForm(formdata=formdata, data=data)
    if plan is not None:
        for name in FIXED:
            delattr(form, name)
    if formdata is None:
        _pad(form.periods)
    return form


def _save_plan(plan):
    form = _plan_form(plan, formdata=request.form)
    template, context = "staff/plan.html", {"plan": plan}
    valid = form.validate()
    periods = form.period_rows()
    if not valid or periods is None:
        return _refused(template, form, **context)
    change = catalogue_admin.PlanChange(
        code=plan.code if plan else form.code.data.strip(),
        kind=plan.kind if plan else PlanKind(form.kind.data),
        name_bg=form.name_bg.data,
        name_en=form.name_en.data,
        price_cents=form.price.data,
        base_months=plan.base_months if plan else int(form.base_months.data),
        volume_eligible=form.volume_eligible.data,
        retired=form.retired.data,
        periods=periods,
        mailboxes=form.mailboxes.data,
        mail_quota_mb=form.mail_quota_mb.data,
    )
    try:
        saved, changed = catalogue_admin.save_plan(plan, change, actor=current_user)
    except catalogue_admin.CatalogueError as error:
        form.form_errors.append(error.message)
        return _refused(template, form, **context)
    db.session.commit()
    flash(
        _("Plan %(code)s saved.", code=saved.code) if changed else _("Nothing changed."), "success"
    )
    return redirect(url_for("staff_catalogue.index"), 303)


@bp.get("/plans/new")
def plan_new():
    """Show the form for a new plan."""
    return render_template("staff/plan.html", form=_plan_form(), plan=None)


@bp.post("/plans/new")
def plan_create():
    """Add a plan to the catalogue."""
    return _save_plan(None)


@bp.get("/plans/<int:plan_id>")
def plan_edit(plan_id):
    """Show a plan's form: names, price, eligibility, retirement and periods."""
    plan = _plan(plan_id)
    return render_template("staff/plan.html", form=_plan_form(plan), plan=plan)


@bp.post("/plans/<int:plan_id>")
def plan_update(plan_id):
    """Change a plan; its code, kind and price basis stay as they are."""
    return _save_plan(_plan(plan_id))


@bp.get("/tiers")
def tiers():
    """Show the volume tier table for editing."""
    rows = [{"min_products": t.min_products, "rate": t.rate_bp} for t in catalogue.tiers()]
    form = TiersForm(formdata=None, data={"tiers": rows})
    _pad(form.tiers)
    return render_template("staff/tiers.html", form=form)


@bp.post("/tiers")
def tiers_update():
    """Replace the volume tier table."""
    form = TiersForm()
    valid = form.validate()
    rows = form.tier_rows()
    if not valid or rows is None:
        return _refused("staff/tiers.html", form)
    try:
        changed = catalogue_admin.save_tiers(rows, actor=current_user)
    except catalogue_admin.CatalogueError as error:
        form.form_errors.append(error.message)
        return _refused("staff/tiers.html", form)
    db.session.commit()
    flash(_("Volume tiers saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("staff_catalogue.index"), 303)


@bp.get("/vat")
def vat():
    """Show the form to set the VAT rate from a date on."""
    form = VatForm(
        formdata=None,
        data={"rate": catalogue.vat_bp(), "effective_on": catalogue_admin.business_today()},
    )
    return render_template("staff/vat.html", form=form)


@bp.post("/vat")
def vat_update():
    """Set the VAT rate from today or a later date; earlier invoices keep theirs."""
    form = VatForm()
    if not form.validate():
        return _refused("staff/vat.html", form)
    try:
        catalogue_admin.schedule_vat(form.rate.data, form.effective_on.data, actor=current_user)
    except catalogue_admin.CatalogueError as error:
        form.form_errors.append(error.message)
        return _refused("staff/vat.html", form)
    db.session.commit()
    flash(_("The VAT rate is saved."), "success")
    return redirect(url_for("staff_catalogue.index"), 303)


@bp.post("/vat/<int:rate_id>/cancel")
def vat_cancel(rate_id):
    """Withdraw a VAT rate scheduled for a later date."""
    rate = db.session.get(VatRate, rate_id)
    if rate is None:
        raise NotFound()
    catalogue_admin.cancel_vat(rate, actor=current_user)
    db.session.commit()
    flash(_("The scheduled VAT rate is withdrawn."), "success")
    return redirect(url_for("staff_catalogue.index"), 303)
