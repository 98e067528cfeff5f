"""Locking one row before deciding on it: ``SELECT … FOR UPDATE`` on PostgreSQL (SQLite's
``BEGIN IMMEDIATE`` already holds the write lock), then the object is reloaded so that the
decision reads what the last committed transaction left."""

from sqlalchemy import select

from models import db


def lock(instance):
    model = type(instance)
    db.session.scalars(
        select(model)
        .where(model.id == instance.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return instance
