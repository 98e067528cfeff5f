"""A hosting product's sites (group web): the main domain and subdomain sites, each with its
folder, PHP version and HTTPS; changes go to the servers through the queue."""

from flask import Blueprint, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from models import Group, ProductKind, db
from rules import access, provisioning, serving, sites
from web import htmx
from web.labels import idn
from web.refusals import refusal
from web.service_forms import SiteEditForm, SiteForm

bp = Blueprint("sites", __name__, url_prefix="/panels/<int:number>/web/<int:product_id>")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _load(number, product_id):
    member = access.panel_for(current_user, number, Group.WEB)
    return member, serving.product_of(member.panel, product_id, [ProductKind.HOSTING])


def _php_choices(form):
    form.php.choices = [SelectChoice(v, "PHP " + v) for v in sites.php_versions()]
    return form


def _page(member, product, status=200, form=None):
    form = form or SiteForm(formdata=None, php=sites.php_versions()[0])
    return render_template(
        "sites/show.html",
        panel=member.panel,
        product=product,
        sites=sites.sites_of(product),
        is_main=sites.is_main,
        tasks=provisioning.recent_tasks(product, (provisioning.WEB,)),
        page_url=_back(member.panel.number, product.id),
        form=_php_choices(form),
    ), status


def _back(number, product_id):
    return url_for("sites.show", number=number, product_id=product_id)


@bp.get("")
def show(number, product_id):
    """Show the hosting product's sites and the state of their changes on the servers."""
    member, product = _load(number, product_id)
    return _page(member, product)


@bp.post("/sites")
def add(number, product_id):
    """Add a site on the domain or a subdomain of it."""
    member, product = _load(number, product_id)
    form = _php_choices(SiteForm())
    if form.validate():
        with refusal(form) as refused:
            site = sites.add_site(
                product,
                host=form.host.data,
                docroot=form.docroot.data,
                php=form.php.data,
                ssl=form.ssl.data,
                actor=current_user,
            )
        if not refused:
            db.session.commit()
            flash(_("The site %(host)s is added.", host=idn(site.host)), "success")
            return htmx.full_page_redirect(_back(number, product_id))
    return _page(member, product, 422, form)


def _edit(member, product, site, form, status=200):
    return render_template(
        "sites/edit.html", panel=member.panel, product=product, site=site, form=_php_choices(form)
    ), status


@bp.get("/sites/<int:site_id>/edit")
def edit(number, product_id, site_id):
    """The site's settings as a form."""
    member, product = _load(number, product_id)
    site = sites.site_of(product, site_id)
    return _edit(member, product, site, SiteEditForm(formdata=None, obj=site))


@bp.post("/sites/<int:site_id>")
def update(number, product_id, site_id):
    """Save the site's folder, PHP version and HTTPS."""
    member, product = _load(number, product_id)
    site = sites.site_of(product, site_id)
    form = _php_choices(SiteEditForm())
    if form.validate():
        with refusal(form) as refused:
            sites.update_site(
                product,
                site,
                docroot=form.docroot.data,
                php=form.php.data,
                ssl=form.ssl.data,
                actor=current_user,
            )
        if refused:
            site = sites.site_of(product, site_id)
        else:
            db.session.commit()
            flash(_("The site %(host)s is saved.", host=idn(site.host)), "success")
            return htmx.full_page_redirect(_back(number, product_id))
    return _edit(member, product, site, form, 422)


@bp.post("/sites/<int:site_id>/delete")
def delete(number, product_id, site_id):
    """Remove a subdomain site (its files stay in the account)."""
    member, product = _load(number, product_id)
    site = sites.site_of(product, site_id, gone_ok=True)
    if site is not None:  # else removed already
        with refusal() as refused:
            sites.delete_site(product, site, actor=current_user)
        if refused:
            flash(refused.message, "error")
            return _page(member, product, refused.status)
        db.session.commit()
    flash(_("The site is removed; its files stay in the account."), "success")
    return htmx.full_page_redirect(_back(number, product_id))
