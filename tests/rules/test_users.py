import pytest
import time_machine

from models import User, db
from rules import passwords, users
from tests.factories import PASSWORD

SECRET = "secret-for-tokens"


def test_register_normalizes_email_and_hashes_password(app):
    user = users.register_user(email="  Maria@Example.COM ", name=" Мария ", password=PASSWORD)
    assert user.email == "maria@example.com"
    assert user.name == "Мария"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize("email", ["MARIA@example.com", "maria@EXAMPLE.com"])
def test_register_refuses_taken_email_in_any_case(app, create_user, email):
    create_user("maria@example.com")
    with pytest.raises(users.EmailTaken):
        users.register_user(email=email, name="Other", password=PASSWORD)


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.example", "a b@example.com", ""])
def test_register_refuses_invalid_email(app, email):
    with pytest.raises(users.InvalidEmail):
        users.register_user(email=email, name="X", password=PASSWORD)


def test_register_refuses_weak_password(app):
    with pytest.raises(users.WeakPassword):
        users.register_user(email="a@example.com", name="A", password="password1")
    assert db.session.query(User).count() == 0


def test_authenticate_gives_one_error_for_unknown_email_and_wrong_password(app, create_user):
    create_user("maria@example.com")
    with pytest.raises(users.InvalidCredentials) as unknown:
        users.authenticate("nobody@example.com", PASSWORD)
    with pytest.raises(users.InvalidCredentials) as wrong:
        users.authenticate("maria@example.com", "wrong password")
    assert str(unknown.value.message) == str(wrong.value.message)


def test_authenticate_rehashes_outdated_hash(app, create_user):
    user = create_user("maria@example.com")
    old_hash = user.password_hash
    original = passwords._hasher
    try:
        passwords.configure(time_cost=2, memory_cost=2048)
        assert users.authenticate("MARIA@example.com", PASSWORD) is user
        assert user.password_hash != old_hash
        assert "t=2" in user.password_hash
    finally:
        passwords._hasher = original


def test_change_password_needs_current_one_and_revokes_sessions(app, create_user):
    user = create_user()
    version = user.session_version
    with pytest.raises(users.WrongPassword):
        users.change_password(user, current_password="nope", new_password="new long password")
    assert user.session_version == version
    users.change_password(user, current_password=PASSWORD, new_password="new long password")
    assert passwords.verify_password(user.password_hash, "new long password")
    assert user.session_version == version + 1


def test_change_email_checks_password_and_uniqueness(app, create_user):
    create_user("taken@example.com")
    user = create_user("me@example.com")
    with pytest.raises(users.WrongPassword):
        users.change_email(user, current_password="nope", new_email="new@example.com")
    with pytest.raises(users.EmailTaken):
        users.change_email(user, current_password=PASSWORD, new_email="TAKEN@example.com")
    users.change_email(user, current_password=PASSWORD, new_email="New@Example.com")
    assert user.email == "new@example.com"


def test_reset_token_is_single_use(app, create_user):
    user = create_user()
    token = users.make_reset_token(user, SECRET)
    assert users.user_for_reset_token(token, SECRET, max_age_seconds=3600) is user
    users.set_password(user, "a brand new password")
    with pytest.raises(users.InvalidResetToken):
        users.user_for_reset_token(token, SECRET, max_age_seconds=3600)


def test_reset_token_expires(app, create_user):
    user = create_user()
    with time_machine.travel("2026-11-01 10:00:00Z", tick=False):
        token = users.make_reset_token(user, SECRET)
    with time_machine.travel("2026-11-01 10:59:59Z", tick=False):
        assert users.user_for_reset_token(token, SECRET, max_age_seconds=3600) is user
    with (
        time_machine.travel("2026-11-01 11:00:02Z", tick=False),
        pytest.raises(users.InvalidResetToken),
    ):
        users.user_for_reset_token(token, SECRET, max_age_seconds=3600)


@pytest.mark.parametrize("mangle", [lambda t: t + "x", lambda t: t[:-2], lambda t: "x" + t[1:]])
def test_tampered_or_foreign_reset_tokens_are_refused(app, create_user, mangle):
    user = create_user()
    token = users.make_reset_token(user, SECRET)
    with pytest.raises(users.InvalidResetToken):
        users.user_for_reset_token(mangle(token), SECRET, max_age_seconds=3600)
    with pytest.raises(users.InvalidResetToken):
        users.user_for_reset_token(token, "another-secret", max_age_seconds=3600)
