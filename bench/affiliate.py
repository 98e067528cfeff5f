"""Benchmark: the affiliate redirect /partners/<number> against a bare Flask redirect.

Three servers are started the same way — gunicorn, sync workers (one per core), production
settings, an access log — and loaded by wrk with random numbers among 10,000 partners: a bare
Flask app that only answers 302 + ``Cache-Control: no-store`` (the baseline), the link app
(``affiliate.wsgi:app``) and the main app (``wsgi:app``). Rounds alternate bare, link app, main
app, so the machine's noise falls on all of them. Two kinds of traffic, each against freshly
started servers:

- ``browsers`` (as production runs): every request is a different browser (its own user agent
  and address, behind one proxy: ``PROXY_HOPS=1``) with the exclusion rules on; among them
  bots and link unfurlers, prefetches, and browsers coming back with their cookie. The access
  log records what each request was, so afterwards the click counters must equal the people
  served (no click lost, none invented), every person must be a new unique visitor, and only
  people and returning browsers may have got a cookie.
- ``one browser``: one desktop user agent from one address with the repeat window and the flood
  budget switched off, so that every request counts: the counters must equal the 302s served.

    .venv/bin/python bench/affiliate.py                     # SQLite in a temporary folder
    .venv/bin/python bench/affiliate.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import itertools
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate
import requests
from sqlalchemy import func, insert, select, text

from affiliate import links
from config import TestConfig, normalize_database_url
from models import AffiliateDay, Partner, PartnerStatus, User, db, utcnow
from tests.live import free_port
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = 10_000
FIRST = 1001

BARE_APP = """
import os

from flask import Flask, redirect
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
if os.environ.get("PROXY_HOPS"):  # behind the same proxy as the link
    hops = int(os.environ["PROXY_HOPS"])
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


@app.get("/partners/<path:number>")
def follow(number):
    response = redirect("/", 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/")
def health():
    return "ok"
"""

#: every request the same desktop browser; the kind header only labels the access log line
ONE_BROWSER = """
math.randomseed(%(seed)d)
local headers = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    .. "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
  ["Sec-Fetch-Dest"] = "document",
  ["X-Bench-Kind"] = "person",
}
request = function()
  return wrk.format("GET", "/partners/" .. math.random(%(first)d, %(last)d), headers)
end
"""

#: every request another browser (user agent and address), as real link traffic arrives: mostly
#: people on desktops and phones, some bots and unfurlers, prefetches, and returning browsers
#: that send back the cookie of their earlier click (the same partner: a repeat, not a click)
BROWSERS = """
local run = 0              -- this wrk run's number: no two runs send the same browser
local thread_id = 0
local counter = 0

function setup(thread)
  thread:set("thread_no", math.random(1, 2000000000))
end

function init(args)
  run = tonumber(args[1])
  thread_id = thread_no
  math.randomseed(run * 7919 + thread_id)
end

local function r(a, b) return math.random(a, b) end

local function browser()
  counter = counter + 1
  local build = string.format("%%d.%%d%%d", counter, run, thread_id %% 100000)
  local kind = r(1, 6)
  if kind == 1 then
    return string.format("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      .. "(KHTML, like Gecko) Chrome/%%d.0.%%s Safari/537.36", r(110, 131), build)
  elseif kind == 2 then
    return string.format("Mozilla/5.0 (X11; Linux x86_64; rv:%%d.0) Gecko/20100101 "
      .. "Firefox/%%d.0.%%s", r(115, 133), r(115, 133), build)
  elseif kind == 3 then
    return string.format("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_%%d) "
      .. "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%%d.%%s Safari/605.1.15",
      r(1, 7), r(15, 18), build)
  elseif kind == 4 then
    return string.format("Mozilla/5.0 (iPhone; CPU iPhone OS %%d_%%d like Mac OS X) "
      .. "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%%d.%%s Mobile/15E148 Safari/604.1",
      r(15, 18), r(0, 6), r(15, 18), build)
  elseif kind == 5 then
    return string.format("Mozilla/5.0 (Linux; Android %%d; SM-S9%%02dB) AppleWebKit/537.36 "
      .. "(KHTML, like Gecko) Chrome/%%d.0.%%s Mobile Safari/537.36", r(10, 15), r(0, 99),
      r(110, 131), build)
  end
  return string.format("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    .. "(KHTML, like Gecko) Chrome/%%d.0.0.0 Safari/537.36 Edg/%%d.0.%%s", r(110, 131),
    r(110, 131), build)
end

local bots = {
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) n%%d",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php) n%%d",
  "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots) n%%d",
  "WhatsApp/2.%%d.20.0",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) n%%d",
  "curl/8.%%d",
}

-- browsers that clicked before: {number, user agent, address, cookie} (signed by the bench
-- with the servers' key, so that a returning browser needs no reading of the answers)
local returning = {
%(returning)s
}

local function address()
  return string.format("%%d.%%d.%%d.%%d", r(1, 223), r(0, 255), r(0, 255), r(1, 254))
end

request = function()
  local roll = r(1, 100)
  if roll <= 7 then
    local b = returning[r(1, #returning)]
    return wrk.format("GET", "/partners/" .. b[1], {["User-Agent"] = b[2],
      ["X-Forwarded-For"] = b[3], ["Cookie"] = b[4], ["Sec-Fetch-Dest"] = "document",
      ["X-Bench-Kind"] = "repeat"})
  end
  local headers = {["Sec-Fetch-Dest"] = "document", ["X-Forwarded-For"] = address(),
    ["X-Bench-Kind"] = "person"}
  if roll <= 15 then
    headers["X-Bench-Kind"] = "bot"
    headers["User-Agent"] = string.format(bots[r(1, #bots)], r(1, 1000000))
    headers["Sec-Fetch-Dest"] = nil
  elseif roll <= 20 then
    headers["X-Bench-Kind"] = "prefetch"
    headers["User-Agent"] = browser()
    headers["Sec-Purpose"] = "prefetch"
  else
    headers["User-Agent"] = browser()
  end
  return wrk.format("GET", "/partners/" .. r(%(first)d, %(last)d), headers)
end
"""

MODES = {
    "browsers": {
        "script": BROWSERS,
        "env": {"PROXY_HOPS": "1"},  # the production defaults of the exclusion rules
        "what": "a different browser per request, exclusion rules on",
    },
    "one browser": {
        "script": ONE_BROWSER,
        "env": {"AFFILIATE_REPEAT_MINUTES": "0", "AFFILIATE_FLOOD_PER_MINUTE": "1000000000"},
        "what": "one browser from one address, repeat window and flood budget off",
    },
}

APPS = {
    "bare Flask redirect": "bare:app",
    "affiliate link app": "affiliate.wsgi:app",
    "link in the main app": "wsgi:app",
}

#: the servers' key: the bench signs the returning browsers' cookies with it
SECRET_KEY = secrets.token_hex(32)
#: each wrk run gets its own number, so that no two runs send the same browser
RUNS = itertools.count(1)

#: one access log line per request: status, what the request was, and whether it got a cookie
LOG_FORMAT = "%(s)s %({x-bench-kind}i)s %({set-cookie}o)s"


def seed(url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        flask_migrate.upgrade()
        now = utcnow()
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"p{n}@bench.example",
                    "name": f"Partner {n}",
                    "password_hash": "-",
                    "language": "bg",
                    "created_at": now,
                }
                for n in range(PARTNERS)
            ],
        )
        ids = db.session.scalars(select(User.id).order_by(User.id)).all()
        db.session.execute(
            insert(Partner),
            [
                {
                    "user_id": user_id,
                    "number": FIRST + i,
                    "status": PartnerStatus.APPROVED,
                    "company": f"Agency {i}",
                    "vat_number": f"BG{100000000 + i}",
                    "expected_hostings": 10,
                    "minimum_deposit_cents": 0,
                    "applied_at": now,
                }
                for i, user_id in enumerate(ids)
            ],
        )
        db.session.commit()
        db.engine.dispose()


def counters(url):
    """The clicks and unique visitors counted so far, over all partners and days."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        row = db.session.execute(
            select(
                func.coalesce(func.sum(AffiliateDay.clicks), 0),
                func.coalesce(func.sum(AffiliateDay.visitors), 0),
            )
        ).one()
        db.engine.dispose()
    return tuple(row)


def start(app_path, port, folder, url, log, cwd, extra_env):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "MAIL_BACKEND": "log",  # a click sends no mail
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "INSTANCE_PATH": folder,
        "PYTHONPATH": str(ROOT),
        **extra_env,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(os.cpu_count() or 2),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--access-logfile",
            str(log),
            "--access-logformat",
            LOG_FORMAT,
            app_path,
        ],
        cwd=cwd,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/", timeout=5, allow_redirects=False).status_code < 500:
                return server, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"gunicorn did not start {app_path}")


def stop(server):
    server.send_signal(signal.SIGTERM)  # graceful: each worker writes its last clicks
    server.wait(timeout=60)


def wrk(base, script, seconds, connections):
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            base,
            "--",
            str(next(RUNS)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(map(int, match.groups()))
    return rps, lat.get("50"), lat.get("99"), errors


def served(log):
    """(status, kind, got a cookie) -> how many requests the access log shows."""
    lines = Path(log).read_text().splitlines()
    return Counter(
        (status, kind, cookie != "-")
        for status, kind, cookie in (line.split(" ", 2) for line in lines if line.strip())
        if kind != "-"  # not the bench's traffic: the start-up check
    )


def returning_browsers(count=2000):
    """Lua rows of browsers that come back with the cookie of an earlier click (signed now:
    younger than the repeat window), each to the partner of its cookie."""
    rows = []
    for i in range(count):
        number = random.randint(FIRST, FIRST + PARTNERS - 1)
        agent = (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
            f" Chrome/125.0.{i}.0 Safari/537.36"
        )
        address = f"198.51.{i // 250}.{i % 250 + 1}"
        cookie = "pp_ref=" + links.make_cookie(SECRET_KEY, number, links.new_click_id())
        rows.append(f'  {{{number}, "{agent}", "{address}", "{cookie}"}},')
    return "\n".join(rows)


def run_mode(name, mode, args, folder, url):
    """Start the three servers with the mode's settings, load them in rounds, stop them, and
    check the counters against what the link servers logged. Returns the median rates and
    whether the check held."""
    script = Path(folder) / f"{name.replace(' ', '-')}.lua"
    script.write_text(
        mode["script"]
        % {
            "seed": 42,
            "first": FIRST,
            "last": FIRST + PARTNERS - 1,
            "returning": returning_browsers() if "returning" in mode["script"] else "",
        }
    )
    before = counters(url)
    servers, logs = {}, {}
    try:
        for app_name, app_path in APPS.items():
            logs[app_name] = Path(folder) / f"{name.replace(' ', '-')}-{len(logs)}.log"
            cwd = folder if app_path == "bare:app" else str(ROOT)
            servers[app_name] = start(
                app_path, free_port(), folder, url, logs[app_name], cwd, mode["env"]
            )
        results = {app_name: [] for app_name in APPS}
        for _server, base in servers.values():  # warm up: workers load the partners once
            wrk(base, script, 2, args.connections)
        for _round in range(args.rounds):
            for app_name, (_server, base) in servers.items():
                results[app_name].append(wrk(base, script, args.seconds, args.connections))
    finally:
        for server, _base in servers.values():
            stop(server)
    clicks, visitors = (after - first for after, first in zip(counters(url), before, strict=True))

    print(f"\n{name}: {mode['what']}")
    bare = statistics.median(r[0] for r in results["bare Flask redirect"])
    ratios = {}
    for app_name, runs in results.items():
        rps = statistics.median(r[0] for r in runs)
        ratios[app_name] = rps / bare
        p50 = "/".join(r[1] for r in runs)
        p99 = "/".join(r[2] for r in runs)
        errors = sum(r[3] for r in runs)
        print(
            f"  {app_name:<22} {rps:8.0f} req/s (median)  ratio {rps / bare:5.2f}"
            f"  p50 {p50}  p99 {p99}  non-3xx or socket errors {errors}"
        )
    log = served(logs["affiliate link app"]) + served(logs["link in the main app"])
    ok = check(name, log, clicks, visitors)
    return ratios, ok


def check(name, log, clicks, visitors):
    """Compare the counters with the access logs of the two link servers."""
    kinds = Counter()
    for (status, kind, _cookie), n in log.items():
        kinds[kind if status == "302" else f"{kind} answered {status}"] += n
    people = kinds["person"]
    wrong_cookies = sum(
        n for (_status, kind, cookie), n in log.items() if cookie != (kind in {"person", "repeat"})
    )
    print(
        "  served by the link servers: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    )
    print(f"  clicks counted {clicks}, unique visitors counted {visitors}")
    problems = []
    if clicks != people:
        problems.append(f"{people} people were served but {clicks} clicks counted")
    if name == "browsers" and visitors != people:
        problems.append(f"{people} new browsers but {visitors} unique visitors")
    if wrong_cookies:
        problems.append(f"{wrong_cookies} cookies given where they should not be, or missing")
    if any(kind not in {"person", "bot", "prefetch", "repeat"} for kind in kinds):
        problems.append("answers other than 302")
    print("  " + ("; ".join(problems) if problems else "none lost, none invented"))
    return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL to use (its schema is wiped)")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    folder = tempfile.mkdtemp(prefix="bench-affiliate-")
    url = normalize_database_url(args.database_url or f"sqlite:///{folder}/bench.db")
    seed(url)
    (Path(folder) / "bare.py").write_text(BARE_APP)
    print(
        f"database: {url.split('://')[0]}, {PARTNERS} partners, {os.cpu_count()} sync workers"
        f" per server, wrk -t2 -c{args.connections}, {args.rounds} rounds of {args.seconds} s"
    )
    results = {
        name: run_mode(name, mode, args, folder, url)
        for name, mode in MODES.items()
        if args.mode in {name, "all"}
    }
    print("\nratio to the bare redirect:")
    for name, (ratios, _ok) in results.items():
        print(
            f"  {name:<12} "
            + "  ".join(f"{app}: {ratio:.2f}" for app, ratio in ratios.items() if "bare" not in app)
        )
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if all(ok for _ratios, ok in results.values()) else 1)


if __name__ == "__main__":
    main()
