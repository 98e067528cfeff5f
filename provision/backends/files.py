"""The reference backend: real server formats written into one folder (docs/provisioning.md).

``FilesBackend(root)`` writes BIND zone files, Postfix lookup tables, a Dovecot passwd-file and
nginx server blocks under ``root``; the servers are pointed at them with an include or a
``texthash:`` table and reloaded by the operator's own means (a path unit, a cron job, a hook).

Every file is written atomically (a temporary file in the same folder, fsync, ``os.replace``)
and only when its content changes, so applying a state again touches nothing. Files shared by
all targets (``named.conf.zones``, the mail maps, the site confs) are rebuilt under an
exclusive ``fcntl.flock`` on a lock file in ``root/.locks/``, so two worker processes (or
threads) never interleave.

The panel validates names before they get here; this backend checks them again as the last line
of defence: anything that could escape ``root`` or break a file format is refused with
:class:`PermanentBackendError` before a single file is written.
"""

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from provision.backends.base import Backend, BackendError, PermanentBackendError
from provision.state import (
    Alias,
    Mailbox,
    MailState,
    Record,
    RegistryState,
    Site,
    SiteFacts,
    WebFacts,
    WebState,
    ZoneState,
)

# The SOA timers, after RFC 1912 section 2.2: refresh 1 hour, retry 15 minutes, expire 2 weeks;
# the negative-caching TTL (the SOA's last field) is the zone's default TTL.
SOA_REFRESH = 3600
SOA_RETRY = 900
SOA_EXPIRE = 1_209_600

#: where Dovecot keeps a mailbox (its home) and Postfix's virtual_mailbox_base
MAIL_BASE = "/var/mail/vhosts"
#: where the hosting accounts' homes are on the web server (root/web/home stands in for it)
HOME_BASE = "/home"
#: where certbot keeps the certificates the site confs name
LETSENCRYPT_LIVE = "/etc/letsencrypt/live"

RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS"})
MAX_TTL = 2**31 - 1
MAX_SERIAL = 2**32 - 1

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
_SERIAL_RE = re.compile(r"^@\s+IN\s+SOA\s+\S+\s+\S+\s+\(\s*(\d+)\s", re.MULTILINE | re.ASCII)
_OWNER_RE = re.compile(r"\A# hosting account (\S+) \((\S+)\)")


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


# ---------------------------------------------------------------- files


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Write ``path`` through a temporary file in its folder; False when it was already so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        st = path.lstat()
        same_kind = path.is_file() and not path.is_symlink() and (st.st_mode & 0o7777) == mode
        if same_kind and path.read_bytes() == data:
            return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return True


def remove_file(path: Path) -> bool:
    """Remove ``path`` if it is there; False when it was not."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    return True


def _text(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


# ---------------------------------------------------------------- DNS data


def _escape_string(raw: bytes) -> str:
    """A character-string in presentation format: quoted, non-ASCII and controls as \\DDD."""
    out = []
    for byte in raw:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _parse_strings(data: str, what: str, max_len: int | None = 255) -> list[bytes]:
    """The quoted strings of ``data`` ('"a" "b"'), unescaped to bytes (UTF-8 for non-ASCII)."""
    strings: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] in " \t":
            i += 1
            continue
        if data[i] != '"':
            raise refuse(f"invalid {what} data {data!r}: quoted strings expected")
        i += 1
        buf = bytearray()
        while True:
            if i >= n:
                raise refuse(f"invalid {what} data {data!r}: a quote is not closed")
            char = data[i]
            if char == '"':
                i += 1
                break
            if char == "\\":
                digits = data[i + 1 : i + 4]
                if len(digits) == 3 and digits.isascii() and digits.isdigit():
                    if int(digits) > 255:
                        raise refuse(f"invalid {what} data {data!r}: \\{digits} is over 255")
                    buf.append(int(digits))
                    i += 4
                    continue
                if i + 1 >= n:
                    raise refuse(f"invalid {what} data {data!r}: it ends in a backslash")
                char = data[i + 1]
                i += 1
            if ord(char) < 0x20 or ord(char) == 0x7F:
                raise refuse(f"invalid {what} data {data!r}: control characters")
            buf.extend(char.encode("utf-8"))
            i += 1
        if max_len is not None and len(buf) > max_len:
            raise refuse(
                f"invalid {what} data: a string of {len(buf)} bytes; split it into quoted "
                f"strings of at most {max_len} bytes each"
            )
        strings.append(bytes(buf))
    if not strings:
        raise refuse(f"invalid {what} data {data!r}: no string")
    return strings


def _target(value: str, what: str, root_ok: bool = False) -> str:
    if root_ok and value == ".":
        return value
    if len(value) > 254 or not TARGET_RE.fullmatch(value):
        raise refuse(f"invalid host name {value!r} in {what} data: absolute, with its dot")
    return value


def _numbers(parts: list[str], limits: list[int], what: str, data: str) -> list[str]:
    out = []
    for part, limit in zip(parts, limits, strict=True):
        if not (part.isascii() and part.isdigit()) or int(part) > limit:
            raise refuse(f"invalid {what} data {data!r}: {part!r} is not a number 0..{limit}")
        out.append(str(int(part)))
    return out


def record_data(rtype: str, data: object) -> str:
    """The record data checked and written canonically (one line, no comment, no brackets)."""
    if not isinstance(data, str) or not data.strip() or "\n" in data or "\r" in data:
        raise refuse(f"invalid {rtype} data {data!r}")
    parts = data.split()
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(data.strip()))
        except ValueError:
            raise refuse(f"invalid A data {data!r}: an IPv4 address expected") from None
    if rtype == "AAAA":
        try:
            address = ipaddress.IPv6Address(data.strip())
            if address.scope_id is not None:
                raise ValueError("a scope")
            return str(address)
        except ValueError:
            raise refuse(f"invalid AAAA data {data!r}: an IPv6 address expected") from None
    if rtype in ("CNAME", "NS"):
        if len(parts) != 1:
            raise refuse(f"invalid {rtype} data {data!r}: one host name expected")
        return _target(parts[0], rtype)
    if rtype == "MX":
        if len(parts) != 2:
            raise refuse(f"invalid MX data {data!r}: 'preference host.' expected")
        return " ".join([*_numbers(parts[:1], [65535], "MX", data), _target(parts[1], "MX", True)])
    if rtype == "SRV":
        if len(parts) != 4:
            raise refuse(f"invalid SRV data {data!r}: 'priority weight port host.' expected")
        numbers = _numbers(parts[:3], [65535] * 3, "SRV", data)
        return " ".join([*numbers, _target(parts[3], "SRV", True)])
    if rtype == "TXT":
        return " ".join(_escape_string(s) for s in _parse_strings(data, "TXT"))
    if rtype == "CAA":
        match = re.fullmatch(r"\s*(\S+)\s+([A-Za-z0-9]+)\s+(.*?)\s*", data, re.ASCII)
        if not match:
            raise refuse(f"invalid CAA data {data!r}: 'flags tag \"value\"' expected")
        (flags,) = _numbers([match[1]], [255], "CAA", data)
        value = match[3]
        if value.startswith('"'):
            strings = _parse_strings(value, "CAA", max_len=None)
            if len(strings) != 1:
                raise refuse(f"invalid CAA data {data!r}: one quoted value expected")
            raw = strings[0]
        elif re.fullmatch(r"[\x21-\x7e]+", value) and not set(value) & set('"();\\'):
            raw = value.encode("ascii")
        else:
            raise refuse(f"invalid CAA data {data!r}: the value must be quoted")
        return f"{flags} {match[2].lower()} {_escape_string(raw)}"
    raise refuse(f"unsupported record type {rtype!r}")


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
        if rtype not in RECORD_TYPES:
            raise refuse(f"zone {domain}: unsupported record type {rtype!r}")
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


# ---------------------------------------------------------------- mail data


def mail_data(state: MailState) -> dict:
    """The mail domain's data, checked, in the JSON form kept under root/mail/domains/."""
    domain = check_domain(state.domain)
    mailboxes, aliases = {}, {}
    for box in state.mailboxes:
        if not isinstance(box, Mailbox):
            raise refuse(f"mail {domain}: not a Mailbox: {box!r}")
        if (
            not isinstance(box.local, str)
            or len(box.local) > 64
            or not LOCAL_RE.fullmatch(box.local)
        ):
            raise refuse(f"mail {domain}: invalid mailbox name {box.local!r}")
        if box.local in mailboxes:
            raise refuse(f"mail {domain}: the mailbox {box.local!r} is there twice")
        hashed = box.password_hash
        if not isinstance(hashed, str) or not DOVECOT_HASH_RE.fullmatch(hashed):
            raise refuse(f"mail {domain}: the password of {box.local!r} is not a Dovecot hash")
        quota = check_int(box.quota_mb, 1, 2**31 - 1, f"quota of {box.local!r}")
        mailboxes[box.local] = {"password_hash": hashed, "quota_mb": quota}
    for alias in state.aliases:
        if not isinstance(alias, Alias):
            raise refuse(f"mail {domain}: not an Alias: {alias!r}")
        local = alias.local
        if not isinstance(local, str) or (
            local and (len(local) > 64 or not LOCAL_RE.fullmatch(local))
        ):
            raise refuse(f"mail {domain}: invalid alias name {local!r}")
        if local in aliases:
            raise refuse(f"mail {domain}: the alias {local!r} is there twice")
        destinations = set()
        for address in alias.destinations:
            if not isinstance(address, str) or len(address) > 254:
                raise refuse(f"mail {domain}: invalid destination {address!r}")
            if not ADDRESS_RE.fullmatch(address) or not address.isprintable():
                raise refuse(f"mail {domain}: invalid destination {address!r}")
            destinations.add(address)
        if not destinations:
            raise refuse(f"mail {domain}: the alias {local!r} has no destination")
        aliases[local] = sorted(destinations)
    return {"domain": domain, "mailboxes": mailboxes, "aliases": aliases}


def mail_state_from_data(data: dict) -> MailState:
    return MailState(
        domain=data["domain"],
        mailboxes=tuple(
            Mailbox(local=local, password_hash=box["password_hash"], quota_mb=box["quota_mb"])
            for local, box in data["mailboxes"].items()
        ),
        aliases=tuple(
            Alias(local=local, destinations=tuple(destinations))
            for local, destinations in data["aliases"].items()
        ),
    )


def mail_maps(domains: list[dict]) -> dict[str, list[str]]:
    """The Postfix tables and the Dovecot passwd-file for all mail domains, sorted."""
    mailbox_domains, mailbox_maps, alias_maps, users = [], [], [], []
    for data in sorted(domains, key=lambda d: d["domain"]):
        domain = data["domain"]
        mailbox_domains.append(f"{domain} OK")
        aliases = data["aliases"]
        for local in sorted(data["mailboxes"]):
            box = data["mailboxes"][local]
            address = f"{local}@{domain}"
            mailbox_maps.append(f"{address} {domain}/{local}/")
            users.append(
                ":".join(
                    [
                        address,
                        box["password_hash"],
                        "",  # uid: Dovecot's mail_uid
                        "",  # gid: Dovecot's mail_gid
                        "",  # gecos
                        f"{MAIL_BASE}/{domain}/{local}",  # home
                        "",  # shell
                        f"userdb_quota_rule=*:storage={box['quota_mb']}M",
                    ]
                )
            )
        # A catch-all in virtual_alias_maps would take the mailboxes' mail too: Postfix's
        # VIRTUAL_README has each mailbox aliased to itself then.
        own = {}
        if "" in aliases:
            own = {local: [f"{local}@{domain}"] for local in data["mailboxes"]}
        for local, destinations in sorted({**own, **aliases}.items()):
            key = f"{local}@{domain}" if local else f"@{domain}"
            alias_maps.append(f"{key} {','.join(destinations)}")
    return {
        "virtual_mailbox_domains": mailbox_domains,
        "virtual_mailbox_maps": mailbox_maps,
        "virtual_alias_maps": alias_maps,
        "dovecot-users": users,
    }


# ---------------------------------------------------------------- web data


def check_site(site: object, domain: str) -> Site:
    if not isinstance(site, Site):
        raise refuse(f"web {domain}: not a Site: {site!r}")
    host = check_domain(site.host, "site host")
    if host != domain and not host.endswith("." + domain):
        raise refuse(f"web {domain}: the site {host} is not {domain} nor a subdomain of it")
    docroot = site.docroot
    if (
        not isinstance(docroot, str)
        or len(docroot) > 200
        or not DOCROOT_RE.fullmatch(docroot)
        or ".." in docroot.split("/")
    ):
        raise refuse(f"web {domain}: invalid docroot {docroot!r} of {host}: a relative folder")
    if not isinstance(site.php, str) or not PHP_RE.fullmatch(site.php):
        raise refuse(f"web {domain}: invalid PHP version {site.php!r} of {host}")
    if not isinstance(site.ssl, bool):
        raise refuse(f"web {domain}: invalid ssl {site.ssl!r} of {host}")
    return site


def site_conf(site: Site, domain: str, account: str, issued: bool) -> str:
    """The nginx server blocks of a site; the HTTPS one only once its certificate is there.

    nginx refuses to load a configuration that names a missing certificate (and with it every
    other site), so until certbot has issued one the site is served over HTTP, where the
    HTTP-01 challenge reaches the docroot.
    """
    root = f"{HOME_BASE}/{account}/{site.docroot}"
    serve = [
        f"    root {root};",
        "    index index.php index.html index.htm;",
        "",
        "    location / {",
        "        try_files $uri $uri/ /index.php$is_args$args;",
        "    }",
        "",
        "    location ~ \\.php$ {",
        "        try_files $uri =404;",
        "        include fastcgi_params;",
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        f"        fastcgi_pass unix:/run/php/php{site.php}-fpm.sock;",
        "    }",
    ]
    head = [
        f"# hosting account {account} ({domain}): written by the panel, edits are overwritten",
        "server {",
        "    listen 80;",
        "    listen [::]:80;",
        f"    server_name {site.host};",
    ]
    if not (site.ssl and issued):
        return "\n".join([*head, *serve, "}", ""])
    cert = f"{LETSENCRYPT_LIVE}/{site.host}"
    return "\n".join(
        [
            *head,
            f"    root {root};",
            "",
            "    location /.well-known/acme-challenge/ {",
            "    }",
            "",
            "    location / {",
            "        return 301 https://$host$request_uri;",
            "    }",
            "}",
            "",
            "server {",
            "    listen 443 ssl;",
            "    listen [::]:443 ssl;",
            f"    server_name {site.host};",
            f"    ssl_certificate {cert}/fullchain.pem;",
            f"    ssl_certificate_key {cert}/privkey.pem;",
            *serve,
            "}",
            "",
        ]
    )


def tree_size(folder: Path) -> int:
    """The total size of the regular files under ``folder`` (symbolic links not followed,
    hard links counted once)."""
    total, seen = 0, set()
    for top, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(os.path.join(top, name))
                if (st.st_mode & 0o170000) == 0o100000 and (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


# ---------------------------------------------------------------- the backend


class FilesBackend(Backend):
    """Writes the states as server files under ``root``; docs/provisioning.md has the layout.

    ``root/zones/``: ``<domain>.zone`` and ``named.conf.zones``; ``root/registry/<domain>.json``;
    ``root/mail/``: ``domains/<domain>.json``, the Postfix tables and ``dovecot-users``;
    ``root/web/``: ``sites/<host>.conf``, ``ssl-requests/<host>``, ``certs/<host>/`` (read),
    ``home/<account>/`` and ``<domain>/sites.json``; ``root/.locks/``.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root).absolute()
        if set(str(self.root)) & set('"\\;{}\n\r\t'):
            raise ValueError(f"the provisioning folder {self.root} has characters configs reject")

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock between processes and threads (each call opens its own file)."""
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.lock", "a+b") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _os_errors(self, what: str) -> Iterator[None]:
        """A failing disk is worth a retry: OSError becomes BackendError."""
        try:
            yield
        except OSError as error:
            raise BackendError(f"{what}: {error}") from error

    # ------------------------------------------------------------ DNS

    def apply_zone(self, state: ZoneState) -> None:
        """Write ``zones/<domain>.zone`` (or remove it when not served) and named.conf.zones.

        A serial lower than the one of the zone file already there is refused: the zone
        would go back in time and the secondaries would not follow.
        """
        domain = check_domain(state.domain)
        text = _text(zone_lines(state)) if state.served else None
        path = self.root / "zones" / f"{domain}.zone"
        with self._os_errors(f"zone {domain}"), self.lock("zones"):
            if text is None:
                remove_file(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    old = zone_serial(path.read_text("ascii", errors="replace"))
                    if old is None:
                        raise refuse(f"zone {domain}: no serial in the zone file {path}")
                    if state.serial < old:
                        raise refuse(
                            f"zone {domain}: serial {state.serial} is lower than {old} "
                            "of the zone being served"
                        )
                write_atomic(path, text)
            self._write_named_conf()

    def _write_named_conf(self) -> None:
        folder = self.root / "zones"
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["// the zones written by the panel's provisioning, one per zone file"]
        for path in sorted(folder.glob("*.zone")):
            domain = path.name.removesuffix(".zone")
            if DOMAIN_RE.fullmatch(domain) and path.is_file():
                lines.append(f'zone "{domain}" {{ type master; file "{path}"; }};')
        write_atomic(folder / "named.conf.zones", _text(lines))

    # ------------------------------------------------------------ registry

    def apply_registry(self, state: RegistryState) -> None:
        """Write ``registry/<domain>.json``: a stand-in for the call to a registrar's API.

        A real backend sends the nameservers, the registrant contact, the renewal flag and
        the transfer code to the registrar (EPP or its REST API); this one writes what it
        would send, so a test or an operator can see it.
        """
        domain = check_domain(state.domain)
        nameservers = [check_domain(ns, "nameserver") for ns in state.nameservers]
        if not isinstance(state.auto_renew, bool) or not isinstance(state.auth_code, str):
            raise refuse(f"registry {domain}: invalid auto_renew or auth_code")
        registrant = state.registrant
        contact = None
        if registrant is not None:
            contact = {
                key: getattr(registrant, key)
                for key in (
                    "name",
                    "organisation",
                    "email",
                    "phone",
                    "street",
                    "city",
                    "postcode",
                    "country",
                )
            }
            if not all(isinstance(value, str) for value in contact.values()):
                raise refuse(f"registry {domain}: the registrant's fields are text")
        data = {
            "domain": domain,
            "nameservers": nameservers,
            "registrant": contact,
            "auto_renew": state.auto_renew,
            "auth_code": state.auth_code,
        }
        text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        with self._os_errors(f"registry {domain}"):
            write_atomic(self.root / "registry" / f"{domain}.json", text.encode(), 0o640)

    # ------------------------------------------------------------ mail

    def apply_mail(self, state: MailState) -> None:
        """Keep ``mail/domains/<domain>.json`` and rebuild the Postfix and Dovecot files.

        No mailboxes and no aliases: the domain is removed (its mail on disk stays).
        """
        data = mail_data(state)
        domain = data["domain"]
        path = self.root / "mail" / "domains" / f"{domain}.json"
        with self._os_errors(f"mail {domain}"), self.lock("mail"):
            if data["mailboxes"] or data["aliases"]:
                text = json.dumps(data, sort_keys=True, indent=2) + "\n"
                write_atomic(path, text.encode("ascii"), 0o640)
            else:
                remove_file(path)
            self._write_mail_maps()

    def _write_mail_maps(self) -> None:
        folder = self.root / "mail"
        domains = []
        for path in sorted((folder / "domains").glob("*.json")):
            try:
                stored = json.loads(path.read_text("ascii"))
                data = mail_data(mail_state_from_data(stored))
                if data["domain"] != path.name.removesuffix(".json"):
                    raise ValueError("the domain differs from the file name")
            except (ValueError, KeyError, TypeError, AttributeError, PermanentBackendError) as e:
                raise BackendError(f"the stored mail domain {path} is unreadable: {e}") from e
            domains.append(data)
        for name, lines in mail_maps(domains).items():
            mode = 0o640 if name == "dovecot-users" else 0o644
            write_atomic(folder / name, _text(lines), mode)

    # ------------------------------------------------------------ web

    def apply_web(self, state: WebState) -> WebFacts:
        """Write one nginx conf per site, request certificates, report SSL and disk usage.

        Sites no longer in the state lose their conf and certificate request; the account's
        home folder is never removed. ``disk_bytes`` is the account's whole home, the same
        figure for each of its sites.
        """
        domain = check_domain(state.domain)
        account = account_name(domain)
        sites = [check_site(site, domain) for site in state.sites]
        hosts = [site.host for site in sites]
        if len(set(hosts)) != len(hosts):
            raise refuse(f"web {domain}: a site host is there twice")
        web = self.root / "web"
        home = web / "home" / account
        record = web / domain / "sites.json"
        statuses = {}
        with self._os_errors(f"web {domain}"), self.lock("web"):
            for host in hosts:
                owner = self._conf_owner(web / "sites" / f"{host}.conf")
                if owner not in (None, domain):
                    raise refuse(f"web {domain}: the site {host} belongs to {owner}")
            for site in sites:
                self._make_docroot(home, site.docroot)
            before = self._recorded_hosts(record)
            for site in sites:
                issued = (web / "certs" / site.host / "fullchain.pem").is_file()
                conf = site_conf(site, domain, account, issued)
                write_atomic(web / "sites" / f"{site.host}.conf", conf.encode("ascii"))
                request = web / "ssl-requests" / site.host
                if site.ssl and not issued:
                    webroot = f"{HOME_BASE}/{account}/{site.docroot}"
                    text = f"HOST={site.host}\nWEBROOT={webroot}\nDOMAIN={domain}\n"
                    write_atomic(request, text.encode("ascii"))
                else:
                    remove_file(request)
                statuses[site.host] = ("issued" if issued else "requested") if site.ssl else "none"
            for host in sorted(before - set(hosts)):
                conf_path = web / "sites" / f"{host}.conf"
                if self._conf_owner(conf_path) == domain:
                    remove_file(conf_path)
                    remove_file(web / "ssl-requests" / host)
            if sites:
                listing = [
                    {"host": s.host, "docroot": s.docroot, "php": s.php, "ssl": s.ssl}
                    for s in sites
                ]
                text = json.dumps(listing, sort_keys=True, indent=2) + "\n"
                write_atomic(record, text.encode("ascii"))
            else:
                remove_file(record)
                with contextlib.suppress(FileNotFoundError, OSError):
                    record.parent.rmdir()
        with self._os_errors(f"web {domain}"):
            usage = tree_size(home) if sites else None
        return WebFacts(
            sites=tuple(SiteFacts(host=h, ssl=statuses[h], disk_bytes=usage) for h in hosts)
        )

    @staticmethod
    def _conf_owner(path: Path) -> str | None:
        """The domain a site conf belongs to; None when there is no conf."""
        try:
            with open(path, encoding="ascii", errors="replace") as file:
                first = file.readline()
        except FileNotFoundError:
            return None
        match = _OWNER_RE.match(first)
        return match[2] if match else "a configuration not written by the panel"

    @staticmethod
    def _recorded_hosts(record: Path) -> set[str]:
        try:
            listing = json.loads(record.read_text("ascii"))
            return {
                entry["host"]
                for entry in listing
                if isinstance(entry, dict) and DOMAIN_RE.fullmatch(str(entry.get("host")))
            }
        except FileNotFoundError:
            return set()
        except (ValueError, TypeError) as error:
            raise BackendError(f"the site list {record} is unreadable: {error}") from error

    @staticmethod
    def _make_docroot(home: Path, docroot: str) -> None:
        """Make the docroot's folders under ``home``, refusing a way out through a symlink
        (a customer can make one in his home)."""
        home.mkdir(parents=True, exist_ok=True)
        real_home = home.resolve()
        path = home
        for part in docroot.split("/"):
            path = path / part
            if path.is_symlink() and not path.resolve().is_relative_to(real_home):
                raise refuse(f"the docroot {docroot} leads out of the home folder")
            if not path.exists():
                path.mkdir()
            elif not path.is_dir():
                raise refuse(f"the docroot {docroot} is not a folder")
