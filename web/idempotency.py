"""Idempotency keys for money POSTs (DESIGN.md 3.5): a double click or a retry acts once.

Each money form carries a hidden ``idempotency_key`` made when the form is rendered. The
first POST with a key stores a record (key, user, a fingerprint of what was asked) in the
same transaction as the work; a replay of the same form goes where the first one went, a
replay with other contents is refused, and concurrent twins meet the unique constraint, so
only one of them runs. A failed attempt rolls its record back with everything else, so the
same form can simply be sent again.
"""

import hashlib
import json
import re
import secrets
from functools import wraps

from flask import flash, make_response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import IdempotencyRecord, db
from rules.errors import DomainError
from web import htmx

FIELD = "idempotency_key"
KEY = re.compile(r"[0-9a-f]{32}")
IGNORED = {"csrf_token", FIELD}


class KeyProblem(DomainError):
    status = 422


def new_key():
    return secrets.token_hex(16)


def _fingerprint(view_args):
    fields = sorted(
        (name, value) for name, value in request.form.items(multi=True) if name not in IGNORED
    )
    raw = json.dumps([request.endpoint, view_args, fields], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _find(key):
    return db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))


def _replay(record, fingerprint):
    if record.user_id != current_user.id or record.fingerprint != fingerprint:
        raise KeyProblem(
            _l("This form was already sent with other contents. Reload the page to start again.")
        )
    if record.location is None:
        raise KeyProblem(_l("This form is still being handled. Wait a moment and reload."))
    flash(_l("This was already done; nothing was repeated."), "info")
    return htmx.full_page_redirect(record.location)


def idempotent(view):
    """Run a money POST once per key.

    The view does its work without committing and ends in a redirect (303 or HX-Redirect);
    this commits the work together with the record of where it led. A view that answers
    anything else (a 422 form) is not committed, and its key stays usable.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.form.get(FIELD, "")
        if not KEY.fullmatch(key):
            raise KeyProblem(
                _l("This form has no valid one-time key. Reload the page and try again.")
            )
        fingerprint = _fingerprint(kwargs)
        record = _find(key)
        if record is not None:
            return _replay(record, fingerprint)
        record = IdempotencyRecord(key=key, user_id=current_user.id, fingerprint=fingerprint)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:
            # a concurrent twin got there first (and has committed)
            db.session.rollback()
            return _replay(_find(key), fingerprint)
        response = make_response(view(*args, **kwargs))
        location = response.headers.get("HX-Redirect") or response.headers.get("Location")
        if location:
            record.location = location
            db.session.commit()
        else:
            db.session.rollback()
        return response

    return wrapper
