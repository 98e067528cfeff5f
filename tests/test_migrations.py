"""Migrations build the schema from nothing, go back down, and agree with the models."""

import flask_migrate
import pytest
from sqlalchemy import inspect

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
    from sqlalchemy import text

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
