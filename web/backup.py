"""Backups an operator can restore: ``flask backup PATH`` and ``flask restore ARCHIVE``.

The archive (.tar.gz) holds the database — SQLite through its online backup API, which copies
a consistent database while the app runs (committed pages still in the WAL file included;
copying the .db file alone would lose them), PostgreSQL through pg_dump — and the files the
provisioning backend wrote (PROVISION_DIR), with a manifest saying what they are.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url, text

from models import db

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
PROVISION = "provision"


class BackupError(RuntimeError):
    """The backup or restore cannot be done as asked; nothing was changed."""


def _url():
    return make_url(db.engine.url)


def _libpq_url(url):
    """The URL for pg_dump and pg_restore (libpq knows no SQLAlchemy driver names)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name):
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client (apt-get install"
            f" postgresql-client) of the server's major version."
        )
    return path


def _revision():
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def backup(target, provision_dir):
    """Write a backup archive to ``target`` — a file named ``….tar.gz``, or else a folder
    (made when missing) to put a dated file in — readable by its owner only; return its path."""
    target = Path(target)
    if not target.name.endswith(".tar.gz"):
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        target = target / f"partner-program-{stamp}.tar.gz"
    url = _url()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(url.database)
            copy = sqlite3.connect(work / SQLITE_FILE)
            try:
                source.backup(copy)  # consistent, with what is still in the WAL
            finally:
                copy.close()
                source.close()
            database = SQLITE_FILE
        else:
            subprocess.run(  # noqa: S603 - our own arguments, the tool found on PATH
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", work / PG_FILE]
                + ["--dbname", _libpq_url(url)],
                check=True,
                capture_output=True,
            )
            database = PG_FILE
        manifest = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": url.get_backend_name(),
            "file": database,
            "revision": _revision(),
            "provision": Path(provision_dir).is_dir(),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = target.with_name(target.name + ".partial")
        # password hashes and bank details are in it: only the owner may read it
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.add(work / MANIFEST, MANIFEST)
            archive.add(work / database, database)
            if manifest["provision"]:
                archive.add(provision_dir, PROVISION)
        partial.replace(target)  # no half-written archive under the real name
    return target


def read_manifest(archive_path):
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            return json.loads(archive.extractfile(MANIFEST).read())
    except (KeyError, AttributeError, tarfile.TarError, ValueError):
        raise BackupError(f"{archive_path} is not a backup of this app (no {MANIFEST})") from None


def restore(archive_path, provision_dir):
    """Put the archive's database and provisioning files back in place of the current ones.

    The app and its workers must be stopped. The database keeps its migration revision:
    run ``flask db upgrade`` afterwards when the code is newer than the backup.
    """
    manifest = read_manifest(archive_path)
    url = _url()
    if manifest["database"] != url.get_backend_name():
        raise BackupError(
            f"the backup holds a {manifest['database']} database, but DATABASE_URL is"
            f" {url.get_backend_name()}"
        )
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        with tarfile.open(archive_path, "r:gz") as archive:
            archive.extractall(work, filter="data")  # no paths outside, no devices
        db.session.remove()
        db.engine.dispose()
        if manifest["database"] == "sqlite":
            source = sqlite3.connect(work / manifest["file"])
            live = sqlite3.connect(url.database)
            try:
                source.backup(live)  # page by page under SQLite's own lock
            finally:
                live.close()
                source.close()
        else:
            subprocess.run(  # noqa: S603 - our own arguments, the tool found on PATH
                [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner"]
                + ["--single-transaction", "--dbname", _libpq_url(url), work / manifest["file"]],
                check=True,
                capture_output=True,
            )
        if manifest["provision"]:
            provision_dir = Path(provision_dir)
            if provision_dir.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
                provision_dir.rename(
                    provision_dir.with_name(f"{provision_dir.name}.before-{stamp}")
                )
            shutil.copytree(work / PROVISION, provision_dir)
    return manifest
