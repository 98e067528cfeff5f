"""Invitations: single-use, 7 days, bound to an address, only a hash of the token kept.

This module makes, finds and closes invitations; what answering one does to panels, client
lists and waiting moves is in ``rules.invitation_answers``.
"""

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from models import Group, Invitation, db, utcnow
from rules import audit
from rules.errors import DomainError, NotFound

LIFETIME = timedelta(days=7)


class InvitationClosed(DomainError):
    status = 410

    def default_message(self):
        return _l("This invitation was already used, declined or revoked.")


class InvitationExpired(DomainError):
    status = 410

    def default_message(self):
        return _l("This invitation has expired. Ask for a new one.")


class WrongRecipient(DomainError):
    status = 403

    def default_message(self):
        # The invited address is not named: the link may have reached someone else.
        return _l("This invitation was sent to another email address. Log in with that one.")


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def is_waiting():
    """The SQL condition of an invitation still waiting for an answer."""
    return and_(
        Invitation.accepted_at.is_(None),
        Invitation.declined_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )


def waiting(*where):
    """The invitations still waiting for an answer that match ``where``, oldest first."""
    return db.session.scalars(
        select(Invitation).where(is_waiting(), *where).order_by(Invitation.id)
    ).all()


def invite(kind, *, panel, email, groups, actor, partner=None):
    """Make an invitation (replacing a waiting one of the same kind to the same address)."""
    for older in waiting(
        Invitation.panel_id == panel.id, Invitation.email == email, Invitation.kind == kind
    ):
        older.revoked_at = utcnow()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        kind=kind,
        panel_id=panel.id,
        email=email,
        inviter_id=actor.id,
        partner_id=getattr(partner, "id", None),
        groups=Group(groups),
        token_hash=token_hash(token),
        expires_at=utcnow() + LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        f"invitation.{kind.value}", actor=actor, panel=panel, email=email, groups=Group(groups)
    )
    return invitation, token


def find(token, *, lock=False):
    """Return the invitation of a token, or raise NotFound (unknown, malformed or tampered).

    ``lock`` holds the row until the transaction ends, so two answers cannot both land.
    """
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound()
    query = select(Invitation).where(Invitation.token_hash == token_hash(token))
    if lock:  # and reload: an earlier read in this transaction may hold older values
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.session.scalar(query)
    if invitation is None:
        raise NotFound()
    return invitation


def check_usable(invitation, user):
    """Refuse an invitation that is closed, expired or meant for someone else."""
    if not invitation.is_open:
        raise InvitationClosed()
    if invitation.expires_at <= utcnow():
        raise InvitationExpired()
    if user.email != invitation.email:
        raise WrongRecipient()


def close(invitation, user):
    """Mark the invitation accepted (after its effect was applied)."""
    invitation.accepted_at = utcnow()
    audit.record(
        "invitation.accept", actor=user, panel=invitation.panel, kind=invitation.kind.value
    )


def decline(invitation, user):
    """Mark the invitation declined by its recipient."""
    check_usable(invitation, user)
    invitation.declined_at = utcnow()
    audit.record(
        "invitation.decline", actor=user, panel=invitation.panel, kind=invitation.kind.value
    )


def revoke(invitation, *, actor):
    """Mark the invitation withdrawn by who sent it (or by the panel's owner)."""
    if not invitation.is_open:
        raise InvitationClosed()
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoke", actor=actor, panel=invitation.panel, email=invitation.email)
