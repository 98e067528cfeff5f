"""Panels, their products and who may touch them (DESIGN.md 3.1-3.2)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import ALL_GROUPS, ClientLink, Grant, Group, Invitation, InvitationKind, Panel, User, db
from rules import audit, invitations
from rules.errors import DomainError
from rules.numbers import next_number
from rules.users import find_user_by_email, normalize_email


class AlreadyMember(DomainError):
    def default_message(self):
        return _l("This person already has access to the panel.")


class CannotInviteYourself(DomainError):
    def default_message(self):
        return _l("You own this panel already.")


class NotAMember(DomainError):
    status = 404

    def default_message(self):
        return _l("This person has no access to the panel.")


def create_panel(*, name, owner, actor):
    """Create an empty panel owned by ``owner``."""
    panel = Panel(number=next_number("panel"), name=name.strip(), owner_id=owner.id)
    db.session.add(panel)
    db.session.flush()
    audit.record("panel.create", actor=actor, panel=panel, name=panel.name, owner=owner.email)
    return panel


def find(number):
    """The panel with this number, or None."""
    return db.session.scalar(select(Panel).where(Panel.number == number))


def grant_of(panel, user):
    return db.session.scalar(
        select(Grant).where(Grant.panel_id == panel.id, Grant.user_id == user.id)
    )


def give_access(panel, user, groups, *, actor, action="grant.create"):
    """Give ``user`` exactly ``groups`` on the panel, with a new grant or its existing one."""
    grant = grant_of(panel, user)
    before = grant.groups if grant is not None else None
    if grant is None:
        grant = Grant(panel_id=panel.id, user_id=user.id, groups=Group(groups))
        db.session.add(grant)
    grant.groups = Group(groups)
    db.session.flush()
    audit.record(
        action, actor=actor, panel=panel, user=user.email, groups=grant.groups, before=before
    )
    return grant


def add_person(panel, email, groups, *, actor):
    """Let a person in: a user with a confirmed address at once, anyone else by invitation.

    An account whose address is not confirmed could belong to someone who typed another
    person's email; the invitation reaches the real mailbox. Returns ``(grant, None)`` or
    ``(None, (invitation, token))``.
    """
    email = normalize_email(email)
    owner = db.session.get(User, panel.owner_id)
    if email == owner.email:
        raise CannotInviteYourself()
    user = find_user_by_email(email)
    if user is not None and grant_of(panel, user) is not None:
        raise AlreadyMember()
    if user is not None and user.email_verified:
        return give_access(panel, user, groups, actor=actor), None
    return None, invitations.invite(
        InvitationKind.ACCESS, panel=panel, email=email, groups=groups, actor=actor
    )


def set_groups(grant, groups, *, actor):
    """Replace a grant's groups; the change applies from the grantee's next request."""
    before = grant.groups
    grant.groups = Group(groups)
    audit.record(
        "grant.update",
        actor=actor,
        panel=grant.panel,
        user=grant.user.email,
        before=before,
        after=grant.groups,
    )


def link_of(panel):
    """The panel's place in a partner's client list, or None."""
    return db.session.scalar(select(ClientLink).where(ClientLink.panel_id == panel.id))


def remove_person(grant, *, actor):
    """Take a person's access away; a partner removed this way also leaves the client list."""
    link = link_of(grant.panel)
    if link is not None and link.partner.user_id == grant.user_id:
        audit.record("client.unlink", actor=actor, panel=grant.panel, partner=link.partner.number)
        db.session.delete(link)
    audit.record(
        "grant.delete", actor=actor, panel=grant.panel, user=grant.user.email, groups=grant.groups
    )
    db.session.delete(grant)


def transfer_ownership(panel, new_owner, *, actor):
    """Make ``new_owner`` (already a member) the owner; the old owner keeps what the new one
    did not hold as a grant: it gets all groups, and the new owner may then trim them."""
    grant = grant_of(panel, new_owner)
    if grant is None:
        raise NotAMember()
    old_owner = db.session.get(User, panel.owner_id)
    held = grant.groups
    db.session.delete(grant)
    db.session.flush()
    panel.owner_id = new_owner.id
    db.session.add(Grant(panel_id=panel.id, user_id=old_owner.id, groups=ALL_GROUPS))
    db.session.flush()
    audit.record(
        "panel.transfer",
        actor=actor,
        panel=panel,
        old_owner=old_owner.email,
        old_owner_groups=ALL_GROUPS,
        new_owner=new_owner.email,
        new_owner_had=held,
    )


def members(panel):
    """Return the grants of the panel with their users, newest last."""
    return db.session.scalars(
        select(Grant)
        .options(joinedload(Grant.user))  # the dialog shows each member's name and email
        .where(Grant.panel_id == panel.id)
        .order_by(Grant.id)
    ).all()


def open_invitations(panel):
    """The panel's invitations still waiting for an answer."""
    return invitations.waiting(Invitation.panel_id == panel.id)
