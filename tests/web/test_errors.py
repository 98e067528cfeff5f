"""Error pages in both languages, as full pages and as htmx fragments."""

import pytest
from flask import Blueprint, abort

from models import User, db
from rules.errors import PermissionDenied
from tests.conftest import sqlite_only

pytestmark = sqlite_only

broken = Blueprint("broken", __name__)


@broken.get("/test/abort/<int:code>")
def do_abort(code):
    abort(code)


@broken.get("/test/forbidden")
def forbidden():
    raise PermissionDenied()


@broken.post("/test/crash")
def crash():
    # A failed flush leaves the session unusable until it is rolled back; the error page
    # then loads the logged-in user (for the header) through that same session.
    db.session.add(User(email="taken@example.com", name="Dup", password_hash="x"))
    db.session.flush()
    return "unreachable"


@pytest.fixture
def app(app):
    app.register_blueprint(broken)
    return app


TITLES = {
    400: ("Неправилна заявка", "Bad request"),
    403: ("Нямате права", "Not allowed"),
    404: ("Не е намерено", "Not found"),
    405: ("Методът не е разрешен", "Method not allowed"),
    422: ("Заявката не може да се обработи", "Cannot process"),
    429: ("Твърде много заявки", "Too many requests"),
    500: ("Нещо се обърка", "Something went wrong"),
}


@pytest.mark.parametrize("code", sorted(TITLES))
@pytest.mark.parametrize(("language", "index"), [("bg", 0), ("en", 1)])
def test_error_pages_in_both_languages(app, testapp, code, language, index):
    response = testapp.get(
        f"/test/abort/{code}", headers={"Accept-Language": language}, expect_errors=True
    )
    assert response.status_int == code
    assert f"<h1>{TITLES[code][index]}</h1>" in response.text
    assert "<html" in response.text  # a full page
    assert response.html.html["lang"] == language


@pytest.mark.parametrize("code", sorted(TITLES))
def test_error_fragments_for_htmx(app, testapp, code):
    response = testapp.get(
        f"/test/abort/{code}", headers={"HX-Request": "true"}, expect_errors=True
    )
    assert response.status_int == code
    assert "<html" not in response.text
    assert TITLES[code][0] in response.text
    assert TITLES[code][0] not in response.headers["HX-Trigger"]  # the message, not the title
    assert '"flash"' in response.headers["HX-Trigger"]


def test_named_permission_error_answers_403(app, testapp):
    response = testapp.get("/test/forbidden", expect_errors=True)
    assert response.status_int == 403
    assert "Нямате права" in response.text
    assert "Нямате нужните права за това действие." in response.text  # the general message


@pytest.mark.parametrize("code", [410, 415, 501])
def test_other_http_errors_keep_their_status(app, testapp, code):
    response = testapp.get(f"/test/abort/{code}", expect_errors=True)
    assert response.status_int == code
    assert ("Нещо се обърка" in response.text) is (code >= 500)


def test_unknown_page_and_wrong_method(testapp):
    assert testapp.get("/nowhere", expect_errors=True).status_int == 404
    response = testapp.put("/login", expect_errors=True)
    assert response.status_int in (400, 405)  # CSRF may refuse a PUT before routing does
    response = testapp.get("/logout", expect_errors=True)
    assert response.status_int == 405
    assert "POST" in response.headers["Allow"]


def test_server_error_rolls_back_and_shows_a_page(app, testapp, login_as, create_user):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(create_user("taken@example.com", name="Мария"))
    token = testapp.get("/account/").forms["logout-form"]["csrf_token"].value
    response = testapp.post("/test/crash", {"csrf_token": token}, expect_errors=True)
    assert response.status_int == 500
    assert "Нещо се обърка" in response.text
    assert "Мария" in response.text  # the page could still load the user after the rollback
    assert "IntegrityError" not in response.text and "UNIQUE" not in response.text


@pytest.mark.parametrize("path", ["/login?next=%00", "/password/reset/abc%00def", "/%00"])
def test_nul_bytes_in_urls_get_400(testapp, path):
    assert testapp.get(path, expect_errors=True).status_int == 400


def test_nul_bytes_in_forms_get_400_and_change_nothing(testapp):
    form = testapp.get("/signup").forms["signup-form"]
    form["email"] = "nul@example.com"
    form["name"] = "Evil\x00Name"
    form["password"] = form["confirm"] = "a long new password"
    assert form.submit(expect_errors=True).status_int == 400
