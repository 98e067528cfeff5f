"""SQLite runs write transactions with BEGIN IMMEDIATE; retryable conflicts are retried."""

import contextlib
import sqlite3
import threading
import time

import pytest
import webtest
from flask import Blueprint
from sqlalchemy import create_engine, text, update
from sqlalchemy.exc import OperationalError

from config import TestConfig
from models import User, database, db
from tests.conftest import postgres_only, sqlite_only
from tests.factories import PASSWORD
from web import create_app


@sqlite_only
def test_sqlite_connection_settings(app):
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5_000


def _increment_concurrently(app, user_id, read_only):
    """Two threads read session_version, wait for each other, then write it + 1."""
    barrier = threading.Barrier(2, timeout=5)
    errors = []

    def worker():
        token = database.mark_read_only(read_only)
        try:
            with app.app_context():
                value = db.session.execute(
                    text("SELECT session_version FROM users WHERE id = :id"), {"id": user_id}
                ).scalar()
                # With IMMEDIATE the other thread is still waiting to begin: the wait times out.
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=0.5)
                db.session.execute(
                    update(User).where(User.id == user_id).values(session_version=value + 1)
                )
                db.session.commit()
        except Exception as exc:
            errors.append(exc)
        finally:
            database.reset_read_only(token)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    db.session.commit()
    return db.session.get(User, user_id).session_version, errors


@sqlite_only
def test_write_transactions_take_the_lock_before_reading(app, create_user):
    user = create_user()
    final, errors = _increment_concurrently(app, user.id, read_only=False)
    assert errors == []
    assert final == 3  # both increments landed: 1 -> 2 -> 3


@sqlite_only
def test_deferred_transactions_lose_updates_negative_control(app, create_user):
    # What BEGIN IMMEDIATE prevents: both read 1; one write is lost or refused.
    user = create_user()
    final, errors = _increment_concurrently(app, user.id, read_only=True)
    assert final == 2 or errors


lock_bp = Blueprint("lock_test", __name__)
calls, reads = [], []


@lock_bp.post("/test/read-then-write")
def read_then_write():
    calls.append(1)
    db.session.execute(text("SELECT count(*) FROM users")).scalar()
    reads.append(1)  # reached only once the transaction could begin and read
    db.session.execute(update(User).values(name="written"))
    db.session.commit()
    return "ok"


@pytest.fixture
def write_lock(app, database_url):
    """Another connection that takes SQLite's write lock with hold() and lets it go later."""
    app.register_blueprint(lock_bp)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    calls.clear()
    reads.clear()
    holder = sqlite3.connect(
        database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    timers = []

    class Lock:
        def hold(self, release_after=None):
            holder.execute("BEGIN IMMEDIATE")
            if release_after is not None:
                timers.append(threading.Timer(release_after, holder.execute, ["COMMIT"]))
                timers[-1].start()

    yield Lock()
    for timer in timers:
        timer.join()
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50, DB_RETRY_ATTEMPTS=20)
def test_write_request_takes_the_lock_before_its_first_read(testapp, create_user, write_lock):
    create_user()
    write_lock.hold(release_after=0.3)
    response = testapp.post("/test/read-then-write")
    assert response.text == "ok"
    assert len(calls) > 1  # it met the lock and was run again from the start ...
    assert len(reads) == 1  # ... and never read before it held the lock (BEGIN IMMEDIATE)
    assert db.session.scalar(text("SELECT name FROM users")) == "written"


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50, DB_RETRY_ATTEMPTS=1)
def test_read_requests_do_not_wait_for_a_writer(testapp, login_as, create_user, write_lock):
    login_as(create_user(name="Reader"))
    write_lock.hold()
    assert "Reader" in testapp.get("/account/").text  # a deferred BEGIN reads beside the writer


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50, DB_RETRY_ATTEMPTS=1)
def test_login_checks_the_password_without_the_write_lock(testapp, create_user, write_lock):
    user = create_user()
    form = testapp.get("/login").forms["login-form"]
    write_lock.hold()
    form["email"], form["password"] = user.email, "wrong password"
    assert form.submit(expect_errors=True).status_int == 422  # read beside the held lock
    form["password"] = PASSWORD
    assert form.submit().status_int == 303


@postgres_only
def test_run_with_retry_repeats_a_serialization_failure_on_postgres(app, create_user):
    user = create_user()
    first_read = threading.Event()
    other_committed = threading.Event()
    calls = []

    def conflicting_writer():
        with app.app_context():
            first_read.wait(5)
            db.session.execute(update(User).values(name="other"))
            db.session.commit()
            other_committed.set()

    def work():
        calls.append(1)
        db.session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        db.session.execute(text("SELECT name FROM users WHERE id = :id"), {"id": user.id}).all()
        first_read.set()
        if len(calls) == 1:
            other_committed.wait(5)
        db.session.execute(update(User).where(User.id == user.id).values(name="mine"))
        db.session.commit()

    thread = threading.Thread(target=conflicting_writer)
    thread.start()
    token = database.mark_read_only(False)
    try:
        with app.app_context():
            database.run_with_retry(work, attempts=3, base_delay=0.001)
    finally:
        database.reset_read_only(token)
    thread.join()
    assert len(calls) == 2
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "mine"


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=20)
def test_run_with_retry_gives_up_after_the_last_attempt(app, create_user, database_url):
    create_user()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    calls = []

    def write():
        calls.append(1)
        db.session.execute(update(User).values(name="never"))
        db.session.commit()

    token = database.mark_read_only(False)
    try:
        with app.app_context(), pytest.raises(OperationalError, match="database is locked"):
            database.run_with_retry(write, attempts=3, base_delay=0.001)
    finally:
        database.reset_read_only(token)
        holder.execute("ROLLBACK")
        holder.close()
    assert len(calls) == 3


@sqlite_only
def test_errors_that_are_not_conflicts_are_not_retried(app):
    calls = []

    def broken():
        calls.append(1)
        db.session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        database.run_with_retry(broken, attempts=5, base_delay=0)
    assert len(calls) == 1


def _change_name(testapp, name):
    form = testapp.get("/account/").forms["profile-form"]
    form["name"] = name
    return form.submit(expect_errors=True)


def assert_busy_page(response):
    assert response.status_int == 503
    assert response.headers["Retry-After"] == "10"
    assert "Услугата е заета" in response.text
    assert "нищо не е променено" in response.text


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=50, DB_RETRY_ATTEMPTS=2)
def test_a_write_that_never_gets_the_lock_answers_503_and_changes_nothing(
    testapp, login_as, create_user, write_lock
):
    user = create_user(name="Before")
    login_as(user)
    write_lock.hold()
    assert_busy_page(_change_name(testapp, "After"))
    hx = testapp.post(
        "/account/profile",
        {"name": "After", "language": "bg"},
        headers={"HX-Request": "true", "X-CSRFToken": "x"},
        expect_errors=True,
    )
    assert hx.status_int in (400, 503)  # CSRF or busy: never a 500
    db.session.expire_all()
    assert user.name == "Before"


@postgres_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=300)
def test_a_row_locked_too_long_on_postgres_answers_503_and_changes_nothing(
    app, testapp, login_as, create_user, database_url
):
    user = create_user(name="Before")
    login_as(user)
    form = testapp.get("/account/").forms["profile-form"]
    engine = create_engine(database_url)
    holder = engine.connect()
    holder.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
    try:
        form["name"] = "After"
        assert_busy_page(form.submit(expect_errors=True))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Before"
    form["name"] = "After"
    assert form.submit().status_int == 303  # the lock gone, the same form goes through


def test_an_unreachable_database_answers_503_quickly(app_config, tmp_path):
    """A server that is down (here: nothing listens on the port) or a SQLite file that cannot
    be opened: a clear 503 page, not a 500 after a long wait."""
    for url in (
        "postgresql://postgres@127.0.0.1:9/test",
        f"sqlite:///{tmp_path}/no-such-folder/app.db",
    ):
        broken = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **app_config)
        client = webtest.TestApp(broken)
        started = time.monotonic()
        for path in ("/prices", "/prices?lang=en"):  # a page that reads the database
            assert_busy_page(client.get(path, expect_errors=True))
        assert client.get("/healthz", expect_errors=True).status_int == 503
        assert time.monotonic() - started < 10
        with broken.app_context():
            db.engine.dispose()
