"""Builders for test data: plain callables that commit what they make."""

import itertools

from models import db
from rules import users

PASSWORD = "correct horse battery"  # passes the policy; never in the common list

_numbers = itertools.count(1)


def create_user(email=None, *, name=None, password=PASSWORD, language="bg", is_staff=False):
    """Register a user through the real rule and commit it."""
    n = next(_numbers)
    user = users.register_user(
        email=email or f"user{n}@example.com",
        name=name or f"User {n}",
        password=password,
        language=language,
    )
    user.is_staff = is_staff
    db.session.commit()
    return user
