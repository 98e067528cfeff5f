"""Mailbox passwords in Dovecot's form: ``{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$salt$hash``.

Dovecot checks ARGON2ID with libsodium's ``crypto_pwhash_str_verify``, which reads the PHC
string as argon2-cffi writes it. The parameters keep to the form libsodium writes itself: one
lane (``p=1``; Debian 12's libsodium 1.0.18 verifies more lanes too, but makes only one), the
memory in whole KiB (``m``), a 16-byte salt and a 32-byte hash. The cost is 64 MiB and three
passes (RFC 9106's second recommended option with one lane; libsodium's "interactive" level
has two). Checked against libsodium and ``doveadm pw -t`` in tests/rules/test_provision_files.py.

These hashes are for the mail servers only; the panel's own logins use rules.passwords.
"""

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

SCHEME = "{ARGON2ID}"

_hasher = PasswordHasher(
    time_cost=3,
    memory_cost=64 * 1024,  # KiB: 64 MiB
    parallelism=1,  # libsodium computes a single lane
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


def hash_password(plain: str) -> str:
    """The Dovecot password field for ``plain``, with its scheme prefix."""
    return SCHEME + _hasher.hash(plain)


def verify_password(hashed: str, plain: str) -> bool:
    """Whether ``plain`` matches ``hashed`` (a ``{ARGON2ID}`` field); False for anything else."""
    if not isinstance(hashed, str) or hashed[: len(SCHEME)].upper() != SCHEME:
        return False
    try:
        return _hasher.verify(hashed[len(SCHEME) :], plain)
    except (VerificationError, InvalidHashError):
        return False
