"""flask backup / flask restore: a consistent copy while the app runs (SQLite's WAL included,
PostgreSQL through pg_dump) with the provisioning files, put back whole."""

import shutil
import sqlite3
import tarfile

from sqlalchemy import func, select

from models import User, db
from tests import factories
from tests.conftest import postgres_only, sqlite_only


def users_now():
    db.session.commit()
    return set(db.session.scalars(select(User.email)))


def provision_files(app, tmp_path):
    folder = tmp_path / "provision"
    (folder / "zones").mkdir(parents=True)
    (folder / "zones" / "example.bg.zone").write_text("; the zone\n")
    app.config["PROVISION_DIR"] = folder
    return folder


def test_a_backup_while_the_app_runs_restores_everything(app, cli, tmp_path, database_url):
    provision = provision_files(app, tmp_path)
    factories.create_user("before@example.com")
    made = cli.invoke(args=["backup", str(tmp_path)])
    assert made.exit_code == 0, made.output
    [archive] = tmp_path.glob("partner-program-*.tar.gz")
    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
    assert {"manifest.json", "provision/zones/example.bg.zone"} <= names

    # afterwards: another user, a lost zone file; the restore brings back the backup's state
    factories.create_user("after@example.com")
    shutil.rmtree(provision)
    refused = cli.invoke(args=["restore", str(archive)], input="n\n")
    assert refused.exit_code != 0 and "after@example.com" in users_now()  # it asked first
    restored = cli.invoke(args=["restore", str(archive), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "before@example.com" in users_now() and "after@example.com" not in users_now()
    assert (provision / "zones" / "example.bg.zone").read_text() == "; the zone\n"


@sqlite_only
def test_sqlite_backup_includes_what_is_still_in_the_wal(app, cli, tmp_path, database_url):
    """Copying a live .db file misses commits not yet checkpointed from the -wal file; the
    backup command does not."""
    db.session.execute(select(func.count(User.id)))  # an open connection: no checkpoint
    factories.create_user("in-the-wal@example.com")
    live = database_url.removeprefix("sqlite:///")
    shutil.copy(live, tmp_path / "copied.db")
    copied = sqlite3.connect(tmp_path / "copied.db")
    found = copied.execute("SELECT count(*) FROM users WHERE email LIKE 'in-the%'").fetchone()
    copied.close()
    assert found == (0,)  # the plain copy lost it
    app.config["PROVISION_DIR"] = tmp_path / "none"
    made = cli.invoke(args=["backup", str(tmp_path / "b.tar.gz")])
    assert made.exit_code == 0, made.output
    with tarfile.open(tmp_path / "b.tar.gz") as opened:
        opened.extract("database.sqlite3", tmp_path, filter="data")
    backed_up = sqlite3.connect(tmp_path / "database.sqlite3")
    found = backed_up.execute("SELECT count(*) FROM users WHERE email LIKE 'in-the%'").fetchone()
    backed_up.close()
    assert found == (1,)


@postgres_only
def test_a_postgres_backup_is_refused_by_a_sqlite_app(app, cli, tmp_path, app_config):
    from config import TestConfig
    from web import create_app

    app.config["PROVISION_DIR"] = tmp_path / "none"
    assert cli.invoke(args=["backup", str(tmp_path / "pg.tar.gz")]).exit_code == 0
    other = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.db'}", **app_config
    )
    with other.app_context():  # the command runs in the current app's context
        result = other.test_cli_runner().invoke(
            args=["restore", str(tmp_path / "pg.tar.gz"), "--yes"]
        )
        db.engine.dispose()
    assert result.exit_code == 1
    assert "holds a postgresql database, but DATABASE_URL is sqlite" in result.output


def test_something_that_is_no_backup_is_refused(app, cli, tmp_path):
    fake = tmp_path / "fake.tar.gz"
    with tarfile.open(fake, "w:gz") as archive:
        (tmp_path / "x.txt").write_text("x")
        archive.add(tmp_path / "x.txt", "x.txt")
    factories.create_user("kept@example.com")
    result = cli.invoke(args=["restore", str(fake), "--yes"])
    assert result.exit_code == 1 and "is not a backup of this app" in result.output
    assert "kept@example.com" in users_now()  # nothing was touched
