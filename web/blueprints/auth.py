"""Sign-up, login, logout and password reset."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from affiliate import clicks, links
from affiliate.redirects import safe_next
from config import secret_keys
from models import database, db
from rules import referrals, users
from web import htmx, notify, sessions
from web.extensions import limiter
from web.forms import EmptyForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm
from web.landing import landing_url

bp = Blueprint("auth", __name__)


def _limit(setting):
    return lambda: current_app.config[setting]


def _email_key():
    """The account a form's email names, as login finds it (full-width or upper-case forms of
    one address share one budget); text that is no address is keyed as typed."""
    typed = request.form.get("email", "")[:254]
    try:
        return "email:" + users.normalize_email(typed)
    except users.InvalidEmail:
        return "email:" + typed.strip().lower()


def _affiliate_click():
    """The click the browser's signed affiliate cookie names, or None (none, or not valid)."""
    config = current_app.config
    return links.read_cookie(
        secret_keys(config),
        request.cookies.get(config["AFFILIATE_COOKIE_NAME"]),
        clicks.cookie_max_age(config),
    )


def _next_url(form_next=None, user=None):
    """Where the form asked to go back to, else where the user starts."""
    return safe_next(form_next or request.args.get("next"), landing_url(user or current_user))


@bp.get("/signup")
def signup():
    """Show the sign-up form."""
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = SignupForm(
        language=str(get_locale()),
        email=request.args.get("email", "")[:254],
        next=request.args.get("next", ""),
    )
    return htmx.render("auth/signup.html", "auth/_signup_form.html", form=form)


@bp.post("/signup")
@limiter.limit(_limit("SIGNUP_RATE_LIMIT"))
def signup_submit():
    """Create the account and log it in."""
    form = SignupForm()
    if form.validate():
        try:
            user = users.register_user(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                language=form.language.data,
            )
        except (users.InvalidEmail, users.EmailTaken) as error:
            form.email.errors.append(error.message)
        except users.WeakPassword as error:
            form.password.errors.append(error.message)
        else:
            referrals.attribute(user, _affiliate_click())
            notify.email_verification(user)
            db.session.commit()
            sessions.start_session(user)
            with force_locale(user.language):
                flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(_next_url(form.next.data, user), 303)
    return htmx.render("auth/signup.html", "auth/_signup_form.html", 422, form=form)


@bp.get("/login")
def login():
    """Show the login form."""
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm(next=request.args.get("next", ""))
    return htmx.render("auth/login.html", "auth/_login_form.html", form=form)


@bp.post("/login")
@database.deferred_begin  # the password check is slow; SQLite's write lock is not held for it
@limiter.limit(_limit("LOGIN_RATE_LIMIT"))
@limiter.limit(
    _limit("LOGIN_EMAIL_RATE_LIMIT"),
    key_func=_email_key,
    deduct_when=lambda r: r.status_code != 303,
)
def login_submit():
    """Check the credentials and start a fresh session."""
    form = LoginForm()
    if form.validate():
        try:
            user = users.authenticate(form.email.data, form.password.data)
        except users.InvalidCredentials as error:
            form.password.errors.append(error.message)
        else:
            db.session.commit()  # a rehashed password is kept
            sessions.start_session(user)
            return redirect(_next_url(form.next.data, user), 303)
    return htmx.render("auth/login.html", "auth/_login_form.html", 422, form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this session and every other session of the user."""
    users.revoke_sessions(current_user)
    db.session.commit()
    sessions.end_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.get("/password/forgot")
def forgot_password():
    """Show the form that asks for a password reset link."""
    return htmx.render("auth/forgot.html", "auth/_forgot_form.html", form=ForgotPasswordForm())


@bp.post("/password/forgot")
@limiter.limit(_limit("RESET_RATE_LIMIT"))
@limiter.limit(_limit("RESET_EMAIL_RATE_LIMIT"), key_func=_email_key)
def forgot_password_submit():
    """Email a reset link if the address has an account; say the same either way."""
    form = ForgotPasswordForm()
    if not form.validate():
        return htmx.render("auth/forgot.html", "auth/_forgot_form.html", 422, form=form)
    user = users.find_user_by_email(form.email.data)
    if user is not None:
        notify.password_reset(user)
        db.session.commit()
    flash(_("If an account uses this email, a reset link is on its way."), "info")
    return redirect(url_for("auth.login"), 303)


def _user_for_token(token):
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds()
    return users.user_for_reset_token(
        token, secret_keys(current_app.config), max_age_seconds=max_age
    )


@bp.errorhandler(users.InvalidResetToken)
@bp.errorhandler(users.InvalidVerificationToken)
def _invalid_link(error):
    if isinstance(error, users.InvalidVerificationToken):
        retry = url_for("account.show") if current_user.is_authenticated else url_for("auth.login")
    else:
        retry = url_for("auth.forgot_password")
    return render_template("auth/reset_invalid.html", message=error.message, retry=retry), 400


@bp.get("/password/reset/<token>")
def reset_password(token):
    """Show the new-password form for a valid reset link."""
    _user_for_token(token)
    form = ResetPasswordForm()
    return htmx.render("auth/reset.html", "auth/_reset_form.html", form=form, token=token)


@bp.post("/password/reset/<token>")
@limiter.limit(_limit("RESET_RATE_LIMIT"))
def reset_password_submit(token):
    """Set the new password; the link stops working and every session ends."""
    user = _user_for_token(token)
    form = ResetPasswordForm()
    if form.validate():
        try:
            users.reset_password(user, form.password.data)
        except users.WeakPassword as error:
            form.password.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"), 303)
    return htmx.render("auth/reset.html", "auth/_reset_form.html", 422, form=form, token=token)


def _verification_max_age():
    return current_app.config["EMAIL_VERIFICATION_MAX_AGE"].total_seconds()


@bp.get("/email/confirm/<token>")
def confirm_email(token):
    """Show the button that confirms an address (a GET must not change anything)."""
    return render_template("auth/confirm_email.html", token=token, form=EmptyForm())


@bp.post("/email/confirm/<token>")
def confirm_email_submit(token):
    """Confirm the address the link was sent to."""
    users.verify_email(
        token, secret_keys(current_app.config), max_age_seconds=_verification_max_age()
    )
    db.session.commit()
    flash(_("Your email address is confirmed. Thank you."), "success")
    return redirect(url_for("main.index"), 303)


@bp.post("/email/confirm")
@login_required
@limiter.limit(_limit("RESET_RATE_LIMIT"))
def resend_confirmation():
    """Send the confirmation link again to the user's current address."""
    notify.email_verification(current_user)
    db.session.commit()
    flash(_("We sent a new confirmation link to %(email)s.", email=current_user.email), "info")
    return redirect(url_for("account.show"), 303)
