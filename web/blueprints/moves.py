"""Moving a product with its domain bundle: the preview dialog, the move, undo and cancel."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from models import ALL_GROUPS, MoveStatus, db
from rules import access, moves, panels, partners
from web import htmx, notify
from web.panel_forms import MoveForm

bp = Blueprint("moves", __name__, url_prefix="/panels/<int:number>")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _form(source, *, submitted=True):
    partner = partners.partner_of(current_user)
    form = MoveForm() if submitted else MoveForm(formdata=None)
    return form.offer(
        moves.targets(current_user, source),
        for_clients=partner is not None and partner.is_approved,
    )


def _render(preview, form, status=200, error=None):
    fragment = "moves/_dialog.html" if request.method == "GET" else "moves/_body.html"
    return htmx.render("moves/show.html", fragment, status, preview=preview, form=form, error=error)


@bp.get("/products/<int:product_id>/move")
def show(number, product_id):
    """Show what would move with the product, and ask where to."""
    source, anchor = moves.source_and_anchor(current_user, number, product_id)
    preview = moves.preview(source, anchor)
    form = _form(source, submitted=False).set_groups(ALL_GROUPS)
    form.bundle.data = preview.fingerprint
    if not form.target.choices:
        form.destination.data = "new"  # nothing else to choose from
    waiting = moves.reserving_move(source, anchor)
    return _render(preview, form, error=moves.BundleReserved().message if waiting else None)


def _carry_out(form, source, anchor):
    """Do what the form asks; return the move and, for a client's panel, the invitation token."""
    expected = form.bundle.data
    if form.destination.data == "panel":
        target = moves.check_target(current_user, source, form.target.data)
        return moves.move_to(current_user, source, anchor, expected, target), None
    if form.destination.data == "new":
        name = form.new_name.data.strip()
        return moves.move_to_new_panel(current_user, source, anchor, expected, name=name), None
    return moves.move_to_client(
        current_user,
        source,
        anchor,
        expected,
        name=form.new_name.data.strip(),
        client_email=form.client_email.data,
        partner_groups=form.groups(),
    )


@bp.post("/products/<int:product_id>/move")
def submit(number, product_id):
    """Move the bundle, if it is still the one the mover saw; otherwise show it again."""
    source, anchor = moves.source_and_anchor(current_user, number, product_id)
    form = _form(source)
    if not form.validate():
        return _render(moves.preview(source, anchor), form, 422)
    try:
        move, token = _carry_out(form, source, anchor)
    except moves.StaleBundle as stale:
        db.session.rollback()
        if stale.preview is None:
            raise
        form.bundle.data = stale.preview.fingerprint
        return _render(stale.preview, form, 409, error=stale.message)
    except (moves.BundleReserved, moves.PanelAwaitingClient) as busy:
        db.session.rollback()
        return _render(moves.preview(source, anchor), form, 409, error=busy.message)
    except panels.CannotInviteYourself as mistake:
        db.session.rollback()
        form.client_email.errors = [mistake.message]
        return _render(moves.preview(source, anchor), form, 422)
    if move.status == MoveStatus.PENDING:
        notify.invitation(move.invitation, token, move=move)
    else:
        notify.bundle_moved(move)
    db.session.commit()
    if move.status == MoveStatus.PENDING:
        flash(
            _(
                "%(email)s is invited to own “%(panel)s”. The products move there when the "
                "invitation is accepted; until then you can cancel the move below.",
                email=move.invitation.email,
                panel=move.target.name,
            ),
            "success",
        )
        return htmx.full_page_redirect(url_for("panels.show", number=source.number))
    flash(_moved_message(move), "success")
    return htmx.full_page_redirect(url_for("panels.show", number=move.target.number))


def _moved_message(move):
    return ngettext(
        "%(num)d product moved to “%(panel)s”. You can undo the move for 7 days.",
        "%(num)d products moved to “%(panel)s”. You can undo the move for 7 days.",
        len(move.items),
        panel=move.target.name,
    )


@bp.post("/moves/<int:move_id>/undo")
def undo(number, move_id):
    """Take a move back, within its window and if nothing changed the moved products."""
    source = access.panel_for(current_user, number, access.OWNER).panel
    move = moves.of_panel(source, move_id)
    moves.undo(move, actor=current_user)
    notify.bundle_moved(move, undone=True)
    db.session.commit()
    flash(
        _("The move is undone: the products are back in “%(panel)s”.", panel=source.name), "success"
    )
    return redirect(url_for("panels.show", number=source.number), 303)


@bp.post("/moves/<int:move_id>/cancel")
def cancel(number, move_id):
    """Call off a move that waits for its client; the invitation stops working."""
    source = access.panel_for(current_user, number, access.OWNER).panel
    move = moves.of_panel(source, move_id)
    moves.cancel(move, actor=current_user)
    db.session.commit()
    flash(_("The move is cancelled: the products stay here."), "success")
    return redirect(url_for("panels.show", number=source.number), 303)
