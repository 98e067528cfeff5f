import os

import pytest
import time_machine

from tests.conftest import (
    REQUIRE_REDIS,
    login,
    read_session,
    skip_or_fail,
    sqlite_only,
)
from tests.factories import PASSWORD

START = "2026-11-02 09:00:00Z"


def test_pre_login_session_keys_are_gone_after_login(app, testapp, create_user):
    user = create_user(language="en")
    page = testapp.get("/login")
    page.forms["language-form"].submit(name="language", value="en")
    before = read_session(app, testapp)
    assert before["lang"] == "en" and before["csrf_token"]
    login(testapp, user)
    after = read_session(app, testapp)
    assert "lang" not in after
    assert after.get("csrf_token") != before["csrf_token"]
    assert after["_user_id"] == f"{user.id}.{user.session_version}"


def test_cookie_replayed_after_logout_is_refused(app, testapp, make_testapp, login_as, create_user):
    user = create_user()
    login_as(user)
    stolen = testapp.cookies["pp_session"]
    testapp.get("/account/").forms["logout-form"].submit()
    replay = make_testapp()
    replay.set_cookie("pp_session", stolen)
    response = replay.get("/account/")
    assert response.status_int == 302
    assert "/login" in response.headers["Location"]


def test_password_change_ends_other_sessions_but_not_this_one(
    testapp, make_testapp, login_as, create_user
):
    user = create_user()
    other = login_as(user, make_testapp())
    login_as(user)
    form = testapp.get("/account/").forms["password-form"]
    form["current_password"] = PASSWORD
    form["password"] = form["confirm"] = "a fresh long password"
    assert form.submit().status_int == 303
    assert testapp.get("/account/").status_int == 200
    assert other.get("/account/").status_int == 302


def test_email_change_ends_other_sessions(testapp, make_testapp, login_as, create_user):
    user = create_user()
    other = login_as(user, make_testapp())
    login_as(user)
    form = testapp.get("/account/").forms["email-form"]
    form["email"] = "changed@example.com"
    form["current_password"] = PASSWORD
    assert form.submit().status_int == 303
    assert testapp.get("/account/").status_int == 200
    assert other.get("/account/").status_int == 302


def test_idle_session_expires(app, testapp, login_as, create_user):
    user = create_user()
    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    with time_machine.travel(START, tick=False) as clock:
        login_as(user)
        clock.shift(idle - 5)
        assert testapp.get("/account/").status_int == 200  # activity keeps it alive
        clock.shift(idle - 5)
        assert testapp.get("/account/").status_int == 200
        clock.shift(idle + 1)
        assert testapp.get("/account/").status_int == 302


def test_session_has_an_absolute_lifetime(app, testapp, login_as, create_user):
    user = create_user()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    step = app.config["SESSION_IDLE_TIMEOUT"].total_seconds() - 60
    with time_machine.travel(START, tick=False) as clock:
        login_as(user)
        elapsed = 0
        while elapsed + step < lifetime:
            clock.shift(step)
            elapsed += step
            assert testapp.get("/account/").status_int == 200
        clock.shift(lifetime - elapsed + 1)
        assert testapp.get("/account/").status_int == 302


def test_session_cookie_flags(app, testapp, create_user):
    user = create_user()
    response = login(testapp, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # permanent, bounded by the absolute lifetime


def test_production_cookie_is_secure():
    from config import Config

    assert Config.SESSION_COOKIE_SECURE is True
    assert Config.SESSION_COOKIE_HTTPONLY is True
    assert Config.SESSION_COOKIE_SAMESITE == "Lax"


@pytest.mark.config(SESSION_COOKIE_SECURE=True, WTF_CSRF_SSL_STRICT=False)
def test_a_secure_session_cookie_is_bound_to_this_host(app, testapp, create_user):
    """ASVS 3.3.1: with Secure and no Domain the cookie is ``__Host-``: HTTPS, Path=/, no
    Domain, so no other host (a sibling subdomain) can set or overwrite it."""
    testapp.extra_environ = {"wsgi.url_scheme": "https", "HTTP_HOST": "panel.example"}
    user = create_user()
    form = testapp.get("https://panel.example/login").forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    response = form.submit()
    [cookie] = [v for k, v in response.headerlist if k == "Set-Cookie"]
    assert cookie.startswith("__Host-pp_session=")
    attributes = [part.strip() for part in cookie.split(";")[1:]]
    assert "Secure" in attributes and "Path=/" in attributes
    assert not any(a.lower().startswith("domain=") for a in attributes)
    assert testapp.get("https://panel.example/account/").status_int == 200


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"SESSION_COOKIE_SECURE": True}, "__Host-pp_session"),
        ({"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_DOMAIN": "example.com"}, "pp_session"),
        ({"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_PATH": "/panel"}, "pp_session"),
        ({"SESSION_COOKIE_SECURE": False}, "pp_session"),
    ],
)
def test_the_host_prefix_only_where_browsers_accept_it(settings, name):
    from config import TestConfig, name_session_cookie

    config = {"SESSION_COOKIE_NAME": TestConfig.SESSION_COOKIE_NAME, **settings}
    name_session_cookie(config)
    assert config["SESSION_COOKIE_NAME"] == name


def test_expired_session_during_htmx_request_redirects_the_whole_page(
    app, testapp, login_as, create_user
):
    user = create_user()
    with time_machine.travel(START, tick=False) as clock:
        login_as(user)
        form = testapp.get("/account/").forms["profile-form"]
        clock.shift(app.config["SESSION_IDLE_TIMEOUT"].total_seconds() + 1)
        response = testapp.post(
            "/account/profile",
            dict(form.submit_fields()),
            headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/account/"},
            expect_errors=True,
        )
    assert response.status_int == 401
    assert response.headers["HX-Redirect"] == "/login?next=/account/"
    assert response.text == ""  # nothing that htmx could swap into the fragment


def test_lost_session_cookie_during_htmx_request_redirects_the_whole_page(
    app, testapp, make_testapp, login_as, create_user
):
    login_as(create_user())
    form = testapp.get("/account/").forms["profile-form"]
    browser_without_cookie = make_testapp()  # the cookie is gone, the page is still open
    response = browser_without_cookie.post(
        "/account/profile",
        dict(form.submit_fields()),
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/account/"},
        expect_errors=True,
    )
    assert response.status_int == 400  # the CSRF token died with the session
    assert response.headers["HX-Redirect"] == "/login?next=/account/"
    page = browser_without_cookie.get("/login?next=/account/")
    assert "Сесията ви приключи. Моля, влезте отново." in page.text


def test_expired_session_on_a_full_page_redirects_to_login_with_next(
    app, testapp, login_as, create_user
):
    user = create_user()
    with time_machine.travel(START, tick=False) as clock:
        login_as(user)
        clock.shift(app.config["SESSION_IDLE_TIMEOUT"].total_seconds() + 1)
        response = testapp.get("/account/?tab=email")
        assert response.status_int == 302
        assert response.headers["Location"] == "/login?next=/account/?tab%3Demail"
        assert "Моля, влезте" in response.follow().text


@pytest.mark.config(LOGIN_RATE_LIMIT="3 per minute")
def test_login_is_throttled_and_recovers(testapp, create_user):
    user = create_user()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            form = testapp.get("/login").forms["login-form"]
            form["email"], form["password"] = user.email, "wrong password"
            assert form.submit(expect_errors=True).status_int == 422
        form = testapp.get("/login").forms["login-form"]
        form["email"], form["password"] = user.email, PASSWORD
        throttled = form.submit(expect_errors=True)
        assert throttled.status_int == 429
        assert "Опитайте отново след 1 мин." in throttled.text
        assert "Retry-After" in throttled.headers
        clock.shift(61)
        form = testapp.get("/login").forms["login-form"]
        form["email"], form["password"] = user.email, PASSWORD
        assert form.submit().status_int == 303


@pytest.mark.config(LOGIN_EMAIL_RATE_LIMIT="2 per minute")
def test_failed_logins_for_one_email_are_throttled_from_any_address(testapp, create_user):
    user = create_user()
    for address in ("10.0.0.1", "10.0.0.2"):
        form = testapp.get("/login").forms["login-form"]
        form["email"], form["password"] = user.email, "wrong password"
        response = form.submit(extra_environ={"REMOTE_ADDR": address}, expect_errors=True)
        assert response.status_int == 422
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = user.email.upper(), "wrong password"
    response = form.submit(extra_environ={"REMOTE_ADDR": "10.0.0.3"}, expect_errors=True)
    assert response.status_int == 429


@pytest.mark.config(LOGIN_EMAIL_RATE_LIMIT="3 per minute")
def test_every_written_form_of_one_address_shares_its_login_budget(testapp, create_user):
    """Login finds one account for all of these, so they count against one budget."""
    user = create_user(email="maria@example.com")
    variants = ("maria@example.com", "MARIA@EXAMPLE.COM", "maria@ＥＸＡＭＰＬＥ.com")
    for i, email in enumerate(variants):
        form = testapp.get("/login").forms["login-form"]
        form["email"], form["password"] = email, "wrong password"
        response = form.submit(extra_environ={"REMOTE_ADDR": f"10.0.1.{i}"}, expect_errors=True)
        assert response.status_int == 422
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = " maria@example．com ", PASSWORD
    response = form.submit(extra_environ={"REMOTE_ADDR": "10.0.1.9"}, expect_errors=True)
    assert response.status_int == 429
    assert user.email == "maria@example.com"


@pytest.mark.config(RESET_EMAIL_RATE_LIMIT="2 per hour")
def test_reset_links_to_one_account_are_throttled_from_any_address(testapp, create_user, outbox):
    user = create_user(email="maria@example.com")
    for i, email in enumerate(
        ("maria@example.com", "Maria@ＥＸＡＭＰＬＥ.com", "MARIA@example.com")
    ):
        form = testapp.get("/password/forgot").forms["forgot-form"]
        form["email"] = email
        response = form.submit(extra_environ={"REMOTE_ADDR": f"10.0.2.{i}"}, expect_errors=True)
        assert response.status_int == (303 if i < 2 else 429), email
    assert len(outbox.wait_for(user.email)) == 2


@pytest.mark.config(RESET_RATE_LIMIT="2 per hour")
def test_password_reset_requests_are_throttled(testapp, outbox):
    for _ in range(2):
        form = testapp.get("/password/forgot").forms["forgot-form"]
        form["email"] = "someone@example.com"
        assert form.submit().status_int == 303
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "someone@example.com"
    assert form.submit(expect_errors=True).status_int == 429


#: one prefix per pytest-xdist worker, so that parallel workers neither count in nor clear
#: each other's keys
REDIS_PREFIX = "-".join(filter(None, ["pp-test-limits", os.environ.get("PYTEST_XDIST_WORKER")]))


@pytest.fixture
def redis_client():
    """Redis on 127.0.0.1:6379, with the counters of earlier runs forgotten."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(REQUIRE_REDIS, "Redis is not running on 127.0.0.1:6379")
    for key in client.scan_iter(f"*/{REDIS_PREFIX}/*"):
        client.delete(key)
    return client


@sqlite_only
@pytest.mark.config(
    RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
    RATELIMIT_KEY_PREFIX=REDIS_PREFIX,
    LOGIN_RATE_LIMIT="2 per minute",
)
def test_throttling_counts_in_redis_when_configured(redis_client, testapp, create_user):
    user = create_user()
    statuses = []
    for _ in range(3):
        form = testapp.get("/login").forms["login-form"]
        form["email"], form["password"] = user.email, "wrong password"
        statuses.append(form.submit(expect_errors=True).status_int)
    assert statuses == [422, 422, 429]
    # The counter lives in Redis, where every worker and app server sees it.
    keys = [key.decode() for key in redis_client.scan_iter(f"*/{REDIS_PREFIX}/*")]
    assert any("/127.0.0.1/auth.login_submit/2/1/minute" in key for key in keys), keys
