"""Command-line tools: ``flask demo seed``."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from models import User, db
from rules import users

demo = AppGroup("demo", help="Demo data for trying the app.")

#: every demo login uses this password (it passes the password policy)
DEMO_PASSWORD = "partner-demo-2026"  # noqa: S105

#: (email, name, language, is_staff, role shown in the printed list)
DEMO_USERS = [
    ("staff@demo.example", "Мария Служебна", "bg", True, "staff"),
    ("agency@demo.example", "Ивана Агенция (Студио Дизайн)", "bg", False, "partner 1"),
    ("webshop@demo.example", "Georgi Webshop Agency", "en", False, "partner 2"),
    ("bakery@demo.example", "Пекарна Добруджа", "bg", False, "client of partner 1"),
    ("dentist@demo.example", "Д-р Петрова", "bg", False, "client of partner 1"),
    ("florist@demo.example", "Florist Ltd", "en", False, "client of partner 2"),
]


def seed_demo():
    """Create the demo logins unless they exist; return (created, rows for the printed list)."""
    created = False
    for email, name, language, is_staff, _role in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            user = users.register_user(
                email=email, name=name, password=DEMO_PASSWORD, language=language
            )
            user.is_staff = is_staff
            created = True
    db.session.commit()
    return created, [(email, role) for email, _n, _l, _s, role in DEMO_USERS]


@demo.command("seed")
@click.option("--base-url", default="http://127.0.0.1:8000", help="Where the app is served.")
def seed_command(base_url):
    """Load the demo data once; running it again changes nothing."""
    created, rows = seed_demo()
    click.echo("Demo data loaded." if created else "Demo data was already there.")
    click.echo(f"Log in at {base_url}/login with password {DEMO_PASSWORD!r} as:")
    for email, role in rows:
        click.echo(f"  {email:<24} {role}")


def init_app(app):
    app.cli.add_command(demo)
