"""BIND zone files: each record's data parsed and written canonically by dnspython, the SOA
and NS records from the zone's state."""

import re

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from provision.backends.files.checks import (
    RECORD_NAME_RE,
    TARGET_RE,
    check_domain,
    check_int,
    refuse,
)
from provision.state import (
    Record,
    ZoneState,
)

# The SOA timers, after RFC 1912 section 2.2: refresh 1 hour, retry 15 minutes, expire 2 weeks;
# the negative-caching TTL (the SOA's last field) is the zone's default TTL.
SOA_REFRESH = 3600
SOA_RETRY = 900
SOA_EXPIRE = 1_209_600
MAX_TTL = 2**31 - 1
MAX_SERIAL = 2**32 - 1
_IN = dns.rdataclass.IN
_SERIAL_RE = re.compile(r"^@\s+IN\s+SOA\s+\S+\s+\S+\s+\(\s*(\d+)\s", re.MULTILINE | re.ASCII)


#: what each type's data looks like, for the refusal's message
_FORMS = {
    "A": "an IPv4 address",
    "AAAA": "an IPv6 address",
    "CNAME": "one host name",
    "NS": "one host name",
    "MX": "'preference host.'",
    "SRV": "'priority weight port host.'",
    "TXT": "quoted strings",
    "CAA": "'flags tag \"value\"'",
}
#: a character the zone file format reads as a comment or a line's continuation, or a control
_OUTSIDE_QUOTES = re.compile(r"[;()\x00-\x1f\x7f]")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def record_data(rtype: str, data: object) -> str:
    """The record data parsed by dnspython and written canonically (its ``to_text``).

    Beyond what dnspython checks, the data must be one line of ASCII outside its quoted
    strings, without a comment or parentheses, TXT data quoted, and host names absolute.
    """
    if rtype not in _FORMS:
        raise refuse(f"unsupported record type {rtype!r}")
    form = _FORMS[rtype]
    if not isinstance(data, str) or not data.strip():
        raise refuse(f"invalid {rtype} data {data!r}: {form} expected")
    if re.search(r"[\x00-\x1f\x7f]", data):
        raise refuse(f"invalid {rtype} data {data!r}: control characters")
    bare = _QUOTED.sub('""', data)
    if not bare.isascii():
        raise refuse(f"invalid {rtype} data {data!r}: ASCII outside quotes (punycode names)")
    if _OUTSIDE_QUOTES.search(bare):
        raise refuse(f"invalid {rtype} data {data!r}: {form} expected, without a comment")
    if rtype == "TXT" and not all(part.startswith('"') for part in bare.split()):
        raise refuse(f"invalid TXT data {data!r}: {form} expected")
    try:
        # no origin: a host name without its final dot stays relative, and is refused below
        rdata = dns.rdata.from_text(_IN, dns.rdatatype.from_text(rtype), data, origin=None)
    except (dns.exception.DNSException, ValueError) as error:
        raise refuse(f"invalid {rtype} data {data!r}: {form} expected ({error})") from None
    for attribute in ("target", "exchange"):  # CNAME, NS, SRV; MX
        name = getattr(rdata, attribute, None)
        if name is not None and name != dns.name.root:
            text = name.to_text()
            if not name.is_absolute() or len(text) > 254 or not TARGET_RE.fullmatch(text):
                raise refuse(f"invalid host name {text!r} in {rtype} data: absolute, with its dot")
    if rtype in ("CNAME", "NS") and rdata.target == dns.name.root:
        raise refuse(f"invalid host name '.' in {rtype} data: absolute, with its dot")
    return rdata.to_text()


def zone_lines(state: ZoneState) -> list[str]:
    """The zone file of a served zone, checked; see the module docs for the layout."""
    domain = check_domain(state.domain)
    serial = check_int(state.serial, 0, MAX_SERIAL, "serial")
    default_ttl = check_int(state.default_ttl, 0, MAX_TTL, "default TTL")
    if not state.nameservers:
        raise refuse(f"zone {domain}: no nameserver to serve it")
    nameservers = [check_domain(ns, "nameserver") for ns in state.nameservers]
    hostmaster = check_domain(state.hostmaster, "hostmaster")

    lines: dict[str, None] = {}
    names: dict[str, set[str]] = {}
    for record in sorted(state.records, key=lambda r: (r.name, r.type, r.data)):
        if not isinstance(record, Record):
            raise refuse(f"zone {domain}: not a Record: {record!r}")
        name, rtype = record.name, record.type
        if not isinstance(name, str) or not RECORD_NAME_RE.fullmatch(name):
            raise refuse(f"zone {domain}: invalid record name {name!r}")
        if name != "@" and len(name) + 1 + len(domain) > 253:
            raise refuse(f"zone {domain}: the name {name!r} is too long")
        ttl = check_int(record.ttl, 0, MAX_TTL, f"TTL of {name} {rtype}")
        data = record_data(rtype, record.data)
        names.setdefault(name.lower(), set()).add(rtype)
        lines[f"{name} {ttl} IN {rtype} {data}"] = None
    for name, types in names.items():
        if "CNAME" in types and (name == "@" or len(types) > 1):
            raise refuse(f"zone {domain}: a CNAME at {name!r} cannot stand beside other data")
    cnames = [line for line in lines if line.split()[3] == "CNAME"]
    if len({line.split()[0].lower() for line in cnames}) != len(cnames):
        raise refuse(f"zone {domain}: more than one CNAME at one name")

    return [
        f"; zone {domain}: written by the panel's provisioning, edits are overwritten",
        f"$ORIGIN {domain}.",
        f"$TTL {default_ttl}",
        f"@ IN SOA {nameservers[0]}. {hostmaster}. "
        f"( {serial} {SOA_REFRESH} {SOA_RETRY} {SOA_EXPIRE} {default_ttl} )",
        *(f"@ IN NS {ns}." for ns in dict.fromkeys(nameservers)),
        *lines,
    ]


def zone_serial(text: str) -> int | None:
    """The SOA serial of a zone file this backend wrote (None: no SOA line found)."""
    match = _SERIAL_RE.search(text)
    return int(match[1]) if match else None
