from sqlalchemy import func, select

from models import (
    ALL_GROUPS,
    ClientLink,
    Grant,
    Invitation,
    Panel,
    Partner,
    PartnerStatus,
    User,
    db,
)
from rules import users
from web.cli import DEMO_PASSWORD, DEMO_USERS


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_seed_loads_once_and_prints_the_logins(app, cli):
    first = cli.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    assert "staff@demo.example" in first.output and DEMO_PASSWORD in first.output
    counts = {model: count(model) for model in (User, Panel, Grant, Invitation, Partner)}
    assert counts[User] == len(DEMO_USERS)

    second = cli.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert "already there" in second.output
    assert {model: count(model) for model in counts} == counts


def test_demo_shows_partners_clients_varied_grants_and_a_pending_invitation(app, cli):
    cli.invoke(args=["demo", "seed"])
    numbers = sorted(
        db.session.scalars(select(Partner.number).where(Partner.status == PartnerStatus.APPROVED))
    )
    assert numbers == [1001, 1002]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Partner).where(Partner.status == PartnerStatus.APPLIED)
        )
        == 1
    )
    assert count(ClientLink) >= 4
    assert len({int(g) for g in db.session.scalars(select(Grant.groups))}) >= 3
    assert (
        db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.accepted_at.is_(None))
        )
        >= 1
    )
    assert ALL_GROUPS in set(db.session.scalars(select(Grant.groups)))


def test_demo_logins_work(app, cli, testapp):
    cli.invoke(args=["demo", "seed"])
    staff = users.authenticate("staff@demo.example", DEMO_PASSWORD)
    assert staff.is_staff
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = "agency@demo.example", DEMO_PASSWORD
    assert form.submit().status_int == 303
    clients = testapp.get("/partner/clients")
    assert "Пекарна Добруджа" in clients.text and "Кафе Морско" in clients.text
