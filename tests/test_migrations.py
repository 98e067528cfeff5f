"""Migrations build the schema from nothing, go back down, and agree with the models."""

import flask_migrate
import pytest
from sqlalchemy import inspect, text

from config import TestConfig
from models import db
from tests.conftest import postgres_url, reset_postgres_schema
from web import create_app


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_database")  # skips or fails when PostgreSQL is missing
    url = postgres_url()
    reset_postgres_schema(url)
    yield url
    # leave the shared test database migrated for the tests that follow
    reset_postgres_schema(url)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def test_upgrade_from_empty_downgrade_and_upgrade_again(empty_database):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    runner = app.test_cli_runner()
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "alembic_version"} <= tables
        assert tables - {"alembic_version"} == set(db.metadata.tables)

        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output

        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_0005_links_existing_products_to_their_plans_by_name(empty_database):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        flask_migrate.upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, language, is_staff,"
                    " session_version, created_at) VALUES (1, 'a@example.com', 'A', 'x', 'bg',"
                    " false, 1, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO panels (id, number, name, owner_id, created_at)"
                    " VALUES (1, 100001, 'P', 1, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO plans (id, code, kind, name_bg, name_en, price_cents,"
                    " base_months, volume_eligible, created_at) VALUES (7, 'web-business',"
                    " 'shared_hosting', 'Хостинг Бизнес', 'Hosting Business', 599, 1, true,"
                    " CURRENT_TIMESTAMP)"
                )
            )
            for product_id, name in [(1, "Хостинг Бизнес"), (2, "Hosting Business"), (3, "Other")]:
                connection.execute(
                    text(
                        "INSERT INTO products (id, panel_id, plan_name, kind, status, created_at)"
                        " VALUES (:id, 1, :name, 'hosting', 'active', CURRENT_TIMESTAMP)"
                    ),
                    {"id": product_id, "name": name},
                )
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, plan_id FROM products ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, 7), (2, 7), (3, None)]
        db.engine.dispose()


def fill_what_the_demo_leaves_empty():
    """A row in each table the demo data does not use, through the rules that write them."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from affiliate import clicks
    from models import IdempotencyRecord, Invoice, InvoiceStatus, Panel, Partner, Product, User
    from rules import billing, catalogue_admin, deposits, jobs, moves, payments, referrals, zone
    from web import mail

    staff = db.session.scalar(select(User).where(User.email == "staff@demo.example"))
    studio = db.session.scalar(select(Partner).where(Partner.number == 1001))
    catalogue_admin.save_tiers([(3, 600), (6, 1100), (12, 1600)], actor=staff)
    catalogue_admin.schedule_vat(2000, date.today() + timedelta(days=40), actor=staff)
    referrals.set_affiliate_rate(2500, actor=staff)
    top_up = deposits.request_top_up(studio, actor=studio.user)
    deposits.handle_event(
        {
            "id": "evt-1",
            "type": "payment.succeeded",
            "reference": top_up.reference,
            "amount_cents": 10_000,
            "currency": "EUR",
        }
    )
    deposits.request_withdrawal(studio, 1_000, "BG80BNBG96611020345678", actor=studio.user)
    billing.add_new(
        studio.user, plan_code="web-start", months=12, domain="cart.bg", new_panel_name="Cart"
    )
    paid = db.session.scalar(select(Invoice).where(Invoice.status == InvoiceStatus.PAID))
    payments.refund(paid, 100, reason="goodwill", actor=staff)
    domain = db.session.scalar(
        select(Product).where(Product.domain == "studio-design.bg", Product.kind == "domain")
    )
    zone.set_registrant(
        domain,
        {
            "name": "Ivana",
            "email": "ivana@studio-design.bg",
            "phone": "+359 888 123 456",
            "street": "Vitosha 1",
            "city": "Sofia",
            "postcode": "1000",
            "country": "BG",
        },
        actor=studio.user,
    )
    hotel = db.session.scalar(select(Product).where(Product.domain == "hotel-vitosha.bg"))
    source = db.session.get(Panel, hotel.panel_id)
    target = db.session.scalar(
        select(Panel).where(Panel.owner_id == studio.user_id, Panel.id != source.id)
    )
    moves.move_to(studio.user, source, hotel, moves.preview(source, hotel).fingerprint, target)
    db.session.add(IdempotencyRecord(key="k" * 32, user_id=staff.id, fingerprint="f" * 64))
    mail.queue(mail.build_message("someone@example.com", "A message", "Its body\n"))
    key = (studio.id, date.today())
    db.session.commit()
    with db.engine.begin() as connection:
        clicks.write(connection, {key: 1}, {key: {"visitor"}})
    jobs.run(date.today() + timedelta(days=300))
    db.session.commit()


def test_every_migration_goes_down_and_up_again_with_data_in_every_table(empty_database):
    """With the demo data (every table has rows), each revision downgrades, one at a time, to
    nothing, and the whole chain upgrades again."""
    from alembic.script import ScriptDirectory

    from web import demo

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        flask_migrate.upgrade()
        with app.test_request_context():
            demo.seed()
            fill_what_the_demo_leaves_empty()
        empty = [t for t in db.metadata.sorted_tables if not db.session.query(t).first()]
        db.session.remove()
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        revisions = [r.revision for r in script.walk_revisions()]  # newest first
        for revision in revisions:
            flask_migrate.downgrade(revision="-1")
            current = db.session.execute(text("SELECT version_num FROM alembic_version")).all()
            db.session.remove()
            assert [r for (r,) in current] == [script.get_revision(revision).down_revision] or (
                not current and revision == revisions[-1]
            ), revision
        flask_migrate.upgrade()
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert not empty, [t.name for t in empty]
