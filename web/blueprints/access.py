"""The owner manages who may touch a panel: people, their groups, invitations, ownership."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import Grant, Invitation, db
from rules import access, invitation_answers, panels, partners
from rules.errors import NotFound
from web import htmx, notify
from web.panel_forms import AddPersonForm, GrantGroupsForm, TransferForm

bp = Blueprint("access", __name__, url_prefix="/panels/<int:number>/access")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _owned(number):
    return access.panel_for(current_user, number, access.OWNER).panel


def _grant(panel, grant_id):
    grant = db.session.get(Grant, grant_id)
    if grant is None or grant.panel_id != panel.id:
        raise NotFound()
    return grant


def _render(panel, status=200, add_form=None):
    """The access page, the dialog (htmx GET) or the refreshed dialog body (htmx POST)."""
    fragment = "access/_dialog.html" if request.method == "GET" else "access/_manage.html"
    grants = panels.members(panel)
    return htmx.render(
        "access/show.html",
        fragment,
        status,
        panel=panel,
        grants=grants,
        forms={g.id: GrantGroupsForm(formdata=None).set_groups(g.groups) for g in grants},
        add_form=add_form or AddPersonForm(formdata=None),
        invitations=panels.open_invitations(panel),
        link=panels.link_of(panel),
    )


def _done(panel, message):
    flash(message, "success")
    if htmx.is_partial():
        return _render(panel)
    return redirect(url_for("access.show", number=panel.number), 303)


@bp.get("/")
def show(number):
    """Show who may touch the panel, with what."""
    return _render(_owned(number))


@bp.post("/")
def add(number):
    """Let a person in by email: a user at once, anyone else by invitation."""
    panel = _owned(number)
    form = AddPersonForm()
    if form.validate():
        try:
            grant, invited = panels.add_person(
                panel, form.email.data, form.groups(), actor=current_user
            )
        except (panels.AlreadyMember, panels.CannotInviteYourself) as error:
            form.email.errors.append(error.message)
        else:
            if invited is not None:
                notify.invitation(*invited)
            db.session.commit()
            if invited is None:
                return _done(panel, _("%(email)s has access now.", email=grant.user.email))
            return _done(panel, _("An invitation went to %(email)s.", email=invited[0].email))
    return _render(panel, 422, add_form=form)


@bp.post("/<int:grant_id>")
def update(number, grant_id):
    """Save a person's groups (htmx saves each tick at once)."""
    panel = _owned(number)
    grant = _grant(panel, grant_id)
    form = GrantGroupsForm()  # unticked boxes are simply absent: nothing to refuse
    panels.set_groups(grant, form.groups(), actor=current_user)
    db.session.commit()
    if htmx.is_partial():
        return htmx.render(
            "access/show.html",
            "access/_member.html",
            grant=grant,
            panel=panel,
            form=form,
            saved=True,
        )
    flash(_("The rights of %(email)s are saved.", email=grant.user.email), "success")
    return redirect(url_for("access.show", number=number), 303)


@bp.post("/<int:grant_id>/delete")
def remove(number, grant_id):
    """Take a person's access away."""
    panel = _owned(number)
    grant = _grant(panel, grant_id)
    email = grant.user.email
    panels.remove_person(grant, actor=current_user)
    db.session.commit()
    return _done(panel, _("%(email)s has no access any more.", email=email))


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke(number, invitation_id):
    """Withdraw an invitation that has not been accepted."""
    panel = _owned(number)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.panel_id != panel.id:
        raise NotFound()
    invitation_answers.revoke(invitation, actor=current_user)
    db.session.commit()
    return _done(panel, _("The invitation is revoked."))


@bp.post("/unlink")
def unlink(number):
    """Take the panel out of its partner's client list; the partner's access goes."""
    panel = _owned(number)
    partners.unlink(panel, actor=current_user)
    db.session.commit()
    return _done(panel, _("The partner no longer manages this panel."))


def _transfer_form(panel):
    form = TransferForm()
    form.new_owner.choices = [
        (g.user_id, f"{g.user.name} <{g.user.email}>") for g in panels.members(panel)
    ]
    return form


@bp.get("/transfer")
def transfer(number):
    """Ask which member becomes the owner, and for confirmation."""
    panel = _owned(number)
    return htmx.render(
        "access/transfer.html", "access/_transfer.html", panel=panel, form=_transfer_form(panel)
    )


@bp.post("/transfer")
def transfer_submit(number):
    """Make another member the owner; the old owner keeps every group until trimmed."""
    panel = _owned(number)
    form = _transfer_form(panel)
    if not form.validate():
        return htmx.render(
            "access/transfer.html", "access/_transfer.html", 422, panel=panel, form=form
        )
    new_owner = _grant(
        panel, next(g.id for g in panels.members(panel) if g.user_id == form.new_owner.data)
    ).user
    panels.transfer_ownership(panel, new_owner, actor=current_user)
    db.session.commit()
    flash(_("%(email)s owns the panel now.", email=new_owner.email), "success")
    response = redirect(url_for("panels.show", number=number), 303)
    return (
        htmx.client_redirect(response, url_for("panels.show", number=number))
        if htmx.is_htmx()
        else response
    )
