"""The affiliate link's rules as tables: numbers, landing paths, the cookie, excluded
requests, the repeat window and the flood budget, and the counters they write."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from itsdangerous import TimestampSigner
from sqlalchemy import select

from affiliate import clicks, links
from affiliate.clicks import ClickBuffer, write
from models import AffiliateDay, AffiliateVisitor, db
from tests import factories

SECRET = "test-secret-key-not-for-production"
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1001", 1001),
        ("999999999999999999", 999999999999999999),
        ("01001", None),
        ("0", None),
        ("+1001", None),
        ("-1001", None),
        (" 1001", None),
        ("1001 ", None),
        ("10a1", None),
        ("1001/", None),
        ("1" * 19, None),
        ("1" * 30, None),
        ("١٠٠١", None),  # Arabic-Indic digits
        ("１００１", None),  # full-width digits
        ("1001\n", None),
        ("", None),
        ("1_001", None),
        ("1e3", None),
    ],
)
def test_partner_numbers(text, number):
    assert links.parse_number(text) == number


@pytest.mark.parametrize(
    ("to", "lands"),
    [
        (None, "/"),
        ("", "/"),
        ("/prices", "/prices"),
        ("/order/?plan=web-start", "/order/?plan=web-start"),
        ("//evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\\evil.example", "/"),
        ("http:/\\/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),  # still encoded: a path here
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/\t/evil.example", "/"),
        ("/\x00", "/"),
        ("prices", "/"),
        ("/" + "a" * 3000, "/"),
        ("/\u2028evil", "/"),
        ("/partners/1002", "/"),  # another partner's link would hand the cookie on
        ("/partners", "/"),
    ],
)
def test_landing_paths_never_leave_the_site(to, lands):
    assert links.landing(to, "/") == lands


def test_the_cookie_round_trip_and_its_refusals():
    value = links.make_cookie(SECRET, 1001, "0123456789abcdef")
    click = links.read_cookie(SECRET, value, 90 * 86_400)
    assert (click.number, click.click_id) == (1001, "0123456789abcdef")
    assert links.read_cookie("another-key", value, 90 * 86_400) is None
    assert links.read_cookie(SECRET, value.replace("1001", "1002"), 90 * 86_400) is None
    resigned = TimestampSigner(SECRET, salt="another-salt").sign("1001.0123456789abcdef").decode()
    assert links.read_cookie(SECRET, resigned, 90 * 86_400) is None
    for junk in (None, "", "x" * 500, "1001", "1001.abc.def", value + "x"):
        assert links.read_cookie(SECRET, junk, 90 * 86_400) is None
    signer = TimestampSigner(SECRET, salt=links.COOKIE_SALT)
    odd = signer.sign("01001.0123456789abcdef").decode()
    assert links.read_cookie(SECRET, odd, 90 * 86_400) is None


def test_the_fast_signer_signs_exactly_as_itsdangerous_every_second():
    plain = TimestampSigner(SECRET, salt=links.COOKIE_SALT)
    start = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    for seconds in (0, 0.5, 1, 2, 3600):  # the time stamp is encoded once a second
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            value = links.make_cookie(SECRET, 1001, "0123456789abcdef")
            assert value == plain.sign("1001.0123456789abcdef").decode()
            assert plain.unsign(value, return_timestamp=True)[1] == start.replace(
                second=0
            ) + timedelta(seconds=int(seconds))


def test_an_expired_cookie_is_ignored(monkeypatch):
    value = links.make_cookie(SECRET, 1001, "0123456789abcdef")
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 91 * 86_400)
    assert links.read_cookie(SECRET, value, 90 * 86_400) is None


@pytest.mark.parametrize(
    ("method", "headers", "reason"),
    [
        ("GET", {"User-Agent": BROWSER}, None),
        ("GET", {"User-Agent": BROWSER, "Sec-Fetch-Dest": "document"}, None),
        ("HEAD", {"User-Agent": BROWSER}, "method"),
        ("GET", {"User-Agent": BROWSER, "Sec-Purpose": "prefetch"}, "prefetch"),
        ("GET", {"User-Agent": BROWSER, "Sec-Purpose": "prefetch;prerender"}, "prefetch"),
        ("GET", {"User-Agent": BROWSER, "Purpose": "prefetch"}, "prefetch"),
        ("GET", {"User-Agent": BROWSER, "X-Moz": "prefetch"}, "prefetch"),
        ("GET", {"User-Agent": BROWSER, "Sec-Fetch-Dest": "image"}, "not a page"),
        ("GET", {"User-Agent": BROWSER, "Sec-Fetch-Dest": "iframe"}, "not a page"),
        ("GET", {"User-Agent": BROWSER, "Sec-Fetch-Dest": "script"}, "not a page"),
        ("GET", {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}, "bot"),
        (
            "GET",
            {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
            "bot",
        ),
        ("GET", {"User-Agent": "facebookexternalhit/1.1"}, "bot"),
        ("GET", {"User-Agent": "WhatsApp/2.23.20.0"}, "bot"),
        ("GET", {"User-Agent": "TelegramBot (like TwitterBot)"}, "bot"),
        ("GET", {"User-Agent": "Twitterbot/1.0"}, "bot"),
        ("GET", {"User-Agent": "curl/8.0"}, "bot"),
        ("GET", {}, "bot"),
        ("GET", {"User-Agent": "   "}, "bot"),
    ],
)
def test_requests_that_are_not_a_persons_click(method, headers, reason):
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(method=method, headers=headers).get_environ()
    assert links.excluded(method, environ) == reason


def test_visitor_hash_is_salted_and_keeps_no_ip():
    first = links.visitor_hash(SECRET, "203.0.113.7", BROWSER)
    assert len(first) == 32 and "203" not in first
    assert first == links.visitor_hash(SECRET, "203.0.113.7", BROWSER)
    assert first != links.visitor_hash(SECRET, "203.0.113.8", BROWSER)
    assert first != links.visitor_hash(SECRET, "203.0.113.7", BROWSER + "x")
    assert first != links.visitor_hash("other salt", "203.0.113.7", BROWSER)


def test_the_repeat_window_and_the_flood_budget():
    buffer = ClickBuffer(repeat_seconds=1800, flood_per_minute=3)
    t = 1_800_000_000.0  # the start of a minute
    assert buffer.record(1, "ip-a", "v1", t) is None
    assert buffer.record(1, "ip-a", "v1", t + 10) == "repeat"
    assert buffer.record(2, "ip-a", "v1", t + 11) is None  # another partner's link
    assert buffer.record(1, "ip-a", "v2", t + 12) == "flood"  # the 4th request this minute
    assert buffer.record(1, "ip-b", "v2", t + 13) is None
    assert buffer.record(1, "ip-a", "v3", t + 60) is None  # a new minute, a new budget
    # each repeat restarts the window: 29:59 after the last one is still a repeat
    assert buffer.record(1, "ip-c", "v1", t + 10 + 1799) == "repeat"
    assert buffer.record(1, "ip-c", "v1", t + 10 + 1799 + 1800) is None
    clicks, visitors = buffer.take(t + 3700)
    day = datetime.fromtimestamp(t, UTC).date()
    assert sum(clicks.values()) == 5
    assert clicks[(2, day)] == 1 and visitors[(1, day)] >= {"v1", "v2", "v3"}
    assert not buffer.pending()


def test_the_repeat_memory_is_bounded_and_forgets_the_oldest_first(monkeypatch):
    monkeypatch.setattr(clicks, "REPEAT_MEMORY", 3)
    buffer = ClickBuffer(repeat_seconds=1800, flood_per_minute=100)
    t = 1_800_000_000.0
    for i, visitor in enumerate(("v1", "v2", "v3", "v4")):
        assert buffer.record(1, f"ip-{i}", visitor, t + i) is None
    assert len(buffer._last_seen) == 3
    assert buffer.record(1, "ip-x", "v4", t + 5) == "repeat"  # remembered
    assert buffer.record(1, "ip-x", "v1", t + 6) is None  # the oldest, forgotten early
    # the window passes for all but the newest two: take() forgets them from the front
    buffer.take(t + 5 + 1800)
    assert list(buffer._last_seen) == [(1, "v1")]


def test_a_failed_write_keeps_the_counts_for_the_next_one(app, monkeypatch):
    partner = factories.create_partner()
    db.session.commit()
    state = clicks.AffiliateState(app.config, db.engine)
    state.flush_seconds = 3600  # counted in memory; written only when flushed
    for visitor in ("a", "b", "a"):
        state.buffer.repeat_seconds = 0
        assert state.record(partner.id, "ip", visitor) is None
    real_write = clicks.write

    def broken(*args):
        raise RuntimeError("the database is away")

    monkeypatch.setattr(clicks, "write", broken)
    assert state.flush() is False and state.buffer.pending()
    monkeypatch.setattr(clicks, "write", real_write)
    assert state.flush() is True and not state.buffer.pending()
    db.session.commit()  # see what the state's own connection wrote
    row = db.session.get(AffiliateDay, (partner.id, datetime.now(UTC).date()))
    assert (row.clicks, row.visitors) == (3, 2)


def write_batch(clicks, visitors):
    """Write one worker's batch in a transaction of its own, as the writer thread does."""
    db.session.commit()
    with db.engine.begin() as connection:
        write(connection, clicks, visitors)
    db.session.commit()  # the test's next read starts after the batch


def test_a_late_batch_for_an_old_day_adds_clicks_and_keeps_its_visitor_count(app):
    partner = factories.create_partner()
    old = date(2020, 1, 1)
    db.session.add(AffiliateDay(partner_id=partner.id, day=old, clicks=10, visitors=7))
    db.session.commit()
    write_batch({(partner.id, old): 2}, {(partner.id, old): {"x"}})
    row = db.session.get(AffiliateDay, (partner.id, old))
    assert (row.clicks, row.visitors) == (12, 7)


def test_written_counts_add_up_and_visitors_count_once_a_day(app):
    partner = factories.create_partner()
    day = datetime.now(UTC).date()
    write_batch({(partner.id, day): 3}, {(partner.id, day): {"a", "b"}})
    write_batch({(partner.id, day): 2}, {(partner.id, day): {"b", "c"}})  # another worker's
    row = db.session.get(AffiliateDay, (partner.id, day))
    assert (row.clicks, row.visitors) == (5, 3)
    old = date(2020, 1, 1)
    db.session.add(AffiliateVisitor(partner_id=partner.id, day=old, visitor="z"))
    db.session.commit()
    write_batch({(partner.id, day): 1}, {(partner.id, day): {"a"}})
    assert (
        db.session.scalars(select(AffiliateVisitor.day).where(AffiliateVisitor.day == old)).all()
        == []
    )
    assert db.session.get(AffiliateDay, (partner.id, day)).visitors == 3


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("maria.petrova@example.com", "m***a@e***e.com"),
        ("ab@x.bg", "a***@x***.bg"),
        ("a@b", "a***@b***"),
    ],
)
def test_masked_emails(email, masked):
    from rules.referrals import mask

    assert mask(email) == masked
