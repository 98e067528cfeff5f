"""The last line of defence: names and numbers checked before anything is written, so
nothing can escape the root folder or break a file format (a PermanentBackendError)."""

import hashlib
import re

from provision.backends.base import PermanentBackendError

_ASCII_I = re.ASCII | re.IGNORECASE
# A host name label: letters, digits and hyphens, no hyphen at either end (LDH).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A DNS label in record names and targets may also hold "_" ("_sip._tcp", "_dmarc").
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
#: a domain or site host: lower-case ASCII (punycode), at least two labels, no trailing dot
DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}", re.ASCII)
#: a record's name relative to the zone: "@", "*", "www", "_sip._tcp", "*.dev"
RECORD_NAME_RE = re.compile(rf"@|\*|(?:\*\.)?{_DNS_LABEL}(?:\.{_DNS_LABEL})*", _ASCII_I)
#: a host name in record data: absolute, with its trailing dot
TARGET_RE = re.compile(rf"(?:{_DNS_LABEL}\.)+", _ASCII_I)
#: a mail local part: a dot-atom of RFC 5322 without "/" (a path), "#" (a comment), upper case
LOCAL_RE = re.compile(r"[a-z0-9!$%&'*+=?^_`{|}~-]+(?:\.[a-z0-9!$%&'*+=?^_`{|}~-]+)*", re.ASCII)
#: an alias destination: a local part (any case, UTF-8 allowed: SMTPUTF8) at an ASCII domain;
#: no white space, control character, quote, backslash or comma (the table's separator)
ADDRESS_RE = re.compile(rf'[^\x00-\x20\x7f",@\\]{{1,64}}@(?:{_LABEL}\.)+{_LABEL}', _ASCII_I)
#: a password hash in Dovecot's form: "{SCHEME}rest", the rest without ":" or white space
DOVECOT_HASH_RE = re.compile(r"\{[A-Za-z0-9.-]+\}[\x21-\x39\x3b-\x7e]+", re.ASCII)
#: a docroot: relative folders of letters, digits, ".", "_", "-", none starting with "."
DOCROOT_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*", re.ASCII)
PHP_RE = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}", re.ASCII)


def refuse(message: str) -> PermanentBackendError:
    return PermanentBackendError(message)


def check_domain(domain: object, what: str = "domain") -> str:
    """A lower-case ASCII domain of at least two labels: safe as a file name anywhere."""
    if not isinstance(domain, str) or len(domain) > 253 or not DOMAIN_RE.fullmatch(domain):
        raise refuse(f"invalid {what} {domain!r}: lower-case ASCII host name expected")
    return domain


def check_int(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise refuse(f"invalid {what} {value!r}: an integer {low}..{high} expected")
    return value


def account_name(domain: str) -> str:
    """The hosting account's (Unix user's) name for a product domain.

    Dots become "_" (a host name never holds "_", so no two domains meet); a name that would
    start with a digit gets a leading "_"; a name over 32 characters (the user name limit) keeps
    its first 22 characters and ends in "__" and 8 hex digits of the domain's SHA-256 ("__"
    cannot come from a domain, which has no empty labels).
    ``example.com`` → ``example_com``, ``1und1.de`` → ``_1und1_de``.
    """
    name = check_domain(domain).replace(".", "_")
    if name[0].isdigit():
        name = "_" + name
    if len(name) > 32:
        name = name[:22] + "__" + hashlib.sha256(domain.encode()).hexdigest()[:8]
    return name
