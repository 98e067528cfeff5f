"""Domain names: one canonical form, and the registrable domain under the Public Suffix List."""

import idna
import tldextract

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
