"""A mail domain's page (group email): mailboxes edited inline, aliases and forwarders, the
catch-all; passwords are only ever stored as hashes and never shown."""

from flask import Blueprint, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import Group, db
from rules import access, mailboxes, provisioning, serving
from web import htmx
from web.refusals import refusal
from web.service_forms import AliasForm, CatchAllForm, MailboxEditForm, MailboxForm

bp = Blueprint("mail", __name__, url_prefix="/panels/<int:number>/email/<int:product_id>")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _load(number, product_id):
    member = access.panel_for(current_user, number, Group.EMAIL)
    return member, serving.product_of(member.panel, product_id, provisioning.MAIL_KINDS)


def _context(member, product, **given):
    boxes = mailboxes.mailboxes_of(product)
    count, total = mailboxes.mail_limits(product)
    aliases = mailboxes.aliases_of(product)
    catch_all = next((a for a in aliases if a.local == ""), None)
    return {
        "panel": member.panel,
        "product": product,
        "mailboxes": boxes,
        "aliases": [a for a in aliases if a.local],
        "limits": {"count": count, "total": total, "used": mailboxes.quota_used(product)},
        "address": mailboxes.address,
        "siblings": mailboxes.mail_siblings(product),
        "page_url": _back(member.panel.number, product.id),
        "tasks": provisioning.recent_tasks(product, (provisioning.MAIL,)),
        "mailbox_form": given.get("mailbox_form") or MailboxForm(formdata=None),
        "alias_form": given.get("alias_form") or AliasForm(formdata=None),
        "catch_all_form": given.get("catch_all_form")
        or CatchAllForm(
            formdata=None, destination=", ".join(catch_all.destinations) if catch_all else ""
        ),
    }


def _back(number, product_id, anchor=""):
    return url_for("mail.show", number=number, product_id=product_id) + anchor


@bp.get("")
def show(number, product_id):
    """Show the mail domain's mailboxes, aliases and catch-all."""
    member, product = _load(number, product_id)
    return render_template("mailboxes/show.html", **_context(member, product))


def _mailboxes(member, product, status=200, form=None, **extra):
    return htmx.render(
        "mailboxes/show.html",
        "mailboxes/_mailboxes.html",
        status,
        **_context(member, product, mailbox_form=form),
        **extra,
    )


@bp.post("/mailboxes")
def add_mailbox(number, product_id):
    """Create a mailbox; htmx gets the mailboxes section back, a plain form the page."""
    member, product = _load(number, product_id)
    form = MailboxForm()
    if form.validate():
        with refusal(form) as refused:
            mailboxes.add_mailbox(
                product,
                local=form.local.data,
                password=form.password.data,
                quota=form.quota.data,
                actor=current_user,
            )
        if not refused:
            db.session.commit()
            flash(_("The mailbox is created."), "success")
            if not htmx.is_partial():
                return htmx.full_page_redirect(_back(number, product_id, "#mailboxes"))
            return htmx.changed(*_mailboxes(member, product))
    return _mailboxes(member, product, 422, form)


@bp.get("/mailboxes/<int:mailbox_id>")
def mailbox(number, product_id, mailbox_id):
    """One mailbox's row (htmx: after Cancel), or the mail page."""
    member, product = _load(number, product_id)
    row = mailboxes.mailbox_of(product, mailbox_id)
    return htmx.render(
        "mailboxes/show.html",
        "mailboxes/_mailbox_row.html",
        **_context(member, product),
        mailbox=row,
    )


def _edit(member, product, row, form, status=200):
    return htmx.render(
        "mailboxes/mailbox_edit.html",
        "mailboxes/_mailbox_edit_row.html",
        status,
        **_context(member, product),
        mailbox=row,
        edit_form=form,
    )


@bp.get("/mailboxes/<int:mailbox_id>/edit")
def edit_mailbox(number, product_id, mailbox_id):
    """The mailbox's quota and a new password: a row in place (htmx) or a page."""
    member, product = _load(number, product_id)
    row = mailboxes.mailbox_of(product, mailbox_id)
    return _edit(member, product, row, MailboxEditForm(formdata=None, quota=str(row.quota_mb)))


@bp.post("/mailboxes/<int:mailbox_id>")
def update_mailbox(number, product_id, mailbox_id):
    """Save the quota (and the password, when a new one is typed)."""
    member, product = _load(number, product_id)
    row = mailboxes.mailbox_of(product, mailbox_id)
    form = MailboxEditForm()
    if form.validate():
        with refusal(form) as refused:
            mailboxes.update_mailbox(
                product, row, quota=form.quota.data, password=form.password.data, actor=current_user
            )
        if refused:
            row = mailboxes.mailbox_of(product, mailbox_id)
        else:
            db.session.commit()
            flash(_("The mailbox is saved."), "success")
            if not htmx.is_partial():
                return htmx.full_page_redirect(_back(number, product_id, "#mailboxes"))
            return htmx.changed(
                render_template(
                    "mailboxes/_mailbox_row.html", **_context(member, product), mailbox=row
                )
            )
    return _edit(member, product, row, form, 422)


@bp.post("/mailboxes/<int:mailbox_id>/delete")
def delete_mailbox(number, product_id, mailbox_id):
    """Delete the mailbox: its row goes (htmx) or back to the page."""
    _member, product = _load(number, product_id)
    row = mailboxes.mailbox_of(product, mailbox_id, gone_ok=True)
    if row is not None:  # else deleted already: a second click is not an error
        mailboxes.delete_mailbox(product, row, actor=current_user)
        db.session.commit()
    flash(_("The mailbox is deleted."), "success")
    if htmx.is_partial():  # the row goes; the figures and the changes follow
        return htmx.changed("")
    return htmx.full_page_redirect(_back(number, product_id, "#mailboxes"))


@bp.post("/aliases")
def add_alias(number, product_id):
    """Add an alias or forwarder."""
    member, product = _load(number, product_id)
    form = AliasForm()
    if form.validate():
        with refusal(form) as refused:
            mailboxes.add_alias(
                product,
                local=form.local.data,
                destinations=form.destinations.data,
                actor=current_user,
            )
        if not refused:
            db.session.commit()
            flash(_("The alias is added."), "success")
            return htmx.full_page_redirect(_back(number, product_id, "#aliases"))
    return render_template("mailboxes/show.html", **_context(member, product, alias_form=form)), 422


@bp.post("/aliases/<int:alias_id>/delete")
def delete_alias(number, product_id, alias_id):
    """Delete an alias."""
    _member, product = _load(number, product_id)
    row = mailboxes.alias_of(product, alias_id, gone_ok=True)
    if row is not None:  # else deleted already
        mailboxes.delete_alias(product, row, actor=current_user)
        db.session.commit()
    flash(_("The alias is deleted."), "success")
    return htmx.full_page_redirect(_back(number, product_id, "#aliases"))


@bp.post("/catch-all")
def catch_all(number, product_id):
    """Send mail to unknown addresses somewhere, or refuse it."""
    member, product = _load(number, product_id)
    form = CatchAllForm()
    if form.validate():
        with refusal(form) as refused:
            changed = mailboxes.set_catch_all(product, form.destination.data, actor=current_user)
        if not refused:
            db.session.commit()
            if changed and (form.destination.data or "").strip():
                flash(_("The catch-all is saved."), "success")
            elif changed:
                flash(_("The catch-all is off: mail to unknown addresses is refused."), "success")
            return htmx.full_page_redirect(_back(number, product_id, "#catch-all"))
    return render_template(
        "mailboxes/show.html", **_context(member, product, catch_all_form=form)
    ), 422
