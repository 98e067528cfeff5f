"""The affiliate link as its own small Flask app: on a link host (``affiliate.wsgi``), and
inside the main app, which hands every /partners/ request to it before its own machinery
(sessions, CSRF, rate limits, languages) runs."""

from flask import Flask
from flask.sessions import SessionInterface
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from affiliate import views
from affiliate.links import PREFIX
from config import INSTANCE_DIR, config_from_env
from models import database, db


class NoSession(SessionInterface):
    """The link keeps no session: nothing to read or sign per click."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def create_link_app(config_object=None, *, engine=None, **overrides):
    """A Flask app with only the affiliate blueprint, counting clicks through ``engine`` (by
    default its own, made from the settings like the main app's)."""
    config_object = config_object or config_from_env()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), static_folder=None)
    app.config.from_object(config_object)
    app.config.update(overrides)
    config_object.prepare(app.config)
    if hops := app.config["PROXY_HOPS"]:  # the visitor's address, as the main app reads it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if engine is None:
        db.init_app(app)
        with app.app_context():
            engine = db.engine
        database.configure_engine(engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    views.init_app(app, engine)
    app.register_blueprint(views.bp)

    app.session_interface = NoSession()

    @app.get("/")
    def health():
        """Answer 200 while the link can reach its database (for load balancers)."""
        headers = {"Content-Type": "text/plain", "Cache-Control": "no-store"}
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except database.UNAVAILABLE:
            return "database unavailable\n", 503, {**headers, "Retry-After": "10"}
        return "ok\n", 200, headers

    return app


def serve_links(wsgi_app, link_app):
    """Wrap a WSGI app so that the link's paths go straight to ``link_app``: /partners/...,
    and /partners, which the link app sends on to /partners/."""

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/"):
            return link_app(environ, start_response)
        return wsgi_app(environ, start_response)

    return dispatch
