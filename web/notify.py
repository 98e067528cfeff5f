"""The emails the panel, access and partner areas send, rendered in the recipient's language."""

from flask import current_app, url_for

from models import DEFAULT_LANGUAGE, User, db
from rules import users
from rules.users import find_user_by_email
from web import mail


def _language(email):
    user = find_user_by_email(email)
    return user.language if user else DEFAULT_LANGUAGE


def invitation(invitation, token, *, move=None):
    """The mail that carries an invitation's link (the only place the token exists).

    ``move``: the bundle move that waits for this ownership invitation.
    """
    url = url_for("invitations.show", token=token, _external=True)
    inviter = db.session.get(User, invitation.inviter_id)
    return mail.render_message(
        invitation.email,
        _language(invitation.email),
        f"invitation_{invitation.kind.value}",
        invitation=invitation,
        inviter=inviter,
        url=url,
        move=move,
    )


def partner_decision(partner):
    return mail.render_message(
        partner.user.email,
        partner.user.language,
        f"partner_{partner.status.value}",
        partner=partner,
        url=url_for("partner.index", _external=True),
    )


def email_verification(user):
    """The mail whose link confirms the user's current address."""
    token = users.make_verification_token(user, current_app.config["SECRET_KEY"])
    url = url_for("auth.confirm_email", token=token, _external=True)
    return mail.render_message(user.email, user.language, "verify_email", user=user, url=url)


def renewal_reminder(product, days):
    owner = product.panel.owner
    return mail.render_message(
        owner.email,
        owner.language,
        "renewal_reminder",
        product=product,
        days=days,
        reader_language=owner.language,
        url=url_for("billing.renewals", _external=True),
    )


def bundle_moved(move, *, undone=False):
    """The mails telling both panels' owners (once each) that a bundle moved, or moved back."""
    # Each owner is sent to its own panel (the other may not be visible to it); one owner of
    # both is sent where the products are now.
    here, left = (move.source, move.target) if undone else (move.target, move.source)
    owners = {left.owner_id: left, here.owner_id: here}
    return [
        mail.render_message(
            owner.email,
            owner.language,
            "bundle_move_undone" if undone else "bundle_moved",
            move=move,
            products=[item.product for item in move.items],
            owner=panel.owner,
            url=url_for("panels.show", number=panel.number, _external=True),
        )
        for panel in owners.values()
        for owner in [panel.owner]
    ]
