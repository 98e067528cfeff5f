"""Benchmark: orders paid from the deposit per second, through HTTP, against gunicorn.

Starts gunicorn (4 sync workers) on a fresh database, gives 16 partners a deposit, and
measures, at 1 and at 16 concurrent clients (each client its own partner and session):

- a bare authenticated GET (the account page) — the baseline;
- a whole order paid from the deposit: add to the cart, check out, pay (3 POSTs, each with
  its CSRF token and a fresh idempotency key).

Prints requests and orders per second, the ratio of an order to the baseline, and then runs
``flask ledger check`` on the database (the book must agree after the load).

    .venv/bin/python bench/orders.py                     # SQLite in a temporary folder
    .venv/bin/python bench/orders.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate
from sqlalchemy import text

from config import TestConfig, normalize_database_url
from models import Plan, PlanKind, PlanPeriod, db
from rules import deposits, panels, partners, users
from tests.live import Client, free_port, start_gunicorn
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"  # noqa: S105
CLIENTS = 16


def seed(url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        flask_migrate.upgrade()
        staff = users.register_user(email="staff@bench.example", name="S", password=PASSWORD)
        plan = Plan(
            code="domain-bg",
            kind=PlanKind.DOMAIN,
            name_bg="Домейн .bg",
            name_en="Domain .bg",
            price_cents=1000,
            base_months=12,
            volume_eligible=False,
        )
        plan.periods = [PlanPeriod(months=12, discount_bp=0)]
        db.session.add(plan)
        accounts = []
        for i in range(CLIENTS):
            user = users.register_user(email=f"p{i}@bench.example", name=f"P{i}", password=PASSWORD)
            partner = partners.apply(user, company=f"P{i}", vat_number="BG1", expected_hostings=1)
            partners.approve(partner, minimum_deposit_cents=100, actor=staff)
            panel = panels.create_panel(name=f"P{i}", owner=user, actor=user)
            deposits.credit(deposits.request_top_up(partner, actor=user), 100_000_000)
            accounts.append((user.email, panel.number))
        db.session.commit()
        db.engine.dispose()
    return accounts


def run(clients, work, seconds):
    """Call ``work(client, n)`` in one thread per client for ``seconds``; return calls/s."""
    done = [0] * len(clients)
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))
    lock = threading.Lock()

    def loop(i):
        while time.perf_counter() < stop:
            with lock:
                n = next(counter)
            work(clients[i], n)
            done[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(clients))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = normalize_database_url(args.database_url or f"sqlite:///{folder}/bench.db")
        accounts = seed(url)
        server, base = start_gunicorn(url, free_port(), folder)
        try:
            clients = [Client(base, email, panel, PASSWORD) for email, panel in accounts]
            engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(f"gunicorn, 4 sync workers, {engine}; {args.seconds:.0f} s per figure")
            print(
                f"{'clients':>8}{'GET /account/ per s':>22}{'orders per s':>15}{'order / GET':>13}"
            )
            for count in (1, CLIENTS):
                chosen = clients[:count]
                gets = run(chosen, lambda c, n: c.get(), args.seconds)
                orders = run(chosen, lambda c, n: c.order(n), args.seconds)
                print(f"{count:>8}{gets:>22.1f}{orders:>15.1f}{orders / gets:>13.3f}")
        finally:
            server.terminate()
            server.wait(10)
        check = subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "ledger", "check"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "APP_ENV": "production",
                "MAIL_BACKEND": "log",
                "PUBLIC_BASE_URL": "http://127.0.0.1",
                "SECRET_KEY": "x" * 32,
                "DATABASE_URL": url,
                "INSTANCE_PATH": folder,
            },
        )
        print((check.stdout + check.stderr).strip())
        if check.returncode:
            raise SystemExit(check.returncode)


if __name__ == "__main__":
    main()
