"""A domain's page (group domains): nameservers, DNS records edited inline, registrant,
auto-renewal and the transfer code; every change goes to the servers through the queue."""

import unicodedata

from babel import Locale
from flask import Blueprint, flash, make_response, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from models import Group, ProductKind, db
from rules import access, dns, provisioning, serving, zone
from web import htmx, sessions
from web.refusals import refusal
from web.service_forms import NameserversForm, RecordForm, RegistrantForm, SwitchForm

bp = Blueprint("domains", __name__, url_prefix="/panels/<int:number>/domains/<int:product_id>")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _load(number, product_id):
    member = access.panel_for(current_user, number, Group.DOMAINS)
    return member, serving.product_of(member.panel, product_id, [ProductKind.DOMAIN])


def _sort_key(name):
    """Alphabetical whatever the case and accents: 'Åland' with the A's, 'остров' with the О's."""
    letters = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in letters if not unicodedata.combining(c))


def _countries():
    territories = Locale.parse(str(get_locale())).territories
    codes = sorted(zone.country_codes(), key=lambda code: _sort_key(territories[code]))
    return [SelectChoice("", "—")] + [SelectChoice(code, territories[code]) for code in codes]


def _forms(product, **given):
    settings = zone.settings_of(product)
    nameservers = given.get("nameservers") or NameserversForm(
        formdata=None,
        use="custom" if settings.nameservers else "host",
        lines="\n".join(settings.nameservers or ()),
    )
    registrant = given.get("registrant") or RegistrantForm(
        formdata=None, data=settings.registrant or {}
    )
    registrant.country.choices = _countries()
    return {
        "nameservers_form": nameservers,
        "registrant_form": registrant,
        "record_form": given.get("record_form") or RecordForm(formdata=None),
    }


def _page(member, product, status=200, **given):
    return render_template(
        "domains/show.html", **_context(member, product), **_forms(product, **given)
    ), status


def _context(member, product):
    return {
        "member": member,
        "panel": member.panel,
        "product": product,
        "zone": provisioning.ascii_domain(product.domain),
        "page_url": _back(member.panel.number, product.id),
        "settings": zone.settings_of(product),
        "records": zone.records_of(product),
        "tasks": provisioning.recent_tasks(product, (provisioning.ZONE, provisioning.REGISTRY)),
        "host_nameservers": zone.on_host_nameservers(product),
        "display_name": dns.display_name,
    }


def _back(number, product_id, anchor=""):
    return url_for("domains.show", number=number, product_id=product_id) + anchor


@bp.get("")
def show(number, product_id):
    """Show the domain's settings, records and the state of its changes on the servers."""
    member, product = _load(number, product_id)
    return _page(member, product)


@bp.post("/nameservers")
def nameservers(number, product_id):
    """Use the host's nameservers or custom ones."""
    member, product = _load(number, product_id)
    form = NameserversForm()
    if form.validate():
        with refusal(form) as refused:
            changed = zone.set_nameservers(
                product, form.lines.data or "", host=form.use.data != "custom", actor=current_user
            )
        if not refused:
            db.session.commit()
            if changed:
                flash(
                    _("The nameservers are saved; the change is on its way to the registry."),
                    "success",
                )
            return htmx.full_page_redirect(_back(number, product_id))
    return _page(member, product, 422, nameservers=form)


def _records(member, product, status=200, form=None, **extra):
    """The records section: the table and the form that adds one."""
    context = {**_context(member, product), **_forms(product, record_form=form), **extra}
    return htmx.render("domains/show.html", "domains/_records.html", status, **context)


@bp.post("/records")
def add_record(number, product_id):
    """Add a record; htmx gets the records section back, a plain form the page."""
    member, product = _load(number, product_id)
    form = RecordForm()
    if form.validate():
        with refusal(form) as refused:
            zone.add_record(product, form.fields_dict(), actor=current_user)
        if not refused:
            db.session.commit()
            flash(_("The record is added."), "success")
            if not htmx.is_partial():
                return htmx.full_page_redirect(_back(number, product_id, "#records"))
            return htmx.changed(*_records(member, product))
    return _records(member, product, 422, form)


@bp.get("/records/<int:record_id>")
def record(number, product_id, record_id):
    """One record's row (htmx: after Cancel), or the domain's page."""
    member, product = _load(number, product_id)
    row = zone.record_of(product, record_id)
    return htmx.render(
        "domains/show.html",
        "domains/_record_row.html",
        **_context(member, product),
        **_forms(product),
        record=row,
    )


@bp.get("/records/<int:record_id>/edit")
def edit_record(number, product_id, record_id):
    """The record as a form: a row in place (htmx) or a page of its own."""
    member, product = _load(number, product_id)
    row = zone.record_of(product, record_id)
    form = RecordForm(formdata=None, data=dns.form_values(_as_record(row)))
    return _edit(member, product, row, form)


def _as_record(row):
    return dns.Record(name=row.name, type=row.type, ttl=row.ttl, data=row.data)


def _edit(member, product, row, form, status=200):
    return htmx.render(
        "domains/record_edit.html",
        "domains/_record_edit_row.html",
        status,
        **_context(member, product),
        record=row,
        edit_form=form,
    )


@bp.post("/records/<int:record_id>")
def update_record(number, product_id, record_id):
    """Save the edited record: its row (htmx) or back to the page."""
    member, product = _load(number, product_id)
    row = zone.record_of(product, record_id)
    form = RecordForm()
    if form.validate():
        with refusal(form) as refused:
            zone.update_record(product, row, form.fields_dict(), actor=current_user)
        if refused:
            row = zone.record_of(product, record_id)
        else:
            db.session.commit()
            flash(_("The record is saved."), "success")
            if not htmx.is_partial():
                return htmx.full_page_redirect(_back(number, product_id, "#records"))
            return htmx.changed(
                render_template("domains/_record_row.html", **_context(member, product), record=row)
            )
    return _edit(member, product, row, form, 422)


@bp.post("/records/<int:record_id>/delete")
def delete_record(number, product_id, record_id):
    """Delete the record: its row goes (htmx) or back to the page."""
    _member, product = _load(number, product_id)
    row = zone.record_of(product, record_id, gone_ok=True)
    if row is not None:  # else deleted already: a second click is not an error
        zone.delete_record(product, row, actor=current_user)
        db.session.commit()
    flash(_("The record is deleted."), "success")
    if htmx.is_partial():  # the row goes; the changes on the servers show the deletion
        return htmx.changed("")
    return htmx.full_page_redirect(_back(number, product_id, "#records"))


@bp.post("/registrant")
def registrant(number, product_id):
    """Save the registrant contact the registry holds."""
    member, product = _load(number, product_id)
    form = RegistrantForm()
    form.country.choices = _countries()
    if form.validate():
        with refusal(form) as refused:
            changed = zone.set_registrant(product, form.fields_dict(), actor=current_user)
        if not refused:
            db.session.commit()
            if changed:
                flash(_("The registrant contact is saved."), "success")
            return htmx.full_page_redirect(_back(number, product_id, "#registrant"))
    return _page(member, product, 422, registrant=form)


@bp.post("/auto-renew")
def auto_renew(number, product_id):
    """Switch the domain's auto-renewal."""
    member, product = _load(number, product_id)
    form = SwitchForm()
    if form.validate():
        with refusal() as refused:
            zone.set_domain_auto_renew(product, form.on.data == "1", actor=current_user)
        if refused:
            flash(refused.message, "error")
            return _page(member, product, refused.status)
        db.session.commit()
        flash(
            _("Auto-renewal is on.") if product.auto_renew else _("Auto-renewal is off."),
            "success",
        )
    return htmx.full_page_redirect(_back(number, product_id))


@bp.post("/auth-code")
@sessions.fresh_login_required
def auth_code(number, product_id):
    """Show the transfer-out code, after a fresh login; every showing is in the audit log."""
    member, product = _load(number, product_id)
    form = SwitchForm()
    if not form.validate():
        return htmx.full_page_redirect(_back(number, product_id))
    code = zone.reveal_auth_code(product, actor=current_user)
    db.session.commit()
    response = make_response(
        render_template("domains/auth_code.html", panel=member.panel, product=product, code=code)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
