"""refusal(): a rule's refusal undoes what it flushed and lands on the form; the rest passes."""

import pytest
from flask_wtf import FlaskForm
from wtforms import StringField

from models import User, db
from rules.errors import DomainError, NotFound
from tests import factories
from tests.conftest import sqlite_only
from web.refusals import refusal

pytestmark = sqlite_only


class NameForm(FlaskForm):
    name = StringField()


class Busy(DomainError):
    status = 409

    def default_message(self):
        return "busy"


class NameTaken(DomainError):
    field = "name"

    def default_message(self):
        return "taken"


@pytest.fixture
def form(app):
    with app.test_request_context(method="POST"):
        yield NameForm(meta={"csrf": False})


def test_a_refusal_undoes_the_flush_and_shows_above_the_form(app, form):
    user = factories.create_user(name="Ana")
    with refusal(form) as refused:
        user.name = "Changed"
        db.session.flush()
        raise Busy()
    assert refused
    assert (refused.status, refused.message) == (409, "busy")
    assert form.form_errors == ["busy"]
    assert db.session.get(User, user.id).name == "Ana"


def test_a_refusal_naming_a_field_is_shown_on_that_field(app, form):
    with refusal(form) as refused:
        raise NameTaken()
    assert refused
    assert form.name.errors == ["taken"]
    assert form.form_errors == []


def test_without_a_refusal_the_work_waits_for_the_view_to_commit(app, form):
    user = factories.create_user(name="Ana")
    with refusal(form) as refused:
        user.name = "Changed"
    assert not refused
    assert form.form_errors == []
    db.session.commit()
    assert db.session.get(User, user.id).name == "Changed"


def test_let_through_errors_and_other_exceptions_reach_the_caller(app):
    with pytest.raises(NotFound), refusal(let_through=NotFound):
        raise NotFound()
    with pytest.raises(ValueError), refusal():
        raise ValueError("a bug, not a refusal")
