"""Named errors that domain functions raise and views turn into form errors or 4xx answers."""


class DomainError(Exception):
    """A rule refused an action; ``message`` is shown to the user (lazily translated).

    Without a message the error page says what its status means in general.
    """

    status = 422

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message()
        super().__init__(self.message)  # so str(error) is the message, whichever way it came

    def default_message(self):
        return None


class PermissionDenied(DomainError):
    """The user may see the object but lacks the right to act on it."""

    status = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the user."""

    status = 404
