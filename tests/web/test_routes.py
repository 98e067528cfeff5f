"""Every route of the URL map has a policy here, and every policy is checked against the app.

A new route fails test_every_route_has_a_policy until it is added to ROUTES, and from then on
its access, its CSRF protection and (for GET) its harmlessness are tested by the tables below.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import url_for
from sqlalchemy import select

from affiliate.links import PREFIX as LINK_PREFIX
from config import TestConfig
from models import Group, db
from rules.access import OWNER
from tests.conftest import sqlite_only
from web import create_app

PUBLIC, LOGIN, STAFF, PARTNER, PANEL = "public", "login", "staff", "partner", "panel"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Route:
    policy: str
    #: URL values, or a callable that makes them from the World
    args: dict | Callable = field(default_factory=dict)
    #: for PANEL routes: the group needed, access.OWNER, or None for any member
    need: object = None
    #: who in the World may use it (for the CSRF and no-side-effect tests)
    who: str = "user"
    #: False for machine endpoints that authenticate by a signature instead of a session
    csrf: bool = True
    #: what a GET answers when it works (the affiliate link redirects)
    ok_status: int = 200


def panel_args(**extra):
    return lambda w: {"number": w.panel.number, **{k: f(w) for k, f in extra.items()}}


def _child_args(product, ids):
    """URL values of a product's page and of its children (a record, site, mailbox, alias)."""
    return panel_args(
        product_id=lambda w: getattr(w, product).id,
        **{f"{name}_id": (lambda w, name=name: getattr(w, name).id) for name in ids},
    )


def _domain_args(*ids):
    return _child_args("movable", ids)


def _hosting_args(*ids):
    return _child_args("hosting", ids)


#: endpoint -> who may use it and sample URL values
ROUTES = {
    "static": Route(PUBLIC, {"filename": "app.css"}),
    "main.index": Route(PUBLIC),
    "main.health": Route(PUBLIC),
    "main.set_language": Route(PUBLIC),
    "catalogue.prices": Route(PUBLIC),
    "auth.signup": Route(PUBLIC),
    "auth.signup_submit": Route(PUBLIC),
    "auth.login": Route(PUBLIC),
    "auth.login_submit": Route(PUBLIC),
    "auth.logout": Route(LOGIN),
    "auth.forgot_password": Route(PUBLIC),
    "auth.forgot_password_submit": Route(PUBLIC),
    "auth.reset_password": Route(PUBLIC, lambda w: {"token": w.reset_token}),
    "auth.reset_password_submit": Route(PUBLIC, lambda w: {"token": w.reset_token}),
    "auth.confirm_email": Route(PUBLIC, lambda w: {"token": w.verify_token}),
    "auth.confirm_email_submit": Route(PUBLIC, lambda w: {"token": w.verify_token}),
    "auth.resend_confirmation": Route(LOGIN),
    "account.show": Route(LOGIN),
    "account.update_profile": Route(LOGIN),
    "account.change_password": Route(LOGIN),
    "account.change_email": Route(LOGIN),
    "panels.index": Route(LOGIN),
    "panels.create": Route(LOGIN),
    "panels.show": Route(PANEL, panel_args(), need=None, who="member"),
    "panels.audit_log": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "panels.domains": Route(PANEL, panel_args(), need=Group.DOMAINS, who="member"),
    "panels.web": Route(PANEL, panel_args(), need=Group.WEB, who="member"),
    "panels.email": Route(PANEL, panel_args(), need=Group.EMAIL, who="member"),
    "panels.billing": Route(PANEL, panel_args(), need=Group.BILLING, who="member"),
    "access.show": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "access.add": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "access.update": Route(
        PANEL, panel_args(grant_id=lambda w: w.member_grant.id), need=OWNER, who="owner"
    ),
    "access.remove": Route(
        PANEL, panel_args(grant_id=lambda w: w.member_grant.id), need=OWNER, who="owner"
    ),
    "access.revoke": Route(
        PANEL, panel_args(invitation_id=lambda w: w.invitation.id), need=OWNER, who="owner"
    ),
    "access.unlink": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "access.transfer": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "access.transfer_submit": Route(PANEL, panel_args(), need=OWNER, who="owner"),
    "moves.show": Route(
        PANEL, panel_args(product_id=lambda w: w.movable.id), need=OWNER, who="owner"
    ),
    "moves.submit": Route(
        PANEL, panel_args(product_id=lambda w: w.movable.id), need=OWNER, who="owner"
    ),
    "moves.undo": Route(
        PANEL, panel_args(move_id=lambda w: w.done_move.id), need=OWNER, who="owner"
    ),
    "moves.cancel": Route(
        PANEL, panel_args(move_id=lambda w: w.pending_move.id), need=OWNER, who="owner"
    ),
    **{
        f"domains.{name}": Route(PANEL, _domain_args(*ids), need=Group.DOMAINS, who="member")
        for name, ids in {
            "show": (),
            "nameservers": (),
            "add_record": (),
            "record": ("record",),
            "edit_record": ("record",),
            "update_record": ("record",),
            "delete_record": ("record",),
            "registrant": (),
            "auto_renew": (),
            "auth_code": (),
        }.items()
    },
    **{
        f"sites.{name}": Route(PANEL, _hosting_args(*ids), need=Group.WEB, who="member")
        for name, ids in {
            "show": (),
            "add": (),
            "edit": ("site",),
            "update": ("site",),
            "delete": ("site",),
        }.items()
    },
    **{
        f"mail.{name}": Route(PANEL, _hosting_args(*ids), need=Group.EMAIL, who="member")
        for name, ids in {
            "show": (),
            "add_mailbox": (),
            "mailbox": ("mailbox",),
            "edit_mailbox": ("mailbox",),
            "update_mailbox": ("mailbox",),
            "delete_mailbox": ("mailbox",),
            "add_alias": (),
            "delete_alias": ("alias",),
            "catch_all": (),
        }.items()
    },
    "invitations.show": Route(PUBLIC, lambda w: {"token": w.invitee_token}, who="invitee"),
    "invitations.accept": Route(LOGIN, lambda w: {"token": w.invitee_token}, who="invitee"),
    "invitations.decline": Route(LOGIN, lambda w: {"token": w.invitee_token}, who="invitee"),
    "partner.index": Route(LOGIN),
    "partner.apply": Route(LOGIN),
    "partner.apply_submit": Route(LOGIN),
    "partner.clients": Route(PARTNER, who="partner"),
    "partner.new_client": Route(PARTNER, who="partner"),
    "partner.create_client": Route(PARTNER, who="partner"),
    "partner.invite_client": Route(PARTNER, who="partner"),
    "partner.invite_client_submit": Route(PARTNER, who="partner"),
    "partner.save_note": Route(PARTNER, panel_args(), who="partner"),
    "partner.revoke_invitation": Route(
        PARTNER, lambda w: {"invitation_id": w.partner_invitation.id}, who="partner"
    ),
    "staff.index": Route(STAFF, who="staff"),
    "staff.partner_list": Route(STAFF, who="staff"),
    "staff.partner_show": Route(STAFF, lambda w: {"partner_id": w.applicant.id}, who="staff"),
    "staff.approve": Route(STAFF, lambda w: {"partner_id": w.applicant.id}, who="staff"),
    "staff.reject": Route(STAFF, lambda w: {"partner_id": w.applicant.id}, who="staff"),
    "staff.suspend": Route(STAFF, lambda w: {"partner_id": w.partner.id}, who="staff"),
    "staff.audit_log": Route(STAFF, who="staff"),
    "staff_catalogue.index": Route(STAFF, who="staff"),
    "staff_catalogue.plan_new": Route(STAFF, who="staff"),
    "staff_catalogue.plan_create": Route(STAFF, who="staff"),
    "staff_catalogue.plan_edit": Route(STAFF, lambda w: {"plan_id": w.plan.id}, who="staff"),
    "staff_catalogue.plan_update": Route(STAFF, lambda w: {"plan_id": w.plan.id}, who="staff"),
    "staff_catalogue.tiers": Route(STAFF, who="staff"),
    "staff_catalogue.tiers_update": Route(STAFF, who="staff"),
    "staff_catalogue.vat": Route(STAFF, who="staff"),
    "staff_catalogue.vat_update": Route(STAFF, who="staff"),
    "staff_catalogue.vat_cancel": Route(STAFF, lambda w: {"rate_id": w.vat_rate.id}, who="staff"),
    "orders.new": Route(LOGIN),
    "orders.add": Route(LOGIN),
    "billing.cart": Route(LOGIN),
    "billing.remove": Route(LOGIN, lambda w: {"item_id": w.cart_item.id}, who="partner"),
    "billing.checkout": Route(LOGIN, who="partner"),
    "billing.invoices": Route(LOGIN),
    "billing.invoice": Route(LOGIN, lambda w: {"number": w.invoice.number}, who="partner"),
    "billing.invoice_pdf": Route(LOGIN, lambda w: {"number": w.invoice.number}, who="partner"),
    "billing.pay": Route(LOGIN, lambda w: {"number": w.invoice.number}, who="partner"),
    "billing.cancel": Route(LOGIN, lambda w: {"number": w.invoice.number}, who="partner"),
    "billing.renewals": Route(LOGIN),
    "billing.renew": Route(LOGIN),
    "billing.auto_renew": Route(
        LOGIN, lambda w: {"product_id": w.invoice.lines[0].product_id}, who="partner"
    ),
    "staff.partner_ledger": Route(STAFF, lambda w: {"partner_id": w.partner.id}, who="staff"),
    "partner.deposit": Route(PARTNER, who="partner"),
    "partner.top_up": Route(PARTNER, who="partner"),
    "staff.payments": Route(STAFF, who="staff"),
    "staff.confirm_transfer": Route(STAFF, who="staff"),
    "webhooks.payments": Route(PUBLIC, csrf=False),
    "partner_money.billing_page": Route(PARTNER, who="partner"),
    "partner_money.pay_selected": Route(PARTNER, who="partner"),
    "partner_money.commissions": Route(PARTNER, who="partner"),
    "partner_money.withdraw_commission": Route(PARTNER, who="partner"),
    "partner_money.withdraw_commission_submit": Route(PARTNER, who="partner"),
    "partner_money.history": Route(PARTNER, who="partner"),
    "partner_money.move_to_deposit": Route(PARTNER, who="partner"),
    "partner_money.history_csv": Route(PARTNER, who="partner"),
    "partner_money.statement": Route(PARTNER, panel_args(), who="partner"),
    "partner_money.statement_csv": Route(PARTNER, panel_args(), who="partner"),
    "staff.invoice": Route(STAFF, lambda w: {"number": w.invoice.number}, who="staff"),
    "staff.refund": Route(STAFF, lambda w: {"number": w.invoice.number}, who="staff"),
    "account.reauthenticate": Route(LOGIN),
    "account.reauthenticate_submit": Route(LOGIN),
    "partner.withdraw": Route(PARTNER, who="partner"),
    "partner.withdraw_submit": Route(PARTNER, who="partner"),
    "staff.withdrawals": Route(STAFF, who="staff"),
    "staff_mail.index": Route(STAFF, who="staff"),
    "staff_mail.retry": Route(STAFF, lambda w: {"mail_id": w.failed_mail.id}, who="staff"),
    "staff_mail.retry_all": Route(STAFF, who="staff"),
    "affiliate.follow": Route(PUBLIC, lambda w: {"number": str(w.partner.number)}, ok_status=302),
    "partner_affiliate.show": Route(PARTNER, who="partner"),
    "staff_affiliate.staff_index": Route(STAFF, who="staff"),
    "staff_affiliate.staff_rate": Route(STAFF, who="staff"),
    "staff_affiliate.staff_void": Route(
        STAFF, lambda w: {"referral_id": w.referral.id}, who="staff"
    ),
    "staff.pay_withdrawal": Route(STAFF, lambda w: {"withdrawal_id": w.withdrawal.id}, who="staff"),
    "staff.reject_withdrawal": Route(
        STAFF, lambda w: {"withdrawal_id": w.withdrawal.id}, who="staff"
    ),
}


def served_apps(app):
    """The app and the affiliate link's own app, which it serves /partners/ with."""
    return [app, app.extensions["affiliate_link_app"]]


def _url_map_rules():
    app, link_app = served_apps(create_app(TestConfig))
    served = [
        *app.url_map.iter_rules(),
        *(rule for rule in link_app.url_map.iter_rules() if rule.rule.startswith(LINK_PREFIX)),
    ]
    return [
        (rule.endpoint, method)
        for rule in served
        for method in rule.methods
        if method not in {"HEAD", "OPTIONS"}
    ]


RULES = _url_map_rules()


def _cases(policies=None, methods=None, csrf=None):
    return [
        pytest.param(endpoint, method, id=f"{method} {endpoint}")
        for endpoint, method in RULES
        if endpoint in ROUTES
        and (policies is None or ROUTES[endpoint].policy in policies)
        and (methods is None or method in methods)
        and (csrf is None or ROUTES[endpoint].csrf == csrf)
    ]


def url(app, endpoint, world=None):
    args = ROUTES[endpoint].args
    args = args(world) if callable(args) else args
    [served] = [s for s in served_apps(app) if endpoint in s.view_functions]
    with served.test_request_context():
        return url_for(endpoint, **args)


def snapshot():
    """Every row of every table, to compare before and after a request."""
    db.session.commit()
    return {
        table.name: db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        for table in db.metadata.sorted_tables
    }


def send(testapp, method, target, params=None, headers=None):
    do = getattr(testapp, method.lower())
    return do(target, params or {}, headers=headers or {}, expect_errors=True)


def csrf_token(testapp):
    return testapp.get("/prices").forms["language-form"]["csrf_token"].value


def test_every_route_has_a_policy():
    endpoints = {endpoint for endpoint, _ in RULES}
    assert endpoints - ROUTES.keys() == set(), "add the new routes to ROUTES with their policy"
    assert ROUTES.keys() - endpoints == set(), "ROUTES names routes that no longer exist"


@pytest.mark.parametrize(("endpoint", "method"), _cases({LOGIN, STAFF, PARTNER, PANEL}))
def test_protected_routes_send_visitors_to_login(app, testapp, world, endpoint, method):
    target = url(app, endpoint, world)
    if method == "GET":
        response = testapp.get(target)
        assert response.status_int == 302
    else:
        response = send(testapp, method, target, {"csrf_token": csrf_token(testapp)})
        assert response.status_int == 303
    assert response.headers["Location"].startswith("/login")
    hx = send(
        testapp, method, target, headers={"HX-Request": "true", "X-CSRFToken": csrf_token(testapp)}
    )
    assert hx.status_int == 401
    assert hx.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize(("endpoint", "method"), _cases({PUBLIC}, {"GET"}))
def test_public_pages_answer_visitors(app, testapp, world, endpoint, method):
    response = testapp.get(url(app, endpoint, world))
    assert response.status_int == ROUTES[endpoint].ok_status


# Each case below tries several callers on one world: every attempt must leave it unchanged
# (the snapshot proves it), so the next attempt meets the same world and it is built once.


@pytest.mark.parametrize(("endpoint", "method"), _cases({STAFF}))
def test_staff_routes_do_not_exist_for_anyone_else(
    app, make_testapp, world, login_as, endpoint, method
):
    target = url(app, endpoint, world)
    for who in ("member", "partner", "owner"):
        client = login_as(world.user(who), make_testapp())
        before = snapshot()
        response = send(client, method, target, {"csrf_token": csrf_token(client)})
        assert response.status_int == 404, who
        assert snapshot() == before, who


@pytest.mark.parametrize(("endpoint", "method"), _cases({PARTNER}))
def test_partner_routes_refuse_other_users_with_a_reason(
    app, testapp, world, login_as, endpoint, method
):
    login_as(world.member)
    target = url(app, endpoint, world)
    before = snapshot()
    response = send(testapp, method, target, {"csrf_token": csrf_token(testapp)})
    assert response.status_int == 403
    assert "Тази страница е за одобрени партньори на програмата." in response.text
    assert snapshot() == before


@sqlite_only  # the token is checked before any view runs: the same on both databases
@pytest.mark.parametrize(("endpoint", "method"), _cases(methods=STATE_CHANGING, csrf=True))
def test_state_changing_routes_refuse_requests_without_a_valid_csrf_token(
    app, testapp, make_testapp, world, login_as, endpoint, method
):
    if ROUTES[endpoint].policy != PUBLIC:
        login_as(world.user(ROUTES[endpoint].who))
    target = url(app, endpoint, world)
    for how in ("no token", "bad form token", "bad header", "other session"):
        params, headers = {"name": "Changed", "language": "en", "email": "x@example.com"}, {}
        if how == "bad form token":
            params["csrf_token"] = "IjAwMDAi.forged.token"
        elif how == "bad header":
            headers = {"X-CSRFToken": "IjAwMDAi.forged.token", "HX-Request": "true"}
        elif how == "other session":
            params["csrf_token"] = csrf_token(make_testapp())
        before = snapshot()
        response = send(testapp, method, target, params, headers)
        assert response.status_int == 400, how
        assert "Формулярът е изтекъл или не е изпратен от този сайт." in response.text, how
        assert snapshot() == before, how


@pytest.mark.parametrize(("endpoint", "method"), _cases(methods={"GET"}))
def test_get_routes_change_no_state(app, testapp, world, login_as, endpoint, method):
    target = url(app, endpoint, world)
    for who in ("visitor", "user"):
        if who == "user":
            login_as(world.user(ROUTES[endpoint].who))
        before = snapshot()
        response = testapp.get(target, expect_errors=True)
        assert response.status_int < 500, who
        assert snapshot() == before, who


@pytest.mark.parametrize(("endpoint", "method"), _cases(methods=STATE_CHANGING, csrf=False))
@pytest.mark.parametrize(
    "signature", [None, "", "sha256=" + "0" * 64, "not hex at all", "sha256=" * 40]
)
def test_signed_endpoints_refuse_unsigned_or_forged_requests(
    app, testapp, world, endpoint, method, signature
):
    """Without a session or CSRF token, the signature is the whole defence: no change at all."""
    target = url(app, endpoint, world)
    body = b'{"id": "evt", "type": "payment.succeeded", "reference": "DEP-1", "amount_cents": 1}'
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = signature
    before = snapshot()
    response = testapp.post(target, body, headers=headers, expect_errors=True)
    assert response.status_int == 401
    assert snapshot() == before


#: form values no form expects: missing, empty, far too long, not numbers, odd characters
ODD_FORMS = {
    "missing": {},
    "odd": dict.fromkeys(
        (
            "note",
            "name",
            "email",
            "password",
            "days",
            "months",
            "on",
            "groups",
            "amount",
            "iban",
            "plan",
            "domain",
            "target",
            "to",
            "reason",
            "type",
            "value",
            "ttl",
            "priority",
            "local",
            "quota_mb",
            "destinations",
            "php",
            "folder",
            "rate",
            "path",
            "number",
            "invoices",
            "order",
            "key",
            "idempotency_key",
            "language",
            "next",
            "selected",
        ),
        "\u202e\ud7ff" + "9" * 4000,
    ),
}


@sqlite_only  # input checks run before the database is asked anything database-specific
@pytest.mark.parametrize(("endpoint", "method"), _cases(methods=STATE_CHANGING, csrf=True))
def test_state_changing_routes_answer_odd_forms_without_a_server_error(
    app, testapp, world, login_as, endpoint, method
):
    """Whoever may use a route, a form with its fields missing or absurd gets a 4xx (or the
    page again), never a 500."""
    route = ROUTES[endpoint]
    who = {PUBLIC: None, PANEL: "owner", STAFF: "staff", PARTNER: "partner"}.get(
        route.policy, route.who
    )
    if who is not None:
        login_as(world.user(who))
    target = url(app, endpoint, world)
    for kind, values in ODD_FORMS.items():
        response = send(testapp, method, target, {**values, "csrf_token": csrf_token(testapp)})
        assert response.status_int < 500, (kind, response.status_int)
