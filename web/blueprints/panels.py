"""Panels: the switcher, a panel's products by domain and section, its audit log."""

from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import KIND_GROUP, AuditEntry, Group, Product, db
from rules import access, listings, panels
from rules.domains import registrable
from web import htmx
from web.panel_forms import PanelForm, SearchForm

bp = Blueprint("panels", __name__, url_prefix="/panels")

SECTIONS = [Group.DOMAINS, Group.WEB, Group.EMAIL, Group.BILLING]


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _page_number():
    return request.args.get("page", 1, type=lambda v: int(v) if v.isdigit() and len(v) < 7 else 1)


@bp.get("/")
def index():
    """List every panel the user owns or holds a grant on."""
    search = SearchForm(request.args)
    term = search.q.data if search.validate() else ""
    result = listings.visible_panels(current_user, search=term, page=_page_number())
    return htmx.render(
        "panels/index.html", "panels/_list.html", result=result, search=search, form=PanelForm()
    )


@bp.post("/")
def create():
    """Create a new panel owned by the user."""
    form = PanelForm()
    if not form.validate():
        result = listings.visible_panels(current_user)
        return render_template(
            "panels/index.html", result=result, search=SearchForm(), form=form
        ), 422
    panel = panels.create_panel(name=form.name.data, owner=current_user, actor=current_user)
    db.session.commit()
    flash(_("The panel “%(name)s” is created.", name=panel.name), "success")
    return redirect(url_for("panels.show", number=panel.number), 303)


@bp.get("/<int:number>")
def show(number):
    """Show a panel's products by domain, and the sections the user's groups open."""
    member = access.panel_for(current_user, number)
    products = db.session.scalars(
        select(Product).where(Product.panel_id == member.panel.id).order_by(Product.domain)
    ).all()
    by_domain = defaultdict(list)
    for product in products:
        by_domain[registrable(product.domain) if product.domain else ""].append(product)
    sections = {
        group: [p for p in products if KIND_GROUP[p.kind] == group or group == Group.BILLING]
        for group in SECTIONS
        if member.has(group)
    }
    return render_template(
        "panels/show.html",
        member=member,
        panel=member.panel,
        by_domain=dict(by_domain),
        sections=sections,
    )


@bp.get("/<int:number>/audit")
def audit_log(number):
    """Show the panel's audit log to its owner."""
    member = access.panel_for(current_user, number, access.OWNER)
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.panel_id == member.panel.id)
        .order_by(AuditEntry.id.desc())
        .limit(200)
    ).all()
    return render_template("panels/audit.html", panel=member.panel, entries=entries)
