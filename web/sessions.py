"""Login sessions per ASVS: fresh on login, versioned per user, idle and absolute lifetimes."""

import time
from functools import wraps

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response

from affiliate.redirects import is_local_path
from models import User, db
from web import htmx
from web.extensions import login_manager


def start_session(user):
    """Log the user in on a brand-new session (nothing from before login survives)."""
    if isinstance(user, LocalProxy):
        user = user._get_current_object()  # the proxy itself would make current_user recurse
    session.clear()
    login_user(user, remember=False)
    session.permanent = True  # the cookie expires with PERMANENT_SESSION_LIFETIME
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now


def refresh_session(user):
    """Keep this session valid after the user's session version was bumped on purpose.

    The login time stays (a password change does not extend the absolute lifetime) and so
    does the CSRF token, so that the other forms already on the page still work.
    """
    kept = {key: session[key] for key in ("auth_at", "csrf_token") if key in session}
    start_session(user)
    session.update(kept)


def end_session():
    """Log out this browser; the caller bumps the version to end the other sessions too."""
    logout_user()
    session.clear()


def _session_expired(now):
    config = current_app.config
    auth_at, seen_at = session.get("auth_at"), session.get("seen_at")
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        return True
    absolute = config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    idle = config["SESSION_IDLE_TIMEOUT"].total_seconds()
    return now - auth_at > absolute or now - seen_at > idle or auth_at > now + 60


@login_manager.user_loader
def load_user(session_id):
    """Return the user of a session cookie that is still valid, else None (and forget it)."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        session.clear()
        return None
    user = db.session.get(User, int(user_id))
    now = int(time.time())
    if user is None or user.session_version != int(version) or _session_expired(now):
        session.clear()
        return None
    if now - session["seen_at"] >= 60:  # write the cookie at most once a minute
        session["seen_at"] = now
    return user


def login_url():
    """Return the login URL that brings the user back to the current page."""
    if request.method == "GET" and not htmx.is_htmx():
        target = request.full_path.rstrip("?")
    else:
        current = request.headers.get("HX-Current-URL", "")
        host = request.host_url.rstrip("/")
        target = current[len(host) :] if current.startswith(host + "/") else None
    return url_for("auth.login", next=target if is_local_path(target) else None)


@login_manager.unauthorized_handler
def unauthorized():
    """Send the visitor to the login page; htmx requests get a full-page redirect."""
    flash(_l("Please log in to continue."), "info")
    url = login_url()
    if htmx.is_htmx():
        return htmx.client_redirect(Response(status=401), url)
    return redirect(url, 303 if request.method != "GET" else 302)


def is_fresh():
    """Whether the password was checked recently enough for a sensitive action."""
    auth_at = session.get("auth_at")
    limit = current_app.config["FRESH_LOGIN_TIMEOUT"].total_seconds()
    return isinstance(auth_at, int) and time.time() - auth_at <= limit


def mark_fresh():
    """The user just typed the password again: the session counts as a fresh login."""
    session["auth_at"] = int(time.time())


def fresh_login_required(view):
    """Ask for the password again first unless it was given in the last few minutes."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if is_fresh():
            return view(*args, **kwargs)
        flash(_l("For your safety, enter your password again to continue."), "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
        target = target if is_local_path(target) else None
        if target is None and request.referrer:
            host = request.host_url.rstrip("/")
            if request.referrer.startswith(host + "/"):
                target = request.referrer[len(host) :]
        url = url_for("account.reauthenticate", next=target)
        return htmx.full_page_redirect(url) if request.method != "GET" else redirect(url)

    return wrapper
