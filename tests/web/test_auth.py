import re
from urllib.parse import urlsplit

import pytest

from models import User, db
from tests import factories
from tests.conftest import login, read_session
from tests.factories import PASSWORD


def signup(testapp, **fields):
    form = testapp.get("/signup").forms["signup-form"]
    values = {
        "email": "new@example.com",
        "name": "Нов Потребител",
        "password": "a long new password",
        "confirm": "a long new password",
    }
    values.update(fields)
    for key, value in values.items():
        form[key] = value
    return form.submit(expect_errors=True)


def test_signup_creates_account_and_logs_in(testapp):
    response = signup(testapp, language="en")
    assert response.status_int == 303
    home = response.follow()
    assert "Hello, Нов Потребител" in home.text  # the chosen language is used at once
    user = db.session.query(User).one()
    assert (user.email, user.language) == ("new@example.com", "en")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Въведете валиден имейл адрес."),
        ({"password": "password1", "confirm": "password1"}, "най-често срещаните"),
        ({"password": "short", "confirm": "short"}, "поне 8 знака"),
        ({"confirm": "something else entirely"}, "Двете пароли се различават."),
        ({"name": ""}, "Въведете името си."),
    ],
)
def test_signup_with_bad_input_shows_the_form_again_with_a_message(testapp, fields, message):
    response = signup(testapp, **fields)
    assert response.status_int == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert db.session.query(User).count() == 0
    if fields.get("email"):
        assert fields["email"] in response.text  # what the user typed is kept


def test_signup_with_taken_email_is_refused(testapp, create_user):
    create_user("new@example.com")
    response = signup(testapp, email="NEW@example.com")
    assert response.status_int == 422
    assert "Вече има профил с този имейл" in response.text
    assert db.session.query(User).count() == 1


def post_signup(testapp, **extra):
    """Post the sign-up form's fields plus any the page does not offer."""
    fields = dict(testapp.get("/signup").forms["signup-form"].submit_fields())
    fields.update(email="x@example.com", name="X", language="bg")
    fields["password"] = fields["confirm"] = "a long new password"
    fields.update(extra)
    return testapp.post("/signup", fields, expect_errors=True)


def test_signup_ignores_mass_assigned_fields(testapp):
    response = post_signup(testapp, is_staff="1", session_version="99", id="7")
    assert response.status_int == 303
    user = db.session.query(User).one()
    assert (user.is_staff, user.session_version) == (False, 1)


@pytest.mark.parametrize("language", ["xx", "", "BG"])
def test_signup_with_unknown_language_is_refused(testapp, language):
    assert post_signup(testapp, language=language).status_int == 422
    assert db.session.query(User).count() == 0


def test_profile_with_unknown_language_is_refused(testapp, login_as, create_user):
    login_as(create_user(language="bg"))
    form = testapp.get("/account/").forms["profile-form"]
    fields = dict(form.submit_fields())
    fields["language"] = "xx"
    response = testapp.post("/account/profile", fields, expect_errors=True)
    assert response.status_int == 422
    assert db.session.query(User).one().language == "bg"


def test_login_and_logout(testapp, create_user):
    user = create_user("maria@example.com", name="Мария")
    response = login(testapp, user)
    assert response.headers["Location"].endswith("/")
    assert "Здравейте, Мария" in response.follow().text
    page = testapp.get("/")
    response = page.forms["logout-form"].submit()
    assert response.status_int == 303
    assert "Излязохте" in response.follow().text
    assert testapp.get("/account/").status_int == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("maria@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
def test_login_failure_says_the_same_for_unknown_email_and_wrong_password(
    testapp, create_user, email, password
):
    create_user("maria@example.com")
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = email, password
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "Имейлът или паролата не са верни." in response.text
    assert "_user_id" not in read_session(testapp.app.app, testapp)


def test_password_reset_by_email_link_works_once(testapp, create_user, outbox):
    user = create_user("maria@example.com", language="en")
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "Maria@Example.com"
    response = form.submit()
    assert response.status_int == 303
    assert "If an account uses this email" not in response.follow().text  # Bulgarian here
    [message] = outbox.to("maria@example.com")
    assert message["Subject"] == "Reset your Partner Program password"  # her language
    link = re.search(r"http://\S+/password/reset/\S+", message.get_content()).group(0)
    path = link.split("localhost", 1)[-1]

    form = testapp.get(path).forms["reset-form"]
    form["password"] = form["confirm"] = "the new long password"
    assert form.submit().status_int == 303
    db.session.refresh(user)
    login(testapp, user, "the new long password")

    reused = testapp.get(path, expect_errors=True)
    assert reused.status_int == 400
    assert "невалидна, използвана или изтекла" in reused.text or "invalid, used" in reused.text


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(testapp, outbox):
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "nobody@example.com"
    response = form.submit()
    assert response.status_int == 303
    assert "Ако има профил с този имейл" in response.follow().text
    assert outbox.messages == []


def test_change_password_keeps_this_session(testapp, login_as, create_user):
    user = create_user()
    login_as(user)
    page = testapp.get("/account/")
    form = page.forms["password-form"]
    form["current_password"] = PASSWORD
    form["password"] = form["confirm"] = "another long password"
    response = form.submit()
    assert response.status_int == 303
    assert "Паролата ви е сменена" in response.follow().text
    assert testapp.get("/account/").status_int == 200


def test_change_password_with_wrong_current_password_changes_nothing(
    testapp, login_as, create_user
):
    user = create_user()
    login_as(user)
    old_hash = user.password_hash
    form = testapp.get("/account/").forms["password-form"]
    form["current_password"] = "not my password"
    form["password"] = form["confirm"] = "another long password"
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "Текущата парола не е вярна." in response.text
    assert "another long password" not in response.text
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_change_email_notifies_the_old_address(testapp, login_as, create_user, outbox):
    user = create_user("old@example.com")
    login_as(user)
    form = testapp.get("/account/").forms["email-form"]
    form["email"] = "new@example.com"
    form["current_password"] = PASSWORD
    assert form.submit().status_int == 303
    db.session.refresh(user)
    assert user.email == "new@example.com"
    [notice] = outbox.to("old@example.com")
    assert "new@example.com" in notice.get_content()


OPEN_REDIRECTS = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "http:/\\/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/%0a/evil.example",
    "%2F%2Fevil.example",
    "/\x7f/evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_login_next_never_leaves_the_site(testapp, create_user, target):
    user = create_user()
    form = testapp.get("/login", {"next": target}).forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    response = form.submit()
    assert response.status_int == 303
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("", "")
    assert location.startswith("/") and not location.startswith("//")
    assert not any(ch in location for ch in "\\\t\r\n\x7f")


def test_login_next_keeps_a_local_path(testapp, create_user):
    user = create_user()
    form = testapp.get("/login", {"next": "/account/?tab=email"}).forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    assert form.submit().headers["Location"] == "/account/?tab=email"


def test_changing_to_the_same_email_or_password_is_refused(testapp, login_as, create_user):
    user = create_user("same@example.com")
    login_as(user)
    page = testapp.get("/account/")
    form = page.forms["email-form"]
    form["email"], form["current_password"] = "SAME@example.com", PASSWORD
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "Това вече е имейлът ви за вход." in response.text
    form = page.forms["password-form"]
    form["current_password"] = PASSWORD
    form["password"] = form["confirm"] = PASSWORD
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "различна от сегашната" in response.text
    db.session.refresh(user)
    assert user.session_version == 1  # nothing was revoked


def test_signup_page_sends_logged_in_users_home(testapp, login_as, create_user):
    login_as(create_user())
    assert testapp.get("/signup").headers["Location"] == "/"


def test_signup_offers_the_language_of_the_interface(testapp):
    page = testapp.get("/signup")
    page.forms["language-form"].submit(name="language", value="en")
    form = testapp.get("/signup", headers={"Accept-Language": "bg"}).forms["signup-form"]
    assert form["language"].value == "en"


def test_forgot_password_needs_an_email_address(testapp, outbox):
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "bad"
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "Въведете валиден имейл адрес." in response.text


def test_invalid_reset_link_offers_a_new_one(testapp):
    response = testapp.get("/password/reset/not-a-token", expect_errors=True)
    assert response.status_int == 400
    assert "Тази връзка не работи" in response.text
    assert response.html.find("a", href="/password/forgot") is not None


def test_reset_link_stops_working_after_an_email_change(testapp, login_as, create_user, outbox):
    user = create_user("before@example.com")
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "before@example.com"
    form.submit()
    [message] = outbox.to("before@example.com")
    path = re.search(r"/password/reset/\S+", message.get_content()).group(0)
    login_as(user)
    form = testapp.get("/account/").forms["email-form"]
    form["email"], form["current_password"] = "after@example.com", PASSWORD
    assert form.submit().status_int == 303
    assert testapp.get(path, expect_errors=True).status_int == 400


def test_each_user_lands_where_its_work_is(testapp, make_testapp, create_user):
    """Staff at their queue, a partner at its dashboard, a client at its panel (or the list
    of its panels), anyone else at home; "/" takes them there too."""
    staff = create_user(is_staff=True)
    partner = factories.create_partner()
    one = factories.create_panel()
    two = factories.create_user()
    factories.create_panel(two)
    factories.create_panel(two)
    nobody = create_user()
    for user, start in (
        (staff, "/staff/"),
        (partner.user, "/partner/"),
        (one.owner, f"/panels/{one.number}"),
        (two, "/panels/"),
        (nobody, "/"),
    ):
        browser = make_testapp()
        assert login(browser, user).headers["Location"] == start, user.email
        home = browser.get("/")
        assert home.status_int == 200 if start == "/" else home.headers["Location"] == start
    # a next= the login was asked for still wins
    browser = make_testapp()
    form = browser.get("/login?next=/account/").forms["login-form"]
    form["email"], form["password"] = partner.user.email, PASSWORD
    assert form.submit().headers["Location"] == "/account/"


def test_the_staff_home_is_a_queue_of_what_waits(testapp, login_as, create_user):
    from rules import partners

    factories.create_partner()  # approved: nothing to decide
    partners.apply(create_user(), company="New", vat_number="BG123456789", expected_hostings=3)
    db.session.commit()
    page = login_as(create_user(is_staff=True)).get("/staff/")
    assert (
        "1 заявка за партньорство чака решение" in page.html.select_one("#queue-applications").text
    )
    assert not page.html.select("#queue-withdrawals")
