"""Public numbers without gaps or duplicates, however many requests take one at once."""

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from models import Counter, db

#: the first number each counter hands out
FIRST = {"partner": 1001, "panel": 100001, "invoice": 1, "top_up": 1}

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_number(name):
    """Take the next number of the counter ``name`` (an atomic UPDATE ... RETURNING)."""
    take = (
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    taken = db.session.execute(take).scalar()
    if taken is None:
        # First use: create the counter; a concurrent first use waits on the key, then skips.
        insert = _INSERT[db.session.get_bind().dialect.name]
        db.session.execute(
            insert(Counter).values(name=name, value=FIRST[name] - 1).on_conflict_do_nothing()
        )
        taken = db.session.execute(take).scalar()
    return taken
