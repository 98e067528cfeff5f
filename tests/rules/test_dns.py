import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provision.state import Record
from rules.dns import (
    DEFAULT_TTL,
    TYPES,
    InvalidRecord,
    check_clash,
    display_name,
    form_values,
    validate_nameservers,
    validate_record,
)

ZONE = "example.com"
IDN_ZONE = "xn--e1afmkfd.xn--90ae"  # пример.бг


def record(name, type, value, *, ttl="", priority=None, zone=ZONE):
    return validate_record(zone, name=name, type=type, ttl=ttl, value=value, priority=priority)


def refused(**kwargs):
    with pytest.raises(InvalidRecord) as caught:
        record(**kwargs)
    return caught.value


# (name, type, ttl, priority, value) -> Record(name, type, ttl, data)
VALID = [
    # names
    ("", "A", "", None, "192.0.2.1", Record("@", "A", DEFAULT_TTL, "192.0.2.1")),
    ("@", "A", "300", None, "192.0.2.1", Record("@", "A", 300, "192.0.2.1")),
    ("  www ", "a", None, None, " 192.0.2.1 ", Record("www", "A", DEFAULT_TTL, "192.0.2.1")),
    ("WWW", "A", "60", None, "192.0.2.1", Record("www", "A", 60, "192.0.2.1")),
    ("mail.eu", "A", "", None, "192.0.2.1", Record("mail.eu", "A", DEFAULT_TTL, "192.0.2.1")),
    ("www.example.com", "A", "", None, "192.0.2.1", Record("www", "A", 3600, "192.0.2.1")),
    ("www.Example.COM.", "A", "", None, "192.0.2.1", Record("www", "A", 3600, "192.0.2.1")),
    ("example.com.", "A", "", None, "192.0.2.1", Record("@", "A", 3600, "192.0.2.1")),
    ("example.com", "A", "", None, "192.0.2.1", Record("@", "A", 3600, "192.0.2.1")),
    ("*", "A", "", None, "192.0.2.1", Record("*", "A", 3600, "192.0.2.1")),
    ("*.dev", "A", "", None, "192.0.2.1", Record("*.dev", "A", 3600, "192.0.2.1")),
    ("a-b.c1", "A", "", None, "192.0.2.1", Record("a-b.c1", "A", 3600, "192.0.2.1")),
    ("a" * 63, "A", "", None, "192.0.2.1", Record("a" * 63, "A", 3600, "192.0.2.1")),
    ("блог", "A", "", None, "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    # TTL
    ("@", "A", "604800", None, "192.0.2.1", Record("@", "A", 604800, "192.0.2.1")),
    ("@", "A", " 86400 ", None, "192.0.2.1", Record("@", "A", 86400, "192.0.2.1")),
    ("@", "A", 7200, None, "192.0.2.1", Record("@", "A", 7200, "192.0.2.1")),
    # A: nothing special is refused
    ("@", "A", "", None, "0.0.0.0", Record("@", "A", 3600, "0.0.0.0")),  # noqa: S104
    ("@", "A", "", None, "127.0.0.1", Record("@", "A", 3600, "127.0.0.1")),
    ("@", "A", "", None, "10.0.0.10", Record("@", "A", 3600, "10.0.0.10")),
    ("@", "A", "", None, "255.255.255.255", Record("@", "A", 3600, "255.255.255.255")),
    # priority is ignored where it does not belong
    ("@", "A", "", "abc", "192.0.2.1", Record("@", "A", 3600, "192.0.2.1")),
    # AAAA: compressed, lower-case
    ("@", "AAAA", "", None, "2001:db8::1", Record("@", "AAAA", 3600, "2001:db8::1")),
    ("@", "AAAA", "", None, "2001:DB8:0:0:0:0:0:1", Record("@", "AAAA", 3600, "2001:db8::1")),
    ("v6", "aaaa", "", None, "::1", Record("v6", "AAAA", 3600, "::1")),
    ("@", "AAAA", "", None, "fe80:0::0:10", Record("@", "AAAA", 3600, "fe80::10")),
    # CNAME
    ("www", "CNAME", "", None, "example.net", Record("www", "CNAME", 3600, "example.net.")),
    ("www", "CNAME", "", None, "Example.NET.", Record("www", "CNAME", 3600, "example.net.")),
    (
        "shop",
        "CNAME",
        "",
        None,
        "shops.myshopify.com",
        Record("shop", "CNAME", 3600, "shops.myshopify.com."),
    ),
    ("www", "CNAME", "", None, "example.com", Record("www", "CNAME", 3600, "example.com.")),
    (
        "selector1._domainkey",
        "CNAME",
        "",
        None,
        "selector1-example-com._domainkey.example.onmicrosoft.com",
        Record(
            "selector1._domainkey",
            "CNAME",
            3600,
            "selector1-example-com._domainkey.example.onmicrosoft.com.",
        ),
    ),
    (
        "*.dev",
        "CNAME",
        "",
        None,
        "dev.example.net",
        Record("*.dev", "CNAME", 3600, "dev.example.net."),
    ),
    # MX
    ("@", "MX", "", "10", "mail.example.com", Record("@", "MX", 3600, "10 mail.example.com.")),
    ("@", "MX", "", " 0 ", "MX.Example.net.", Record("@", "MX", 3600, "0 mx.example.net.")),
    ("@", "MX", "", "65535", "mx.example.net", Record("@", "MX", 3600, "65535 mx.example.net.")),
    ("eu", "MX", "", 5, "mx.example.net", Record("eu", "MX", 3600, "5 mx.example.net.")),
    ("@", "MX", "", "0", ".", Record("@", "MX", 3600, "0 .")),  # RFC 7505: no mail
    # TXT
    (
        "@",
        "TXT",
        "",
        None,
        "v=spf1 include:_spf.example.com -all",
        Record("@", "TXT", 3600, '"v=spf1 include:_spf.example.com -all"'),
    ),
    (
        "_dmarc",
        "TXT",
        "",
        None,
        "v=DMARC1; p=none; rua=mailto:dmarc@example.com",
        Record("_dmarc", "TXT", 3600, '"v=DMARC1; p=none; rua=mailto:dmarc@example.com"'),
    ),
    ("@", "TXT", "", None, '"v=spf1 -all"', Record("@", "TXT", 3600, '"v=spf1 -all"')),
    (
        "s1._domainkey",
        "TXT",
        "",
        None,
        '"v=DKIM1; k=rsa; "  "p=MIGfMA0"',
        Record("s1._domainkey", "TXT", 3600, '"v=DKIM1; k=rsa; " "p=MIGfMA0"'),
    ),
    ("@", "TXT", "", None, 'say "hi" \\o/', Record("@", "TXT", 3600, '"say \\"hi\\" \\\\o/"')),
    ("@", "TXT", "", None, '"say \\"hi\\""', Record("@", "TXT", 3600, '"say \\"hi\\""')),
    ("@", "TXT", "", None, '"hi" she said', Record("@", "TXT", 3600, '"\\"hi\\" she said"')),
    (
        "@",
        "TXT",
        "",
        None,
        "ключ",
        Record("@", "TXT", 3600, '"' + "\\208\\186\\208\\187\\209\\142\\209\\135" + '"'),
    ),
    (
        "@",
        "TXT",
        "",
        None,
        '"ключ"',
        Record("@", "TXT", 3600, '"' + "\\208\\186\\208\\187\\209\\142\\209\\135" + '"'),
    ),
    ("@", "TXT", "", None, "a" * 255, Record("@", "TXT", 3600, '"' + "a" * 255 + '"')),
    ("@", "TXT", "", None, "a" * 256, Record("@", "TXT", 3600, '"' + "a" * 255 + '" "a"')),
    (
        "@",
        "TXT",
        "",
        None,
        "a" * 4000,
        Record("@", "TXT", 3600, " ".join(['"' + "a" * 255 + '"'] * 15 + ['"' + "a" * 175 + '"'])),
    ),
    # a two-byte letter is never split between strings: 127 of them fill 254 bytes
    (
        "@",
        "TXT",
        "",
        None,
        "я" * 128,
        Record("@", "TXT", 3600, '"' + "\\209\\143" * 127 + '" "\\209\\143"'),
    ),
    # SRV
    (
        "_sip._tcp",
        "SRV",
        "",
        "10",
        "5 5060 sip.example.com",
        Record("_sip._tcp", "SRV", 3600, "10 5 5060 sip.example.com."),
    ),
    (
        "_imaps._TCP.example.com.",
        "srv",
        "",
        "0",
        " 0   993  imap.example.net. ",
        Record("_imaps._tcp", "SRV", 3600, "0 0 993 imap.example.net."),
    ),
    (
        "_xmpp._udp.eu",
        "SRV",
        "",
        "1",
        "1 1 x.example.net",
        Record("_xmpp._udp.eu", "SRV", 3600, "1 1 1 x.example.net."),
    ),
    ("_sips._tls", "SRV", "", "0", "0 0 .", Record("_sips._tls", "SRV", 3600, "0 0 0 .")),
    (
        "_sip._tcp",
        "SRV",
        "",
        "65535",
        "65535 65535 sip.example.com",
        Record("_sip._tcp", "SRV", 3600, "65535 65535 65535 sip.example.com."),
    ),
    # CAA
    (
        "@",
        "CAA",
        "",
        None,
        '0 issue "letsencrypt.org"',
        Record("@", "CAA", 3600, '0 issue "letsencrypt.org"'),
    ),
    (
        "@",
        "CAA",
        "",
        None,
        "0 issue letsencrypt.org",
        Record("@", "CAA", 3600, '0 issue "letsencrypt.org"'),
    ),
    (
        "@",
        "CAA",
        "",
        None,
        "128 ISSUEWILD pki.goog",
        Record("@", "CAA", 3600, '128 issuewild "pki.goog"'),
    ),
    ("@", "CAA", "", None, '0 issue ";"', Record("@", "CAA", 3600, '0 issue ";"')),
    ("@", "CAA", "", None, '0 issue ""', Record("@", "CAA", 3600, '0 issue ""')),
    (
        "@",
        "CAA",
        "",
        None,
        "0 issue letsencrypt.org; validationmethods=dns-01",
        Record("@", "CAA", 3600, '0 issue "letsencrypt.org; validationmethods=dns-01"'),
    ),
    (
        "@",
        "CAA",
        "",
        None,
        "0 iodef mailto:security@example.com",
        Record("@", "CAA", 3600, '0 iodef "mailto:security@example.com"'),
    ),
    (
        "shop",
        "CAA",
        "",
        None,
        '0 iodef "https://example.com/caa"',
        Record("shop", "CAA", 3600, '0 iodef "https://example.com/caa"'),
    ),
    # NS
    ("dev", "NS", "", None, "ns1.example.net", Record("dev", "NS", 3600, "ns1.example.net.")),
    ("a.b", "ns", "", None, "NS2.Example.NET.", Record("a.b", "NS", 3600, "ns2.example.net.")),
]


@pytest.mark.parametrize(("name", "type", "ttl", "priority", "value", "expected"), VALID)
def test_valid_records_come_back_in_canonical_form(name, type, ttl, priority, value, expected):
    assert record(name, type, value, ttl=ttl, priority=priority) == expected


@pytest.mark.parametrize(("name", "type", "ttl", "priority", "value", "expected"), VALID)
def test_form_values_give_the_record_back(name, type, ttl, priority, value, expected):
    assert validate_record(ZONE, **form_values(expected)) == expected


# (zone, name, type) -> Record for a Unicode zone and Unicode names and targets
IDN = [
    ("блог", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("Блог", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("блог.пример.бг", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("блог.пример.бг.", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("БЛОГ.ПРИМЕР.БГ", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("блог。пример。бг", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("xn--90aexm", "A", "", "192.0.2.1", Record("xn--90aexm", "A", 3600, "192.0.2.1")),
    ("www.xn--e1afmkfd.xn--90ae.", "A", "", "192.0.2.1", Record("www", "A", 3600, "192.0.2.1")),
    ("пример.бг", "A", "", "192.0.2.1", Record("@", "A", 3600, "192.0.2.1")),
    ("*.блог", "A", "", "192.0.2.1", Record("*.xn--90aexm", "A", 3600, "192.0.2.1")),
    ("_dmarc", "TXT", "", "v=DMARC1; p=none", Record("_dmarc", "TXT", 3600, '"v=DMARC1; p=none"')),
    (
        "www",
        "CNAME",
        "",
        "пример.бг",
        Record("www", "CNAME", 3600, "xn--e1afmkfd.xn--90ae."),
    ),
    (
        "поща",
        "CNAME",
        "",
        "Сайт.Пример.БГ.",
        Record("xn--80a1ac5b", "CNAME", 3600, "xn--80aswg.xn--e1afmkfd.xn--90ae."),
    ),
    (
        "@",
        "MX",
        "10",
        "поща.пример.бг",
        Record("@", "MX", 3600, "10 xn--80a1ac5b.xn--e1afmkfd.xn--90ae."),
    ),
    ("@", "MX", "10", "mail.straße.de", Record("@", "MX", 3600, "10 mail.xn--strae-oqa.de.")),
    (
        "_sip._tcp",
        "SRV",
        "10",
        "5 5060 сип.пример.бг",
        Record("_sip._tcp", "SRV", 3600, "10 5 5060 xn--h1aoe.xn--e1afmkfd.xn--90ae."),
    ),
    (
        "блог",
        "NS",
        "",
        "нс1.пример.бг",
        Record("xn--90aexm", "NS", 3600, "xn--1-ytbm.xn--e1afmkfd.xn--90ae."),
    ),
]


@pytest.mark.parametrize(("name", "type", "priority", "value", "expected"), IDN)
def test_unicode_zone_names_and_targets(name, type, priority, value, expected):
    assert record(name, type, value, priority=priority, zone=IDN_ZONE) == expected
    assert validate_record(IDN_ZONE, **form_values(expected)) == expected


def test_form_values_show_unicode_and_split_the_priority():
    mx = record("поща", "MX", "поща.пример.бг", priority="20", zone=IDN_ZONE)
    assert form_values(mx) == {
        "name": "поща",
        "type": "MX",
        "ttl": "3600",
        "priority": "20",
        "value": "поща.пример.бг",
    }
    srv = record("_sip._tcp", "SRV", "5 5060 sip.example.com", priority="10")
    assert form_values(srv)["priority"] == "10"
    assert form_values(srv)["value"] == "5 5060 sip.example.com"
    assert form_values(record("@", "A", "192.0.2.1"))["name"] == "@"
    assert form_values(record("@", "A", "192.0.2.1"))["priority"] == ""


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("v=spf1 -all", "v=spf1 -all"),
        ('"v=spf1 -all"', "v=spf1 -all"),
        ('say "hi"', 'say "hi"'),
        ("ключ", "ключ"),
        ("a" * 300, "a" * 300),  # split by the panel: shown as typed
        ('"a" "b"', '"a" "b"'),  # split by the person: shown as the strings
        ('"\\"quoted\\""', '"\\"quoted\\""'),  # would read as quoted again
        ('" padded "', '" padded "'),
    ],
)
def test_txt_is_shown_plain_when_typing_it_plain_gives_the_same_record(value, shown):
    txt = record("@", "TXT", value)
    assert form_values(txt)["value"] == shown
    assert validate_record(ZONE, **form_values(txt)) == txt


def test_txt_that_is_not_utf8_is_shown_as_its_strings():
    txt = record("@", "TXT", '"\\255\\254"')
    assert txt.data == '"\\255\\254"'
    assert form_values(txt)["value"] == '"\\255\\254"'


def test_display_name():
    assert display_name(IDN_ZONE, "www") == "www.пример.бг"
    assert display_name(IDN_ZONE, "xn--90aexm") == "блог.пример.бг"
    assert display_name(IDN_ZONE, "@") == "пример.бг"
    assert display_name(ZONE, "_sip._tcp") == "_sip._tcp.example.com"
    assert display_name(ZONE, "*.dev") == "*.dev.example.com"


# (kwargs, field, fragment of the message)
INVALID = [
    # type
    (dict(type="PTR"), "type", "Choose a record type"),
    (dict(type=""), "type", "Choose a record type"),
    (dict(type=None), "type", "Choose a record type"),
    (dict(type="SOA"), "type", "Choose a record type"),
    # names
    (dict(name="-www"), "name", "is not a valid name"),
    (dict(name="www-"), "name", "is not a valid name"),
    (dict(name="w w"), "name", "is not a valid name"),
    (dict(name="www..eu"), "name", "is not a valid name"),
    (dict(name=".www"), "name", "is not a valid name"),
    (dict(name="."), "name", "is not a valid name"),
    (dict(name="ww/w"), "name", "is not a valid name"),
    (dict(name="@.www"), "name", "is not a valid name"),
    (dict(name="a" * 64), "name", "at most 63 characters"),
    (dict(name="b." + "a" * 64), "name", "at most 63 characters"),
    (dict(name=".".join(["a" * 60] * 4)), "name", "at most 253 characters"),
    (dict(name="x" * 2000), "name", "too long"),
    (dict(name="xn--zz"), "name", "is not a valid name"),
    (dict(name="a*"), "name", "wildcard"),
    (dict(name="www.*"), "name", "wildcard"),
    (dict(name="*.*"), "name", "wildcard"),
    (dict(name="**"), "name", "wildcard"),
    (dict(name="www.other.com."), "name", "is not in the zone example.com"),
    (dict(name="com."), "name", "is not in the zone"),
    (dict(name="wwwexample.com."), "name", "is not in the zone"),
    (dict(name="блог.пример.бг."), "name", "is not in the zone"),
    # TTL
    (dict(ttl="59"), "ttl", "from 60 seconds"),
    (dict(ttl="0"), "ttl", "from 60 seconds"),
    (dict(ttl="604801"), "ttl", "to 604800 seconds"),
    (dict(ttl="99999999999999999999999"), "ttl", "to 604800 seconds"),
    (dict(ttl="abc"), "ttl", "whole number of seconds"),
    (dict(ttl="-1"), "ttl", "whole number of seconds"),
    (dict(ttl="1e3"), "ttl", "whole number of seconds"),
    (dict(ttl="3600.0"), "ttl", "whole number of seconds"),
    (dict(ttl="+3600"), "ttl", "whole number of seconds"),
    (dict(ttl="٣٦٠٠"), "ttl", "whole number of seconds"),
    (dict(ttl=59), "ttl", "from 60 seconds"),
    (dict(ttl=True), "ttl", "whole number of seconds"),
    # A
    (dict(value="256.1.1.1"), "value", "is not an IPv4 address"),
    (dict(value="1.2.3"), "value", "is not an IPv4 address"),
    (dict(value="1.2.3.4.5"), "value", "is not an IPv4 address"),
    (dict(value="01.2.3.4"), "value", "without leading zeros"),
    (dict(value="1.2.3.4/24"), "value", "without a prefix length"),
    (dict(value="1.2.3.4 5.6.7.8"), "value", "is not an IPv4 address"),
    (dict(value="1. 2.3.4"), "value", "is not an IPv4 address"),
    (dict(value="example.com"), "value", "is not an IPv4 address"),
    (dict(value="::1"), "value", "is an IPv6 address: add it as an AAAA record"),
    (dict(value="2001:db8::1"), "value", "AAAA record"),
    (dict(value=""), "value", "Enter an IPv4 address"),
    (dict(value=None), "value", "Enter an IPv4 address"),
    # AAAA
    (dict(type="AAAA", value="1.2.3.4"), "value", "is an IPv4 address: add it as an A record"),
    (dict(type="AAAA", value="2001:db8::g"), "value", "is not an IPv6 address"),
    (dict(type="AAAA", value="2001:db8:::1"), "value", "is not an IPv6 address"),
    (dict(type="AAAA", value="1:2:3:4:5:6:7:8:9"), "value", "is not an IPv6 address"),
    (dict(type="AAAA", value="fe80::1%eth0"), "value", "is not an IPv6 address"),
    (dict(type="AAAA", value="2001:db8::/64"), "value", "without a prefix length"),
    (dict(type="AAAA", value=""), "value", "Enter an IPv6 address"),
    # CNAME
    (dict(name="@", type="CNAME", value="example.net"), "name", "cannot be an alias"),
    (dict(name="", type="CNAME", value="example.net"), "name", "cannot be an alias"),
    (dict(name="example.com.", type="CNAME", value="example.net"), "name", "apex"),
    (dict(type="CNAME", value="192.0.2.1"), "value", "not to an IP address"),
    (dict(type="CNAME", value="2001:db8::1"), "value", "not to an IP address"),
    (dict(type="CNAME", value="localhost"), "value", "at least two parts"),
    (dict(type="CNAME", value="-bad.example.net"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="bad-.example.net"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="a" * 64 + ".example.net"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="example.123"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="exa mple.net"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="*.example.net"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="https://example.net/"), "value", "is not a valid host name"),
    (dict(type="CNAME", value="."), "value", "is not a valid host name"),
    (dict(type="CNAME", value=""), "value", "Enter the host name the alias points to"),
    (dict(type="CNAME", value="www.example.com."), "value", "cannot point to itself"),
    # MX
    (dict(type="MX", value="mail.example.com"), "priority", "priority, a number from 0"),
    (dict(type="MX", priority="", value="mail.example.com"), "priority", "priority"),
    (dict(type="MX", priority="70000", value="mail.example.com"), "priority", "0 to 65535"),
    (dict(type="MX", priority="-1", value="mail.example.com"), "priority", "0 to 65535"),
    (dict(type="MX", priority="ten", value="mail.example.com"), "priority", "0 to 65535"),
    (dict(type="MX", priority="10", value="192.0.2.1"), "value", "not by an IP address"),
    (dict(type="MX", priority="10", value="[192.0.2.1]"), "value", "is not a valid host name"),
    (dict(type="MX", priority="10", value="mail"), "value", "at least two parts"),
    (dict(type="MX", priority="10", value="10 mail.example.com"), "value", "not a valid host"),
    (dict(type="MX", priority="10", value="mail_1.example.com"), "value", "not a valid host"),
    (dict(type="MX", priority="10", value=""), "value", "mail server's host name"),
    (dict(type="MX", priority="10", value="."), "priority", "priority 0"),
    # TXT
    (dict(type="TXT", value=""), "value", "Enter the text"),
    (dict(type="TXT", value="   "), "value", "Enter the text"),
    (dict(type="TXT", value='""'), "value", "Enter the text"),
    (dict(type="TXT", value="a" * 4001), "value", "at most 4000 characters"),
    (dict(type="TXT", value='"' + '" "'.join(["a" * 250] * 17) + '"'), "value", "at most 4000"),
    (dict(type="TXT", value='"' + "a" * 30000 + '"'), "value", "at most 4000"),
    (dict(type="TXT", value="line one\nline two"), "value", "control characters"),
    (dict(type="TXT", value="tab\there"), "value", "control characters"),
    (dict(type="TXT", value="bell\x07"), "value", "control characters"),
    (dict(type="TXT", value="nul\x00"), "value", "control characters"),
    (dict(type="TXT", value="line\u2028sep"), "value", "control characters"),
    (dict(type="TXT", value="\ud800"), "value", "control characters"),
    (dict(type="TXT", value='"a\\009b"'), "value", "control characters"),
    (dict(type="TXT", value='"a\nb"'), "value", "control characters"),
    (dict(type="TXT", value='"a" b "c"'), "value", "in double quotes"),
    (dict(type="TXT", value='"a"b"'), "value", "in double quotes"),
    (dict(type="TXT", value='"a\\"'), "value", "in double quotes"),
    (dict(type="TXT", value='"a" ; "b"'), "value", "in double quotes"),
    (dict(type="TXT", value='"a\\999"'), "value", "check its backslashes"),
    (dict(type="TXT", value='"' + "a" * 256 + '"'), "value", "at most 255 bytes"),
    # SRV
    (dict(name="@", type="SRV", priority="0", value="0 5060 sip.example.com"), "name", "_sip._tcp"),
    (
        dict(name="sip", type="SRV", priority="0", value="0 5060 sip.example.com"),
        "name",
        "_tcp, _udp or _tls",
    ),
    (
        dict(name="_sip", type="SRV", priority="0", value="0 5060 sip.example.com"),
        "name",
        "service and the protocol",
    ),
    (
        dict(name="_sip._sctp", type="SRV", priority="0", value="0 5060 sip.example.com"),
        "name",
        "protocol",
    ),
    (
        dict(name="sip._tcp", type="SRV", priority="0", value="0 5060 sip.example.com"),
        "name",
        "protocol",
    ),
    (
        dict(name="_._tcp", type="SRV", priority="0", value="0 5060 sip.example.com"),
        "name",
        "protocol",
    ),
    (
        dict(name="www._sip._tcp", type="SRV", priority="0", value="0 5 sip.example.com"),
        "name",
        "protocol",
    ),
    (
        dict(name="_sip._tcp", type="SRV", value="0 5060 sip.example.com"),
        "priority",
        "service's priority",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="70000", value="0 5 s.example.com"),
        "priority",
        "65535",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="5060 sip.example.com"),
        "value",
        "weight, the port",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="1 2 3 sip.example.com"),
        "value",
        "weight, the port",
    ),
    (dict(name="_sip._tcp", type="SRV", priority="0", value=""), "value", "weight, the port"),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="x 5060 sip.example.com"),
        "value",
        "weight",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="0 70000 sip.example.com"),
        "value",
        "port",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="0 -1 sip.example.com"),
        "value",
        "port",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="0 5060 192.0.2.1"),
        "value",
        "not an IP address",
    ),
    (
        dict(name="_sip._tcp", type="SRV", priority="0", value="0 5060 sip"),
        "value",
        "at least two parts",
    ),
    # CAA
    (
        dict(type="CAA", value='1 issue "letsencrypt.org"'),
        "value",
        "flags of a CAA record are 0 or 128",
    ),
    (dict(type="CAA", value='255 issue "letsencrypt.org"'), "value", "0 or 128"),
    (dict(type="CAA", value='x issue "letsencrypt.org"'), "value", "0 or 128"),
    (dict(type="CAA", value='0 issuer "letsencrypt.org"'), "value", "issue, issuewild or iodef"),
    (
        dict(type="CAA", value='0 contactemail "a@example.com"'),
        "value",
        "issue, issuewild or iodef",
    ),
    (dict(type="CAA", value="0 issue"), "value", "flags, the tag and the value"),
    (dict(type="CAA", value="letsencrypt.org"), "value", "flags, the tag and the value"),
    (dict(type="CAA", value=""), "value", "flags, the tag and the value"),
    (dict(type="CAA", value='0 issue "lets"encrypt.org"'), "value", "cannot contain quotes"),
    (dict(type="CAA", value='0 issue "letsencrypt.org'), "value", "cannot contain quotes"),
    (dict(type="CAA", value="0 issue letsencrypt"), "value", "domain of a certificate authority"),
    (dict(type="CAA", value="0 issue lets encrypt.org"), "value", "certificate authority"),
    (dict(type="CAA", value="0 issue " + "a" * 1001), "value", "too long"),
    (
        dict(type="CAA", value='0 iodef "http://example.com/caa"'),
        "value",
        "mailto: address or an https:",
    ),
    (dict(type="CAA", value="0 iodef security@example.com"), "value", "mailto:"),
    (dict(type="CAA", value="0 iodef mailto:security"), "value", "mailto:"),
    (dict(type="CAA", value='0 iodef ""'), "value", "mailto:"),
    (dict(type="CAA", value="0 iodef https://"), "value", "mailto:"),
    # NS
    (dict(name="@", type="NS", value="ns1.example.net"), "name", "set in the nameservers form"),
    (dict(name="", type="NS", value="ns1.example.net"), "name", "nameservers form"),
    (dict(name="*", type="NS", value="ns1.example.net"), "name", "wildcard"),
    (dict(name="dev", type="NS", value="192.0.2.1"), "value", "not its IP address"),
    (dict(name="dev", type="NS", value="ns1"), "value", "at least two parts"),
    (dict(name="dev", type="NS", value="ns_1.example.net"), "value", "not a valid host name"),
    (dict(name="dev", type="NS", value="."), "value", "not a valid host name"),
    (dict(name="dev", type="NS", value=""), "value", "nameserver's host name"),
]


@pytest.mark.parametrize(("kwargs", "field", "fragment"), INVALID)
def test_invalid_records_are_refused_on_the_right_field(kwargs, field, fragment):
    arguments = {"name": "www", "type": "A", "value": "192.0.2.1"} | kwargs
    error = refused(**arguments)
    assert error.field == field
    assert fragment in str(error.message)


@pytest.mark.parametrize(
    ("name", "type", "priority", "value", "field", "fragment"),
    [
        ("блог.example.com.", "A", None, "192.0.2.1", "name", "is not in the zone пример.бг"),
        ("-блог", "A", None, "192.0.2.1", "name", "is not a valid name"),
        ("блог_", "A", None, "192.0.2.1", "name", "is not a valid name"),
        ("б" * 60, "A", None, "192.0.2.1", "name", "is not a valid name"),
        ("www", "CNAME", None, "пример", "value", "at least two parts"),
        ("www", "CNAME", None, "xn--zz.example.net", "value", "is not a valid host name"),
        ("@", "MX", "10", "по ща.пример.бг", "value", "is not a valid host name"),
        ("@", "MX", "10", "пример.бг:25", "value", "is not a valid host name"),
    ],
)
def test_invalid_unicode_names_and_targets(name, type, priority, value, field, fragment):
    error = refused(name=name, type=type, priority=priority, value=value, zone=IDN_ZONE)
    assert error.field == field
    assert fragment in str(error.message)


# -- clashes ----------------------------------------------------------------------------------

EXISTING = [
    (1, Record("@", "A", 3600, "192.0.2.1")),
    (2, Record("www", "CNAME", 3600, "example.net.")),
    (3, Record("@", "MX", 3600, "10 mail.example.com.")),
    (4, Record("mail", "A", 3600, "192.0.2.2")),
    (5, Record("@", "TXT", 3600, '"v=spf1 -all"')),
    (6, Record("dev", "NS", 3600, "ns1.example.net.")),
]


@pytest.mark.parametrize(
    "new",
    [
        Record("@", "A", 3600, "192.0.2.3"),  # round robin
        Record("@", "AAAA", 3600, "2001:db8::1"),
        Record("@", "MX", 3600, "20 mail.example.com."),
        Record("@", "TXT", 3600, '"google-site-verification=abc"'),
        Record("blog", "CNAME", 3600, "example.net."),
        Record("sub.www", "A", 3600, "192.0.2.1"),  # below an alias, not at it
        Record("*", "CNAME", 3600, "example.net."),
        Record("dev", "NS", 3600, "ns2.example.net."),  # a second nameserver of the delegation
        Record("dev2", "A", 3600, "192.0.2.1"),  # beside the delegation, not below it
    ],
)
def test_records_that_do_not_clash(new):
    check_clash(EXISTING, new)


@pytest.mark.parametrize(
    ("new", "replacing", "fragment"),
    [
        (Record("@", "A", 300, "192.0.2.1"), None, "@ already has this A record"),
        (Record("mail", "A", 3600, "192.0.2.2"), 1, "mail already has this A record"),
        (Record("www", "A", 3600, "192.0.2.1"), None, "www is an alias (CNAME)"),
        (Record("www", "TXT", 3600, '"x"'), None, "cannot have other records"),
        (Record("www", "CNAME", 3600, "example.org."), None, "www is an alias (CNAME)"),
        (Record("www", "CNAME", 3600, "example.net."), None, "www already has this CNAME"),
        (Record("@", "A", 300, "192.0.2.9"), None, "share one TTL: use 3600"),
        (Record("dev", "A", 3600, "192.0.2.1"), None, "dev is delegated"),
        (Record("x.dev", "TXT", 3600, '"x"'), None, "dev is delegated"),
        (Record("mail", "NS", 3600, "ns1.example.net."), None, "cannot be delegated"),
        (Record("mail", "CNAME", 3600, "example.net."), None, "mail already has other records"),
        (Record("mail", "CNAME", 3600, "example.net."), 2, "cannot be an alias"),
    ],
)
def test_clashes_are_refused_and_name_the_name(new, replacing, fragment):
    with pytest.raises(InvalidRecord) as caught:
        check_clash(EXISTING, new, replacing=replacing)
    assert fragment in str(caught.value.message)


def test_the_edited_record_is_left_out_of_the_comparison():
    check_clash(EXISTING, Record("www", "CNAME", 300, "example.net."), replacing=2)
    check_clash(EXISTING, Record("www", "A", 3600, "192.0.2.1"), replacing=2)
    check_clash(EXISTING, Record("mail", "CNAME", 3600, "example.net."), replacing=4)
    check_clash(iter(EXISTING), Record("@", "A", 3600, "192.0.2.1"), replacing=1)


def test_clash_messages_give_the_full_unicode_name_with_the_zone():
    existing = [(1, Record("xn--90aexm", "CNAME", 3600, "example.net."))]
    with pytest.raises(InvalidRecord) as caught:
        check_clash(existing, Record("xn--90aexm", "A", 3600, "192.0.2.1"), zone=IDN_ZONE)
    assert "блог.пример.бг is an alias" in str(caught.value.message)
    with pytest.raises(InvalidRecord) as caught:
        check_clash(existing, Record("xn--90aexm", "A", 3600, "192.0.2.1"))
    assert "блог is an alias" in str(caught.value.message)


# -- nameservers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("ns1.example.com\nns2.example.com", ("ns1.example.com", "ns2.example.com")),
        (
            " NS1.Example.COM. \r\n\n\n  ns2.example.net.\n",
            ("ns1.example.com", "ns2.example.net"),
        ),
        (["ns1.example.com", "", "ns2.example.com "], ("ns1.example.com", "ns2.example.com")),
        (("a.ns.example.com", "b.ns.example.com"), ("a.ns.example.com", "b.ns.example.com")),
        ("ns1.example.com, ns2.example.com", ("ns1.example.com", "ns2.example.com")),
        (
            "нс1.пример.бг\nнс2.пример.бг",
            ("xn--1-ytbm.xn--e1afmkfd.xn--90ae", "xn--2-ytbm.xn--e1afmkfd.xn--90ae"),
        ),
        (
            "ns1.xn--e1afmkfd.xn--90ae\nns2.пример.бг",
            ("ns1.xn--e1afmkfd.xn--90ae", "ns2.xn--e1afmkfd.xn--90ae"),
        ),
        (
            "\n".join(f"ns{i}.example.com" for i in range(13)),
            tuple(f"ns{i}.example.com" for i in range(13)),
        ),
        ("ns-1.example.com\nns2.example.co.uk", ("ns-1.example.com", "ns2.example.co.uk")),
    ],
)
def test_valid_nameservers(lines, expected):
    assert validate_nameservers(lines) == expected


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ("", "at least two"),
        (None, "at least two"),
        ([], "at least two"),
        ("ns1.example.com", "at least two"),
        ("\n\n ns1.example.com \n\n", "at least two"),
        ("\n".join(f"ns{i}.example.com" for i in range(14)), "at most 13"),
        ("ns1.example.com\nns1.example.com", "ns1.example.com is listed twice"),
        ("ns1.example.com\nNS1.EXAMPLE.COM.", "listed twice"),
        ("нс1.пример.бг\nxn--1-ytbm.xn--e1afmkfd.xn--90ae", "нс1.пример.бг is listed twice"),
        ("ns1.example.com\n192.0.2.1", "not IP addresses"),
        ("ns1.example.com\n2001:db8::53", "not IP addresses"),
        ("ns1.example.com\n192.0.2.1/32", "not IP addresses"),
        ("ns1.example.com\n-ns2.example.com", "“-ns2.example.com” is not a valid"),
        ("ns1.example.com\nns2-.example.com", "is not a valid nameserver host name"),
        ("ns1.example.com\nns_2.example.com", "is not a valid nameserver host name"),
        ("ns1.example.com\nns2", "is not a valid nameserver host name"),
        ("ns1.example.com\nns2.example.123", "is not a valid nameserver host name"),
        ("ns1.example.com\n" + "a" * 64 + ".example.com", "is not a valid nameserver"),
        ("ns1.example.com\nns2..example.com", "is not a valid nameserver host name"),
        ("ns1.example.com\nxn--zz.example.com", "is not a valid nameserver host name"),
    ],
)
def test_invalid_nameservers(lines, fragment):
    with pytest.raises(InvalidRecord) as caught:
        validate_nameservers(lines)
    assert caught.value.field == "nameservers"
    assert fragment in str(caught.value.message)


# -- no input escapes as another exception --------------------------------------------------------

#: pieces of near-valid input, to reach past the first checks
# fmt: off
PIECES = [
    "0", "10", "128", "65535", "65536", "-1", "issue", "issuewild", "iodef", "IODEF",
    '"', "\\", '""', '"a"', "\\999", "\\009", ";", ".", "@", "*", "_sip", "_tcp", "_sip._tcp",
    "mail.example.com", "mail.example.com.", "пример.бг", "xn--zz", "xn--e1afmkfd", "1.2.3.4",
    "::1", "2001:db8::1", "01.2.3.4", "1.2.3.4/24", "mailto:a@example.com", "https://x.example",
    "a" * 63, "a" * 64, "é" * 130, "\n", "\t", "\x00", "\u2028", "\ud800", "%", "%s", "%(name)s",
]
# fmt: on
near_valid = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=6).map(
    lambda parts: " ".join(parts)
)
any_text = st.text() | near_valid | st.none()
any_number = st.none() | st.text(max_size=12) | st.integers() | st.sampled_from(["10", "3600"])


@pytest.mark.parametrize("rdtype", TYPES)
@settings(max_examples=300, derandomize=True, deadline=None)
@given(name=any_text, ttl=any_number, priority=any_number, value=any_text)
def test_any_input_gives_a_record_or_invalid_record(rdtype, name, ttl, priority, value):
    try:
        result = validate_record(
            ZONE, name=name, type=rdtype, ttl=ttl, value=value, priority=priority
        )
    except InvalidRecord as error:
        assert error.field in ("name", "type", "ttl", "priority", "value")
        assert str(error.message)
        return
    assert result.type == rdtype
    assert validate_record(ZONE, **form_values(result)) == result


@settings(max_examples=300, derandomize=True, deadline=None)
@given(lines=st.text() | near_valid | st.lists(st.sampled_from(PIECES) | st.text(max_size=20)))
def test_any_nameserver_input_gives_names_or_invalid_record(lines):
    try:
        names = validate_nameservers(lines)
    except InvalidRecord as error:
        assert error.field == "nameservers"
        assert str(error.message)
        return
    assert 2 <= len(names) <= 13
    assert validate_nameservers(names) == names
