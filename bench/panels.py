"""Benchmark: the Clients page, a panel page and the panel switcher at 10 vs 1,000 client panels.

Two partners live in one database: one with 10 client panels, one with 1,000 (10,000 products
in all). Each page is requested many times in this process through the real WSGI app; the
script prints the median server time of each, the ratio 1,000 / 10, and the SQL statements
per request (which must be the same for both).

    .venv/bin/python bench/panels.py                      # SQLite in a temporary folder
    .venv/bin/python bench/panels.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate
from sqlalchemy import event, select, text

from config import TestConfig, normalize_database_url
from models import ClientLink, Panel, db
from rules import partners, users
from tests import factories
from web import create_app

PASSWORD = "benchmark password"  # noqa: S105


def make_partner(name, clients, products_per_panel, staff):
    user = users.register_user(email=f"{name}@bench.example", name=name, password=PASSWORD)
    partner = partners.apply(user, company=name, vat_number="BG1234567", expected_hostings=1)
    partners.approve(partner, minimum_deposit_cents=100, actor=staff)
    factories.add_client_panels(partner, clients, products_per_panel=products_per_panel)
    first_panel = db.session.scalar(
        select(Panel.number)
        .join(ClientLink, ClientLink.panel_id == Panel.id)
        .where(ClientLink.partner_id == partner.id)
        .order_by(Panel.id)
        .limit(1)
    )
    return user.email, first_panel


def measure(engine, client, path, rounds):
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    client.get(path)  # warm up caches and templates
    times = []
    event.listen(engine, "before_cursor_execute", count)
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times) * 1000, counter["n"] // rounds


def login(app, email):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = normalize_database_url(args.database_url or f"sqlite:///{folder}/bench.db")
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=url,
            WTF_CSRF_ENABLED=False,
            LOGIN_RATE_LIMIT="100000 per minute",
        )
        with app.app_context():
            if url.startswith("postgresql"):
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            flask_migrate.upgrade()
            staff = users.register_user(email="staff@bench.example", name="S", password=PASSWORD)
            started = time.perf_counter()
            small = make_partner("small", 10, 10, staff)
            large = make_partner("large", 1000, 10, staff)
            elapsed = time.perf_counter() - started
            engine = db.engine
            print(
                f"seeded 1,010 client panels, 10,100 products in {elapsed:.1f} s on {engine.name}"
            )
        rows = []
        pages = [
            ("Clients page", "/partner/clients"),
            ("panel switcher", "/panels/"),
            ("panel page", "/panels/{panel}"),
        ]
        for label, path in pages:
            results = []
            for email, panel in (small, large):
                client = login(app, email)
                results.append(measure(engine, client, path.format(panel=panel), args.rounds))
            rows.append((label, *results))
        print(
            f"{'page':<16}{'10 panels':>12}{'1,000 panels':>15}{'ratio':>8}{'SQL 10 / 1,000':>17}"
        )
        for label, (t10, q10), (t1000, q1000) in rows:
            ratio = t1000 / t10
            print(f"{label:<16}{t10:>9.2f} ms{t1000:>12.2f} ms{ratio:>8.2f}{q10:>11} / {q1000}")


if __name__ == "__main__":
    main()
