"""Counting clicks without slowing the redirect: each worker keeps its counts in memory and
writes them in batches (per partner per day: clicks, and new unique visitors).

Memory stays bounded: visitors are remembered only for the repeat window and at most
REPEAT_MEMORY of them, IP addresses only for the current minute, and the counts only until the
next write (every AFFILIATE_FLUSH_SECONDS, by a background thread, and when the worker exits).
"""

import atexit
import logging
import os
import threading
import time
from collections import OrderedDict, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from werkzeug.urls import iri_to_uri

from config import secret_keys
from models import AffiliateDay, AffiliateVisitor, Partner, PartnerStatus, database, db

log = logging.getLogger(__name__)

#: visitors a worker remembers for the repeat window (about 30 MB); beyond it the oldest are
#: forgotten early, so only a cookie-less repeat of theirs could count again
REPEAT_MEMORY = 100_000


class ClickBuffer:
    """The counts of one worker process waiting to be written."""

    def __init__(self, *, repeat_seconds, flood_per_minute):
        self.repeat_seconds = repeat_seconds
        self.flood_per_minute = flood_per_minute
        self._lock = threading.Lock()
        self._clicks = defaultdict(int)
        self._visitors = defaultdict(set)
        #: (partner, visitor) -> when last seen, oldest first
        self._last_seen = OrderedDict()
        self._per_ip = {}
        self._minute = None
        self._day = None  # the UTC day of the current minute

    def record(self, partner_id, ip, visitor, now):
        """Count a click; return why it was not counted ("flood", "repeat") or None."""
        minute = int(now // 60)
        with self._lock:
            if minute != self._minute:
                self._per_ip.clear()
                self._minute = minute
                self._day = datetime.fromtimestamp(minute * 60, UTC).date()
            day = self._day
            used = self._per_ip.get(ip, 0) + 1
            self._per_ip[ip] = used
            if used > self.flood_per_minute:
                return "flood"
            key = (partner_id, visitor)
            last = self._last_seen.pop(key, None)
            self._last_seen[key] = now  # now the newest
            if len(self._last_seen) > REPEAT_MEMORY:
                self._last_seen.popitem(last=False)
            if last is not None and now - last < self.repeat_seconds:
                return "repeat"
            self._clicks[(partner_id, day)] += 1
            self._visitors[(partner_id, day)].add(visitor)
        return None

    def pending(self):
        return bool(self._clicks)

    def take(self, now):
        """Hand over the counts to write, and forget visitors whose window has passed."""
        with self._lock:
            clicks, visitors = self._clicks, self._visitors
            self._clicks, self._visitors = defaultdict(int), defaultdict(set)
            seen = self._last_seen
            while seen and now - next(iter(seen.values())) >= self.repeat_seconds:
                seen.popitem(last=False)
        return clicks, visitors

    def give_back(self, clicks, visitors):
        """Keep counts whose write failed, for the next attempt."""
        with self._lock:
            for key, count in clicks.items():
                self._clicks[key] += count
                self._visitors[key] |= visitors[key]


_VISITORS = (
    "INSERT INTO affiliate_visitors (partner_id, day, visitor) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT DO NOTHING"
)
_CLICKS = (
    "INSERT INTO affiliate_days (partner_id, day, clicks, visitors) VALUES ({p}, {p}, {p}, 0) "
    "ON CONFLICT (partner_id, day) DO UPDATE SET clicks = affiliate_days.clicks + excluded.clicks"
)
_RECOUNT = (
    "UPDATE affiliate_days SET visitors = (SELECT count(*) FROM affiliate_visitors v "
    "WHERE v.partner_id = affiliate_days.partner_id AND v.day = affiliate_days.day) "
    "WHERE partner_id = {p} AND day = {p}"
)

# PostgreSQL takes a whole batch as arrays in one statement: the new visitors go in (the unique
# key skips the ones already seen), and each day's counters grow by its clicks and by the
# visitors that were new — one row version per day, one round trip and one plan per batch. The
# rows go in key order, so two workers never wait for each other in a cycle. A visitor row is
# inserted once: rows are only written for today and yesterday, and deleted only after that.
_PG_BATCH = (
    "WITH new AS ("
    " INSERT INTO affiliate_visitors (partner_id, day, visitor)"
    " SELECT p, d, v FROM unnest(%s::int[], %s::date[], %s::varchar[]) AS t(p, d, v)"
    " ORDER BY p, d, v ON CONFLICT DO NOTHING RETURNING partner_id, day"
    "), fresh AS (SELECT partner_id, day, count(*) AS n FROM new GROUP BY partner_id, day) "
    "INSERT INTO affiliate_days (partner_id, day, clicks, visitors) "
    "SELECT t.p, t.d, t.c, coalesce(fresh.n, 0)"
    " FROM unnest(%s::int[], %s::date[], %s::bigint[]) AS t(p, d, c)"
    " LEFT JOIN fresh ON fresh.partner_id = t.p AND fresh.day = t.d "
    "ORDER BY t.p, t.d "
    "ON CONFLICT (partner_id, day) DO UPDATE SET"
    " clicks = affiliate_days.clicks + excluded.clicks,"
    " visitors = affiliate_days.visitors + excluded.visitors"
)


def write(connection, clicks, visitors):
    """Add the counts to the database in the connection's transaction (any number of workers
    at once).

    Batched statements (this runs in the worker beside the requests, so little Python per
    row): the day's new visitors (the unique key skips the ones already seen), the click
    counters, and each touched day's visitor count again (on PostgreSQL all in one).
    """
    keys = sorted(clicks)
    # Visitor rows are kept for today and yesterday; a late batch for an older day adds its
    # clicks but leaves that day's final visitor count alone.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    recent = [(pid, day) for pid, day in keys if day >= yesterday]
    seen = [(pid, day, v) for pid, day in recent for v in sorted(visitors[(pid, day)])]
    counts = [(pid, day, clicks[(pid, day)]) for pid, day in keys]
    if connection.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*seen, strict=True)] if seen else [[]] * 3
        columns += [list(column) for column in zip(*counts, strict=True)]
        connection.exec_driver_sql(_PG_BATCH, tuple(columns))
    else:
        iso = [(pid, day.isoformat()) for pid, day in recent]
        batches = [
            (_VISITORS, [(pid, day.isoformat(), v) for pid, day, v in seen]),
            (_CLICKS, [(pid, day.isoformat(), n) for pid, day, n in counts]),
            (_RECOUNT, iso),
        ]
        for sql, rows in batches:
            if rows:
                connection.exec_driver_sql(sql.format(p="?"), rows)
    connection.execute(delete(AffiliateVisitor).where(AffiliateVisitor.day < yesterday))


class AffiliateState:
    """A worker's buffer, its snapshot of approved partners, and its background writer.

    It works on a plain SQLAlchemy engine (no app context, no ORM session): the link's own
    app builds one, and the main app hands over its own when it serves the link too.
    """

    def __init__(self, config, engine):
        self.engine = engine
        self.buffer = ClickBuffer(
            repeat_seconds=config["AFFILIATE_REPEAT_MINUTES"] * 60,
            flood_per_minute=config["AFFILIATE_FLOOD_PER_MINUTE"],
        )
        self.flush_seconds = config["AFFILIATE_FLUSH_SECONDS"]
        self.cache_seconds = config["AFFILIATE_PARTNER_CACHE_SECONDS"]
        #: the click cookie: its name, its signing key, and its attributes, the same for
        #: every click (the value is URL-safe)
        self.cookie_name = config["AFFILIATE_COOKIE_NAME"]
        self.secret_key = config["SECRET_KEY"]
        #: what a returning visitor's cookie may be signed with (the current key last)
        self.secret_keys = secret_keys(config)
        self.cookie_attributes = cookie_attributes(config)
        #: where the link lands: the app's address (empty when it is this host) and the
        #: default landing page as a URI
        self.site_url = config["AFFILIATE_SITE_URL"]
        self.landing_url = iri_to_uri(self.site_url + config["AFFILIATE_LANDING_PATH"])
        self._partners = None
        self._partners_until = 0.0
        self._writer_pid = None
        self._writer_lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def partner_id(self, number):
        """The id of the approved partner with this number, or None.

        The worker keeps every approved partner's number (one indexed query, a few hundred
        KB for 10,000 partners) and reloads it every AFFILIATE_PARTNER_CACHE_SECONDS, so a
        click costs no query; a newly approved or suspended partner shows within that time.
        """
        if self._partners is None or time.monotonic() >= self._partners_until:
            self.reload_partners()
        return (self._partners or {}).get(number)

    def reload_partners(self):
        """Load the approved partners; if the database fails, keep the last list (a link
        still lands; without any list it lands without a cookie) and try again soon."""
        token = database.mark_read_only(True)  # a read: on SQLite it never waits for writers
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(Partner.number, Partner.id).where(
                        Partner.status == PartnerStatus.APPROVED, Partner.number.is_not(None)
                    )
                ).all()
        except Exception:
            log.exception("approved partners could not be loaded; keeping the last list")
            self._partners_until = time.monotonic() + 5
            return False
        finally:
            database.reset_read_only(token)
        self._partners = dict(rows)
        self._partners_until = time.monotonic() + self.cache_seconds
        return True

    def record(self, partner_id, ip, visitor):
        now = time.time()
        reason = self.buffer.record(partner_id, ip, visitor, now)
        if reason is None:
            if self.flush_seconds <= 0:
                self.flush()
            else:
                self._ensure_writer()
        return reason

    def flush(self):
        """Write what is waiting now; on failure keep it for the next try.

        One flush at a time per worker: the exit's last flush waits for a running one.
        """
        with self._flush_lock:
            if not self.buffer.pending():
                return True
            clicks, visitors = self.buffer.take(time.time())
            try:
                with self.engine.begin() as connection:
                    write(connection, clicks, visitors)
            except Exception:
                self.buffer.give_back(clicks, visitors)
                log.exception("affiliate clicks could not be written; kept for the next try")
                return False
            return True

    def _ensure_writer(self):
        # One writer thread per process; a forked worker starts its own.
        if self._writer_pid == os.getpid():
            return
        with self._writer_lock:
            if self._writer_pid == os.getpid():
                return
            self._writer_pid = os.getpid()
            writer = threading.Thread(target=self._write_forever, name="affiliate-writer")
            writer.daemon = True
            writer.start()
            atexit.register(self._flush_at_exit)

    def _write_forever(self):
        while True:
            time.sleep(self.flush_seconds)
            self._quietly(self.flush)
            if time.monotonic() >= self._partners_until:
                self._quietly(self.reload_partners)  # requests never wait for the reload

    def _flush_at_exit(self):
        for _attempt in range(5):  # other workers may be writing their last clicks too
            if self._quietly(self.flush):
                return
            time.sleep(0.5)

    @staticmethod
    def _quietly(work):
        try:
            return work()
        except Exception:
            log.exception("affiliate background work failed")
            return False


def cookie_max_age(config):
    """How long a click cookie lives (and is accepted at sign-up), in seconds."""
    return config["AFFILIATE_COOKIE_DAYS"] * 86_400


def cookie_attributes(config):
    parts = [f"; Max-Age={cookie_max_age(config)}", "; Path=/", "; HttpOnly", "; SameSite=Lax"]
    if config["AFFILIATE_COOKIE_DOMAIN"]:
        parts.append(f"; Domain={config['AFFILIATE_COOKIE_DOMAIN']}")
    if config["AFFILIATE_COOKIE_SECURE"]:
        parts.append("; Secure")
    return "".join(parts)


def totals(partner_id, since):
    """Clicks and unique visitors of a partner's link per day since ``since``."""
    return db.session.execute(
        select(AffiliateDay.day, AffiliateDay.clicks, AffiliateDay.visitors)
        .where(AffiliateDay.partner_id == partner_id, AffiliateDay.day >= since)
        .order_by(AffiliateDay.day)
    ).all()
