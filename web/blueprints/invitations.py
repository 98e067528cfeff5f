"""Invitations seen by the person invited: accept (choosing the partner's groups) or decline."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import db
from rules import invitation_answers, invitations, moves
from web import notify
from web.panel_forms import AcceptForm

bp = Blueprint("invitations", __name__, url_prefix="/invitations")


@bp.get("/<token>")
def show(token):
    """Show what accepting means; visitors are asked to log in or sign up first."""
    invitation = invitations.find(token)
    if not current_user.is_authenticated:
        return render_template("invitations/login_first.html", invitation=invitation, token=token)
    invitations.check_usable(invitation, current_user)
    form = AcceptForm(formdata=None).set_groups(invitation.groups)
    move = moves.pending_for(invitation)
    return render_template(
        "invitations/show.html",
        invitation=invitation,
        token=token,
        form=form,
        move=move,
        products=moves.bundle_of(move.anchor_product) if move else [],
    )


@bp.post("/<token>/accept")
@login_required
def accept(token):
    """Accept the invitation; for a partner's, with the groups the partner gets."""
    chosen = AcceptForm().groups()  # ignored for an access invitation: its groups are set
    panel = invitation_answers.accept(token, current_user, partner_groups=chosen)
    move = moves.done_for(invitations.find(token))
    if move:
        notify.bundle_moved(move)
    db.session.commit()
    flash(_("Accepted. The panel is in your list."), "success")
    return redirect(url_for("panels.show", number=panel.number), 303)


@bp.post("/<token>/decline")
@login_required
def decline(token):
    """Decline the invitation; it cannot be used afterwards."""
    invitation = invitations.find(token)
    invitation_answers.decline(invitation, current_user)
    db.session.commit()
    flash(_("You declined the invitation."), "info")
    return redirect(url_for("main.index"), 303)
