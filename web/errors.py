"""Error pages in both languages, as full pages and as fragments."""

import time

from flask import current_app, flash, make_response, request, session
from flask.globals import request_ctx
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from models import DEFAULT_LANGUAGE, LANGUAGES, db
from rules.errors import DomainError
from web import htmx, sessions
from web.extensions import limiter

ERRORS = {
    400: (_l("Bad request"), _l("The request could not be understood. Check what you sent.")),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    403: (_l("Not allowed"), _l("You do not have the rights needed for this action.")),
    404: (_l("Not found"), _l("There is no such page, or it is not visible to you.")),
    405: (_l("Method not allowed"), _l("This address does not accept this kind of request.")),
    410: (_l("No longer valid"), _l("This link or request is no longer valid.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Cannot process"), _l("Some of the data is not valid. Correct it and try again.")),
    429: (_l("Too many requests"), _l("Too many attempts. Wait a little and try again.")),
    500: (_l("Something went wrong"), _l("An error on our side. It has been logged; try again.")),
    503: (_l("Not available"), _l("This is not available at the moment. Try again later.")),
}

CSRF_MESSAGE = _l(
    "The form has expired or was not sent from this site. Reload the page and try again."
)


def render_error(status, message=None):
    """Render the error page (or fragment) for ``status`` with an optional specific message."""
    title, default = ERRORS.get(status) or ERRORS[400 if status < 500 else 500]
    message = message or default
    response = make_response(
        htmx.render("errors/error.html", "errors/_error.html", status, title=title, message=message)
    )
    if htmx.is_partial():
        # htmx does not swap most 4xx/5xx answers; the message still reaches the user.
        htmx.add_flash_trigger(response, [("error", message)])
    return response


def _too_many_message():
    limit = limiter.current_limit
    wait = max(1, limit.reset_at - int(time.time())) if limit else 60
    minutes = max(1, round(wait / 60))
    return _l("Too many attempts. Try again in %(minutes)d min.", minutes=minutes)


def handle_http_error(error):
    code = error.code or 500
    if request_ctx.url_adapter is None:
        # a Host not in TRUSTED_HOSTS: no URL can be built for this request, so no page
        return make_response(f"{code} {error.name}\n", code, {"Content-Type": "text/plain"})
    response = render_error(code, _too_many_message() if code == 429 else None)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_csrf_error(error):
    response = render_error(400, CSRF_MESSAGE)
    if htmx.is_htmx() and "csrf_token" not in session:
        # The session itself is gone (expired or cleared): show the login page, not a dead form.
        flash(_l("Your session has ended. Please log in again."), "info")
        htmx.client_redirect(response, sessions.login_url())
    return response


def handle_domain_error(error):
    # Whatever the refused rule had flushed must not show on the error page (or anywhere).
    db.session.rollback()
    return render_error(error.status, error.message)


#: seconds a client is asked to wait after a 503 (the database was busy or away)
RETRY_AFTER_SECONDS = 10


def database_unavailable(error):
    """A page that needs no database: the service is busy, nothing was changed, try again."""
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", error, exc_info=error)
    language = language_without_database()
    with force_locale(language):
        title = _("The service is busy")
        message = _(
            "Your request was not carried out, and nothing was changed. Try again in a few seconds."
        )
        # straight from the template: the context processors would load the user
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        page = template.render(title=title, message=message, current_language=language)
        response = make_response(page, 503)
        if htmx.is_htmx():
            htmx.add_flash_trigger(response, [("error", message)])
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def language_without_database():
    """The visitor's language from the session or the browser (the user row is not read)."""
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def handle_server_error(error):
    db.session.rollback()
    return render_error(500)


def init_app(app):
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.before_request(_refuse_bad_request_targets)


def _refuse_bad_request_targets():
    # PostgreSQL refuses NUL in text; answer 400 before any view can pass one on.
    values = [request.path, *(v for _, v in request.args.items(multi=True))]
    if request.method == "POST" and request.mimetype in FORM_TYPES:
        values.extend(v for _, v in request.form.items(multi=True))
    if any("\x00" in value for value in values):
        return render_error(400)
    return None


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
