"""Benchmark: the Billing page and the dashboard at 10 vs 1,000 client panels (20,000 invoices),
and paying 100 invoices in one batch.

Two partners in one database: one with 10 client panels, one with 1,000; every client panel
has 20 unpaid invoices (20,200 in all, inserted in bulk). Prints, for each page, the median
server time at 10 and at 1,000 clients, their ratio, and the SQL statements per request (which
must not grow with the number of clients); then the time per invoice of paying 100 invoices
in one batch against paying one invoice alone.

    .venv/bin/python bench/billing.py
    .venv/bin/python bench/billing.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate
from panels import login, measure
from sqlalchemy import insert, select, text

from config import TestConfig, normalize_database_url
from models import (
    ClientLink,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Panel,
    Plan,
    PlanKind,
    PlanPeriod,
    Product,
    db,
    utcnow,
)
from rules import billing, partners, payments, users
from rules.numbers import next_number
from tests import factories
from web import create_app

PASSWORD = "benchmark password"  # noqa: S105
INVOICES_PER_CLIENT = 20


def make_partner(name, clients, staff, plan):
    user = users.register_user(email=f"{name}@bench.example", name=name, password=PASSWORD)
    partner = partners.apply(user, company=name, vat_number="BG1234567", expected_hostings=1)
    partners.approve(partner, minimum_deposit_cents=100, actor=staff)
    factories.add_client_panels(partner, clients, products_per_panel=1)
    rows = db.session.execute(
        select(Panel.id, Panel.owner_id, Product.id)
        .join(ClientLink, ClientLink.panel_id == Panel.id)
        .join(Product, Product.panel_id == Panel.id)
        .where(ClientLink.partner_id == partner.id)
    ).all()
    invoices, lines = [], []
    today = date.today()
    for panel_id, owner_id, product_id in rows:
        for i in range(INVOICES_PER_CLIENT):
            number = next_number("invoice")
            invoices.append(
                {
                    "number": number,
                    "reference": f"INV-{number:06d}",
                    "buyer_id": owner_id,
                    "volume_rate_bp": 0,
                    "vat_bp": 2000,
                    "net_cents": 1000,
                    "vat_cents": 200,
                    "total_cents": 1200,
                    "status": InvoiceStatus.UNPAID.value,
                    "issued_at": utcnow(),
                    "due_on": today + timedelta(days=i),
                    "refunded_cents": 0,
                }
            )
            lines.append((panel_id, product_id))
    ids = db.session.execute(insert(Invoice).returning(Invoice.id), invoices).scalars().all()
    db.session.execute(
        insert(InvoiceLine),
        [
            {
                "invoice_id": invoice_id,
                "product_id": product_id,
                "panel_id": panel_id,
                "plan_id": plan.id,
                "kind": LineKind.RENEWAL.value,
                "description": "Hosting",
                "months": 12,
                "list_cents": 1000,
                "period_discount_cents": 0,
                "volume_discount_cents": 0,
                "net_cents": 1000,
                "vat_cents": 200,
                "total_cents": 1200,
                "commission_cents": 0,
                "commission_rate_bp": 0,
            }
            for invoice_id, (panel_id, product_id) in zip(ids, lines, strict=True)
        ],
    )
    db.session.commit()
    return partner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=20)
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
            plan = Plan(
                code="web",
                kind=PlanKind.SHARED_HOSTING,
                name_bg="Хостинг",
                name_en="Hosting",
                price_cents=100,
                base_months=1,
                volume_eligible=True,
            )
            plan.periods = [PlanPeriod(months=12, discount_bp=0)]
            db.session.add(plan)
            started = time.perf_counter()
            small = make_partner("small", 10, staff, plan)
            large = make_partner("large", 1000, staff, plan)
            print(
                f"seeded 1,010 client panels and {1010 * INVOICES_PER_CLIENT:,} unpaid invoices"
                f" in {time.perf_counter() - started:.1f} s on {db.engine.name}"
            )
            engine = db.engine
            accounts = [(small.user.email, small.id), (large.user.email, large.id)]
        print(
            f"{'page':<12}{'10 clients':>13}{'1,000 clients':>16}{'ratio':>8}{'SQL 10 / 1,000':>17}"
        )
        for label, path in (("Billing", "/partner/billing"), ("dashboard", "/partner/")):
            results = [
                measure(engine, login(app, email), path, args.rounds) for email, _id in accounts
            ]
            (t10, q10), (t1000, q1000) = results
            print(
                f"{label:<12}{t10:>10.2f} ms{t1000:>13.2f} ms{t1000 / t10:>8.2f}{q10:>11} / {q1000}"
            )
        with app.app_context():
            partner = db.session.get(partners.Partner, accounts[1][1])
            factories.fund(partner, 10_000_000)
            unpaid = [i.number for i in billing.unpaid_for(partner, limit=101)]
            started = time.perf_counter()
            payments.pay_many(partner, unpaid[:1], ["deposit"], actor=None)
            db.session.commit()
            one = time.perf_counter() - started
            started = time.perf_counter()
            payments.pay_many(partner, unpaid[1:101], ["deposit"], actor=None)
            db.session.commit()
            batch = (time.perf_counter() - started) / 100
            print(
                f"paying one invoice: {one * 1000:.1f} ms; in a batch of 100:"
                f" {batch * 1000:.1f} ms per invoice (ratio {batch / one:.2f})"
            )
            from rules import ledger

            problems = ledger.check()
            print("ledger check:", problems if problems else "every balance agrees")
            db.engine.dispose()


if __name__ == "__main__":
    main()
