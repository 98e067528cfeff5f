"""Benchmark: the affiliate redirect /partners/<number> against a bare Flask redirect.

Both are served the same way — gunicorn, sync workers (one per core), production settings,
an access log — and loaded by wrk with random existing numbers among 10,000 partners, as a
browser would ask (a desktop user agent, Sec-Fetch-Dest: document). Rounds alternate bare,
link, main app, so the machine's noise falls on all of them. Every click is counted (the
repeat window and the flood budget are switched off for the run, since wrk is one visitor
on one address), so after the servers stop the click counters must equal the 302s the link
server logged: no click lost.

    .venv/bin/python bench/affiliate.py                     # SQLite in a temporary folder
    .venv/bin/python bench/affiliate.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate
import requests
from sqlalchemy import func, insert, select, text

from config import TestConfig, normalize_database_url
from models import AffiliateDay, Partner, PartnerStatus, User, db, utcnow
from tests.live import free_port
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = 10_000
FIRST = 1001

BARE_APP = """
from flask import Flask, redirect

app = Flask(__name__)


@app.get("/partners/<path:number>")
def follow(number):
    response = redirect("/", 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/")
def health():
    return "ok"
"""

WRK_SCRIPT = """
math.randomseed(%(seed)d)
local headers = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    .. "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
  ["Sec-Fetch-Dest"] = "document",
}
request = function()
  return wrk.format("GET", "/partners/" .. math.random(%(first)d, %(last)d), headers)
end
"""


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


def start(app_path, port, folder, url, log, cwd):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "INSTANCE_PATH": folder,
        "AFFILIATE_REPEAT_MINUTES": "0",
        "AFFILIATE_FLOOD_PER_MINUTE": "1000000000",
        "PYTHONPATH": str(ROOT),
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
            "%(s)s",
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


def logged_302(log):
    return sum(1 for line in Path(log).read_text().splitlines() if line.strip() == "302")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL to use (its schema is wiped)")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    folder = tempfile.mkdtemp(prefix="bench-affiliate-")
    url = normalize_database_url(args.database_url or f"sqlite:///{folder}/bench.db")
    seed(url)
    (Path(folder) / "bare.py").write_text(BARE_APP)
    script = Path(folder) / "random.lua"
    script.write_text(WRK_SCRIPT % {"seed": 42, "first": FIRST, "last": FIRST + PARTNERS - 1})

    apps = {
        "bare Flask redirect": ("bare:app", folder),
        "affiliate link app": ("affiliate.wsgi:app", str(ROOT)),
        "link in the main app": ("wsgi:app", str(ROOT)),
    }
    servers, logs = {}, {}
    for name, (app_path, cwd) in apps.items():
        logs[name] = Path(folder) / f"{len(logs)}.log"
        servers[name] = start(app_path, free_port(), folder, url, logs[name], cwd)
    results = {name: [] for name in apps}
    try:
        for _server, base in servers.values():  # warm up: workers load the partners once
            wrk(base, script, 2, args.connections)
        for _round in range(args.rounds):
            for name, (_server, base) in servers.items():
                results[name].append(wrk(base, script, args.seconds, args.connections))
    finally:
        for server, _base in servers.values():
            stop(server)

    engine_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with engine_app.app_context():
        counted = db.session.scalar(select(func.coalesce(func.sum(AffiliateDay.clicks), 0)))
        db.engine.dispose()
    served = logged_302(logs["affiliate link app"]) + logged_302(logs["link in the main app"])

    print(
        f"database: {url.split('://')[0]}, {PARTNERS} partners, {os.cpu_count()} sync workers,"
        f" wrk -t2 -c{args.connections}, {args.rounds} rounds of {args.seconds} s each"
    )
    bare = statistics.median(r[0] for r in results["bare Flask redirect"])
    for name, runs in results.items():
        rps = statistics.median(r[0] for r in runs)
        p50 = "/".join(r[1] for r in runs)
        p99 = "/".join(r[2] for r in runs)
        errors = sum(r[3] for r in runs)
        print(
            f"{name:<22} {rps:8.0f} req/s (median)  ratio {rps / bare:5.2f}"
            f"  p50 {p50}  p99 {p99}  errors {errors}"
        )
    print(
        f"clicks counted {counted}, redirects served by the link servers {served}:"
        f" {'none lost' if counted == served else 'MISMATCH'}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if counted == served else 1)


if __name__ == "__main__":
    main()
