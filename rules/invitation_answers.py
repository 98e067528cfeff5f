"""What answering an invitation does: accepting gives access, links a panel to a partner's
client list, or hands a panel to its client (and a bundle move waiting for that happens now);
declining or revoking it ends the move that waited for it.

This module orchestrates invitations, panels, partners and moves; each of those knows only the
ones below it (invitations <- panels <- partners <- moves <- here).
"""

from flask_babel import lazy_gettext as _l

from models import Group, InvitationKind
from rules import invitations, moves, panels, partners, users
from rules.errors import PermissionDenied


class NotThePanelOwner(PermissionDenied):
    def default_message(self):
        return _l("Only the panel's owner can accept this invitation.")


def accept(token, user, *, partner_groups=None):
    """Accept: the invitee gets access, or links its panel, or becomes the panel's owner
    (and a bundle move waiting for that happens now).

    For a partner's invitation the invitee chooses the partner's groups (default: proposed).
    Returns the panel.
    """
    invitation = invitations.find(token, lock=True)
    invitations.check_usable(invitation, user)
    users.mark_email_verified(user, invitation.email)  # the token came by mail there
    panel = invitation.panel
    groups = invitation.groups if partner_groups is None else Group(partner_groups)
    if invitation.kind == InvitationKind.ACCESS:
        if panel.owner_id == user.id or panels.grant_of(panel, user) is not None:
            raise panels.AlreadyMember()
        panels.give_access(panel, user, invitation.groups, actor=user, action="grant.accept")
    elif invitation.kind == InvitationKind.CLIENT_LINK:
        if panel.owner_id != user.id:
            raise NotThePanelOwner()
        partners.link_panel(invitation.partner, panel, groups, actor=user)
    else:
        partners.hand_over(invitation.partner, panel, user, groups, actor=user)
        moves.carry_out_pending(invitation, actor=user)
    invitations.close(invitation, user)
    return panel


def decline(invitation, user):
    """The invitee says no; a move waiting for it ends as declined."""
    invitations.decline(invitation, user)
    moves.end_pending(invitation, actor=user, declined=True)


def revoke(invitation, *, actor):
    """Who sent it takes it back; a move waiting for it ends as cancelled."""
    invitations.revoke(invitation, actor=actor)
    moves.end_pending(invitation, actor=actor, declined=False)
