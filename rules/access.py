"""Who may see and do what in a panel (DESIGN.md 3.1): one place, used by every view."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select

from models import ALL_GROUPS, Grant, Group, Panel, db
from rules.errors import NotFound, PermissionDenied

#: the owner's own requirement, beyond any group
OWNER = "owner"

# The group names have their own context: "Email" the group is not "Email" the address.
GROUP_LABELS = {
    Group.DOMAINS: lazy_pgettext("group", "Domains"),
    Group.WEB: lazy_pgettext("group", "Web services"),
    Group.EMAIL: lazy_pgettext("group", "Email"),
    Group.BILLING: lazy_pgettext("group", "Renewal and payment"),
}


class MissingRights(PermissionDenied):
    """The user sees the panel but lacks ``need`` (a group, or OWNER)."""

    def __init__(self, need):
        self.need = need
        super().__init__(_l("You need the “%(group)s” rights in this panel.", group=label(need)))


class Membership:
    """What a user holds in one panel: ownership, or a grant's groups."""

    def __init__(self, panel, is_owner, groups):
        self.panel = panel
        self.is_owner = is_owner
        self.groups = ALL_GROUPS if is_owner else groups

    def has(self, need):
        if need == OWNER:
            return self.is_owner
        return need is None or need in self.groups


def membership(user, panel):
    """Return the user's Membership of the panel, or None when the panel is not visible."""
    if panel.owner_id == user.id:
        return Membership(panel, True, ALL_GROUPS)
    groups = db.session.scalar(
        select(Grant.groups).where(Grant.panel_id == panel.id, Grant.user_id == user.id)
    )
    return None if groups is None else Membership(panel, False, groups)


def require(user, panel, need=None):
    """Return the membership that allows ``need``; 404 if the panel is hidden, 403 if short."""
    member = membership(user, panel) if panel is not None else None
    if member is None:
        raise NotFound()
    if not member.has(need):
        raise MissingRights(need)
    return member


def label(need):
    return _l("owner") if need == OWNER else GROUP_LABELS.get(need, "")


def panel_for(user, number, need=None):
    """Load a panel by its public number and check the user may act: the one-line access helper."""
    panel = db.session.scalar(select(Panel).where(Panel.number == number))
    return require(user, panel, need)
