"""The Partner Program web application: create_app() binds settings, extensions and blueprints."""

import json
import logging

from flask import Flask, g, request
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, INSTANCE_DIR, config_from_env
from models import db
from rules import passwords
from web import cli, database, errors, htmx, security
from web.extensions import babel, csrf, limiter, login_manager, migrate
from web.i18n import select_locale

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

#: htmx settings (STYLE.md): no eval, no inline scripts, same-origin only, 422 swapped
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
    "historyRestoreAsHxRequest": False,
    "includeIndicatorStyles": False,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "422", "swap": True},
        {"code": "[45]..", "swap": False, "error": True},
    ],
}


class PartnerProgram(Flask):
    """Flask, with views re-run when the database asks for a retry (deadlock, serialization)."""

    def dispatch_request(self):
        return database.run_with_retry(
            lambda: Flask.dispatch_request(self), attempts=self.config["DB_RETRY_ATTEMPTS"]
        )


def create_app(config_object=None, **overrides):
    """Build the app from a settings class (APP_ENV's by default) and explicit overrides."""
    config_object = config_object or config_from_env()
    app = PartnerProgram(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_object)
    app.config.update(overrides)
    config_object.prepare(app.config)
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if config_object.ENV_NAME == "development":
        app.logger.setLevel(logging.INFO)

    _init_database(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are versioned and time-limited instead
    passwords.configure(
        time_cost=app.config["ARGON2_TIME_COST"], memory_cost=app.config["ARGON2_MEMORY_COST"]
    )
    errors.init_app(app)
    _register_blueprints(app)
    _init_request_hooks(app)
    cli.init_app(app)
    return app


def _init_database(app):
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)


def _register_blueprints(app):
    from web.blueprints import account, auth, main

    for module in (main, auth, account):
        app.register_blueprint(module.bp)


def _init_request_hooks(app):
    @app.before_request
    def _declare_read_only():
        # Must run first: it decides how SQLite begins this request's transaction.
        g.read_only_token = database.mark_read_only(request.method in SAFE_METHODS)

    app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())

    @app.teardown_request
    def _forget_read_only(_exc):
        token = g.pop("read_only_token", None)
        if token is not None:
            database.reset_read_only(token)

    app.after_request(htmx.move_flashes_to_trigger)
    app.after_request(security.set_security_headers)

    @app.context_processor
    def _template_globals():
        return {
            "htmx_config": json.dumps(HTMX_CONFIG, separators=(",", ":")),
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": app.config["LANGUAGES"],
        }
