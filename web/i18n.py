"""Language choice: the user's preference, then the language switch, then Accept-Language."""

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale():
    """Return the language code for the current request."""
    languages = current_app.config["LANGUAGES"]
    if has_request_context():
        if current_user and current_user.is_authenticated:
            return current_user.language
        if session.get("lang") in languages:
            return session["lang"]
        match = request.accept_languages.best_match(languages)
        if match:
            return match
    return current_app.config["BABEL_DEFAULT_LOCALE"]
