"""Refusals at the web layer: request input the views refuse before any rule runs, and
``refusal()``, which turns a rule's refusal into the page that was sent, with its message."""

from contextlib import contextmanager

from flask_babel import lazy_gettext as _l

from models import db
from rules.errors import DomainError

# -- input a form or query string may not carry (422, shown like a rule's refusal) ---------


class PayerNotChosen(DomainError):
    def default_message(self):
        return _l("Choose who pays: you or your client.")


class PaymentSourceNotChosen(DomainError):
    def default_message(self):
        return _l("Choose how to pay.")


class NoProductsTicked(DomainError):
    def default_message(self):
        return _l("Tick the products to renew.")


class SourceOrderNotChosen(DomainError):
    def default_message(self):
        return _l("Choose which balance pays first.")


class DateNotIso(DomainError):
    def default_message(self):
        return _l("Enter dates as YYYY-MM-DD.")


class DateOutOfRange(DomainError):
    def default_message(self):
        return _l("Enter a date between the years 2000 and 2200.")


class PeriodReversed(DomainError):
    def default_message(self):
        return _l("The period ends before it starts.")


class ClientNotInList(DomainError):
    def default_message(self):
        return _l("Choose a client from the list.")


class FilterNotInList(DomainError):
    def default_message(self):
        return _l("Choose a filter from the list.")


class BodyTooLarge(DomainError):
    """A webhook body over the size we read; the provider gets this text, untranslated."""

    def default_message(self):
        return "body too large"


# -- showing a rule's refusal ----------------------------------------------------------------


def put_error(form, error):
    """Show a rule's refusal on the field it names, else above the form."""
    for name, message in getattr(error, "errors", {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    if getattr(error, "errors", None):
        return
    field = getattr(error, "field", None)
    if field and field in form:
        form[field].errors = [*form[field].errors, error.message]
    else:
        form.form_errors.append(error.message)


class Refused:
    """What ``refusal()`` caught: false until a rule refuses, then its message and status."""

    error = None

    def __bool__(self):
        return self.error is not None

    @property
    def message(self):
        return self.error.message

    @property
    def status(self):
        return self.error.status


@contextmanager
def refusal(form=None, *, let_through=()):
    """Run the block; if a rule refuses (DomainError), undo what it flushed and, given a
    ``form``, put the message on it. The ``as`` target is then true and carries the error,
    so the view answers with the page that was sent::

        with refusal(form) as refused:
            sites.add_site(product, ...)
        if refused:
            return page(form), refused.status

    Errors of the ``let_through`` classes propagate to the error page instead.
    """
    refused = Refused()
    try:
        yield refused
    except DomainError as error:
        if isinstance(error, let_through):
            raise
        db.session.rollback()
        refused.error = error
        if form is not None:
            put_error(form, error)
