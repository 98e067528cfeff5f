import json

import pytest

from tests.conftest import sqlite_only
from web.security import CONTENT_SECURITY_POLICY

pytestmark = sqlite_only

COMMON = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def assert_security_headers(response, *, no_store=True):
    for name, value in COMMON.items():
        assert response.headers[name] == value, name
    assert "HX-Request" in response.headers["Vary"]
    if no_store:
        assert response.headers["Cache-Control"] == "no-store"


def test_csp_allows_no_inline_code_and_no_framing():
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/login", {}, 200),  # a page
        ("/login", {"HX-Request": "true"}, 200),  # a fragment
        ("/account/", {}, 302),  # a redirect
        ("/no-such-page", {}, 404),  # an error
        ("/no-such-page", {"HX-Request": "true"}, 404),  # an error fragment
        ("/login", {"X-Forwarded-For": "1.2.3.4"}, 200),
    ],
)
def test_security_headers_on_every_kind_of_response(testapp, path, headers, status):
    response = testapp.get(path, headers=headers, expect_errors=True)
    assert response.status_int == status
    assert_security_headers(response)


def test_security_headers_on_a_post_redirect_and_on_authenticated_pages(
    testapp, login_as, create_user
):
    response = login_as(create_user()).get("/account/")
    assert_security_headers(response)
    logout = response.forms["logout-form"].submit()
    assert logout.status_int == 303
    assert_security_headers(logout)


def test_static_files_carry_the_headers_but_may_be_cached(testapp):
    response = testapp.get("/static/app.css")
    assert_security_headers(response, no_store=False)
    assert response.headers.get("Cache-Control") != "no-store"


def test_hsts_only_in_production(app, testapp):
    assert "Strict-Transport-Security" not in testapp.get("/login").headers
    app.config["HSTS"] = True
    assert testapp.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_oversized_body_is_refused(app, testapp):
    token = testapp.get("/login").forms["login-form"]["csrf_token"].value
    body = {"csrf_token": token, "email": "a@example.com", "password": "x" * (2 * 1024 * 1024)}
    response = testapp.post("/login", body, expect_errors=True)
    assert response.status_int == 413
    assert_security_headers(response)


def test_page_sets_htmx_config_and_csrf_header(testapp):
    page = testapp.get("/login")
    meta = page.html.find("meta", attrs={"name": "htmx-config"})
    config = json.loads(meta["content"])
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True
    assert config["historyCacheSize"] == 0
    assert config["historyRestoreAsHxRequest"] is False
    assert {"code": "422", "swap": True} in config["responseHandling"]
    headers = json.loads(page.html.body["hx-headers"])
    assert headers["X-CSRFToken"] == page.forms["login-form"]["csrf_token"].value
    assert page.html.find(id="dialog") is not None


def test_static_urls_carry_their_files_version_so_a_release_is_seen_at_once(testapp):
    import hashlib
    from pathlib import Path

    page = testapp.get("/login")
    css = page.html.select_one('link[rel="stylesheet"][href^="/static/app.css"]')["href"]
    contents = (Path(__file__).resolve().parents[2] / "web" / "static" / "app.css").read_bytes()
    assert css == "/static/app.css?v=" + hashlib.sha256(contents).hexdigest()[:12]
    assert testapp.get(css).status_int == 200
