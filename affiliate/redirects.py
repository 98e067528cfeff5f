"""Which redirect targets stay on this site: the login's next page, the account pages and the
affiliate link's landing path share this check (the link service, which stands alone, holds it)."""

import unicodedata
from urllib.parse import urlsplit


def is_local_path(target):
    """Tell whether ``target`` is a path on this site that a browser cannot read as another host.

    Browsers treat ``\\`` like ``/`` and drop tabs and newlines, so ``/\\evil.example`` or
    ``/\\t/evil.example`` would leave the site; anything with such characters is refused.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2048:
        return False
    if any(unicodedata.category(ch)[0] in "CZ" or ch == "\\" for ch in target):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target, fallback="/"):
    """Return ``target`` if it is a local path, otherwise ``fallback``."""
    return target if is_local_path(target) else fallback
