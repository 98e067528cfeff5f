import pytest

from rules import passwords


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("short7!", True),  # 7 characters, one under the minimum
        ("eight8ch", False),  # exactly 8
        ("x" * 128, False),  # exactly the maximum
        ("x" * 129, True),  # one over
        ("password1", True),  # among the commonest
        ("PassWord1", True),  # common whatever the case
        ("qwertyuiop", True),
        ("alice@example.com", True),  # the email itself
        ("ALICE@example.com", True),
        ("correct horse battery", False),
        ("Паролата-ми-е-дълга", False),  # Cyrillic is fine
    ],
)
def test_password_policy(password, refused):
    problem = passwords.password_problem(password, email="alice@example.com")
    assert (problem is not None) is refused


def test_commonest_passwords_list_is_loaded():
    assert {"password", "12345678", "iloveyou", "sunshine"} & passwords.COMMON_PASSWORDS
    assert len(passwords.COMMON_PASSWORDS) > 1000


def test_hash_is_argon2id_and_verifies():
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "correct horse batterY")
    assert not passwords.verify_password("not-a-hash", "anything")


def test_changed_cost_asks_for_rehash():
    old = passwords._hasher
    try:
        passwords.configure(time_cost=1, memory_cost=1024)
        cheap = passwords.hash_password("correct horse battery")
        passwords.configure(time_cost=2, memory_cost=2048)
        assert passwords.needs_rehash(cheap)
        assert not passwords.needs_rehash(passwords.hash_password("correct horse battery"))
    finally:
        passwords._hasher = old
