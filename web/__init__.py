"""The Partner Program web application: create_app() binds settings, extensions and blueprints."""

import functools
import hashlib
import json
import logging
from pathlib import Path

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from affiliate.app import create_link_app, serve_links
from config import BASE_DIR, INSTANCE_DIR, check_mail, config_from_env
from models import LANGUAGES, database, db
from rules import access, audit, commissions, listings, partners, passwords
from web import audit_text, cli, errors, htmx, idempotency, labels, security
from web import mail as outgoing_mail
from web.extensions import babel, csrf, limiter, login_manager, migrate
from web.i18n import select_locale
from web.landing import landing_url

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: how many panels the header's switcher lists before "All panels"
SWITCHER_SIZE = 10

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


class BoundedInt(IntegerConverter):
    """``<int:...>`` that fits a 64-bit column: a 30-digit id is simply not found."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class PartnerProgram(Flask):
    """Flask, with each request's transaction mode chosen up front and conflicts retried."""

    def full_dispatch_request(self):
        # Decided before any hook runs: the first query (often the session's user) begins the
        # transaction, and on SQLite that BEGIN must already be IMMEDIATE for a writer.
        view = self.view_functions.get(request.endpoint)
        deferred = request.method in SAFE_METHODS or database.begins_deferred(view)
        token = database.mark_read_only(deferred)
        try:
            # A retry runs the hooks again; objects are re-read in the new transaction.
            return database.run_with_retry(
                super().full_dispatch_request, attempts=self.config["DB_RETRY_ATTEMPTS"]
            )
        except database.UNAVAILABLE as error:
            # Still locked after the retries, or not reachable: nothing was committed.
            return self.finalize_request(errors.database_unavailable(error))
        finally:
            database.reset_read_only(token)


def create_app(config_object=None, **overrides):
    """Build the app from a settings class (APP_ENV's by default) and explicit overrides."""
    config_object = config_object or config_from_env()
    app = PartnerProgram(__name__, instance_path=str(INSTANCE_DIR))
    app.url_map.converters["int"] = BoundedInt
    app.config.from_object(config_object)
    app.config.update(overrides)
    config_object.prepare(app.config)
    security.trust_proxies(app)
    if config_object.ENV_NAME == "development":
        app.logger.setLevel(logging.INFO)
    check_mail(app.config, production=config_object.ENV_NAME == "production")
    # the default SQLite file, the env file and the provisioning files live here: owner only
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)

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
    outgoing_mail.init_app(app)
    _serve_affiliate_links(app, config_object, overrides)
    _register_blueprints(app)
    _init_request_hooks(app)
    cli.init_app(app)
    return app


def _init_database(app):
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)


def _serve_affiliate_links(app, config_object, overrides):
    """Answer /partners/<number> with the link's own small app (DESIGN.md 3.7: the hottest
    path), on this app's database engine: a click skips the panel's per-request work."""
    with app.app_context():
        engine = db.engine
    link_app = create_link_app(config_object, engine=engine, **overrides)
    app.extensions["affiliate"] = link_app.extensions["affiliate"]
    app.extensions["affiliate_link_app"] = link_app
    app.wsgi_app = serve_links(app.wsgi_app, link_app)


def _static_version(endpoint, values):
    """Give static URLs their file's version (?v=<hash of the contents>), so that nginx or
    Apache may let browsers keep them for a week and a release is still seen at once."""
    if endpoint == "static" and "filename" in values:
        values.setdefault("v", _content_hash(Path(current_app.static_folder) / values["filename"]))


@functools.lru_cache(maxsize=256)
def _content_hash(path):
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None  # no such file: the URL says so (404), without a version


def _register_blueprints(app):
    from web.blueprints import (
        access,
        account,
        affiliate_pages,
        auth,
        billing,
        catalogue,
        domains,
        invitations,
        mail,
        main,
        moves,
        orders,
        panels,
        partner,
        partner_money,
        sites,
        staff,
        staff_catalogue,
        staff_mail,
        webhooks,
    )

    for module in (
        main,
        auth,
        account,
        panels,
        access,
        moves,
        domains,
        sites,
        mail,
        invitations,
        partner,
        partner_money,
        staff,
        staff_catalogue,
        staff_mail,
        catalogue,
        orders,
        billing,
        webhooks,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(affiliate_pages.bp)
    app.register_blueprint(affiliate_pages.staff_bp)


def _init_request_hooks(app):
    app.after_request(htmx.move_flashes_to_trigger)
    app.after_request(security.set_security_headers)
    app.url_defaults(_static_version)

    app.jinja_env.filters.update(
        money=labels.money,
        discount=labels.discount,
        percent=labels.percent,
        period=labels.period,
        idn=labels.idn,
        date=labels.date,
        datetime=labels.datetime,
        time=labels.time,
        month=labels.month,
        number=labels.number,
        megabytes=labels.megabytes,
    )
    app.jinja_env.globals.update(
        switcher_panels=lambda: listings.visible_panels(current_user, per_page=SWITCHER_SIZE),
        partner_of=partners.partner_of,
        partner_company=partners.company_of,
        earner_of_panel=lambda panel_id: partners.company_of(
            commissions.attributed_partner_id(panel_id)
        ),
        group_labels=access.GROUP_LABELS,
        audit_actions=audit.ACTIONS,
        product_status_labels=labels.PRODUCT_STATUS,
        partner_status_labels=labels.PARTNER_STATUS,
        invitation_kind_labels=labels.INVITATION_KIND,
        plan_kind_labels=labels.PLAN_KIND,
        invoice_status_labels=labels.INVOICE_STATUS,
        paid_via_labels=labels.PAID_VIA,
        top_up_status_labels=labels.TOP_UP_STATUS,
        transfer_kind_labels=labels.TRANSFER_KIND,
        transfer_phase_labels=labels.TRANSFER_PHASE,
        withdrawal_status_labels=labels.WITHDRAWAL_STATUS,
        account_kind_labels=labels.ACCOUNT_KIND,
        commission_status_labels=labels.COMMISSION_STATUS,
        move_status_labels=labels.MOVE_STATUS,
        ssl_labels=labels.SSL_STATUS,
        target_labels=labels.TARGET_KIND,
        new_idempotency_key=idempotency.new_key,
        product_name=labels.product_name,
        landing_url=landing_url,
        line_name=labels.line_name,
        audit_details=audit_text.describe,
    )

    @app.context_processor
    def _template_globals():
        return {
            "htmx_config": json.dumps(HTMX_CONFIG, separators=(",", ":")),
            "current_language": str(get_locale()),
            "languages": LANGUAGES,
        }
