"""The emails the app sends, rendered in the recipient's language and queued in the outbox.

Each function writes its messages in the current transaction (call it before the commit of the
change it tells about); they are sent once the response has gone out (web.mail).
"""

from flask import current_app, url_for

from config import secret_keys
from models import DEFAULT_LANGUAGE, User, db, utcnow
from rules import users
from rules.users import find_user_by_email
from web import mail


def _link(endpoint, **values):
    """An absolute link for a mail, on PUBLIC_BASE_URL: never on the Host a request named,
    which a visitor chooses (a reset link must not point at someone else's site)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def _language(email):
    user = find_user_by_email(email)
    return user.language if user else DEFAULT_LANGUAGE


def invitation(invitation, token, *, move=None):
    """The mail that carries an invitation's link (the only place the token exists), not sent
    once the invitation has expired.

    ``move``: the bundle move that waits for this ownership invitation.
    """
    url = _link("invitations.show", token=token)
    inviter = db.session.get(User, invitation.inviter_id)
    message = mail.render_message(
        invitation.email,
        _language(invitation.email),
        f"invitation_{invitation.kind.value}",
        invitation=invitation,
        inviter=inviter,
        url=url,
        move=move,
    )
    mail.queue(message, expires_in=invitation.expires_at - utcnow())


def partner_decision(partner):
    mail.queue(
        mail.render_message(
            partner.user.email,
            partner.user.language,
            f"partner_{partner.status.value}",
            partner=partner,
            url=_link("partner.index"),
        )
    )


def email_verification(user):
    """The mail whose link confirms the user's current address."""
    token = users.make_verification_token(user, secret_keys(current_app.config))
    url = _link("auth.confirm_email", token=token)
    message = mail.render_message(user.email, user.language, "verify_email", user=user, url=url)
    mail.queue(message, expires_in=current_app.config["EMAIL_VERIFICATION_MAX_AGE"])


def email_changed(old_email, user):
    """Tell the old address that the account's email changed."""
    mail.queue(mail.render_message(old_email, user.language, "email_changed", user=user))


def password_reset(user):
    """The reset link, not sent once it has expired."""
    token = users.make_reset_token(user, secret_keys(current_app.config))
    url = _link("auth.reset_password", token=token)
    message = mail.render_message(user.email, user.language, "password_reset", user=user, url=url)
    mail.queue(message, expires_in=current_app.config["PASSWORD_RESET_MAX_AGE"])


def renewal_reminder(product, days):
    owner = product.panel.owner
    mail.queue(
        mail.render_message(
            owner.email,
            owner.language,
            "renewal_reminder",
            product=product,
            days=days,
            reader_language=owner.language,
            url=_link("billing.renewals"),
        )
    )


def bundle_moved(move, *, undone=False):
    """Tell both panels' owners (once each) that a bundle moved, or moved back."""
    # Each owner is sent to its own panel (the other may not be visible to it); one owner of
    # both is sent where the products are now.
    here, left = (move.source, move.target) if undone else (move.target, move.source)
    owners = {left.owner_id: left, here.owner_id: here}
    mail.queue(
        *(
            mail.render_message(
                panel.owner.email,
                panel.owner.language,
                "bundle_move_undone" if undone else "bundle_moved",
                move=move,
                products=[item.product for item in move.items],
                owner=panel.owner,
                url=_link("panels.show", number=panel.number),
            )
            for panel in owners.values()
        )
    )
