"""Counting clicks without slowing the redirect: each worker keeps its counts in memory and
writes them in batches (per partner per day: clicks, and new unique visitors).

Memory stays bounded: visitors are remembered only for the repeat window, IP addresses only
for the current minute, and the counts only until the next write (every
AFFILIATE_FLUSH_SECONDS, by a background thread, and when the worker exits).
"""

import atexit
import logging
import os
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from models import AffiliateDay, AffiliateVisitor, Partner, PartnerStatus, db
from web import database

log = logging.getLogger(__name__)


class ClickBuffer:
    """The counts of one worker process waiting to be written."""

    def __init__(self, *, repeat_seconds, flood_per_minute):
        self.repeat_seconds = repeat_seconds
        self.flood_per_minute = flood_per_minute
        self._lock = threading.Lock()
        self._clicks = defaultdict(int)
        self._visitors = defaultdict(set)
        self._last_seen = {}
        self._per_ip = {}
        self._minute = None

    def record(self, partner_id, ip, visitor, now):
        """Count a click; return why it was not counted ("flood", "repeat") or None."""
        minute = int(now // 60)
        day = datetime.fromtimestamp(now, UTC).date()
        with self._lock:
            if minute != self._minute:
                self._per_ip.clear()
                self._minute = minute
            used = self._per_ip.get(ip, 0) + 1
            self._per_ip[ip] = used
            if used > self.flood_per_minute:
                return "flood"
            key = (partner_id, visitor)
            last = self._last_seen.get(key)
            self._last_seen[key] = now
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
            self._last_seen = {
                k: t for k, t in self._last_seen.items() if now - t < self.repeat_seconds
            }
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

# PostgreSQL takes each batch as arrays in one statement (a round trip and a plan per batch,
# not per row); the rows go in key order, so two workers never wait for each other in a cycle.
_PG_VISITORS = (
    "INSERT INTO affiliate_visitors (partner_id, day, visitor) "
    "SELECT p, d, v FROM unnest(%s::int[], %s::date[], %s::varchar[]) AS t(p, d, v) "
    "ORDER BY p, d, v ON CONFLICT DO NOTHING"
)
_PG_CLICKS = (
    "INSERT INTO affiliate_days (partner_id, day, clicks, visitors) "
    "SELECT p, d, c, 0 FROM unnest(%s::int[], %s::date[], %s::bigint[]) AS t(p, d, c) "
    "ORDER BY p, d "
    "ON CONFLICT (partner_id, day) DO UPDATE SET clicks = affiliate_days.clicks + excluded.clicks"
)
_PG_RECOUNT = (
    "UPDATE affiliate_days a SET visitors = v.n FROM ("
    " SELECT partner_id, day, count(*) AS n FROM affiliate_visitors"
    " WHERE (partner_id, day) IN (SELECT * FROM unnest(%s::int[], %s::date[]))"
    " GROUP BY partner_id, day) v "
    "WHERE a.partner_id = v.partner_id AND a.day = v.day"
)


def write(clicks, visitors):
    """Add the counts to the database in one transaction (any number of workers at once).

    Three batched statements (this runs in the worker beside the requests, so little Python
    per row): the day's new visitors (the unique key skips the ones already seen), the click
    counters, and each touched day's visitor count again.
    """
    connection = db.session.connection()
    keys = sorted(clicks)
    # Visitor rows are kept for today and yesterday; a late batch for an older day adds its
    # clicks but leaves that day's final visitor count alone.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    recent = [(pid, day) for pid, day in keys if day >= yesterday]
    seen = [(pid, day, v) for pid, day in recent for v in sorted(visitors[(pid, day)])]
    counts = [(pid, day, clicks[(pid, day)]) for pid, day in keys]
    if connection.dialect.name == "postgresql":
        batches = [
            (_PG_VISITORS, seen and [list(column) for column in zip(*seen, strict=True)]),
            (_PG_CLICKS, counts and [list(column) for column in zip(*counts, strict=True)]),
            (_PG_RECOUNT, recent and [list(column) for column in zip(*recent, strict=True)]),
        ]
        for sql, columns in batches:
            if columns:
                connection.exec_driver_sql(sql, tuple(columns))
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
    db.session.execute(delete(AffiliateVisitor).where(AffiliateVisitor.day < yesterday))
    db.session.commit()


class AffiliateState:
    """A worker's buffer, its snapshot of approved partners, and its background writer."""

    def __init__(self, app):
        config = app.config
        self.app = app
        self.buffer = ClickBuffer(
            repeat_seconds=config["AFFILIATE_REPEAT_MINUTES"] * 60,
            flood_per_minute=config["AFFILIATE_FLOOD_PER_MINUTE"],
        )
        self.flush_seconds = config["AFFILIATE_FLUSH_SECONDS"]
        self.cache_seconds = config["AFFILIATE_PARTNER_CACHE_SECONDS"]
        self._partners = None
        self._partners_until = 0.0
        #: the click cookie's attributes, the same for every click (the value is URL-safe)
        self.cookie_attributes = cookie_attributes(config)
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
            rows = db.session.execute(
                select(Partner.number, Partner.id).where(
                    Partner.status == PartnerStatus.APPROVED, Partner.number.is_not(None)
                )
            ).all()
            db.session.rollback()  # end the read: a sync worker keeps its connection
        except Exception:
            db.session.rollback()
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
                write(clicks, visitors)
            except Exception:
                db.session.rollback()
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
            self._in_context(self.flush)
            if time.monotonic() >= self._partners_until:
                self._in_context(self.reload_partners)  # requests never wait for the reload

    def _flush_at_exit(self):
        for _attempt in range(5):  # other workers may be writing their last clicks too
            if self._in_context(self.flush):
                return
            time.sleep(0.5)

    def _in_context(self, work):
        with self.app.app_context():
            try:
                return work()
            except Exception:
                log.exception("affiliate background work failed")
                return False
            finally:
                db.session.remove()


def cookie_attributes(config):
    max_age = config["AFFILIATE_COOKIE_DAYS"] * 86_400
    parts = [f"; Max-Age={max_age}", "; Path=/", "; HttpOnly", "; SameSite=Lax"]
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
