"""Fixtures: a migrated database per test (SQLite, and PostgreSQL when configured), the app,
WebTest with CSRF on, a real SMTP server process, and logins through the real form."""

import contextvars
import mailbox
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy.exc
import webtest
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

from config import TestConfig, normalize_database_url
from models import database, db
from tests import factories
from tests.template_code import share_template_code
from tests.url_builders import share_compiled_url_builders
from web import create_app

share_compiled_url_builders()  # each test's app: URL rules compiled once per process

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
REQUIRE_REDIS = os.environ.get("REQUIRE_REDIS") == "1"


#: for tests whose subject does not depend on the database: run them on SQLite only
sqlite_only = pytest.mark.sqlite_only
#: for tests of PostgreSQL's own behaviour
postgres_only = pytest.mark.postgres_only


def pytest_collection_modifyitems(config, items):
    """Drop the copies of tests that are marked for the other database only."""
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("database_url")
        other = {"postgresql": "sqlite_only", "sqlite": "postgres_only"}.get(backend)
        if other and item.get_closest_marker(other):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def skip_or_fail(required, reason):
    """Skip with a visible reason, or fail when CI says this part is mandatory."""
    if required:
        pytest.fail(f"{reason} (required: this run sets REQUIRE_*=1)", pytrace=False)
    pytest.skip(reason)


def postgres_url():
    """The PostgreSQL database of this test process: the one TEST_DATABASE_URL names, or, under
    pytest-xdist, one per worker beside it (``test_gw0``...), so that workers share no tables."""
    url = make_url(normalize_database_url(POSTGRES_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = url.set(database=f"{url.database}_{worker}")
    return url.render_as_string(hide_password=False)


def create_postgres_database(url):
    """Create the database at ``url`` when it is missing, from the database TEST_DATABASE_URL
    names (CREATE DATABASE cannot run in a transaction)."""
    name = make_url(url).database
    engine = create_engine(normalize_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        engine.dispose()


def migrate(url):
    """Upgrade the database at ``url`` to the newest migration."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def reset_postgres_schema(url):
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def relax_durability(url):
    """Let the commits of this throwaway test database return before their WAL reaches the
    disk (``synchronous_commit = off`` for its new sessions only, not the cluster's setting).
    A crash of the server could lose the last moments of a test run, never its consistency;
    every test commits often, and a flush per commit is most of a small commit's time.
    Only a speed-up: a user that does not own the database runs without it."""
    name = make_url(url).database
    engine = create_engine(normalize_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.exec_driver_sql(f"ALTER DATABASE {quoted} SET synchronous_commit = off")
    except sqlalchemy.exc.ProgrammingError as error:  # not the owner (InsufficientPrivilege)
        if getattr(error.orig, "sqlstate", None) != "42501":
            raise
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    if not POSTGRES_URL:
        skip_or_fail(REQUIRE_POSTGRES, "PostgreSQL tests need TEST_DATABASE_URL")
    url = postgres_url()
    create_postgres_database(url)
    relax_durability(url)
    reset_postgres_schema(url)
    migrate(url)
    return url


class PostgresEmptier:
    """Empty every table but alembic_version and restart the sequences the tables own: what
    ``TRUNCATE ... RESTART IDENTITY CASCADE`` leaves, by DELETE, which on the few rows a test
    writes takes milliseconds where TRUNCATE (new files for every table and index) takes a
    quarter of a second. Children go before their parents (the foreign keys' order), and a
    table whose own triggers refuse DELETE (the append-only ledger) has them off for the
    moment of its DELETE, in the same transaction. The statements go as one script, learnt
    from the schema the first time and again whenever its tables change."""

    TABLES = (
        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p')"
        " AND relnamespace = current_schema()::regnamespace"
    )

    def __init__(self, url):
        self.engine = create_engine(url, poolclass=NullPool)
        self.tables = None

    def _learn(self, names):
        with self.engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote
            order = [t for t, _ in inspect(connection).get_sorted_table_and_fkc_names() if t]
            if set(order) != names:  # a cycle of foreign keys: no order to delete in
                raise RuntimeError(f"cannot order the tables for DELETE: {sorted(names)}")
            triggers = {}
            for table, trigger in connection.exec_driver_sql(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
                " AND c.relnamespace = current_schema()::regnamespace"
            ):
                triggers.setdefault(table, []).append(quote(trigger))
            # the sequences the tables own (serial and identity columns), with their start
            sequences = connection.exec_driver_sql(
                "SELECT quote_literal(s.seqrelid::regclass::text), s.seqstart FROM pg_sequence s"
                " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid"
                " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
                " JOIN pg_class t ON t.oid = d.refobjid"
                " WHERE t.relnamespace = current_schema()::regnamespace"
                " AND t.relname <> 'alembic_version'"
            ).all()
        script = []
        for table in reversed(order):
            if table == "alembic_version":
                continue
            delete = f"DELETE FROM {quote(table)};"
            if table in triggers:  # only when it has rows: its triggers are left alone
                off = " ".join(
                    f"ALTER TABLE {quote(table)} DISABLE TRIGGER {t};" for t in triggers[table]
                )
                on = " ".join(
                    f"ALTER TABLE {quote(table)} ENABLE TRIGGER {t};" for t in triggers[table]
                )
                delete = (
                    f"DO $$ BEGIN IF EXISTS (SELECT FROM {quote(table)}) THEN"
                    f" {off} {delete} {on} END IF; END $$;"
                )
            script.append(delete)
        if sequences:
            # back to their start, as RESTART IDENTITY does: setval(start, not called);
            # pg_sequence_last_value is NULL for one not used since then
            values = ", ".join(f"({name}::regclass, {start}::bigint)" for name, start in sequences)
            script.append(
                f"SELECT count(setval(s, start, false)) FROM (VALUES {values}) AS v (s, start)"
                " WHERE pg_sequence_last_value(s) IS NOT NULL;"
            )
        self.script = "\n".join(script)
        self.tables = names

    def __call__(self):
        connection = self.engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.TABLES)
                names = frozenset(name for (name,) in cursor.fetchall())
                if names != self.tables:  # the first test, or a migration test changed them
                    connection.rollback()
                    self._learn(names)
                cursor.execute(self.script)
            connection.commit()
        finally:
            connection.close()


@pytest.fixture(scope="session")
def empty_postgres(postgres_database):
    emptier = PostgresEmptier(postgres_database)
    yield emptier
    emptier.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
        request.getfixturevalue("empty_postgres")()
        yield url


class DatabaseImage:
    """What a test's database held at one moment, to put into another test's fresh database
    of the same kind: for a set of rows that many tests start from and that takes far longer
    to build through the rules than to copy (tests/web/world.py).

    SQLite: a copy of the whole file through SQLite's backup API (pages, sequences and all).
    PostgreSQL: every table's rows by COPY, in the foreign keys' order, and the values of the
    sequences the tables own; it is restored into a database the fixtures just emptied.
    """

    def __init__(self, folder):
        db.session.commit()  # the image holds only what is committed
        self.dialect = db.engine.dialect.name
        if self.dialect == "sqlite":
            self.path = Path(folder) / "image.db"
            _sqlite_backup(db.engine.url.database, self.path)
            return
        with db.engine.connect() as connection:
            tables = inspect(connection).get_sorted_table_and_fkc_names()
            quote = connection.dialect.identifier_preparer.quote
            self.tables = []
            with connection.connection.driver_connection.cursor() as cursor:
                for table, _ in tables:
                    if table in {None, "alembic_version"}:
                        continue
                    with cursor.copy(f"COPY {quote(table)} TO STDOUT") as copy:
                        self.tables.append((quote(table), b"".join(bytes(b) for b in copy)))
            self.sequences = connection.exec_driver_sql(
                "SELECT s.seqrelid::regclass::text, pg_sequence_last_value(s.seqrelid)"
                " FROM pg_sequence s JOIN pg_depend d ON d.classid = 'pg_class'::regclass"
                " AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass"
                " AND d.deptype IN ('a', 'i') JOIN pg_class t ON t.oid = d.refobjid"
                " WHERE t.relnamespace = current_schema()::regnamespace"
                " AND pg_sequence_last_value(s.seqrelid) IS NOT NULL"
            ).all()
            connection.rollback()

    def restore(self):
        """Put the image into the app's database, which must be as the fixtures made it."""
        assert db.engine.dialect.name == self.dialect
        db.session.commit()
        if self.dialect == "sqlite":
            _sqlite_backup(self.path, db.engine.url.database)
            return
        with db.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()
            for table, rows in self.tables:
                if rows:
                    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(rows)
            for sequence, value in self.sequences:
                cursor.execute("SELECT setval(%s::regclass, %s, true)", (sequence, value))
            cursor.close()


def _sqlite_backup(source, target):
    source, target = sqlite3.connect(source), sqlite3.connect(target)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp_server(maildir, *options):
    """Start aiosmtpd in its own process, delivering into ``maildir``; return (process, port)."""
    port = _free_port()
    # it refuses "nobody@..." for good (550), as a real server refuses an unknown mailbox
    handler = ["-c", "tests.smtp_refusing.Refusing", str(maildir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", *options, *handler],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the test SMTP server did not start") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    """A real SMTP server (aiosmtpd) in its own process, delivering into a Maildir."""
    maildir = tmp_path_factory.mktemp("mail") / "Maildir"
    process, port = start_smtp_server(maildir)
    yield {"port": port, "maildir": maildir}
    process.terminate()
    process.wait(timeout=10)


class Outbox:
    """The messages the SMTP server received during this test."""

    def __init__(self, maildir):
        self.maildir = maildir
        for message_file in (Path(maildir) / "new").glob("*") if Path(maildir).exists() else []:
            message_file.unlink()

    @property
    def messages(self):
        if not Path(self.maildir).exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        parser = BytesParser(policy=policy.default)
        found = [parser.parsebytes(box.get_bytes(key)) for key in box.iterkeys()]
        return sorted(found, key=lambda m: m["Date"])

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address, timeout=10):
        """The messages to ``address`` once at least one has arrived (a live server sends
        mail after the response, so the browser can be faster than the mail)."""
        deadline = time.monotonic() + timeout
        while not (found := self.to(address)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found


@pytest.fixture
def outbox(smtp_server):
    return Outbox(smtp_server["maildir"])


@pytest.fixture
def app_config(request, smtp_server):
    """Settings of the app under test; a test adds its own with @pytest.mark.config(...)."""
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server["port"],
        "MAIL_USE_TLS": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_EMAIL_RATE_LIMIT": "1000 per minute",
        "RESET_RATE_LIMIT": "1000 per minute",
        "RESET_EMAIL_RATE_LIMIT": "1000 per minute",
        "SIGNUP_RATE_LIMIT": "1000 per minute",
    }
    for marker in reversed(list(request.node.iter_markers("config"))):
        settings.update(marker.kwargs)
    return settings


@pytest.fixture
def app(database_url, app_config):
    """The app on a fresh database, with an app context for the test's own queries.

    The test's own transactions begin deferred, so that a read in the test never holds
    SQLite's write lock while a request of the same test waits for it.
    """
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, **app_config)
    share_template_code(app)
    token = database.mark_read_only(True)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    database.reset_read_only(token)


class IsolatedApp:
    """Run each request in an empty context, as a server would, not inside the test's own.

    The test's own transaction ends before and after each request, so the request sees what
    the test made and the test then reads what the request did (not an older snapshot).
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        db.session.commit()
        try:
            return contextvars.Context().run(self.app, environ, start_response)
        finally:
            db.session.commit()


@pytest.fixture
def testapp(app):
    """WebTest against the real WSGI app, CSRF protection on."""
    return webtest.TestApp(IsolatedApp(app))


@pytest.fixture
def make_testapp(app):
    """A second, third... browser: each has its own cookies."""
    return lambda: webtest.TestApp(IsolatedApp(app))


def login(testapp, user, password=factories.PASSWORD):
    """Log in through the real login form."""
    form = testapp.get("/login").forms["login-form"]
    form["email"] = user.email
    form["password"] = password
    response = form.submit()
    assert response.status_int == 303, response.text
    return response


def read_session(app, client):
    """Decode the signed session cookie the client holds (empty dict when there is none)."""
    value = client.cookies.get(app.config["SESSION_COOKIE_NAME"])
    if not value:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(value)


@pytest.fixture
def login_as(testapp):
    def _login_as(user, client=None):
        login(client or testapp, user)
        return client or testapp

    return _login_as


@pytest.fixture
def create_user(app):
    return factories.create_user


@pytest.fixture
def cli(app):
    return app.test_cli_runner()
