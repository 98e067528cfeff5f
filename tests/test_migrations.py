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
