"""Users: sign-up, credentials, sessions to revoke, password reset tokens."""

import hashlib

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from models import DEFAULT_LANGUAGE, LANGUAGES, User, db, utcnow
from rules import audit, passwords
from rules.errors import DomainError

RESET_SALT = "password-reset"
VERIFY_SALT = "verify-email"


class InvalidEmail(DomainError):
    def default_message(self):
        return _l("Enter a valid email address.")


class EmailTaken(DomainError):
    def default_message(self):
        return _l("An account with this email already exists. Log in or reset the password.")


class WeakPassword(DomainError):
    """The new password breaks the policy; the message says which rule."""


class SamePassword(WeakPassword):
    def default_message(self):
        return _l("Choose a password that differs from the current one.")


class InvalidCredentials(DomainError):
    status = 401

    def default_message(self):
        # One message for an unknown email and a wrong password, so neither is revealed.
        return _l("The email or password is not correct.")


class SameEmail(DomainError):
    def default_message(self):
        return _l("This is already your login email.")


class WrongPassword(DomainError):
    def default_message(self):
        return _l("The current password is not correct.")


class InvalidVerificationToken(DomainError):
    status = 400

    def default_message(self):
        return _l("This confirmation link is invalid or expired. Ask for a new one.")


class InvalidResetToken(DomainError):
    status = 400

    def default_message(self):
        return _l("This password reset link is invalid, used or expired. Ask for a new one.")


class UnknownLanguage(DomainError):
    def default_message(self):
        return _l("Choose one of the offered languages.")


def normalize_email(email):
    """Return the canonical, lower-cased form of an email address or raise InvalidEmail."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail() from exc
    return result.normalized.lower()


def find_user_by_email(email):
    """Return the user with this email (any case), or None."""
    try:
        email = normalize_email(email)
    except InvalidEmail:
        return None
    return db.session.scalar(select(User).where(User.email == email))


def _check_new_password(password, email):
    problem = passwords.password_problem(password, email=email)
    if problem:
        raise WeakPassword(problem)


def register_user(*, email, name, password, language=DEFAULT_LANGUAGE):
    """Create a user; the email must be free and the password acceptable."""
    email = normalize_email(email)
    _check_new_password(password, email)
    password_hash = passwords.hash_password(password)  # slow: before the first query locks
    if find_user_by_email(email) is not None:
        raise EmailTaken()
    user = User(
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        language=language if language in LANGUAGES else DEFAULT_LANGUAGE,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email, password):
    """Return the user these credentials belong to, upgrading an outdated hash on the way."""
    user = find_user_by_email(email)
    if user is None:
        passwords.burn_time(password)
        raise InvalidCredentials()
    if not passwords.verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def set_staff(user, is_staff, *, actor=None):
    """Make the user staff of the hosting company, or no longer (written to the audit log)."""
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        audit.record("user.staff" if is_staff else "user.unstaff", actor=actor, user=user.email)


def _confirm_current_password(user, current_password):
    if not passwords.verify_password(user.password_hash, current_password):
        raise WrongPassword()


def confirm_password(user, password):
    """Check the user's password again (a fresh login before a sensitive action)."""
    _confirm_current_password(user, password)


def revoke_sessions(user):
    """End every session of the user: the cookies they hold name an older version."""
    user.session_version += 1


def set_password(user, new_password):
    """Store a new password and end every existing session."""
    _check_new_password(new_password, user.email)
    if passwords.verify_password(user.password_hash, new_password):
        raise SamePassword()
    user.password_hash = passwords.hash_password(new_password)
    revoke_sessions(user)


def change_password(user, *, current_password, new_password):
    """Change the password after confirming the current one."""
    _confirm_current_password(user, current_password)
    set_password(user, new_password)


def change_email(user, *, current_password, new_email):
    """Change the login email after confirming the password; other sessions end."""
    _confirm_current_password(user, current_password)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise SameEmail()
    if find_user_by_email(new_email) is not None:
        raise EmailTaken()
    user.email = new_email
    user.email_verified_at = None  # the new address has to prove itself
    revoke_sessions(user)


def set_language(user, language):
    """Make ``language`` the user's interface language."""
    if language not in LANGUAGES:
        raise UnknownLanguage()
    user.language = language


def update_profile(user, *, name, language):
    """Change the display name and the preferred language."""
    set_language(user, language)
    user.name = name.strip()


def _password_fingerprint(user):
    # Bound to the current hash and email: the token dies with the password it would replace,
    # and a link sent to an address the account no longer uses stops working.
    material = f"{user.password_hash}\n{user.email}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def make_reset_token(user, secret_key):
    """Return a signed, single-use password reset token for the user."""
    serializer = URLSafeTimedSerializer(secret_key, salt=RESET_SALT)
    return serializer.dumps({"u": user.id, "p": _password_fingerprint(user)})


def _token_user(token, secret_key, salt, max_age_seconds, error):
    """Return (user, payload) of a signed, unexpired token of ours, or raise ``error``."""
    serializer = URLSafeTimedSerializer(secret_key, salt=salt)
    try:
        data = serializer.loads(token, max_age=max_age_seconds)
    except (SignatureExpired, BadSignature) as exc:
        raise error() from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise error()
    user = db.session.get(User, data["u"])
    if user is None:
        raise error()
    return user, data


def user_for_reset_token(token, secret_key, *, max_age_seconds):
    """Return the user a valid, unused, unexpired reset token belongs to."""
    user, data = _token_user(token, secret_key, RESET_SALT, max_age_seconds, InvalidResetToken)
    if data.get("p") != _password_fingerprint(user):
        raise InvalidResetToken()
    return user


def reset_password(user, new_password):
    """Set the password chosen through an emailed link, which also confirms the address."""
    set_password(user, new_password)
    mark_email_verified(user, user.email)


def mark_email_verified(user, email):
    """Record that the user read mail sent to ``email`` (if that is still its address)."""
    if user.email == email and user.email_verified_at is None:
        user.email_verified_at = utcnow()


def make_verification_token(user, secret_key):
    """Return a signed token that confirms the user's current email address."""
    return URLSafeTimedSerializer(secret_key, salt=VERIFY_SALT).dumps(
        {"u": user.id, "e": user.email}
    )


def verify_email(token, secret_key, *, max_age_seconds):
    """Confirm the address a valid token was sent to; return the user."""
    user, data = _token_user(
        token, secret_key, VERIFY_SALT, max_age_seconds, InvalidVerificationToken
    )
    if data.get("e") != user.email:
        raise InvalidVerificationToken()
    mark_email_verified(user, data["e"])
    return user
