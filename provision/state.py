"""The desired state a backend applies: plain, frozen values, no database objects.

Names are ASCII (IDNA, punycode), lower-case, without a trailing dot unless said otherwise.
Every ``apply_*`` of a backend receives the whole state of one target, so applying it twice
gives the same result (the worker may apply a state again after a crash).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Record:
    """One DNS record of a zone."""

    #: relative to the zone: "@" for the apex, "www", "_sip._tcp", "*.dev"
    name: str
    #: "A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA" or "NS"
    type: str
    ttl: int
    #: the record data in zone-file presentation format, host names absolute with their dot:
    #: '192.0.2.1', '10 mx.example.com.', '"v=spf1 -all"', '10 5 5060 sip.example.com.',
    #: '0 issue "letsencrypt.org"'
    data: str


@dataclass(frozen=True)
class ZoneState:
    """A domain's DNS zone, served by the host's nameservers."""

    domain: str
    #: increases with every change of the zone (YYYYMMDDnn while that fits)
    serial: int
    #: the host's nameservers that serve the zone (the apex NS records), host names
    nameservers: tuple[str, ...]
    #: the SOA's responsible mailbox as a host name: "hostmaster.host.example"
    hostmaster: str
    records: tuple[Record, ...] = ()
    #: the zone's default TTL ($TTL) and the SOA's negative-caching TTL
    default_ttl: int = 3600
    #: False when the domain uses other nameservers: the zone is not served here (remove it)
    served: bool = True


@dataclass(frozen=True)
class Registrant:
    name: str
    organisation: str
    email: str
    #: "+359.888123456" (the EPP form)
    phone: str
    street: str
    city: str
    postcode: str
    #: ISO 3166-1 alpha-2, upper-case
    country: str


@dataclass(frozen=True)
class RegistryState:
    """What the registry holds for a domain the host registered."""

    domain: str
    nameservers: tuple[str, ...]
    registrant: Registrant | None
    auto_renew: bool
    #: the transfer-out auth code (EPP authInfo), "" until someone asked for one
    auth_code: str = ""


@dataclass(frozen=True)
class Mailbox:
    #: the part before @, ASCII lower-case
    local: str
    #: in Dovecot's format with its scheme prefix: "{ARGON2ID}$argon2id$v=19$..."
    password_hash: str
    quota_mb: int


@dataclass(frozen=True)
class Alias:
    #: the part before @; "" is the catch-all of the domain
    local: str
    #: full addresses, local or elsewhere
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class MailState:
    """A mail domain: its mailboxes and aliases. No mailboxes and no aliases: remove it."""

    domain: str
    mailboxes: tuple[Mailbox, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True)
class Site:
    #: the site's host name: the product's domain or a subdomain of it
    host: str
    #: relative to the hosting account's home: "public_html", "public_html/blog"
    docroot: str
    #: "8.3"
    php: str
    ssl: bool


@dataclass(frozen=True)
class WebState:
    """A hosting product's sites. No sites: remove them all."""

    #: the hosting product's domain; the account is named after it
    domain: str
    sites: tuple[Site, ...] = ()


@dataclass(frozen=True)
class SiteFacts:
    """What a backend reports back about a site after applying (None: not reported)."""

    host: str
    #: "none", "requested", "issued" or "failed"
    ssl: str = "none"
    disk_bytes: int | None = None


@dataclass(frozen=True)
class WebFacts:
    sites: tuple[SiteFacts, ...] = field(default_factory=tuple)
