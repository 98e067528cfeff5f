"""Password hashing (Argon2id) and the password policy."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MAX_LENGTH = 128

#: the commonest leaked passwords long enough to pass the length rule (zxcvbn's list)
COMMON_PASSWORDS = frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_LENGTH)

_hasher = PasswordHasher()


def configure(*, time_cost, memory_cost):
    """Set the Argon2id cost; hashes made with another cost are upgraded at the next login."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hash_password(password):
    """Return an Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """Tell whether the password matches the hash, in time that does not leak which part failed."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    """Tell whether the hash was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


#: a valid hash of a random password, verified for unknown emails so that timing does not tell
_DUMMY_HASH = None


def burn_time(password):
    """Spend the time a real verification would, for an unknown email."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None or needs_rehash(_DUMMY_HASH):
        _DUMMY_HASH = hash_password("not-a-password-anyone-has")
    verify_password(_DUMMY_HASH, password)


def password_problem(password, *, email=None):
    """Return why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return _l("This password is among the most common ones; choose another.")
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        return _l("Do not use your email address as the password.")
    return None
