import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    ALL_GROUPS,
    AuditEntry,
    ClientLink,
    Grant,
    Group,
    InvitationKind,
    Panel,
    PartnerStatus,
    db,
    utcnow,
)
from rules import access, invitation_answers, invitations, numbers, panels, partners
from rules.errors import NotFound, PermissionDenied
from tests import factories


def actions(panel=None):
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if panel is not None:
        query = query.where(AuditEntry.panel_id == panel.id)
    return db.session.scalars(query).all()


@pytest.mark.parametrize(
    ("held", "need", "outcome"),
    [
        (Group.DOMAINS, Group.DOMAINS, "ok"),
        (Group.DOMAINS, Group.WEB, 403),
        (Group(0), None, "ok"),  # a member without groups still sees the panel
        (ALL_GROUPS, access.OWNER, 403),  # every group is still not ownership
        (None, None, 404),  # no grant at all: the panel does not exist for them
    ],
)
def test_require(app, held, need, outcome):
    panel = factories.create_panel()
    user = factories.create_user()
    if held is not None:
        factories.grant(panel, user, held)
    if outcome == "ok":
        assert access.panel_for(user, panel.number, need).panel == panel
    else:
        with pytest.raises(NotFound if outcome == 404 else PermissionDenied):
            access.panel_for(user, panel.number, need)


def test_owner_holds_every_group_and_ownership(app):
    panel = factories.create_panel()
    member = access.panel_for(panel.owner, panel.number, access.OWNER)
    assert member.is_owner and member.groups == ALL_GROUPS


def test_add_person_grants_a_user_and_invites_a_stranger(app):
    panel = factories.create_panel()
    user = factories.create_user("known@example.com")
    grant, invited = panels.add_person(panel, "KNOWN@example.com", Group.EMAIL, actor=panel.owner)
    assert invited is None and grant.user_id == user.id and grant.groups == Group.EMAIL
    grant, (invitation, token) = panels.add_person(
        panel, "new@example.com", Group.WEB, actor=panel.owner
    )
    assert grant is None and invitation.email == "new@example.com"
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert actions(panel)[-2:] == ["grant.create", "invitation.access"]


def test_add_person_refuses_the_owner_and_existing_members(app):
    panel = factories.create_panel()
    member = factories.create_user()
    factories.grant(panel, member, Group.WEB)
    with pytest.raises(panels.CannotInviteYourself):
        panels.add_person(panel, panel.owner.email, Group.WEB, actor=panel.owner)
    with pytest.raises(panels.AlreadyMember):
        panels.add_person(panel, member.email, Group.WEB, actor=panel.owner)


def test_invitation_lands_the_grant_once_for_the_right_person(app):
    panel = factories.create_panel()
    _grant, (_invitation, token) = panels.add_person(
        panel, "later@example.com", Group.DOMAINS | Group.EMAIL, actor=panel.owner
    )
    db.session.commit()
    stranger = factories.create_user("other@example.com")
    with pytest.raises(invitations.WrongRecipient):
        invitation_answers.accept(token, stranger)
    invitee = factories.create_user("later@example.com")
    invitation_answers.accept(token, invitee)
    assert access.panel_for(invitee, panel.number, Group.EMAIL)
    with pytest.raises(invitations.InvitationClosed):
        invitation_answers.accept(token, invitee)


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "y" * 500, None])
def test_unknown_or_malformed_tokens_are_not_found(app, token):
    with pytest.raises(NotFound):
        invitations.find(token)


def test_invitations_expire_after_seven_days(app):
    panel = factories.create_panel()
    invitee = factories.create_user("late@example.com")
    with time_machine.travel(utcnow(), tick=False) as clock:
        _invitation, token = invitations.invite(
            InvitationKind.ACCESS,
            panel=panel,
            email=invitee.email,
            groups=Group.WEB,
            actor=panel.owner,
        )
        clock.shift(timedelta(days=7, seconds=-1))
        invitations.check_usable(invitations.find(token), invitee)
        clock.shift(timedelta(seconds=2))
        with pytest.raises(invitations.InvitationExpired):
            invitation_answers.accept(token, invitee)


def test_revoked_and_declined_invitations_cannot_be_used(app):
    panel, other_panel = factories.create_panel(), factories.create_panel()
    invitee = factories.create_user("i@example.com")
    revoked, t1 = invitations.invite(
        InvitationKind.ACCESS, panel=panel, email=invitee.email, groups=1, actor=panel.owner
    )
    declined, t2 = invitations.invite(
        InvitationKind.ACCESS,
        panel=other_panel,
        email=invitee.email,
        groups=1,
        actor=other_panel.owner,
    )
    invitation_answers.revoke(revoked, actor=panel.owner)
    invitation_answers.decline(declined, invitee)
    for token in (t1, t2):
        with pytest.raises(invitations.InvitationClosed):
            invitation_answers.accept(token, invitee)


def test_set_groups_and_remove_take_effect(app):
    panel = factories.create_panel()
    user = factories.create_user()
    grant = factories.grant(panel, user, ALL_GROUPS)
    panels.set_groups(grant, Group.BILLING, actor=panel.owner)
    with pytest.raises(PermissionDenied):
        access.panel_for(user, panel.number, Group.WEB)
    panels.remove_person(grant, actor=panel.owner)
    with pytest.raises(NotFound):
        access.panel_for(user, panel.number)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grant.update")).one()
    assert entry.details["before"] == ["billing", "domains", "email", "web"]
    assert entry.details["after"] == ["billing"]


def test_transfer_keeps_every_group_for_the_old_owner(app):
    panel = factories.create_panel()
    old_owner = panel.owner
    heir = factories.create_user()
    factories.grant(panel, heir, Group.WEB)
    panels.transfer_ownership(panel, heir, actor=old_owner)
    assert access.panel_for(heir, panel.number, access.OWNER)
    kept = access.panel_for(old_owner, panel.number)
    assert not kept.is_owner and kept.groups == ALL_GROUPS
    assert panels.grant_of(panel, heir) is None


def test_partner_numbers_start_at_1001_and_have_no_gaps(app):
    first = factories.create_partner()
    second = factories.create_partner()
    assert (first.number, second.number) == (1001, 1002)
    assert first.status == PartnerStatus.APPROVED


def test_rejected_applicant_may_apply_again_but_not_twice(app):
    user = factories.create_user()
    staff = factories.create_user(is_staff=True)
    partner = partners.apply(user, company="A", vat_number="bg1234", expected_hostings=2)
    assert partner.vat_number == "BG1234"
    with pytest.raises(partners.AlreadyApplied):
        partners.apply(user, company="A", vat_number="BG1234", expected_hostings=2)
    partners.reject(partner, reason="Incomplete", actor=staff)
    with pytest.raises(partners.NotPending):
        partners.approve(partner, minimum_deposit_cents=100, actor=staff)
    again = partners.apply(user, company="A Ltd", vat_number="BG1234", expected_hostings=3)
    assert again.id == partner.id and again.status == PartnerStatus.APPLIED


def test_client_link_gives_the_partner_the_groups_the_owner_chose(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    _invitation, token = partners.invite_client_panel(
        partner,
        panel_number=panel.number,
        email=panel.owner.email,
        groups=ALL_GROUPS,
        actor=partner.user,
    )
    invitation_answers.accept(token, panel.owner, partner_groups=Group.WEB)
    assert access.panel_for(partner.user, panel.number).groups == Group.WEB
    assert panels.link_of(panel).partner_id == partner.id


def test_invite_client_panel_tells_nothing_when_number_and_email_differ(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    assert (
        partners.invite_client_panel(
            partner,
            panel_number=panel.number,
            email="someone-else@example.com",
            groups=1,
            actor=partner.user,
        )
        is None
    )
    assert (
        partners.invite_client_panel(
            partner, panel_number=987654321, email=panel.owner.email, groups=1, actor=partner.user
        )
        is None
    )


def test_client_panel_handed_over_to_its_client(app):
    partner = factories.create_partner()
    panel, (_invitation, token) = partners.create_client_panel(
        partner,
        name="Café",
        client_email="cafe@example.com",
        client_owns=True,
        groups=ALL_GROUPS,
        actor=partner.user,
    )
    assert panel.owner_id == partner.user_id  # until the client accepts
    client = factories.create_user("cafe@example.com")
    invitation_answers.accept(token, client, partner_groups=Group.WEB | Group.BILLING)
    assert panel.owner_id == client.id
    assert access.panel_for(partner.user, panel.number).groups == Group.WEB | Group.BILLING
    assert panels.link_of(panel) is not None


def test_unlink_removes_the_partner_and_its_grant(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(partner, panel, ALL_GROUPS)
    partners.unlink(panel, actor=panel.owner)
    assert panels.link_of(panel) is None
    with pytest.raises(NotFound):
        access.panel_for(partner.user, panel.number)
    assert "client.unlink" in actions(panel)


def test_removing_the_partners_grant_takes_the_panel_off_its_list(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(partner, panel, ALL_GROUPS)
    panels.remove_person(panels.grant_of(panel, partner.user), actor=panel.owner)
    assert db.session.scalar(select(ClientLink).where(ClientLink.panel_id == panel.id)) is None


def test_a_panel_joins_one_client_list_only(app):
    first, second = factories.create_partner(), factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(first, panel, Group.WEB)
    with pytest.raises(partners.AlreadyLinked):
        partners.link_panel(second, panel, Group.WEB, actor=panel.owner)


def test_concurrent_numbers_are_unique_and_consecutive(app):
    taken, errors = [], []
    barrier = threading.Barrier(8)

    def take():
        try:
            with app.app_context():
                barrier.wait(timeout=5)
                taken.append(numbers.next_number("partner"))
                db.session.commit()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1001, 1009))


def test_grants_are_unique_per_panel_and_user(app):
    panel = factories.create_panel()
    user = factories.create_user()
    factories.grant(panel, user, Group.WEB)
    factories.grant(panel, user, Group.EMAIL)  # the one grant now holds exactly EMAIL
    grants = db.session.scalars(select(Grant).where(Grant.panel_id == panel.id)).all()
    assert [g.groups for g in grants] == [Group.EMAIL]
    db.session.add(Grant(panel_id=panel.id, user_id=user.id, groups=Group.WEB))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_accepting_a_client_link_can_narrow_what_the_partner_held(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.grant(panel, partner.user, ALL_GROUPS)  # a member before it was a partner here
    _inv, token = partners.invite_client_panel(
        partner,
        panel_number=panel.number,
        email=panel.owner.email,
        groups=ALL_GROUPS,
        actor=partner.user,
    )
    invitation_answers.accept(token, panel.owner, partner_groups=Group.WEB)
    assert access.panel_for(partner.user, panel.number).groups == Group.WEB


def test_a_suspended_partner_cannot_take_clients(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    _inv, token = partners.invite_client_panel(
        partner,
        panel_number=panel.number,
        email=panel.owner.email,
        groups=Group.WEB,
        actor=partner.user,
    )
    partners.suspend(partner, actor=factories.create_user(is_staff=True))
    with pytest.raises(partners.PartnerNotActive):
        invitation_answers.accept(token, panel.owner)
    with pytest.raises(partners.PartnerNotActive):
        partners.create_client_panel(partner, name="X", actor=partner.user)


def test_a_partner_cannot_invite_itself_to_own_its_client_panel(app):
    partner = factories.create_partner()
    before = db.session.scalar(select(func.count()).select_from(Panel))
    with pytest.raises(panels.CannotInviteYourself):
        partners.create_client_panel(
            partner,
            name="Self",
            client_email=partner.user.email.upper(),
            client_owns=True,
            actor=partner.user,
        )
    assert db.session.scalar(select(func.count()).select_from(Panel)) == before


def test_a_new_invitation_replaces_the_waiting_one_and_expired_ones_are_not_listed(app):
    panel = factories.create_panel()
    first, _ = invitations.invite(
        InvitationKind.ACCESS, panel=panel, email="a@example.com", groups=1, actor=panel.owner
    )
    second, _ = invitations.invite(
        InvitationKind.ACCESS, panel=panel, email="a@example.com", groups=2, actor=panel.owner
    )
    assert first.revoked_at is not None
    assert panels.open_invitations(panel) == [second]
    with time_machine.travel(utcnow() + timedelta(days=8)):
        assert panels.open_invitations(panel) == []


def test_partner_numbers_skip_nothing_through_rejections(app):
    staff = factories.create_user(is_staff=True)
    rejected = partners.apply(
        factories.create_user(), company="R", vat_number="BG1111", expected_hostings=1
    )
    partners.reject(rejected, reason="no", actor=staff)
    assert rejected.number is None
    approved = factories.create_partner()
    again = partners.apply(rejected.user, company="R2", vat_number="BG1111", expected_hostings=1)
    partners.approve(again, minimum_deposit_cents=100, actor=staff)
    assert (approved.number, again.number) == (1001, 1002)


def test_every_access_change_is_audited(app):
    partner = factories.create_partner()
    panel = factories.create_panel()
    owner = panel.owner
    member = factories.create_user()
    grant, _ = panels.add_person(panel, member.email, Group.WEB, actor=owner)
    panels.set_groups(grant, Group.EMAIL, actor=owner)
    _grant, (invitation, _t) = panels.add_person(panel, "new@example.com", 1, actor=owner)
    invitation_answers.revoke(invitation, actor=owner)
    _inv, token = partners.invite_client_panel(
        partner, panel_number=panel.number, email=owner.email, groups=Group.WEB, actor=partner.user
    )
    invitation_answers.accept(token, owner)
    partners.unlink(panel, actor=owner)
    panels.transfer_ownership(panel, member, actor=owner)
    panels.remove_person(panels.grant_of(panel, owner), actor=member)
    assert actions(panel) == [
        "panel.create",
        "grant.create",
        "grant.update",
        "invitation.access",
        "invitation.revoke",
        "invitation.client_link",
        "client.link",
        "invitation.accept",
        "client.unlink",
        "panel.transfer",
        "grant.delete",
    ]
    transfer = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "panel.transfer")
    ).one()
    assert transfer.actor_id == owner.id
    assert transfer.details["old_owner_groups"] == ["billing", "domains", "email", "web"]
    assert transfer.details["new_owner_had"] == ["email"]
