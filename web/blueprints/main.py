"""The home page, the language switch and the health check."""

from flask import Blueprint, jsonify, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from affiliate.redirects import safe_next
from models import Invitation, db
from rules import invitations, users
from web import errors
from web.forms import LanguageForm
from web.landing import landing_url

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the program to a visitor; a user goes where it starts (its dashboard, panel or
    queue) unless invitations wait for it here."""
    waiting = []
    if current_user.is_authenticated:
        waiting = invitations.waiting(Invitation.email == current_user.email)
        start = landing_url(current_user)
        if not waiting and start != url_for("main.index"):
            return redirect(start)
    return render_template("main/index.html", waiting=waiting)


@bp.post("/language")
def set_language():
    """Switch the interface language, remembered for the user or for this browser."""
    form = LanguageForm()
    if not form.validate():
        return errors.render_error(400, _("Choose one of the offered languages."))
    if current_user.is_authenticated:
        users.set_language(current_user, form.language.data)
        db.session.commit()
    else:
        session["lang"] = form.language.data
    return redirect(safe_next(form.next.data, url_for("main.index")), 303)


@bp.get("/healthz")
def health():
    """Answer 200 when the app can reach its database (for load balancers and uptime checks)."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
