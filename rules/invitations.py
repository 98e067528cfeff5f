"""Invitations: single-use, 7 days, only a hash of the token kept (DESIGN.md 3.2)."""

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import ClientLink, Group, Invitation, InvitationKind, db, utcnow
from rules import audit
from rules.errors import DomainError, NotFound, PermissionDenied

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

    def __init__(self, email):
        super().__init__(
            _l("This invitation was sent to %(email)s. Log in with that address.", email=email)
        )


class AlreadyLinked(DomainError):
    status = 409

    def default_message(self):
        return _l("This panel is already in a partner's client list.")


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invite(kind, *, panel, email, groups, actor, partner=None):
    """Make an invitation; return it with the token, which exists only in the email."""
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


def find(token):
    """Return the invitation a token belongs to, or raise NotFound (unknown or tampered)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound()
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    )
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
        raise WrongRecipient(invitation.email)


def accept(invitation, user, *, partner_groups=None):
    """Accept: the invitee gets access, or links the panel, or becomes its owner."""
    from rules import panels, partners

    check_usable(invitation, user)
    panel = invitation.panel
    if invitation.kind == InvitationKind.ACCESS:
        if panel.owner_id == user.id or panels.grant_of(panel, user) is not None:
            raise panels.AlreadyMember()
        panels.give_access(panel, user, invitation.groups, actor=user, action="grant.accept")
    else:
        groups = invitation.groups if partner_groups is None else Group(partner_groups)
        partner = invitation.partner
        if invitation.kind == InvitationKind.CLIENT_LINK:
            if panel.owner_id != user.id:
                raise PermissionDenied(_l("Only the panel's owner can accept this invitation."))
            partners.link_panel(partner, panel, groups, actor=user)
        else:
            partners.hand_over(partner, panel, user, groups, actor=user)
    invitation.accepted_at = utcnow()
    audit.record("invitation.accept", actor=user, panel=panel, kind=invitation.kind.value)


def decline(invitation, user):
    check_usable(invitation, user)
    invitation.declined_at = utcnow()
    audit.record(
        "invitation.decline", actor=user, panel=invitation.panel, kind=invitation.kind.value
    )


def revoke(invitation, *, actor):
    if not invitation.is_open:
        raise InvitationClosed()
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoke", actor=actor, panel=invitation.panel, email=invitation.email)


def panel_is_linked(panel):
    return (
        db.session.scalar(select(ClientLink.id).where(ClientLink.panel_id == panel.id)) is not None
    )
