"""Domain names: one canonical form, and the registrable domain under the Public Suffix List."""

import idna
import tldextract
from flask_babel import lazy_gettext as _l

from rules.errors import DomainError

# The suffix list bundled with tldextract; never fetched at run time.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def canonical(domain):
    """Lower-case Unicode form without a trailing dot: 'XN--E1AFMKFD.бг.' -> 'пример.бг'."""
    domain = (domain or "").strip().rstrip(".").lower()
    try:
        return idna.decode(domain) if domain else ""
    except idna.IDNAError:
        return domain


def registrable(domain):
    """The registrable domain ('blog.example.co.uk' -> 'example.co.uk'), else the name itself."""
    name = canonical(domain)
    return _extract(name).top_domain_under_public_suffix or name


class InvalidDomain(DomainError):
    """A domain name that cannot be registered or served; the message says why."""


#: a domain plan's code names its suffix in ASCII: domain-bg, domain-co.uk, domain-xn--90ae
DOMAIN_PLAN_PREFIX = "domain-"


def plan_suffix(plan_code):
    """The suffix a domain plan sells, in Unicode ('domain-xn--90ae' -> 'бг'), or None."""
    if not plan_code.startswith(DOMAIN_PLAN_PREFIX):
        return None
    return canonical(plan_code[len(DOMAIN_PLAN_PREFIX) :])


def validate(domain, *, registrable_only=False, suffix=None):
    """Check a domain name typed by a person; return its canonical Unicode form.

    IDNA 2008 with UTS #46 mapping (so 'ПРИМЕР.бг' and 'xn--e1afmkfd.xn--90ae' are the same
    name), at most 253 characters and 63 per label in ASCII form, under a public suffix.
    ``registrable_only`` refuses subdomains (a domain registration); ``suffix`` requires
    that suffix (the TLD a domain plan sells).
    """
    text = (domain or "").strip().rstrip(".")
    if not text:
        raise InvalidDomain(_l("Enter a domain name, such as example.com."))
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise InvalidDomain(_l("“%(name)s” is not a valid domain name.", name=text[:80])) from None
    if len(ascii_name) > 253 or any(not 0 < len(p) <= 63 for p in ascii_name.split(".")):
        raise InvalidDomain(_l("A domain name has at most 253 characters, 63 per part."))
    name = canonical(ascii_name)
    parts = _extract(name)
    if not parts.suffix or not parts.domain:
        raise InvalidDomain(_l("“%(name)s” is not under a known top-level domain.", name=name[:80]))
    if registrable_only and parts.subdomain:
        raise InvalidDomain(
            _l(
                "Register the domain itself (%(domain)s), not a subdomain.",
                domain=parts.top_domain_under_public_suffix,
            )
        )
    if suffix is not None and parts.suffix != suffix:
        raise InvalidDomain(_l("This plan registers .%(suffix)s domains only.", suffix=suffix))
    return name
