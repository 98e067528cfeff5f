from sqlalchemy import func, select

from models import User, db
from rules import users
from web.cli import DEMO_PASSWORD, DEMO_USERS


def test_demo_seed_loads_once_and_prints_the_logins(app, cli):
    first = cli.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    assert "staff@demo.example" in first.output and DEMO_PASSWORD in first.output
    count = db.session.scalar(select(func.count()).select_from(User))
    assert count == len(DEMO_USERS)

    second = cli.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert "already there" in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == count


def test_demo_logins_work(app, cli, testapp):
    cli.invoke(args=["demo", "seed"])
    staff = users.authenticate("staff@demo.example", DEMO_PASSWORD)
    assert staff.is_staff
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = "agency@demo.example", DEMO_PASSWORD
    assert form.submit().status_int == 303
