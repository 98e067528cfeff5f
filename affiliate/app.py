"""The affiliate link as its own small Flask app (see ``affiliate.wsgi``)."""

from flask import Flask
from flask.sessions import SessionInterface

from affiliate import views
from config import config_from_env
from models import db
from web import database, security


class NoSession(SessionInterface):
    """The link keeps no session: nothing to read or sign per click."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def create_link_app(config_object=None, **overrides):
    """A Flask app with only the database and the affiliate blueprint."""
    config_object = config_object or config_from_env()
    app = Flask(__name__)
    app.config.from_object(config_object)
    app.config.update(overrides)
    config_object.prepare(app.config)
    security.trust_proxies(app)
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    views.init_app(app)
    app.register_blueprint(views.bp)

    app.session_interface = NoSession()

    @app.get("/")
    def health():
        return "ok\n", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}

    return app
