"""Refusals at the web layer: request input the views refuse before any rule runs."""

from flask_babel import lazy_gettext as _l

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
