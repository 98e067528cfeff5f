"""Language choice: the user's preference, then the language switch, then Accept-Language."""

from flask import has_request_context, request, session
from flask_login import current_user

from models import DEFAULT_LANGUAGE, LANGUAGES


def select_locale():
    """Return the language code for the current request."""
    if has_request_context():
        if current_user and current_user.is_authenticated:
            return current_user.language
        if session.get("lang") in LANGUAGES:
            return session["lang"]
        match = request.accept_languages.best_match(list(LANGUAGES))
        if match:
            return match
    return DEFAULT_LANGUAGE
