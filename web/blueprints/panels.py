"""Panels: the switcher, a panel's products by domain and section, its audit log."""

from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from models import KIND_GROUP, Group, Product, ProductKind, db
from rules import access, audit, listings, moves, panels
from rules.domains import registrable
from rules.provisioning import MAIL_KINDS
from web import htmx
from web.panel_forms import PanelForm, SearchForm, audit_filters, listing_request

bp = Blueprint("panels", __name__, url_prefix="/panels")

#: the section page of each group, at /panels/<number>/<name>
SECTIONS = {
    "domains": Group.DOMAINS,
    "web": Group.WEB,
    "email": Group.EMAIL,
    "billing": Group.BILLING,
}


def _in_section(product, group):
    # Billing covers every product: it is where renewals and payments are seen; a hosting
    # product's domain takes mail too, so Mail lists it beside the email products.
    if group == Group.EMAIL and product.kind in MAIL_KINDS:
        return True
    return group == Group.BILLING or KIND_GROUP[product.kind] == group


def _products(panel):
    return db.session.scalars(
        select(Product).where(Product.panel_id == panel.id).order_by(Product.domain, Product.id)
    ).all()


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


@bp.get("/")
def index():
    """List every panel the user owns or holds a grant on."""
    search, term, page = listing_request(request.args)
    result = listings.visible_panels(current_user, search=term, page=page)
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
    products = _products(member.panel)
    by_domain = defaultdict(list)
    for product in products:
        by_domain[registrable(product.domain) if product.domain else ""].append(product)
    return render_template(
        "panels/show.html",
        member=member,
        panel=member.panel,
        by_domain=dict(by_domain),
        sections=[(name, group) for name, group in SECTIONS.items() if member.has(group)],
        manage=lambda product: _manage_links(member, product),
        # the owner sees every move in and out; a mover sees its own moves here, to undo them
        recent_moves=[
            move
            for move in moves.recent(member.panel)
            if member.is_owner or move.source.owner_id == current_user.id
        ],
        undo_refusal=moves.undo_refusal,
        move_waiting=moves.is_waiting,
    )


#: where each group manages a product of its kind: (group, the kinds, endpoint, label)
MANAGE = (
    (Group.DOMAINS, {ProductKind.DOMAIN}, "domains.show", _l("DNS and registration")),
    (Group.WEB, {ProductKind.HOSTING}, "sites.show", _l("Sites")),
    (Group.EMAIL, MAIL_KINDS, "mail.show", _l("Mailboxes")),
)


def _manage_links(member, product):
    """The pages where the member manages this product, one per group it holds for it."""
    if not product.domain:
        return []
    return [
        (label, url_for(endpoint, number=member.panel.number, product_id=product.id))
        for group, kinds, endpoint, label in MANAGE
        if product.kind in kinds and member.has(group)
    ]


@bp.get("/<int:number>/audit")
def audit_log(number):
    """Show the panel's audit log to its owner: filtered, a page at a time."""
    member = access.panel_for(current_user, number, access.OWNER)
    form, filters, page = audit_filters(request.args)
    filters.pop("panel_number", None)  # this panel's log only
    result = audit.search(panel=member.panel, **filters, page=page)
    return htmx.render(
        "panels/audit.html", "_audit_log.html", panel=member.panel, result=result, form=form
    )


def _section_page(name, group):
    def section(number):
        member = access.panel_for(current_user, number, group)
        products = [p for p in _products(member.panel) if _in_section(p, group)]
        return render_template(
            "panels/section.html", panel=member.panel, name=name, group=group, products=products
        )

    section.__name__ = name
    section.__doc__ = "Show the panel's section that this group opens."
    return section


for _name, _group in SECTIONS.items():
    bp.add_url_rule(f"/<int:number>/{_name}", view_func=_section_page(_name, _group))
