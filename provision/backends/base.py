"""The interface every provisioning backend implements (docs/provisioning.md)."""

from provision.state import MailState, RegistryState, WebFacts, WebState, ZoneState


class BackendError(Exception):
    """Applying failed; the worker retries later with back-off. ``str(error)`` is shown."""


class PermanentBackendError(BackendError):
    """Applying can never work as asked (the server refused the data): no retry."""


class Backend:
    """Apply whole desired states, idempotently: the same state twice gives the same result.

    Each method gets the complete state of one target (a zone, a domain at the registry, a mail
    domain, a hosting account's sites), never a diff, so a backend needs no memory of earlier
    calls and a state applied again after a crash does no harm.
    """

    def apply_zone(self, state: ZoneState) -> None:
        raise NotImplementedError

    def apply_registry(self, state: RegistryState) -> None:
        raise NotImplementedError

    def apply_mail(self, state: MailState) -> None:
        raise NotImplementedError

    def apply_web(self, state: WebState) -> WebFacts:
        raise NotImplementedError
