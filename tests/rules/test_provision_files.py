"""The reference provisioning backend (provision.backends.files) and the mailbox password hash.

No database and no app: the backend writes into tmp_path. Where they are installed, the real
tools check the output: BIND's named-checkzone and named-checkconf (bind9-utils), Dovecot
(dovecot-core: doveadm pw, and a Dovecot of its own reading the passwd-file), libsodium, nginx -t
(nginx) and postmap. REQUIRE_BIND=1, REQUIRE_DOVECOT=1 and REQUIRE_NGINX=1 make those checks
mandatory (postmap stays optional: Postfix is not installed for the tests).
"""

import ctypes
import ctypes.util
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from provision import mailpass
from provision.backends.base import BackendError, PermanentBackendError
from provision.backends.files import FilesBackend
from provision.backends.files.checks import account_name
from provision.backends.files.disk import write_atomic
from provision.state import (
    Alias,
    Mailbox,
    MailState,
    Record,
    Registrant,
    RegistryState,
    Site,
    SiteFacts,
    WebFacts,
    WebState,
    ZoneState,
)
from tests.conftest import skip_or_fail

REQUIRE_BIND = os.environ.get("REQUIRE_BIND") == "1"
REQUIRE_DOVECOT = os.environ.get("REQUIRE_DOVECOT") == "1"
REQUIRE_NGINX = os.environ.get("REQUIRE_NGINX") == "1"
REQUIRE_POSTFIX = os.environ.get("REQUIRE_POSTFIX") == "1"

NS = ("ns1.host.example", "ns2.host.example")
HOSTMASTER = "hostmaster.host.example"
HASH = (
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1"
    "$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
)


def tool(name, required, package):
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        skip_or_fail(required, f"{name} is missing (apt-get install {package})")
    return path


def zone(domain="example.com", serial=2026010101, records=(), **kwargs):
    return ZoneState(domain, serial, NS, HOSTMASTER, tuple(records), **kwargs)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- zones


def test_zone_file_exact(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_zone(
        zone(
            records=[
                Record("www", "CNAME", 300, "example.com."),
                Record("@", "MX", 3600, "10 mx.example.com."),
                Record("@", "A", 300, "192.0.2.1"),
                Record("mx", "A", 300, "192.0.2.25"),
                Record("@", "TXT", 300, '"v=spf1 mx -all"'),
                Record("@", "A", 300, "192.0.2.1"),  # the same record twice: once in the file
            ],
            default_ttl=1800,
        )
    )
    assert (tmp_path / "zones" / "example.com.zone").read_text() == (
        "; zone example.com: written by the panel's provisioning, edits are overwritten\n"
        "$ORIGIN example.com.\n"
        "$TTL 1800\n"
        "@ IN SOA ns1.host.example. hostmaster.host.example. "
        "( 2026010101 3600 900 1209600 1800 )\n"
        "@ IN NS ns1.host.example.\n"
        "@ IN NS ns2.host.example.\n"
        "@ 300 IN A 192.0.2.1\n"
        "@ 3600 IN MX 10 mx.example.com.\n"
        '@ 300 IN TXT "v=spf1 mx -all"\n'
        "mx 300 IN A 192.0.2.25\n"
        "www 300 IN CNAME example.com.\n"
    )
    zones = tmp_path / "zones"
    assert (zones / "named.conf.zones").read_text() == (
        "// the zones written by the panel's provisioning, one per zone file\n"
        f'zone "example.com" {{ type master; file "{zones}/example.com.zone"; }};\n'
    )
    assert files_under(tmp_path) == [
        ".locks/zones.lock",
        "zones/example.com.zone",
        "zones/named.conf.zones",
    ]


IDN = "xn--e1afmkfd.xn--90ae"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 8
EVERY_TYPE = [
    Record("@", "A", 300, "192.0.2.1"),
    Record("@", "AAAA", 300, "2001:db8::1"),
    Record("www", "CNAME", 300, f"{IDN}."),
    Record("@", "MX", 3600, f"10 mx.{IDN}."),
    Record("@", "MX", 3600, "20 mx.backup.example."),
    Record("mx", "A", 300, "192.0.2.25"),
    Record("mx", "AAAA", 300, "2001:DB8:0:0::25"),  # written compressed, lower case
    Record("@", "TXT", 300, '"v=spf1 mx -all"'),
    Record("sel._domainkey", "TXT", 300, f'"{DKIM[:255]}" "{DKIM[255:]}"'),
    Record("hello", "TXT", 300, '"Здравей, свят" "a \\"quoted\\" word"'),
    Record("_sip._tcp", "SRV", 300, f"10 5 5060 sip.{IDN}."),
    Record("sip", "A", 300, "192.0.2.5"),
    Record("@", "CAA", 300, '0 issue "letsencrypt.org"'),
    Record("@", "CAA", 300, '128 iodef "mailto:security@example.com"'),
    Record("dev", "NS", 86400, "ns1.other.example."),
    Record("dev", "NS", 86400, "ns2.other.example."),
    Record("*", "A", 300, "192.0.2.9"),
    Record("*.app", "CNAME", 300, f"{IDN}."),
]


def test_zone_with_every_record_type(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_zone(zone(IDN, records=EVERY_TYPE))
    path = tmp_path / "zones" / f"{IDN}.zone"
    body = path.read_text().splitlines()[6:]
    assert body == [
        "* 300 IN A 192.0.2.9",
        f"*.app 300 IN CNAME {IDN}.",
        "@ 300 IN A 192.0.2.1",
        "@ 300 IN AAAA 2001:db8::1",
        '@ 300 IN CAA 0 issue "letsencrypt.org"',
        '@ 300 IN CAA 128 iodef "mailto:security@example.com"',
        f"@ 3600 IN MX 10 mx.{IDN}.",
        "@ 3600 IN MX 20 mx.backup.example.",
        '@ 300 IN TXT "v=spf1 mx -all"',
        f"_sip._tcp 300 IN SRV 10 5 5060 sip.{IDN}.",
        "dev 86400 IN NS ns1.other.example.",
        "dev 86400 IN NS ns2.other.example.",
        # non-ASCII as \DDD escapes of its UTF-8 bytes, quotes kept escaped
        "hello 300 IN TXT "
        '"\\208\\151\\208\\180\\209\\128\\208\\176\\208\\178\\208\\181\\208\\185, '
        '\\209\\129\\208\\178\\209\\143\\209\\130" "a \\"quoted\\" word"',
        "mx 300 IN A 192.0.2.25",
        "mx 300 IN AAAA 2001:db8::25",
        f'sel._domainkey 300 IN TXT "{DKIM[:255]}" "{DKIM[255:]}"',
        "sip 300 IN A 192.0.2.5",
        f"www 300 IN CNAME {IDN}.",
    ]
    assert path.read_text().isascii()

    checkzone = tool("named-checkzone", REQUIRE_BIND, "bind9-utils")
    result = subprocess.run(
        [checkzone, "-k", "fail", "-i", "full", "-D", "-o", "-", IDN, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # BIND reads back what was meant: the DKIM key in two strings, the Cyrillic bytes
    canonical = result.stdout
    assert f'"{DKIM[:255]}" "{DKIM[255:]}"' in canonical
    assert "\\208\\151\\208\\180" in canonical
    assert re.search(rf"^{re.escape(IDN)}\.\s+3600\s+IN\s+SOA\s.* 2026010101 ", canonical, re.M)

    checkconf = tool("named-checkconf", REQUIRE_BIND, "bind9-utils")
    backend.apply_zone(zone("example.com", records=[Record("@", "A", 300, "192.0.2.1")]))
    wrapper = tmp_path / "named.conf"
    wrapper.write_text(f'include "{tmp_path}/zones/named.conf.zones";\n')
    result = subprocess.run(
        [checkconf, "-z", str(wrapper)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"zone {IDN}/IN: loaded serial 2026010101" in result.stdout
    assert "zone example.com/IN: loaded serial 2026010101" in result.stdout


def test_zone_serial_may_not_go_down(tmp_path):
    backend = FilesBackend(tmp_path)
    path = tmp_path / "zones" / "example.com.zone"
    backend.apply_zone(zone(serial=2026010102, records=[Record("@", "A", 300, "192.0.2.1")]))
    first = path.stat()
    backend.apply_zone(zone(serial=2026010102, records=[Record("@", "A", 300, "192.0.2.1")]))
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)  # untouched

    with pytest.raises(PermanentBackendError, match="lower than 2026010102"):
        backend.apply_zone(zone(serial=2026010101, records=[Record("@", "A", 300, "192.0.2.2")]))
    assert "192.0.2.2" not in path.read_text()
    assert "( 2026010102 " in path.read_text()

    backend.apply_zone(zone(serial=2026010103, records=[Record("@", "A", 300, "192.0.2.3")]))
    assert "( 2026010103 " in path.read_text()
    assert "192.0.2.3" in path.read_text()


def test_zone_not_served_is_removed(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_zone(zone("example.com"))
    backend.apply_zone(zone("example.org"))
    backend.apply_zone(zone("example.com", served=False))
    backend.apply_zone(zone("example.com", served=False))  # again: nothing to remove, no error
    assert not (tmp_path / "zones" / "example.com.zone").exists()
    conf = (tmp_path / "zones" / "named.conf.zones").read_text()
    assert '"example.org"' in conf
    assert "example.com" not in conf
    # a zone that went away may come back with any serial
    backend.apply_zone(zone("example.com", serial=1))
    assert '"example.com"' in (tmp_path / "zones" / "named.conf.zones").read_text()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (zone("../etc"), "invalid domain"),
        (zone("example.com/x"), "invalid domain"),
        (zone("exa mple.com"), "invalid domain"),
        (zone("Example.com"), "invalid domain"),
        (zone("example.com."), "invalid domain"),
        (zone("com"), "invalid domain"),
        (ZoneState("example.com", 1, (), HOSTMASTER), "no nameserver"),
        (ZoneState("example.com", 1, ("ns1.x.example\n",), HOSTMASTER), "invalid nameserver"),
        (zone(serial=-1), "invalid serial"),
        (zone(serial=2**32), "invalid serial"),
        (zone(records=[Record("a b", "A", 300, "192.0.2.1")]), "invalid record name"),
        (zone(records=[Record("../x", "A", 300, "192.0.2.1")]), "invalid record name"),
        (zone(records=[Record("www.", "A", 300, "192.0.2.1")]), "invalid record name"),
        (zone(records=[Record("\u212aey", "A", 300, "192.0.2.1")]), "invalid record name"),
        (zone(records=[Record("www", "CNAME", 300, "\u017fhop.example.")]), "ASCII outside quotes"),
        (zone(records=[Record("@", "MX", 300, "\u0661\u0660 mx.example.com.")]), "ASCII outside"),
        (zone(records=[Record("@", "PTR", 300, "x.example.")]), "unsupported record type"),
        (zone(records=[Record("@", "A", -1, "192.0.2.1")]), "invalid TTL"),
        (zone(records=[Record("@", "A", 300, "192.0.2.1\n@ NS evil.example.")]), "invalid A"),
        (zone(records=[Record("@", "A", 300, "192.0.2.256")]), "invalid A"),
        (zone(records=[Record("@", "AAAA", 300, "fe80::1%eth0")]), "invalid AAAA"),
        (zone(records=[Record("@", "TXT", 300, "v=spf1 -all")]), "quoted strings expected"),
        (zone(records=[Record("@", "TXT", 300, '"open')]), "ended unexpectedly"),
        (zone(records=[Record("@", "TXT", 300, '"a" ( "b"')]), "quoted strings expected"),
        (zone(records=[Record("@", "TXT", 300, '"' + "x" * 256 + '"')]), "string too long"),
        (zone(records=[Record("@", "TXT", 300, '"' + "щ" * 128 + '"')]), "string too long"),
        (zone(records=[Record("@", "TXT", 300, '"a\tb"')]), "control characters"),
        (zone(records=[Record("@", "TXT", 300, '"\\256"')]), "is malformed"),
        (zone(records=[Record("www", "CNAME", 300, "example.com")]), "with its dot"),
        (zone(records=[Record("@", "MX", 300, "10 mx.example.com")]), "with its dot"),
        (zone(records=[Record("@", "MX", 300, "70000 mx.example.com.")]), "unsigned 16-bit"),
        (zone(records=[Record("@", "MX", 300, "mx.example.com.")]), "'preference host.'"),
        (zone(records=[Record("_s._tcp", "SRV", 300, "1 2 mx.example.com.")]), "'priority"),
        (zone(records=[Record("@", "CAA", 300, "0 issue")]), "'flags tag"),
        (zone(records=[Record("@", "CAA", 300, "0 issue letsencrypt.org;x")]), "without a comment"),
        # dnspython alone would read these as a comment, a continuation or the root
        (zone(records=[Record("@", "TXT", 300, '"x" ; y')]), "without a comment"),
        (zone(records=[Record("@", "TXT", 300, '"a" ( "b" )')]), "without a comment"),
        (zone(records=[Record("www", "CNAME", 300, ".")]), "with its dot"),
        (zone(records=[Record("@", "NS", 300, "ns1.example")]), "with its dot"),
        (zone(records=[Record("@", "CNAME", 300, "other.example.")]), "CNAME at '@'"),
        (
            zone(
                records=[
                    Record("www", "CNAME", 300, "example.com."),
                    Record("www", "TXT", 300, '"x"'),
                ]
            ),
            "CNAME at 'www'",
        ),
        (
            zone(
                records=[
                    Record("www", "CNAME", 300, "a.example."),
                    Record("www", "CNAME", 300, "b.example."),
                ]
            ),
            "more than one CNAME",
        ),
    ],
)
def test_zone_refused(tmp_path, state, message):
    with pytest.raises(PermanentBackendError, match=re.escape(message)):
        FilesBackend(tmp_path).apply_zone(state)
    assert not (tmp_path / "zones").exists()  # refused before anything was written


def test_unreadable_zone_file_is_not_overwritten(tmp_path):
    path = tmp_path / "zones" / "example.com.zone"
    path.parent.mkdir()
    path.write_text("; someone else's file\n")
    with pytest.raises(PermanentBackendError, match="no serial"):
        FilesBackend(tmp_path).apply_zone(zone())
    assert path.read_text() == "; someone else's file\n"


def test_root_with_characters_configs_reject(tmp_path):
    with pytest.raises(ValueError, match="characters"):
        FilesBackend(tmp_path / 'a"b')


# ---------------------------------------------------------------- registry


def test_registry_file_exact(tmp_path):
    backend = FilesBackend(tmp_path)
    registrant = Registrant(
        name="Иван Петров",
        organisation="",
        email="ivan@example.bg",
        phone="+359.888123456",
        street="ул. Витоша 1",
        city="София",
        postcode="1000",
        country="BG",
    )
    backend.apply_registry(
        RegistryState("example.bg", ("ns1.host.example", "ns2.host.example"), registrant, True)
    )
    path = tmp_path / "registry" / "example.bg.json"
    assert path.read_text() == (
        "{\n"
        '  "auth_code": "",\n'
        '  "auto_renew": true,\n'
        '  "domain": "example.bg",\n'
        '  "nameservers": [\n'
        '    "ns1.host.example",\n'
        '    "ns2.host.example"\n'
        "  ],\n"
        '  "registrant": {\n'
        '    "city": "София",\n'
        '    "country": "BG",\n'
        '    "email": "ivan@example.bg",\n'
        '    "name": "Иван Петров",\n'
        '    "organisation": "",\n'
        '    "phone": "+359.888123456",\n'
        '    "postcode": "1000",\n'
        '    "street": "ул. Витоша 1"\n'
        "  }\n"
        "}\n"
    )
    assert path.stat().st_mode & 0o777 == 0o640

    backend.apply_registry(RegistryState("example.bg", ("a.example",), None, False, "Xy7-code"))
    assert json.loads(path.read_text()) == {
        "auth_code": "Xy7-code",
        "auto_renew": False,
        "domain": "example.bg",
        "nameservers": ["a.example"],
        "registrant": None,
    }
    with pytest.raises(PermanentBackendError, match="invalid domain"):
        backend.apply_registry(RegistryState("../x.bg", (), None, False))
    with pytest.raises(PermanentBackendError, match="invalid nameserver"):
        backend.apply_registry(RegistryState("x.bg", ("ns 1.example",), None, False))


# ---------------------------------------------------------------- mail


def read(root, name):
    return (root / "mail" / name).read_text()


def small_mail_domain():
    return MailState(
        "example.com",
        mailboxes=(
            Mailbox("office", HASH, 2048),
            Mailbox("ivan.petrov", HASH, 512),
        ),
        aliases=(
            Alias("sales", ("office@example.com", "boss@gmail.example", "office@example.com")),
            Alias("", ("office@example.com",)),
        ),
    )


def test_mail_maps_exact(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_mail(small_mail_domain())
    assert read(tmp_path, "virtual_mailbox_domains") == "example.com OK\n"
    assert read(tmp_path, "virtual_mailbox_maps") == (
        "ivan.petrov@example.com example.com/ivan.petrov/\noffice@example.com example.com/office/\n"
    )
    # the catch-all, and each mailbox aliased to itself so that the catch-all does not take
    # the mailboxes' mail (Postfix's VIRTUAL_README); destinations sorted, once each
    assert read(tmp_path, "virtual_alias_maps") == (
        "@example.com office@example.com\n"
        "ivan.petrov@example.com ivan.petrov@example.com\n"
        "office@example.com office@example.com\n"
        "sales@example.com boss@gmail.example,office@example.com\n"
    )
    assert read(tmp_path, "dovecot-users") == (
        f"ivan.petrov@example.com:{HASH}::::/var/mail/vhosts/example.com/ivan.petrov::"
        "userdb_quota_rule=*:storage=512M\n"
        f"office@example.com:{HASH}::::/var/mail/vhosts/example.com/office::"
        "userdb_quota_rule=*:storage=2048M\n"
    )
    users = tmp_path / "mail" / "dovecot-users"
    assert users.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "mail" / "domains" / "example.com.json").stat().st_mode & 0o777 == 0o640
    # the passwd-file fields: user:password:uid:gid:gecos:home:shell:extra_fields
    fields = users.read_text().splitlines()[0].split(":", 7)
    assert fields == [
        "ivan.petrov@example.com",
        HASH,
        "",
        "",
        "",
        "/var/mail/vhosts/example.com/ivan.petrov",
        "",
        "userdb_quota_rule=*:storage=512M",
    ]


def test_mail_without_catch_all_has_no_self_aliases(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_mail(
        MailState("example.com", (Mailbox("a", HASH, 100),), (Alias("b", ("a@example.com",)),))
    )
    assert read(tmp_path, "virtual_alias_maps") == "b@example.com a@example.com\n"


def test_mail_destinations_as_the_panel_allows_them(tmp_path):
    """email-validator lets through UTF-8 local parts (SMTPUTF8) and RFC 5322's specials."""
    FilesBackend(tmp_path).apply_mail(
        MailState(
            "example.com",
            aliases=(Alias("team", ("иван@example.bg", "a/b#c@x.example", "Big@x.example")),),
        )
    )
    assert read(tmp_path, "virtual_alias_maps") == (
        "team@example.com Big@x.example,a/b#c@x.example,иван@example.bg\n"
    )


def test_mail_two_domains_then_one_removed(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_mail(small_mail_domain())
    backend.apply_mail(MailState("example.org", aliases=(Alias("info", ("x@example.com",)),)))
    assert read(tmp_path, "virtual_mailbox_domains") == "example.com OK\nexample.org OK\n"
    assert read(tmp_path, "virtual_alias_maps").endswith("info@example.org x@example.com\n")

    backend.apply_mail(MailState("example.com"))  # no mailboxes, no aliases: removed
    assert read(tmp_path, "virtual_mailbox_domains") == "example.org OK\n"
    assert read(tmp_path, "virtual_mailbox_maps") == ""
    assert read(tmp_path, "virtual_alias_maps") == "info@example.org x@example.com\n"
    assert read(tmp_path, "dovecot-users") == ""
    assert not (tmp_path / "mail" / "domains" / "example.com.json").exists()

    backend.apply_mail(MailState("example.org"))
    backend.apply_mail(MailState("example.org"))  # removing twice is harmless
    assert read(tmp_path, "virtual_mailbox_domains") == ""


def test_mail_applied_again_changes_nothing(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_mail(small_mail_domain())
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "mail").rglob("*") if p.is_file()}
    backend.apply_mail(small_mail_domain())
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "mail").rglob("*") if p.is_file()}
    assert before == after
    assert not [p for p in tmp_path.rglob("*.tmp")]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (MailState("ex/ample.com", (Mailbox("a", HASH, 1),)), "invalid domain"),
        (MailState("example.com", (Mailbox("a:b", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("../a", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("a/b", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("a b", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("a\n", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("A", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("a..b", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("#a", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("", HASH, 1),)), "invalid mailbox name"),
        (MailState("example.com", (Mailbox("a", HASH, 1),) * 2), "there twice"),
        (MailState("example.com", (Mailbox("a", "plain", 1),)), "not a Dovecot hash"),
        (MailState("example.com", (Mailbox("a", HASH + ":0:0", 1),)), "not a Dovecot hash"),
        (MailState("example.com", (Mailbox("a", HASH + "\nb:x", 1),)), "not a Dovecot hash"),
        (MailState("example.com", (Mailbox("a", HASH, 0),)), "invalid quota"),
        (MailState("example.com", aliases=(Alias("a", ()),)), "no destination"),
        (MailState("example.com", aliases=(Alias("a", ("b@x.example,c@x.example",)),)), "dest"),
        (MailState("example.com", aliases=(Alias("a", ("b @x.example",)),)), "destination"),
        (MailState("example.com", aliases=(Alias("a", ("b",)),)), "destination"),
        (MailState("example.com", aliases=(Alias("a", ("b\u2028c@x.example",)),)), "dest"),
        (MailState("example.com", aliases=(Alias("a", ('"b c"@x.example',)),)), "destination"),
        (MailState("example.com", aliases=(Alias("a", ("b@пример.bg",)),)), "destination"),
        (MailState("example.com", aliases=(Alias("a b", ("b@x.example",)),)), "alias name"),
        (MailState("example.com", aliases=(Alias("@", ("b@x.example",)),)), "alias name"),
    ],
)
def test_mail_refused(tmp_path, state, message):
    with pytest.raises(PermanentBackendError, match=re.escape(message)):
        FilesBackend(tmp_path).apply_mail(state)
    assert not (tmp_path / "mail").exists()


def test_mail_stored_domain_unreadable_is_retried(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_mail(small_mail_domain())
    (tmp_path / "mail" / "domains" / "broken.example.json").write_text("{")
    with pytest.raises(BackendError, match=re.escape("broken.example.json")) as caught:
        backend.apply_mail(MailState("example.org", aliases=(Alias("a", ("b@x.example",)),)))
    assert not isinstance(caught.value, PermanentBackendError)


def test_mail_threads_do_not_lose_domains(tmp_path):
    """Two workers rebuilding the shared maps at once: the lock keeps both domains."""
    backend = FilesBackend(tmp_path)
    errors = []
    for round_ in range(30):
        barrier = threading.Barrier(2)

        def apply(domain, barrier=barrier):
            try:
                barrier.wait()
                backend.apply_mail(MailState(domain, (Mailbox("info", HASH, 100),)))
            except Exception as error:  # pragma: no cover - shown by the assert below
                errors.append(error)

        domains = [f"a{round_}.example", f"b{round_}.example"]
        threads = [threading.Thread(target=apply, args=(d,)) for d in domains]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        listed = read(tmp_path, "virtual_mailbox_domains")
        assert f"{domains[0]} OK\n" in listed
        assert f"{domains[1]} OK\n" in listed
    assert len(read(tmp_path, "dovecot-users").splitlines()) == 60


LOCK_HOLDER = """
import fcntl, sys
with open(sys.argv[1], "a+b") as file:
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_mail_waits_for_another_process_holding_the_lock(tmp_path):
    backend = FilesBackend(tmp_path)
    (tmp_path / ".locks").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / ".locks" / "mail.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        done = threading.Event()

        def apply():
            backend.apply_mail(MailState("example.com", (Mailbox("info", HASH, 100),)))
            done.set()

        thread = threading.Thread(target=apply)
        thread.start()
        assert not done.wait(0.5)  # waiting for the other process
        assert not (tmp_path / "mail" / "virtual_mailbox_domains").exists()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        thread.join(30)
        assert done.is_set()
        assert read(tmp_path, "virtual_mailbox_domains") == "example.com OK\n"
    finally:
        holder.stdin.close()
        holder.stdout.close()
        holder.wait(30)


def test_mail_maps_parse_with_postmap(tmp_path):
    """Postfix itself reads the maps: each lookup gives what the file means."""
    postmap = tool("postmap", REQUIRE_POSTFIX, "postfix")
    FilesBackend(tmp_path).apply_mail(small_mail_domain())
    config = tmp_path / "postfix"  # a private, empty configuration: the host's is not needed
    config.mkdir()
    (config / "main.cf").write_text("compatibility_level = 3.6\n")
    for name, key, expected in (
        ("virtual_mailbox_domains", "example.com", "OK"),
        ("virtual_mailbox_maps", "office@example.com", "example.com/office/"),
        ("virtual_alias_maps", "sales@example.com", "boss@gmail.example,office@example.com"),
        ("virtual_alias_maps", "@example.com", "office@example.com"),
        ("virtual_alias_maps", "office@example.com", "office@example.com"),
    ):
        result = subprocess.run(
            [postmap, "-c", str(config), "-q", key, f"texthash:{tmp_path}/mail/{name}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "warning" not in result.stderr, result.stderr
        assert result.stdout.strip() == expected, (name, key, result.stdout, result.stderr)


# ---------------------------------------------------------------- mail passwords


def test_mail_password_hash_form():
    hashed = mailpass.hash_password("correct horse")
    match = re.fullmatch(
        r"\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)",
        hashed,
    )
    assert match, hashed
    assert len(match[1]) == 22  # 16 bytes of salt, unpadded base64
    assert len(match[2]) == 43  # 32 bytes of hash
    assert mailpass.verify_password(hashed, "correct horse")
    assert not mailpass.verify_password(hashed, "correct horsE")
    assert not mailpass.verify_password(hashed.removeprefix("{ARGON2ID}"), "correct horse")
    assert not mailpass.verify_password("{ARGON2ID}nonsense", "correct horse")
    assert not mailpass.verify_password("{PLAIN}correct horse", "correct horse")
    assert mailpass.hash_password("correct horse") != hashed  # a new salt each time


def test_mail_password_hash_passes_libsodium():
    """Dovecot verifies ARGON2ID with libsodium's crypto_pwhash_str_verify."""
    name = ctypes.util.find_library("sodium")
    if name is None:
        skip_or_fail(REQUIRE_DOVECOT, "libsodium is missing (apt-get install dovecot-core)")
    sodium = ctypes.CDLL(name)
    assert sodium.sodium_init() >= 0
    verify = sodium.crypto_pwhash_str_verify
    verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong]
    stored = mailpass.hash_password("Парола 1").removeprefix("{ARGON2ID}").encode()
    password = "Парола 1".encode()
    assert verify(stored, password, len(password)) == 0
    assert verify(stored, b"Parola 1", 8) == -1


def test_mail_password_hash_passes_doveadm(tmp_path):
    doveadm = tool("doveadm", REQUIRE_DOVECOT, "dovecot-core")
    # doveadm pw needs no running Dovecot: an empty config keeps it off /etc/dovecot
    config = tmp_path / "dovecot.conf"
    config.write_text("")
    hashed = mailpass.hash_password("s3cret Парола")

    def check(password):
        return subprocess.run(
            [doveadm, "-c", str(config), "pw", "-t", hashed, "-p", password],
            capture_output=True,
            text=True,
            timeout=60,
        )

    right = check("s3cret Парола")
    assert right.returncode == 0, right.stdout + right.stderr
    assert "(verified)" in right.stdout
    wrong = check("s3cret парола")
    assert wrong.returncode != 0
    assert "mismatch" in wrong.stderr


DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols =
ssl = no
auth_failure_delay = 0
default_internal_user = {user}
default_login_user = {user}
default_internal_group = {group}
passdb {{
  driver = passwd-file
  args = scheme=ARGON2ID username_format=%u {users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users}
  default_fields = uid=65534 gid=65534
}}
"""


def test_dovecot_reads_the_passwd_file(tmp_path):
    """A Dovecot of its own (no protocols, sockets under tmp) logs in from dovecot-users."""
    doveadm = tool("doveadm", REQUIRE_DOVECOT, "dovecot-core")
    dovecot = tool("dovecot", REQUIRE_DOVECOT, "dovecot-core")
    backend = FilesBackend(tmp_path / "p")
    backend.apply_mail(
        MailState(
            "example.com",
            (
                Mailbox("info", mailpass.hash_password("s3cret"), 512),
                Mailbox("ivan.petrov", mailpass.hash_password("другa"), 100),
            ),
        )
    )
    folder = tmp_path / "d"  # short: the sockets' paths have a length limit
    folder.mkdir()
    config = folder / "dovecot.conf"
    config.write_text(
        DOVECOT_CONF.format(
            dir=folder,
            user=pwd.getpwuid(os.getuid()).pw_name,
            group=grp.getgrgid(os.getgid()).gr_name,
            users=tmp_path / "p" / "mail" / "dovecot-users",
        )
    )

    def doveadm_run(*args):
        return subprocess.run(
            [doveadm, "-c", str(config), *args], capture_output=True, text=True, timeout=60
        )

    # the daemon keeps its output open: a file, not a pipe that run() would wait on
    with open(folder / "start.log", "w") as log:
        started = subprocess.run([dovecot, "-c", str(config)], stdout=log, stderr=log, timeout=60)
    assert started.returncode == 0, (folder / "start.log").read_text()
    try:
        for _ in range(100):
            if (folder / "run" / "auth-client").exists():
                break
            time.sleep(0.1)
        right = doveadm_run("auth", "test", "info@example.com", "s3cret")
        assert right.returncode == 0, right.stdout + right.stderr
        assert "auth succeeded" in right.stdout
        other = doveadm_run("auth", "test", "ivan.petrov@example.com", "другa")
        assert other.returncode == 0, other.stdout + other.stderr
        user = doveadm_run("user", "ivan.petrov@example.com")
        assert user.returncode == 0, user.stdout + user.stderr
        fields = dict(line.split("\t", 1) for line in user.stdout.splitlines()[1:])
        assert fields["home"] == "/var/mail/vhosts/example.com/ivan.petrov"
        assert fields["quota_rule"] == "*:storage=100M"
        # last: a failure slows the next logins down (Dovecot's auth penalty)
        wrong = doveadm_run("auth", "test", "info@example.com", "s3creT")
        assert wrong.returncode != 0
        assert "auth failed" in wrong.stdout
    finally:
        doveadm_run("stop")
        for _ in range(100):
            if not (folder / "run" / "master.pid").exists():
                break
            time.sleep(0.1)


# ---------------------------------------------------------------- web


def site(host="example.com", docroot="public_html", php="8.3", ssl=False):
    return Site(host, docroot, php, ssl)


def conf(root, host):
    return (root / "web" / "sites" / f"{host}.conf").read_text()


PLAIN_CONF = """\
# hosting account example_com (example.com): written by the panel, edits are overwritten
server {
    listen 80;
    listen [::]:80;
    server_name example.com;
    root /home/example_com/public_html;
    index index.php index.html index.htm;

    location / {
        try_files $uri $uri/ /index.php$is_args$args;
    }

    location ~ \\.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.3-fpm.sock;
    }
}
"""


def test_web_site_conf_exact(tmp_path):
    backend = FilesBackend(tmp_path)
    facts = backend.apply_web(WebState("example.com", (site(),)))
    assert facts == WebFacts((SiteFacts("example.com", ssl="none", disk_bytes=0),))
    assert conf(tmp_path, "example.com") == PLAIN_CONF
    assert (tmp_path / "web" / "home" / "example_com" / "public_html").is_dir()
    assert json.loads((tmp_path / "web" / "example.com" / "sites.json").read_text()) == [
        {"docroot": "public_html", "host": "example.com", "php": "8.3", "ssl": False}
    ]
    assert not (tmp_path / "web" / "ssl-requests").exists()


def test_web_ssl_requested_then_issued(tmp_path):
    backend = FilesBackend(tmp_path)
    state = WebState("example.com", (site("blog.example.com", "public_html/blog", "8.2", True),))
    facts = backend.apply_web(state)
    assert facts.sites[0].ssl == "requested"
    request = tmp_path / "web" / "ssl-requests" / "blog.example.com"
    assert request.read_text() == (
        "HOST=blog.example.com\nWEBROOT=/home/example_com/public_html/blog\nDOMAIN=example.com\n"
    )
    # no certificate yet: nginx would refuse a conf naming a missing one, so HTTP only
    text = conf(tmp_path, "blog.example.com")
    assert "443" not in text
    assert "fastcgi_pass unix:/run/php/php8.2-fpm.sock;" in text
    assert "root /home/example_com/public_html/blog;" in text

    cert = tmp_path / "web" / "certs" / "blog.example.com"
    cert.mkdir(parents=True)
    (cert / "fullchain.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    facts = backend.apply_web(state)
    assert facts.sites[0].ssl == "issued"
    assert not request.exists()
    text = conf(tmp_path, "blog.example.com")
    assert text.count("server {") == 2
    assert "    listen 443 ssl;\n    listen [::]:443 ssl;\n" in text
    assert "ssl_certificate /etc/letsencrypt/live/blog.example.com/fullchain.pem;" in text
    assert "ssl_certificate_key /etc/letsencrypt/live/blog.example.com/privkey.pem;" in text
    plain, secure = text.split("server {")[1:]
    assert "return 301 https://$host$request_uri;" in plain
    assert "location /.well-known/acme-challenge/" in plain
    assert "fastcgi_pass" not in plain
    assert "fastcgi_pass unix:/run/php/php8.2-fpm.sock;" in secure

    # SSL switched off: the conf goes back to HTTP only
    facts = backend.apply_web(WebState("example.com", (site("blog.example.com", ssl=False),)))
    assert facts.sites[0].ssl == "none"
    assert "443" not in conf(tmp_path, "blog.example.com")


def test_web_sites_removed(tmp_path):
    backend = FilesBackend(tmp_path)
    sites_dir = tmp_path / "web" / "sites"
    backend.apply_web(WebState("example.com", (site(), site("shop.example.com", "shop", ssl=True))))
    backend.apply_web(WebState("example.org", (site("example.org"),)))
    assert sorted(p.name for p in sites_dir.iterdir()) == [
        "example.com.conf",
        "example.org.conf",
        "shop.example.com.conf",
    ]
    assert (tmp_path / "web" / "ssl-requests" / "shop.example.com").exists()

    backend.apply_web(WebState("example.com", (site(),)))
    assert sorted(p.name for p in sites_dir.iterdir()) == ["example.com.conf", "example.org.conf"]
    assert not (tmp_path / "web" / "ssl-requests" / "shop.example.com").exists()

    home = tmp_path / "web" / "home" / "example_com"
    (home / "public_html" / "index.php").write_text("<?php echo 1;")
    facts = backend.apply_web(WebState("example.com"))
    assert facts == WebFacts(())
    assert sorted(p.name for p in sites_dir.iterdir()) == ["example.org.conf"]
    assert not (tmp_path / "web" / "example.com").exists()
    # the data stays: the panel never deletes a customer's files
    assert (home / "public_html" / "index.php").read_text() == "<?php echo 1;"
    assert (home / "shop").is_dir()
    backend.apply_web(WebState("example.com"))  # again: harmless


def test_web_disk_usage(tmp_path):
    backend = FilesBackend(tmp_path)
    state = WebState("example.com", (site(), site("blog.example.com", "public_html/blog")))
    backend.apply_web(state)
    home = tmp_path / "web" / "home" / "example_com"
    (home / "public_html" / "index.html").write_bytes(b"x" * 1000)
    (home / "public_html" / "blog" / "a.txt").write_bytes(b"y" * 234)
    (home / "logs").mkdir()
    (home / "logs" / "access.log").write_bytes(b"z" * 10_000)
    os.link(home / "logs" / "access.log", home / "logs" / "hard-link.log")  # counted once
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"o" * 50_000)
    (home / "link-to-outside").symlink_to(outside)  # not followed
    (home / "link-to-file").symlink_to(outside / "big")
    (tmp_path / "web" / "home" / "other_com").mkdir()
    (tmp_path / "web" / "home" / "other_com" / "f").write_bytes(b"n" * 777)  # another account

    facts = backend.apply_web(state)
    assert facts == WebFacts(
        (
            SiteFacts("example.com", ssl="none", disk_bytes=11_234),
            SiteFacts("blog.example.com", ssl="none", disk_bytes=11_234),
        )
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (WebState("../x.com", (site(),)), "invalid domain"),
        (WebState("example.com", (site(docroot="../other_com"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="public_html/../../x"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="/etc"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="public_html/"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="a//b"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="."),)), "invalid docroot"),
        (WebState("example.com", (site(docroot=""),)), "invalid docroot"),
        (WebState("example.com", (site(docroot=".ssh"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="a b"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="x;\n}"),)), "invalid docroot"),
        (WebState("example.com", (site(docroot="$document_root"),)), "invalid docroot"),
        (WebState("example.com", (site("other.com"),)), "not example.com nor a subdomain"),
        (WebState("example.com", (site("badexample.com"),)), "not example.com nor a subdomain"),
        (WebState("example.com", (site("a/b.example.com"),)), "invalid site host"),
        (WebState("example.com", (site("a b.example.com"),)), "invalid site host"),
        (WebState("example.com", (site("*.example.com"),)), "invalid site host"),
        (WebState("example.com", (site(php="8.3; evil"),)), "invalid PHP version"),
        (WebState("example.com", (site(php="../8"),)), "invalid PHP version"),
        (WebState("example.com", (site(), site())), "there twice"),
    ],
)
def test_web_refused(tmp_path, state, message):
    with pytest.raises(PermanentBackendError, match=re.escape(message)):
        FilesBackend(tmp_path).apply_web(state)
    assert not (tmp_path / "web").exists()


def test_web_docroot_through_a_symlink_refused(tmp_path):
    backend = FilesBackend(tmp_path)
    home = tmp_path / "web" / "home" / "example_com"
    home.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (home / "public_html").symlink_to(tmp_path / "elsewhere")  # made by the customer
    with pytest.raises(PermanentBackendError, match="leads out of the home folder"):
        backend.apply_web(WebState("example.com", (site(docroot="public_html/blog"),)))
    assert not (tmp_path / "elsewhere" / "blog").exists()
    # a symlink inside the home is the customer's business
    (home / "www").symlink_to(home / "real")
    (home / "real").mkdir()
    backend.apply_web(WebState("example.com", (site(docroot="www/blog"),)))
    assert (home / "real" / "blog").is_dir()


def test_web_host_of_another_account_refused(tmp_path):
    backend = FilesBackend(tmp_path)
    backend.apply_web(WebState("blog.example.com", (site("blog.example.com"),)))
    with pytest.raises(PermanentBackendError, match=re.escape("belongs to blog.example.com")):
        backend.apply_web(WebState("example.com", (site(), site("blog.example.com"))))
    assert "blog_example_com" in conf(tmp_path, "blog.example.com")
    # and removing example.com's sites leaves the other account's conf alone
    backend.apply_web(WebState("example.com", (site(),)))
    backend.apply_web(WebState("example.com"))
    assert "blog_example_com" in conf(tmp_path, "blog.example.com")


@pytest.mark.parametrize(
    ("domain", "account"),
    [
        ("example.com", "example_com"),
        ("my-shop.example.bg", "my-shop_example_bg"),
        ("1und1.de", "_1und1_de"),
        ("xn--e1afmkfd.xn--90ae", "xn--e1afmkfd_xn--90ae"),
        ("abcdefghijklmnopqrstuvwxyz.example.com", "abcdefghijklmnopqrstuv__1ece1795"),
    ],
)
def test_account_name(domain, account):
    assert account_name(domain) == account
    assert len(account) <= 32
    assert re.fullmatch(r"[a-z_][a-z0-9_-]*", account)


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "b.txt"
    assert write_atomic(path, b"one\n") is True
    assert write_atomic(path, b"one\n") is False
    assert write_atomic(path, b"one\n", 0o600) is True  # the mode changed
    assert path.stat().st_mode & 0o777 == 0o600
    assert write_atomic(path, b"two\n", 0o600) is True
    assert path.read_bytes() == b"two\n"
    assert os.listdir(path.parent) == ["b.txt"]


NGINX_CONF = """\
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{
}}
http {{
    access_log off;
    include {sites}/*.conf;
}}
"""


def test_nginx_accepts_the_site_confs(tmp_path):
    """nginx -t on the confs as written, with a self-signed certificate where one is issued."""
    nginx = tool("nginx", REQUIRE_NGINX, "nginx")
    openssl = tool("openssl", REQUIRE_NGINX, "openssl")
    backend = FilesBackend(tmp_path / "p")
    web = tmp_path / "p" / "web"
    (web / "certs" / "secure.example.com").mkdir(parents=True)
    (web / "certs" / "secure.example.com" / "fullchain.pem").write_text("issued")
    backend.apply_web(
        WebState(
            "example.com",
            (
                site(),
                site("secure.example.com", "public_html/secure", "8.2", ssl=True),
                site("waiting.example.com", "public_html/waiting", ssl=True),
            ),
        )
    )
    # the confs name /etc/letsencrypt/live/<host>/: point a copy at a certificate made here
    live = tmp_path / "live" / "secure.example.com"
    live.mkdir(parents=True)
    made = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=secure.example.com", "-keyout", str(live / "privkey.pem")]
        + ["-out", str(live / "fullchain.pem")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    sites = tmp_path / "sites"
    sites.mkdir()
    for conf_path in (web / "sites").iterdir():
        text = conf_path.read_text().replace("/etc/letsencrypt/live", str(tmp_path / "live"))
        (sites / conf_path.name).write_text(text)
    (tmp_path / "fastcgi_params").write_text("fastcgi_param QUERY_STRING $query_string;\n")
    config = tmp_path / "nginx.conf"
    config.write_text(NGINX_CONF.format(dir=tmp_path, sites=sites))

    def check():
        return subprocess.run(
            [nginx, "-t", "-p", str(tmp_path), "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = check()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    # and why the HTTPS block waits for the certificate: nginx refuses a missing one
    (live / "fullchain.pem").unlink()
    result = check()
    assert result.returncode != 0
    assert "fullchain.pem" in result.stderr
