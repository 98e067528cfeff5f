"""Confirming an email address: by its link, by an invitation's or a reset's link; and why."""

import re

from models import Group, User, db
from tests import factories
from tests.conftest import login
from tests.factories import PASSWORD
from tests.web.test_routes import csrf_token


def link_in(message):
    return re.search(r"http://\S+", message.get_content()).group(0).split("localhost", 1)[-1]


def test_sign_up_sends_a_link_that_confirms_the_address(testapp, outbox):
    form = testapp.get("/signup").forms["signup-form"]
    form["email"], form["name"] = "fresh@example.com", "Fresh"
    form["password"] = form["confirm"] = "a long new password"
    form.submit()
    user = db.session.query(User).one()
    assert not user.email_verified
    assert "още не е потвърден" in testapp.get("/account/").text
    [message] = outbox.to("fresh@example.com")
    page = testapp.get(link_in(message))
    db.session.refresh(user)
    assert not user.email_verified  # opening the link changes nothing by itself
    page.forms["confirm-form"].submit()
    db.session.refresh(user)
    assert user.email_verified
    assert "Адресът ви е потвърден." in testapp.get("/account/").text


def test_a_link_for_an_old_address_confirms_nothing(testapp, login_as, outbox):
    user = factories.create_user("old@example.com", verified=False)
    login_as(user)
    testapp.get("/account/").forms["resend-form"].submit()
    [message] = outbox.to("old@example.com")
    form = testapp.get("/account/").forms["email-form"]
    form["email"], form["current_password"] = "new@example.com", PASSWORD
    form.submit()
    response = testapp.post(
        link_in(message), {"csrf_token": csrf_token(testapp)}, expect_errors=True
    )
    assert response.status_int == 400
    db.session.refresh(user)
    assert not user.email_verified


def test_tampered_confirmation_link_is_refused(testapp):
    response = testapp.post(
        "/email/confirm/not-a-token", {"csrf_token": csrf_token(testapp)}, expect_errors=True
    )
    assert response.status_int == 400
    assert "невалидна или изтекла" in response.text


def test_unconfirmed_accounts_are_invited_not_granted_at_once(testapp, login_as, outbox):
    panel = factories.create_panel()
    squatter = factories.create_user("boss@example.com", verified=False)
    login_as(panel.owner)
    form = testapp.get(f"/panels/{panel.number}/access/").forms["add-person-form"]
    form["email"] = "boss@example.com"
    form["can_billing"] = True
    form.submit()
    from rules import panels

    assert panels.grant_of(panel, squatter) is None
    [invitation_mail] = outbox.to("boss@example.com")  # only the real mailbox can accept
    other = testapp.__class__(testapp.app)
    login(other, squatter)
    path = re.search(r"/invitations/\S+", invitation_mail.get_content()).group(0)
    other.get(path).forms["accept-form"].submit()
    db.session.refresh(squatter)
    assert squatter.email_verified  # the token proved the mailbox
    assert panels.grant_of(panel, squatter).groups == Group.BILLING


def test_password_reset_by_link_confirms_the_address(testapp, outbox):
    user = factories.create_user("lost@example.com", verified=False)
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "lost@example.com"
    form.submit()
    [message] = outbox.to("lost@example.com")
    form = testapp.get(link_in(message)).forms["reset-form"]
    form["password"] = form["confirm"] = "a new long password"
    form.submit()
    db.session.refresh(user)
    assert user.email_verified
