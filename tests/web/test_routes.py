"""Every route of the URL map has a policy here, and every policy is checked against the app.

A new route fails test_every_route_has_a_policy until it is added to ROUTES, and from then on
its access, its CSRF protection and (for GET) its harmlessness are tested by the tables below.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import url_for
from sqlalchemy import select

from config import TestConfig
from models import db
from rules import users
from tests import factories
from web import create_app

PUBLIC, LOGIN, STAFF = "public", "login", "staff"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Route:
    policy: str
    #: URL values, or a callable that makes them (it runs inside the test's app context)
    args: dict | Callable = field(default_factory=dict)


def valid_reset_token():
    user = factories.create_user()
    return {"token": users.make_reset_token(user, TestConfig.SECRET_KEY)}


#: endpoint -> who may use it and sample URL values
ROUTES = {
    "static": Route(PUBLIC, {"filename": "app.css"}),
    "main.index": Route(PUBLIC),
    "main.health": Route(PUBLIC),
    "main.set_language": Route(PUBLIC),
    "auth.signup": Route(PUBLIC),
    "auth.signup_submit": Route(PUBLIC),
    "auth.login": Route(PUBLIC),
    "auth.login_submit": Route(PUBLIC),
    "auth.logout": Route(LOGIN),
    "auth.forgot_password": Route(PUBLIC),
    "auth.forgot_password_submit": Route(PUBLIC),
    "auth.reset_password": Route(PUBLIC, valid_reset_token),
    "auth.reset_password_submit": Route(PUBLIC, valid_reset_token),
    "account.show": Route(LOGIN),
    "account.update_profile": Route(LOGIN),
    "account.change_password": Route(LOGIN),
    "account.change_email": Route(LOGIN),
}


def _url_map_rules():
    app = create_app(TestConfig)
    return [
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods
        if method not in {"HEAD", "OPTIONS"}
    ]


RULES = _url_map_rules()


def _cases(policies=None, methods=None):
    return [
        pytest.param(endpoint, method, id=f"{method} {endpoint}")
        for endpoint, method in RULES
        if endpoint in ROUTES
        and (policies is None or ROUTES[endpoint].policy in policies)
        and (methods is None or method in methods)
    ]


def url(app, endpoint):
    args = ROUTES[endpoint].args
    args = args() if callable(args) else args
    with app.test_request_context():
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
    return testapp.get("/login").forms["login-form"]["csrf_token"].value


def test_every_route_has_a_policy():
    endpoints = {endpoint for endpoint, _ in RULES}
    assert endpoints - ROUTES.keys() == set(), "add the new routes to ROUTES with their policy"
    assert ROUTES.keys() - endpoints == set(), "ROUTES names routes that no longer exist"


@pytest.mark.parametrize(("endpoint", "method"), _cases({LOGIN, STAFF}))
def test_protected_routes_send_visitors_to_login(app, testapp, endpoint, method):
    target = url(app, endpoint)
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
def test_public_pages_answer_visitors(app, testapp, endpoint, method):
    response = testapp.get(url(app, endpoint))
    assert response.status_int == 200
    assert not response.headers.get("Location", "").startswith("/login")


@pytest.mark.parametrize(("endpoint", "method"), _cases(methods=STATE_CHANGING))
@pytest.mark.parametrize("how", ["no token", "bad form token", "bad header", "other session"])
def test_state_changing_routes_refuse_requests_without_a_valid_csrf_token(
    app, testapp, make_testapp, login_as, create_user, endpoint, method, how
):
    if ROUTES[endpoint].policy != PUBLIC:
        login_as(create_user(is_staff=ROUTES[endpoint].policy == STAFF))
    target = url(app, endpoint)
    params, headers = {"name": "Changed", "language": "en", "email": "x@example.com"}, {}
    if how == "bad form token":
        params["csrf_token"] = "IjAwMDAi.forged.token"
    elif how == "bad header":
        headers = {"X-CSRFToken": "IjAwMDAi.forged.token", "HX-Request": "true"}
    elif how == "other session":
        params["csrf_token"] = csrf_token(make_testapp())
    before = snapshot()
    response = send(testapp, method, target, params, headers)
    assert response.status_int == 400
    assert "Формулярът е изтекъл или не е изпратен от този сайт." in response.text
    assert snapshot() == before


@pytest.mark.parametrize(("endpoint", "method"), _cases(methods={"GET"}))
@pytest.mark.parametrize("who", ["visitor", "user"])
def test_get_routes_change_no_state(app, testapp, login_as, create_user, endpoint, method, who):
    if who == "user":
        login_as(create_user())
    target = url(app, endpoint)
    before = snapshot()
    testapp.get(target, expect_errors=True)
    assert snapshot() == before
