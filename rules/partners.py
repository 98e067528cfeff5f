"""Partners: joining, staff decisions, and the client list (DESIGN.md 3.2, 3.5)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    ClientLink,
    Grant,
    Group,
    Invitation,
    InvitationKind,
    Panel,
    Partner,
    PartnerStatus,
    User,
    db,
    utcnow,
)
from rules import access, audit, invitations, panels
from rules.errors import DomainError, PermissionDenied
from rules.numbers import next_number
from rules.users import normalize_email


class AlreadyApplied(DomainError):
    status = 409

    def default_message(self):
        return _l("You have already applied to the Partner Program.")


class NotPending(DomainError):
    status = 409

    def default_message(self):
        return _l("This application has already been decided.")


class NotSuspendable(NotPending):
    def default_message(self):
        return _l("Only an approved partner can be suspended.")


class NotAnApprovedPartner(PermissionDenied):
    def default_message(self):
        return _l("This page is for approved partners of the program.")


def company_of(partner_id):
    """The partner's company name and number, for "earns <partner>" lines."""
    partner = db.session.get(Partner, partner_id) if partner_id else None
    return f"{partner.company} ({partner.number})" if partner else ""


def partner_of(user):
    return db.session.scalar(select(Partner).where(Partner.user_id == user.id))


def apply(user, *, company, vat_number, expected_hostings, address=""):
    """Ask to join the program; a rejected applicant may apply again."""
    partner = partner_of(user)
    if partner is not None and partner.status != PartnerStatus.REJECTED:
        raise AlreadyApplied()
    if partner is None:
        partner = Partner(user_id=user.id)
        db.session.add(partner)
    partner.status = PartnerStatus.APPLIED
    partner.company = company.strip()
    partner.vat_number = vat_number.strip().upper()
    partner.address = " ".join(address.split())
    partner.expected_hostings = expected_hostings
    partner.applied_at = utcnow()
    partner.rejection_reason = None
    db.session.flush()
    audit.record("partner.apply", actor=user, company=partner.company)
    return partner


def approve(partner, *, minimum_deposit_cents, actor):
    """Admit the applicant: a partner number from 1001 up and the minimum deposit."""
    if partner.status != PartnerStatus.APPLIED:
        raise NotPending()
    partner.number = partner.number or next_number("partner")
    partner.minimum_deposit_cents = minimum_deposit_cents
    partner.status = PartnerStatus.APPROVED
    partner.decided_at = utcnow()
    audit.record(
        "partner.approve",
        actor=actor,
        partner=partner.number,
        minimum_deposit_cents=minimum_deposit_cents,
    )


def reject(partner, *, reason, actor):
    if partner.status != PartnerStatus.APPLIED:
        raise NotPending()
    partner.status = PartnerStatus.REJECTED
    partner.rejection_reason = reason.strip()
    partner.decided_at = utcnow()
    audit.record("partner.reject", actor=actor, user=partner.user.email, reason=reason)


def suspend(partner, *, actor):
    if partner.status != PartnerStatus.APPROVED:
        raise NotSuspendable()
    partner.status = PartnerStatus.SUSPENDED
    audit.record("partner.suspend", actor=actor, partner=partner.number)


class AlreadyLinked(DomainError):
    status = 409

    def default_message(self):
        return _l("This panel is already in a partner's client list.")


class PartnerNotActive(DomainError):
    status = 409

    def default_message(self):
        return _l("This partner cannot take on clients at the moment.")


class OwnEmailAsClient(panels.CannotInviteYourself):
    def default_message(self):
        return _l("Enter the client's email, not your own.")


class NotLinked(DomainError):
    def default_message(self):
        return _l("This panel is not in a partner's client list.")


def _require_approved(partner):
    if partner.status != PartnerStatus.APPROVED:
        raise PartnerNotActive()


def link_panel(partner, panel, groups, *, actor):
    """Put ``panel`` in the partner's client list and give the partner exactly ``groups``."""
    _require_approved(partner)
    if panels.link_of(panel) is not None:
        raise AlreadyLinked()
    db.session.add(ClientLink(panel_id=panel.id, partner_id=partner.id))
    panels.give_access(panel, partner.user, groups, actor=actor, action="client.link")


def hand_over(partner, panel, client, groups, *, actor):
    """The client accepts a panel the partner made for it: the client owns it now."""
    _require_approved(partner)
    if panel.owner_id != partner.user_id:
        raise invitations.InvitationClosed()
    panel.owner_id = client.id
    grant = panels.grant_of(panel, client)
    if grant is not None:
        db.session.delete(grant)  # an owner needs no grant
    db.session.add(Grant(panel_id=panel.id, user_id=partner.user_id, groups=Group(groups)))
    db.session.flush()
    audit.record(
        "panel.hand_over",
        actor=actor,
        panel=panel,
        partner=partner.number,
        owner=client.email,
        partner_groups=Group(groups),
    )


def create_client_panel(partner, *, name, client_email=None, client_owns=False, groups=0, actor):
    """Make a panel in the client list [R4].

    ``client_owns``: the client (by email) is invited to own it and the partner proposes
    ``groups`` for itself; otherwise the partner owns it and ``client_email``, if given, gets
    ``groups``. Returns ``(panel, invitation_and_token_or_None)``.
    """
    _require_approved(partner)
    email = normalize_email(client_email) if client_email else None
    if email == partner.user.email:
        # Checked before anything is made, so a refusal leaves nothing behind.
        raise OwnEmailAsClient()
    panel = panels.create_panel(name=name, owner=partner.user, actor=actor)
    db.session.add(ClientLink(panel_id=panel.id, partner_id=partner.id))
    audit.record("client.create", actor=actor, panel=panel, partner=partner.number)
    if email is None:
        return panel, None
    if client_owns:
        invitation = invitations.invite(
            InvitationKind.OWNERSHIP,
            panel=panel,
            email=email,
            groups=groups,
            actor=actor,
            partner=partner,
        )
        return panel, invitation
    _grant, invitation = panels.add_person(panel, email, groups, actor=actor)
    return panel, invitation


def invite_client_panel(partner, *, panel_number, email, groups, actor):
    """Invite the owner of an existing panel to join the client list [R5].

    Returns the invitation and token, or None when the number and email do not match a panel
    and its owner; the caller says the same either way, so nothing about panels leaks.
    """
    _require_approved(partner)
    email = normalize_email(email)
    panel = db.session.scalar(select(Panel).where(Panel.number == panel_number))
    if panel is None or db.session.get(User, panel.owner_id).email != email:
        return None
    if panel.owner_id == partner.user_id or panels.link_of(panel) is not None:
        return None
    return invitations.invite(
        InvitationKind.CLIENT_LINK,
        panel=panel,
        email=email,
        groups=groups,
        actor=actor,
        partner=partner,
    )


def unlink(panel, *, actor):
    """The owner takes the panel out of the partner's client list; the partner's grant goes.

    Commission attribution on products stays (DESIGN.md 3.4) and is kept elsewhere.
    """
    link = panels.link_of(panel)
    if link is None:
        raise NotLinked()
    grant = panels.grant_of(panel, link.partner.user)
    audit.record(
        "client.unlink",
        actor=actor,
        panel=panel,
        partner=link.partner.number,
        groups=grant.groups if grant is not None else Group(0),
    )
    if grant is not None:
        db.session.delete(grant)
    db.session.delete(link)


def set_note(link, note):
    """Keep the partner's private note about a client panel (not audited: it is private)."""
    link.note = note.strip()


def open_invitations_of(partner):
    """The partner's invitations still waiting for an answer."""
    return invitations.waiting(Invitation.partner_id == partner.id)


def managing_partner(product):
    """The partner that manages the product's panel and may pay for it, if any."""
    link = db.session.scalar(select(ClientLink).where(ClientLink.panel_id == product.panel_id))
    partner = link.partner if link is not None else None
    if partner is None:
        partner = db.session.scalar(
            select(Partner).where(Partner.user_id == product.panel.owner_id)
        )
    if partner is None or not partner.is_approved:
        return None
    member = access.membership(partner.user, product.panel)
    return partner if member is not None and member.has(Group.BILLING) else None
