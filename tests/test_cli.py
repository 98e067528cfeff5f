import pytest
from sqlalchemy import func, select

from models import (
    ALL_GROUPS,
    AuditEntry,
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
from tests import factories
from tests.conftest import login
from web.demo import PASSWORD as DEMO_PASSWORD
from web.demo import USERS as DEMO_USERS


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


@pytest.mark.config(ENV_NAME="production")
def test_demo_seed_refuses_production_unless_forced(app, cli):
    refused = cli.invoke(args=["demo", "seed"])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert count(User) == 0
    forced = cli.invoke(args=["demo", "seed", "--force"])
    assert forced.exit_code == 0, forced.output
    assert count(User) == len(DEMO_USERS)


def test_the_first_staff_user_is_made_from_the_command_line(app, cli, testapp):
    made = cli.invoke(
        args=["users", "create", "Boss@Hosting.example", "--staff", "--name", "Мария"],
        input="a long staff passphrase\na long staff passphrase\n",
    )
    assert made.exit_code == 0, made.output
    assert "boss@hosting.example created as staff" in made.output
    user = db.session.scalar(select(User).where(User.email == "boss@hosting.example"))
    assert user.is_staff and user.name == "Мария" and user.email_verified_at is not None
    assert db.session.scalar(select(AuditEntry.action)) == "user.staff"
    login(testapp, user, "a long staff passphrase")
    assert testapp.get("/staff/").status_int == 200


@pytest.mark.parametrize(
    ("args", "typed", "refusal"),
    [
        (["not-an-email"], "a long staff passphrase", "valid email"),
        (["short@example.com"], "short", "at least"),
        (["twice@example.com"], "a long staff passphrase", "already"),
    ],
)
def test_users_create_refuses_with_the_reason(app, cli, args, typed, refusal):
    factories.create_user("twice@example.com")
    result = cli.invoke(args=["users", "create", *args], input=f"{typed}\n{typed}\n")
    assert result.exit_code == 1
    assert refusal in result.output
    assert count(User) == 1


def test_set_staff_gives_and_takes_the_role(app, cli):
    user = factories.create_user("ops@example.com")
    assert cli.invoke(args=["users", "set-staff", "OPS@example.com"]).exit_code == 0
    db.session.refresh(user)
    assert user.is_staff
    removed = cli.invoke(args=["users", "set-staff", "ops@example.com", "--remove"])
    assert "no longer staff" in removed.output
    db.session.refresh(user)
    assert not user.is_staff
    missing = cli.invoke(args=["users", "set-staff", "nobody@example.com"])
    assert missing.exit_code == 1 and "No account uses" in missing.output
