"""The affiliate link's rules that need no database: which numbers and landing paths are
valid, the signed click cookie, the visitor's hash, and which requests are not clicks."""

import hashlib
import hmac
import random
import re
import time
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes

from affiliate.bots import is_bot
from affiliate.redirects import is_local_path

#: a partner number: ASCII digits without a leading zero, at most 18 of them (fits BIGINT)
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")

#: the link's paths: /partners/<number>
PREFIX = "/partners"

#: the cookie's own salt: a session cookie or any other signed value never passes for it
COOKIE_SALT = "affiliate-click"


def parse_number(text):
    """The partner number in a URL segment, or None for anything else (signs, spaces...)."""
    if isinstance(text, str) and _NUMBER.fullmatch(text):
        return int(text)
    return None


def path_of(number):
    """The path of a partner's link."""
    return f"{PREFIX}/{number}"


def landing(to, default):
    """Where the link lands: ``to`` when it is a path on this site (but not another partner's
    link, which would hand the visitor's cookie on), else the default."""
    if to and is_local_path(to) and not to.startswith(PREFIX):
        return to
    return default


class _Signer(TimestampSigner):
    """itsdangerous's timestamp signer (which reads the cookie back), signing in its exact
    format: the hot path's only crypto. The key is derived once, the HMAC keyed once and
    copied per click (OpenSSL then looks nothing up), and the time stamp is encoded once a
    second."""

    def __init__(self, secret_key):
        super().__init__(secret_key, salt=COOKIE_SALT)
        self._key = super().derive_key()
        self._mac = hmac.new(self._key, digestmod=hashlib.sha1)
        self._second = None
        self._stamp = b""

    def derive_key(self, secret_key=None):
        return self._key if secret_key is None else super().derive_key(secret_key)

    def sign(self, value):
        now = int(time.time())
        if now != self._second:  # a race here only encodes the same second twice
            self._stamp, self._second = b"." + base64_encode(int_to_bytes(now)), now
        message = value.encode() + self._stamp
        mac = self._mac.copy()
        mac.update(message)
        return message + b"." + base64_encode(mac.digest())


@lru_cache(maxsize=4)
def _signer(secret_key):
    return _Signer(secret_key)


def new_click_id():
    """A click's id: unique enough to tell clicks apart (it is signed, not secret)."""
    return f"{random.getrandbits(64):016x}"


def make_cookie(secret_key, number, click_id):
    """The cookie's value: partner number and click id, signed with the time it was issued."""
    return _signer(secret_key).sign(f"{number}.{click_id}").decode()


class Click:
    """What a valid cookie says: the partner's number, the click id and when it was issued."""

    __slots__ = ("click_id", "issued_at", "number")

    def __init__(self, number, click_id, issued_at):
        self.number, self.click_id, self.issued_at = number, click_id, issued_at


def read_cookie(secret_key, value, max_age_seconds):
    """The Click in a cookie signed by this app within ``max_age``; None for anything else."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        payload, issued = _signer(secret_key).unsign(
            value, max_age=max_age_seconds, return_timestamp=True
        )
    except (BadSignature, SignatureExpired, ValueError):
        return None
    number_text, _, click_id = payload.decode("ascii", "replace").partition(".")
    number = parse_number(number_text)
    if number is None or not re.fullmatch(r"[0-9a-f]{16}", click_id):
        return None
    return Click(number, click_id, issued)


def visitor_hash(salt, ip, user_agent):
    """A visitor's pseudonym (salted: the raw IP address is never kept). Stored only with the
    day it was seen, and deleted the day after."""
    data = f"{salt}\x00{ip}\x00{user_agent}".encode("utf-8", "replace")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def excluded(method, environ):
    """Why a request is not a person's click (a short code), or None when it is one.

    Read straight from the WSGI environ (the hot path); the user agent's check is cached.
    """
    if method != "GET":
        return "method"
    purpose = (environ.get("HTTP_SEC_PURPOSE") or environ.get("HTTP_PURPOSE") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose or environ.get("HTTP_X_MOZ") == "prefetch":
        return "prefetch"
    dest = environ.get("HTTP_SEC_FETCH_DEST")
    if dest is not None and dest != "document":
        return "not a page"
    if is_bot(environ.get("HTTP_USER_AGENT", "")[:512].strip()):
        return "bot"
    return None
