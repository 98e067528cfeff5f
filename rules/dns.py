"""DNS records and nameservers typed by people into the panel: checked and put in canonical form.

Pure functions: no database, no request. A record comes back as a
:class:`provision.state.Record` (name relative to the zone in ASCII, "@" for the apex; data in
zone-file presentation format with absolute host names), which dnspython has parsed and
printed as the final check. Every refusal is an :class:`InvalidRecord` naming the form field.
"""

import contextlib
import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import idna
from flask_babel import lazy_gettext as _l

from provision.state import Record
from rules.errors import DomainError

TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS")
TTL_MIN = 60
TTL_MAX = 604800  # one week
DEFAULT_TTL = 3600
PRIORITY_MAX = 65535
TXT_MAX = 4000
NAMESERVERS_MIN = 2
NAMESERVERS_MAX = 13
SRV_PROTOCOLS = ("_tcp", "_udp", "_tls")
CAA_FLAGS = ("0", "128")
CAA_TAGS = ("issue", "issuewild", "iodef")

#: longer input is refused before any parsing (a name has at most 253 characters in ASCII)
_NAME_INPUT_MAX = 1000
_VALUE_INPUT_MAX = 20000

#: a host name label: letters, digits and hyphens, not at either end
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
#: a record name label may also have underscores: _dmarc, _sip, s1_2020
_OWNER_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
#: TXT data as typed in presentation format: one or more "quoted strings"
_QUOTED_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"(?: +"(?:[^"\\]|\\.)*")*', re.DOTALL)
#: characters refused in free text: controls (line breaks, tabs), surrogates, line separators
_UNPRINTABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})

_ROOT = dns.name.root
_IN = dns.rdataclass.IN


class InvalidRecord(DomainError):
    """A DNS record or nameserver list that cannot be saved; ``field`` names the form field.

    ``field`` is "name", "type", "ttl", "priority", "value", "nameservers" or None.
    """

    def __init__(self, message=None, *, field=None):
        super().__init__(message)
        self.field = field


# -- names ------------------------------------------------------------------------------------


def _text(value):
    """The raw form value as a string ("" for None)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _ascii_labels(text):
    """Map ``text`` with UTS #46 and turn each label into ASCII; ValueError if it cannot be.

    The result is lower-case; labels are not checked for their characters or length here.
    """
    mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    labels = []
    for label in mapped.split("."):
        if label.isascii():
            if label.startswith("xn--"):
                idna.ulabel(label)  # a valid A-label, not just any "xn--" text
            labels.append(label)
        else:
            labels.append(idna.alabel(label).decode("ascii"))
    return labels


def _unicode(ascii_name):
    """'www.xn--e1afmkfd.xn--90ae' -> 'www.пример.бг'; labels that do not decode stay."""
    labels = []
    for label in ascii_name.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(ValueError):  # idna.IDNAError is a ValueError
                label = idna.ulabel(label)
        labels.append(label)
    return ".".join(labels)


def _zone_labels(zone):
    zone = _text(zone).strip().rstrip(".")
    return idna.encode(zone, uts46=True).decode("ascii").split(".")


def _owner(zone_labels, text):
    """The record's name relative to the zone, in ASCII: '@', 'www', '_sip._tcp', '*.dev'."""
    text = _text(text).strip()
    if text in ("", "@"):
        return "@"
    if len(text) > _NAME_INPUT_MAX:
        raise InvalidRecord(_l("The name is too long."), field="name")
    shown = text[:80]
    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
        absolute = mapped.endswith(".") and mapped != "."
        labels = _ascii_labels(mapped[:-1] if absolute else mapped)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidRecord(
            _l("“%(name)s” is not a valid name for a record.", name=shown), field="name"
        ) from None
    size = len(zone_labels)
    if len(labels) >= size and labels[-size:] == zone_labels:
        labels = labels[:-size]
    elif absolute:
        raise InvalidRecord(
            _l(
                "“%(name)s” is not in the zone %(zone)s: enter a name under it, such as www.",
                name=shown,
                zone=_unicode(".".join(zone_labels)),
            ),
            field="name",
        )
    if not labels:
        return "@"
    for index, label in enumerate(labels):
        if label == "*" and index == 0:
            continue
        if "*" in label:
            raise InvalidRecord(
                _l("A wildcard “*” can only be the whole first part of a name, as in *.dev."),
                field="name",
            )
        if len(label) > 63:
            raise InvalidRecord(
                _l("Each part of a name between dots has at most 63 characters."), field="name"
            )
        if not _OWNER_LABEL.fullmatch(label):
            raise InvalidRecord(
                _l(
                    "“%(name)s” is not a valid name for a record: use letters, digits and "
                    "hyphens (not at the start or end of a part), or a part starting with "
                    "an underscore such as _dmarc.",
                    name=shown,
                ),
                field="name",
            )
    if len(".".join(labels + zone_labels)) > 253:
        raise InvalidRecord(
            _l("The full name has at most 253 characters with the domain."), field="name"
        )
    return ".".join(labels)


def _looks_like_ip(text):
    """Whether ``text`` is an IP address (or network), or numbers separated by dots."""
    candidate = text.rstrip(".")
    try:
        ipaddress.ip_interface(candidate)
    except ValueError:
        labels = candidate.split(".")
        return bool(candidate) and all(p.isascii() and p.isdigit() for p in labels)
    return True


def _host_name(text, *, underscores=False):
    """The ASCII host name without a trailing dot, or None if ``text`` is not a valid one.

    At least two labels, at most 253 characters, labels of letters, digits and hyphens
    (``underscores`` allows underscore labels too) and a top-level label that is not a number.
    """
    if len(text) > _NAME_INPUT_MAX:
        return None
    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
        labels = _ascii_labels(mapped[:-1] if mapped.endswith(".") else mapped)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    pattern = _OWNER_LABEL if underscores else _LDH
    if len(labels) < 2 or not all(len(p) <= 63 and pattern.fullmatch(p) for p in labels):
        return None
    if not _LDH.fullmatch(labels[-1]) or labels[-1].isdigit():
        return None
    name = ".".join(labels)
    return name if len(name) <= 253 else None


def _target(text, kind):
    """A record's target host name, absolute with its dot: 'mail.example.com.'.

    ``kind`` is the type of the record (it picks the messages and what is allowed).
    """
    text = _text(text).strip()
    if kind in ("MX", "SRV") and text == ".":
        return "."
    if not text:
        raise InvalidRecord(_target_message(kind, "empty"), field="value")
    if _looks_like_ip(text):
        raise InvalidRecord(_target_message(kind, "ip"), field="value")
    name = _host_name(text, underscores=kind == "CNAME")
    if name is None:
        raise InvalidRecord(
            _l(
                "“%(value)s” is not a valid host name: it needs at least two parts, such as "
                "mail.example.com, of letters, digits and hyphens.",
                value=text[:80],
            ),
            field="value",
        )
    return name + "."


def _target_message(kind, problem):
    if kind == "MX":
        if problem == "ip":
            return _l(
                "A mail server is given by its host name, not by an IP address: enter a "
                "name such as mail.example.com that has an A record."
            )
        return _l("Enter the mail server's host name, such as mail.example.com.")
    if kind == "NS":
        if problem == "ip":
            return _l("Enter the nameserver's host name, not its IP address.")
        return _l("Enter the nameserver's host name, such as ns1.example.net.")
    if kind == "SRV":
        if problem == "ip":
            return _l("The target of a service is a host name, not an IP address.")
        return _l(
            "Enter the weight, the port and the target host name of the service, such as "
            "5 5060 sip.example.com."
        )
    if problem == "ip":
        return _l(
            "An alias (CNAME) points to a host name, not to an IP address: use an A or "
            "AAAA record for an address."
        )
    return _l("Enter the host name the alias points to, such as example.net.")


def display_name(zone, record_name):
    """The record's full name in Unicode: ('xn--e1afmkfd.xn--90ae', 'www') -> 'www.пример.бг'."""
    zone = _unicode(_text(zone).strip().rstrip(".").lower())
    if record_name in ("", "@", None):
        return zone
    return f"{_unicode(record_name)}.{zone}"


# -- numbers ----------------------------------------------------------------------------------


def _number(value):
    """A whole number typed in ASCII digits, None when empty; ValueError when not a number.

    Numbers with more than 9 digits come back as a value that is surely out of range.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    text = _text(value).strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text):
        raise ValueError(text)
    return int(text) if len(text) <= 9 else 10**9


def _ttl(value):
    try:
        ttl = _number(value)
    except ValueError:
        raise InvalidRecord(
            _l("The TTL is a whole number of seconds, such as 3600."), field="ttl"
        ) from None
    if ttl is None:
        return DEFAULT_TTL
    if not TTL_MIN <= ttl <= TTL_MAX:
        raise InvalidRecord(
            _l(
                "The TTL is from %(min)s seconds (one minute) to %(max)s seconds (one week).",
                min=TTL_MIN,
                max=TTL_MAX,
            ),
            field="ttl",
        )
    return ttl


def _uint16(value, field, message):
    try:
        number = _number(value)
    except ValueError:
        number = -1
    if number is None or not 0 <= number <= PRIORITY_MAX:
        raise InvalidRecord(message, field=field)
    return number


def _priority(value, rdtype):
    message = (
        _l("Enter the mail server's priority, a number from 0 to 65535 (lower is tried first).")
        if rdtype == "MX"
        else _l("Enter the service's priority, a number from 0 to 65535 (lower is tried first).")
    )
    return _uint16(value, "priority", message)


# -- the data of each type ---------------------------------------------------------------------


def _canonical(rdtype, text):
    """dnspython's presentation form of ``text``, the final check of every record's data."""
    try:
        rdata = dns.rdata.from_text(_IN, dns.rdatatype.from_text(rdtype), text, origin=_ROOT)
        return rdata.to_text(origin=_ROOT, relativize=False)
    except Exception:  # dnspython raises many kinds of errors for bad input
        raise InvalidRecord(
            _l(
                "“%(value)s” is not valid data for a %(type)s record.", value=text[:80], type=rdtype
            ),
            field="value",
        ) from None


def _a(value):
    text = _text(value).strip()
    if not text:
        raise InvalidRecord(_l("Enter an IPv4 address, such as 192.0.2.1."), field="value")
    if "/" in text:
        raise InvalidRecord(
            _l("Enter a single address without a prefix length (no “/24”)."), field="value"
        )
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    if _is_ipv6(text):
        raise InvalidRecord(
            _l("“%(value)s” is an IPv6 address: add it as an AAAA record.", value=text[:80]),
            field="value",
        )
    raise InvalidRecord(
        _l(
            "“%(value)s” is not an IPv4 address: enter four numbers from 0 to 255 separated "
            "by dots (without leading zeros), such as 192.0.2.1.",
            value=text[:80],
        ),
        field="value",
    )


def _is_ipv6(text):
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _aaaa(value):
    text = _text(value).strip()
    if not text:
        raise InvalidRecord(_l("Enter an IPv6 address, such as 2001:db8::1."), field="value")
    if "/" in text:
        raise InvalidRecord(
            _l("Enter a single address without a prefix length (no “/64”)."), field="value"
        )
    if "%" not in text and _is_ipv6(text):
        return str(ipaddress.IPv6Address(text))
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        raise InvalidRecord(
            _l("“%(value)s” is an IPv4 address: add it as an A record.", value=text[:80]),
            field="value",
        )
    raise InvalidRecord(
        _l("“%(value)s” is not an IPv6 address, such as 2001:db8::1.", value=text[:80]),
        field="value",
    )


def _looks_quoted(text):
    """Whether TXT input is meant as presentation format: it starts and ends with a quote."""
    return len(text) >= 2 and text.startswith('"') and text.endswith('"')


def _txt_chunks(text):
    """Split ``text`` into UTF-8 strings of at most 255 bytes, never inside a character."""
    chunks, current, size = [], [], 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > 255:
            chunks.append("".join(current).encode("utf-8"))
            current, size = [], 0
        current.append(char)
        size += width
    chunks.append("".join(current).encode("utf-8"))
    return chunks


def _txt_strings(data):
    """The strings of TXT data in presentation format."""
    rdata = dns.rdata.from_text(_IN, dns.rdatatype.TXT, data, origin=_ROOT)
    return rdata.strings


def _txt(value):
    text = _text(value).strip()
    if not text:
        raise InvalidRecord(_l("Enter the text of the record."), field="value")
    too_long = InvalidRecord(
        _l("The text has at most %(max)s characters.", max=TXT_MAX), field="value"
    )
    control = InvalidRecord(
        _l("The text cannot contain line breaks, tabs or other control characters."),
        field="value",
    )
    if not _looks_quoted(text):
        if len(text) > TXT_MAX:
            raise too_long
        if any(unicodedata.category(char) in _UNPRINTABLE for char in text):
            raise control
        rdata = dns.rdtypes.ANY.TXT.TXT(_IN, dns.rdatatype.TXT, _txt_chunks(text))
        return _canonical("TXT", rdata.to_text())
    if len(text) > _VALUE_INPUT_MAX:
        raise too_long
    if any(unicodedata.category(char) in _UNPRINTABLE for char in text):
        raise control
    if not _QUOTED_STRINGS.fullmatch(text):
        raise InvalidRecord(
            _l(
                "Put each part of the text in double quotes, separated by spaces, as in "
                "“part one” “part two”, with a backslash before a quote inside; or type the "
                "text without quotes around it."
            ),
            field="value",
        )
    try:
        strings = _txt_strings(text)
    except Exception as error:  # dnspython raises many kinds of errors for bad input
        if "too long" in str(error):
            raise InvalidRecord(
                _l(
                    "Each quoted part of the text has at most 255 bytes: type the text "
                    "without quotes and it is split for you."
                ),
                field="value",
            ) from None
        raise InvalidRecord(
            _l("The quoted text is not valid: check its backslashes, or type it without quotes."),
            field="value",
        ) from None
    joined = b"".join(strings)
    if not joined:
        raise InvalidRecord(_l("Enter the text of the record."), field="value")
    if any(byte < 0x20 or byte == 0x7F for byte in joined):
        raise control
    if len(joined.decode("utf-8", errors="replace")) > TXT_MAX:
        raise too_long
    return _canonical("TXT", text)


def _owner_labels(name):
    return [] if name == "@" else name.split(".")


def _srv(name, priority, value):
    labels = _owner_labels(name)
    if (
        len(labels) < 2
        or not labels[0].startswith("_")
        or len(labels[0]) < 2
        or labels[1] not in SRV_PROTOCOLS
    ):
        raise InvalidRecord(
            _l(
                "The name of a service record starts with the service and the protocol, "
                "such as _sip._tcp or _imaps._tcp (the protocol is _tcp, _udp or _tls)."
            ),
            field="name",
        )
    parts = _text(value).split()
    if len(parts) != 3:
        raise InvalidRecord(_target_message("SRV", "empty"), field="value")
    weight = _uint16(parts[0], "value", _l("The weight of a service is a number from 0 to 65535."))
    port = _uint16(parts[1], "value", _l("The port of a service is a number from 0 to 65535."))
    target = _target(parts[2], "SRV")
    return f"{priority} {weight} {port} {target}"


def _caa(value):
    text = _text(value).strip()
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise InvalidRecord(
            _l(
                "Enter the flags, the tag and the value of the CAA record, such as "
                "0 issue “letsencrypt.org”."
            ),
            field="value",
        )
    flags, tag, content = parts[0], parts[1].lower(), parts[2].strip()
    if flags not in CAA_FLAGS:
        raise InvalidRecord(_l("The flags of a CAA record are 0 or 128."), field="value")
    if tag not in CAA_TAGS:
        raise InvalidRecord(
            _l("The tag of a CAA record is issue, issuewild or iodef."), field="value"
        )
    if len(content) >= 2 and content.startswith('"') and content.endswith('"'):
        content = content[1:-1].strip()
    if len(content) > 1000:
        raise InvalidRecord(_l("The value of the CAA record is too long."), field="value")
    if any(c in '"\\' or unicodedata.category(c) in _UNPRINTABLE for c in content):
        raise InvalidRecord(
            _l(
                "The value of a CAA record cannot contain quotes, backslashes or control "
                "characters."
            ),
            field="value",
        )
    if tag == "iodef":
        if not _iodef_url(content):
            raise InvalidRecord(
                _l(
                    "The iodef value is where reports go: a mailto: address or an https: "
                    "address, such as mailto:security@example.com."
                ),
                field="value",
            )
    else:
        issuer = content.split(";", 1)[0].strip()
        if issuer and _host_name(issuer) is None:
            raise InvalidRecord(
                _l(
                    "“%(value)s” is not the domain of a certificate authority, such as "
                    "letsencrypt.org (or “;” to allow none).",
                    value=issuer[:80],
                ),
                field="value",
            )
    return f'{flags} {tag} "{content}"'


def _iodef_url(content):
    try:
        url = urlsplit(content)
    except ValueError:
        return False
    if any(c.isspace() for c in content):
        return False
    if url.scheme.lower() == "mailto":
        local, at, domain = url.path.partition("@")
        return bool(local and at and _host_name(domain))
    return url.scheme.lower() == "https" and bool(url.hostname)


def validate_record(zone, *, name, type, ttl, value, priority=None):
    """Check a record typed into the panel for the zone ``zone`` (ASCII); return the Record.

    The inputs are the strings the form sends; ``priority`` is read for MX and SRV only.
    Raises :class:`InvalidRecord` naming the field at fault, and nothing else.
    """
    rdtype = _text(type).strip().upper()
    if rdtype not in TYPES:
        raise InvalidRecord(
            _l("Choose a record type: A, AAAA, CNAME, MX, TXT, SRV, CAA or NS."), field="type"
        )
    zone_labels = _zone_labels(zone)
    owner = _owner(zone_labels, name)
    if rdtype == "CNAME" and owner == "@":
        raise InvalidRecord(
            _l(
                "The domain itself (the apex, @) cannot be an alias (CNAME): it has its own "
                "SOA and NS records. Use an A or AAAA record instead."
            ),
            field="name",
        )
    if rdtype == "NS" and owner == "@":
        raise InvalidRecord(
            _l(
                "The domain's own nameservers are set in the nameservers form; an NS record "
                "here delegates a subdomain."
            ),
            field="name",
        )
    if rdtype == "NS" and owner.split(".")[0] == "*":
        raise InvalidRecord(_l("A wildcard name cannot be delegated (NS)."), field="name")
    seconds = _ttl(ttl)
    if rdtype == "A":
        data = _a(value)
    elif rdtype == "AAAA":
        data = _aaaa(value)
    elif rdtype == "CNAME":
        data = _target(value, "CNAME")
        if data[:-1] == ".".join(_owner_labels(owner) + zone_labels):
            raise InvalidRecord(_l("An alias (CNAME) cannot point to itself."), field="value")
    elif rdtype == "NS":
        data = _target(value, "NS")
    elif rdtype == "MX":
        preference = _priority(priority, "MX")
        exchange = _target(value, "MX")
        if exchange == "." and preference != 0:
            raise InvalidRecord(
                _l("A “no mail” record (target “.”) has priority 0."), field="priority"
            )
        data = f"{preference} {exchange}"
    elif rdtype == "SRV":
        data = _srv(owner, _priority(priority, "SRV"), value)
    elif rdtype == "CAA":
        data = _caa(value)
    else:
        return Record(name=owner, type=rdtype, ttl=seconds, data=_txt(value))
    return Record(name=owner, type=rdtype, ttl=seconds, data=_canonical(rdtype, data))


# -- existing records ---------------------------------------------------------------------------


def check_clash(existing, new, *, replacing=None, zone=None):
    """Refuse ``new`` if it clashes with the zone's other records.

    ``existing`` holds ``(key, Record)`` pairs of the zone; the one whose key is ``replacing``
    is the record being edited and is left out. Refused: an exact duplicate (name, type and
    data), an alias (CNAME) sharing its name with any other record, and any record at a name
    that has an alias. ``zone`` (ASCII) only makes the names in the messages full names.
    """

    def shown(record_name):
        return display_name(zone, record_name) if zone else _unicode(record_name)

    others = [(k, r) for k, r in existing if replacing is None or k != replacing]
    _check_delegations(others, new, shown)
    for _key, record in others:
        if record.name != new.name:
            continue
        if record.type == new.type and record.ttl != new.ttl and record.data != new.data:
            raise InvalidRecord(
                _l(
                    "The %(type)s records of %(name)s share one TTL: use %(ttl)s, as the "
                    "others have, or change theirs first.",
                    type=new.type,
                    name=shown(new.name),
                    ttl=record.ttl,
                ),
                field="ttl",
            )
        if record.type == new.type and record.data == new.data:
            raise InvalidRecord(
                _l(
                    "%(name)s already has this %(type)s record.",
                    name=shown(new.name),
                    type=new.type,
                ),
                field="value",
            )
        if record.type == "CNAME":
            raise InvalidRecord(
                _l(
                    "%(name)s is an alias (CNAME), so it cannot have other records: "
                    "remove the alias first.",
                    name=shown(new.name),
                ),
                field="name",
            )
        if new.type == "CNAME":
            raise InvalidRecord(
                _l(
                    "%(name)s already has other records, so it cannot be an alias (CNAME).",
                    name=shown(new.name),
                ),
                field="name",
            )


def _below(name, parent):
    """Whether relative ``name`` is ``parent`` or under it ("a.sub" under "sub")."""
    return parent != "@" and (name == parent or name.endswith("." + parent))


def _check_delegations(others, new, shown):
    """A subdomain delegated by NS is served elsewhere: no other records at it or below it."""
    for _key, record in others:
        if record.type == "NS" and new.type != "NS" and _below(new.name, record.name):
            raise InvalidRecord(
                _l(
                    "%(name)s is delegated to other nameservers (NS), so records here at it "
                    "or below it are not served.",
                    name=shown(record.name),
                ),
                field="name",
            )
        if new.type == "NS" and record.type != "NS" and _below(record.name, new.name):
            raise InvalidRecord(
                _l(
                    "%(name)s has records here, so it cannot be delegated (NS): remove them first.",
                    name=shown(new.name),
                ),
                field="name",
            )


def form_values(record):
    """The form's values to edit ``record``: the inverse of :func:`validate_record`.

    Names and targets are shown in Unicode without their dot; MX and SRV give their
    priority separately; TXT text is shown without quotes when typing it so gives it back.
    """
    name = record.name if record.name == "@" else _unicode(record.name)
    priority = ""
    value = record.data
    parts = record.data.split()
    if record.type in ("CNAME", "NS"):
        value = _shown_target(record.data)
    elif record.type == "MX" and len(parts) == 2:
        priority, value = parts[0], _shown_target(parts[1])
    elif record.type == "SRV" and len(parts) == 4:
        priority = parts[0]
        value = f"{parts[1]} {parts[2]} {_shown_target(parts[3])}"
    elif record.type == "TXT":
        value = _txt_shown(record.data)
    return {
        "name": name,
        "type": record.type,
        "ttl": str(record.ttl),
        "priority": priority,
        "value": value,
    }


def _shown_target(target):
    return target if target == "." else _unicode(target.rstrip("."))


def _txt_shown(data):
    """TXT data as the person would type it: plain text when that gives the same strings."""
    try:
        strings = _txt_strings(data)
        text = b"".join(strings).decode("utf-8")
    except Exception:  # not valid presentation format or not UTF-8: show the data as it is
        return data
    plain = (
        text
        and text == text.strip()
        and not _looks_quoted(text)
        and len(text) <= TXT_MAX
        and not any(unicodedata.category(char) in _UNPRINTABLE for char in text)
        and _txt_chunks(text) == list(strings)
    )
    return text if plain else data


# -- the domain's nameservers ---------------------------------------------------------------------


def validate_nameservers(lines):
    """The domain's nameservers from a textarea (or a list): ASCII host names without dots.

    One per line (commas and spaces also separate them); 2 to 13 distinct host names.
    """
    if lines is None:
        items = []
    elif isinstance(lines, str):
        items = lines.split()
    else:
        items = [part for line in lines for part in _text(line).split()]
    items = [part for item in items for part in item.split(",") if part]
    if len(items) < NAMESERVERS_MIN:
        raise InvalidRecord(
            _l("Enter at least two nameservers, one per line."), field="nameservers"
        )
    if len(items) > NAMESERVERS_MAX:
        raise InvalidRecord(
            _l("Enter at most %(max)s nameservers.", max=NAMESERVERS_MAX), field="nameservers"
        )
    names = []
    for item in items:
        if _looks_like_ip(item):
            raise InvalidRecord(
                _l(
                    "Enter the nameservers' host names, not IP addresses (“%(value)s”).",
                    value=item[:80],
                ),
                field="nameservers",
            )
        name = _host_name(item)
        if name is None:
            raise InvalidRecord(
                _l("“%(value)s” is not a valid nameserver host name.", value=item[:80]),
                field="nameservers",
            )
        if name in names:
            raise InvalidRecord(
                _l("%(name)s is listed twice.", name=_unicode(name)), field="nameservers"
            )
        names.append(name)
    return tuple(names)
