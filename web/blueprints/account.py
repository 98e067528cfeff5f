"""The user's own settings: name and language, password, email."""

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from affiliate.redirects import is_local_path
from models import db
from rules import users
from web import htmx, notify, sessions
from web.extensions import limiter
from web.forms import ChangeEmailForm, ChangePasswordForm, ProfileForm, ReauthenticateForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def _forms(**given):
    forms = {
        "profile_form": ProfileForm(obj=current_user, formdata=None),
        "password_form": ChangePasswordForm(formdata=None),
        "email_form": ChangeEmailForm(formdata=None),
    }
    forms.update(given)
    return forms


def _answer(fragment, form_name, form, ok, status=200):
    """Answer a section's POST: its fragment for htmx, else the page or a redirect to it."""
    if ok and not htmx.is_partial():
        return redirect(url_for("account.show"), 303)
    if not ok:
        status = 422
    elif form_name != "profile_form":
        form = type(form)(formdata=None)  # never send a password back
    return htmx.render("account/show.html", fragment, status, **_forms(**{form_name: form}))


@bp.get("/")
def show():
    """Show the account settings."""
    return render_template("account/show.html", **_forms())


@bp.post("/profile")
def update_profile():
    """Change the name and the preferred language."""
    form = ProfileForm()
    ok = form.validate()
    header_changed = False
    if ok:
        header_changed = (form.name.data.strip(), form.language.data) != (
            current_user.name,
            current_user.language,
        )
        users.update_profile(current_user, name=form.name.data, language=form.language.data)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
    response = make_response(_answer("account/_profile.html", "profile_form", form, ok))
    if header_changed:
        response.headers["HX-Refresh"] = "true"  # the header shows the name, and the language
    return response


@bp.post("/password")
def change_password():
    """Change the password; other sessions end, this one goes on."""
    form = ChangePasswordForm()
    ok = form.validate()
    if ok:
        try:
            users.change_password(
                current_user,
                current_password=form.current_password.data,
                new_password=form.password.data,
            )
        except users.WrongPassword as error:
            form.current_password.errors.append(error.message)
            ok = False
        except users.WeakPassword as error:
            form.password.errors.append(error.message)
            ok = False
        else:
            db.session.commit()
            sessions.refresh_session(current_user)
            flash(_("Your password is changed. Other sessions have been logged out."), "success")
    return _answer("account/_password.html", "password_form", form, ok)


@bp.post("/email")
def change_email():
    """Change the login email after confirming the password; the old address is told."""
    form = ChangeEmailForm()
    ok = form.validate()
    old_email = current_user.email
    if ok:
        try:
            users.change_email(
                current_user,
                current_password=form.current_password.data,
                new_email=form.email.data,
            )
        except users.WrongPassword as error:
            form.current_password.errors.append(error.message)
            ok = False
        except (users.InvalidEmail, users.EmailTaken, users.SameEmail) as error:
            form.email.errors.append(error.message)
            ok = False
        else:
            notify.email_changed(old_email, current_user)
            notify.email_verification(current_user)
            db.session.commit()
            sessions.refresh_session(current_user)
            flash(_("Your email is changed. Other sessions have been logged out."), "success")
    response = make_response(_answer("account/_email.html", "email_form", form, ok))
    if ok:
        response.headers["HX-Refresh"] = "true"  # the page shows the address and its status
    return response


@bp.get("/confirm")
def reauthenticate():
    """Ask for the password again before a sensitive action (a fresh login)."""
    form = ReauthenticateForm()
    next_url = request.args.get("next")
    form.next.data = next_url if is_local_path(next_url) else None
    return render_template("account/reauthenticate.html", form=form)


@bp.post("/confirm")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def reauthenticate_submit():
    """Check the password; the session counts as freshly logged in and goes on."""
    form = ReauthenticateForm()
    if form.validate():
        try:
            users.confirm_password(current_user, form.password.data)
        except users.WrongPassword as error:
            form.password.errors.append(error.message)
        else:
            sessions.mark_fresh()
            target = form.next.data if is_local_path(form.next.data) else url_for("main.index")
            return redirect(target, 303)
    return render_template("account/reauthenticate.html", form=form), 422
