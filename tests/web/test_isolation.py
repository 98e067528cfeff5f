"""Partner A with partner B's panel, grant, invitation and client ids: 404 and nothing changes."""

import pytest

from models import ALL_GROUPS, Group, InvitationKind, db
from rules import invitations
from tests import factories
from tests.web.test_routes import csrf_token, send, snapshot


@pytest.fixture
def two_partners(app):
    a, b = factories.create_partner(), factories.create_partner()
    a_panel = factories.create_panel(a.user, products=[("hosting", "a.example.com")])
    b_client = factories.create_panel(products=[("domain", "b.example.com")])
    factories.link_client(b, b_client, ALL_GROUPS)
    b_member = factories.create_user()
    b_grant = factories.grant(b_client, b_member, Group.WEB)
    b_invitation, _ = invitations.invite(
        InvitationKind.ACCESS,
        panel=b_client,
        email="someone@example.com",
        groups=Group.WEB,
        actor=b_client.owner,
    )
    b_partner_invitation, _ = invitations.invite(
        InvitationKind.CLIENT_LINK,
        panel=factories.create_panel(),
        email="x@example.com",
        groups=Group.WEB,
        actor=b.user,
        partner=b,
    )
    db.session.commit()
    return a, a_panel, b_client, b_grant, b_invitation, b_partner_invitation


def foreign_requests(a_panel, b_client, b_grant, b_invitation, b_partner_invitation):
    own, other = a_panel.number, b_client.number
    return [
        ("GET", f"/panels/{other}"),
        ("GET", f"/panels/{other}/audit"),
        ("GET", f"/panels/{other}/access/"),
        ("POST", f"/panels/{other}/access/"),
        ("POST", f"/panels/{other}/access/{b_grant.id}"),
        ("POST", f"/panels/{other}/access/{b_grant.id}/delete"),
        ("POST", f"/panels/{other}/access/unlink"),
        ("GET", f"/panels/{other}/access/transfer"),
        ("POST", f"/panels/{other}/access/transfer"),
        ("POST", f"/panels/{other}/access/invitations/{b_invitation.id}/revoke"),
        # B's objects addressed through A's own panel
        ("POST", f"/panels/{own}/access/{b_grant.id}"),
        ("POST", f"/panels/{own}/access/{b_grant.id}/delete"),
        ("POST", f"/panels/{own}/access/invitations/{b_invitation.id}/revoke"),
        ("POST", f"/partner/clients/{other}/note"),
        ("POST", f"/partner/invitations/{b_partner_invitation.id}/revoke"),
        ("GET", "/panels/99999999"),
        ("GET", "/panels/0"),
    ]


@pytest.mark.parametrize("htmx", [False, True])
def test_partner_a_cannot_reach_partner_b(testapp, login_as, two_partners, htmx):
    a, a_panel, *b_things = two_partners
    login_as(a.user)
    token = csrf_token(testapp)
    body = {
        "csrf_token": token,
        "email": "evil@example.com",
        "can_web": "y",
        "can_domains": "y",
        "note": "mine",
        "new_owner": str(a.user.id),
        "confirm": "y",
    }
    headers = {"HX-Request": "true"} if htmx else {}
    before = snapshot()
    for method, path in foreign_requests(a_panel, *b_things):
        response = send(testapp, method, path, body if method == "POST" else None, headers)
        assert response.status_int == 404, (method, path, response.status_int)
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/panels/abc",
        "/panels/-1",
        "/panels/1e3",
        "/panels/%20100001",
        "/panels/100001.0",
        "/panels/99999999999999999999",
        "/panels/99999999999999999999/access/",
        "/staff/partners/123456789012345678901234567890",
    ],
)
def test_malformed_panel_numbers_are_not_found(testapp, login_as, create_user, path):
    login_as(create_user())
    assert testapp.get(path, expect_errors=True).status_int == 404


def test_huge_ids_in_forms_posted_by_the_owner_are_not_found(testapp, login_as):
    panel = factories.create_panel()
    login_as(panel.owner)
    token = csrf_token(testapp)
    huge = "9" * 25
    for path in (
        f"/panels/{panel.number}/access/{huge}",
        f"/panels/{panel.number}/access/{huge}/delete",
        f"/panels/{panel.number}/access/invitations/{huge}/revoke",
        f"/partner/invitations/{huge}/revoke",
    ):
        assert testapp.post(path, {"csrf_token": token}, expect_errors=True).status_int == 404
