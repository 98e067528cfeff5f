import re

import pytest
from sqlalchemy import event, func, select, update

from models import ALL_GROUPS, ClientLink, Grant, Group, Panel, Partner, User, db
from tests import factories
from tests.web.test_routes import csrf_token


def test_panel_page_shows_products_by_domain_and_only_the_sections_held(
    testapp, login_as, create_user
):
    panel = factories.create_panel(
        products=[
            ("domain", "example.com"),
            ("hosting", "blog.example.com"),
            ("email", "example.com"),
            ("hosting", "other.org"),
        ]
    )
    user = create_user()
    factories.grant(panel, user, Group.WEB | Group.EMAIL)
    login_as(user)
    page = testapp.get(f"/panels/{panel.number}")
    groups = [h.text for h in page.html.select(".domain-group header strong")]
    assert groups == ["example.com", "other.org"]  # blog.example.com sits with example.com
    sections = [s["id"] for s in page.html.select(".panel-sections li")]
    assert sections == ["section-web", "section-email"]
    # each product once, with where this member manages it
    rows = page.html.select(".domain-group li")
    assert len(rows) == 4
    manage = {a.text: a["href"] for a in page.html.select(".domain-group a.manage")}
    assert set(manage) == {"Сайтове", "Пощенски кутии"}  # no DNS: the domains group is not held


def test_revocation_applies_on_the_grantees_next_request(
    testapp, make_testapp, login_as, create_user
):
    panel = factories.create_panel(products=[("domain", "example.com")])
    user = create_user()
    grant = factories.grant(panel, user, Group.DOMAINS)
    login_as(user)
    assert testapp.get(f"/panels/{panel.number}").html.select("#section-domains")

    owner = login_as(panel.owner, make_testapp())
    form = owner.get(f"/panels/{panel.number}/access/").forms[f"member-{grant.id}-form"]
    form["can_domains"] = False
    form.submit()
    assert not testapp.get(f"/panels/{panel.number}").html.select("#section-domains")

    owner.get(f"/panels/{panel.number}/access/").forms[f"remove-{grant.id}-form"].submit()
    assert testapp.get(f"/panels/{panel.number}", expect_errors=True).status_int == 404


def test_owner_adds_a_person_and_a_stranger_gets_an_invitation_that_lands_after_sign_up(
    testapp, make_testapp, login_as, create_user, outbox
):
    panel = factories.create_panel(name="Пекарна")
    login_as(panel.owner)
    form = testapp.get(f"/panels/{panel.number}/access/").forms["add-person-form"]
    form["email"] = "newcomer@example.com"
    form["can_web"] = True
    form.submit()
    [mail] = outbox.to("newcomer@example.com")
    link = re.search(r"http://\S+/invitations/\S+", mail.get_content()).group(0)
    path = link.split("localhost", 1)[-1]

    visitor = make_testapp()
    page = visitor.get(path)
    # before signing up: who invites, to what, with which rights
    assert panel.owner.email in page.html.select_one("#invitation").text
    assert page.html.select_one("#invitation-groups .badge").text == "Уеб услуги"
    signup_link = page.html.select_one('main article a[href^="/signup"]')["href"]
    form = visitor.get(signup_link).forms["signup-form"]
    assert form["email"].value == "newcomer@example.com"
    form["name"] = "Нов"
    form["password"] = form["confirm"] = "a long new password"
    response = form.submit()
    assert response.headers["Location"] == path  # back to the invitation
    accept = response.follow().forms["accept-form"]
    response = accept.submit()
    assert response.headers["Location"] == f"/panels/{panel.number}"
    assert response.follow().html.select("#section-web")
    with pytest.raises(Exception):  # noqa: B017 - the token is single-use
        visitor.get(path).forms["accept-form"]


def test_adding_yourself_or_a_member_again_is_refused(testapp, login_as, create_user):
    panel = factories.create_panel()
    member = create_user()
    factories.grant(panel, member, Group.WEB)
    login_as(panel.owner)
    for email, message in [
        (panel.owner.email, "Вече сте собственик на този панел."),
        (member.email, "Това лице вече има достъп до панела."),
    ]:
        form = testapp.get(f"/panels/{panel.number}/access/").forms["add-person-form"]
        form["email"] = email
        response = form.submit(expect_errors=True)
        assert response.status_int == 422
        assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(Grant)) == 1


def test_mass_assigned_fields_change_nothing(testapp, login_as, create_user):
    panel = factories.create_panel()
    member = create_user()
    grant = factories.grant(panel, member, Group.WEB)
    login_as(panel.owner)
    token = csrf_token(testapp)
    testapp.post(
        f"/panels/{panel.number}/access/{grant.id}",
        {
            "csrf_token": token,
            "can_email": "y",
            "owner_id": str(member.id),
            "is_staff": "1",
            "partner_number": "1001",
            "panel_id": "999",
            "user_id": str(panel.owner.id),
        },
    )
    db.session.refresh(grant)
    db.session.refresh(panel)
    assert (grant.user_id, grant.panel_id, grant.groups) == (member.id, panel.id, Group.EMAIL)
    assert panel.owner_id != member.id
    assert not db.session.get(User, member.id).is_staff


def test_transfer_needs_confirmation(testapp, login_as, create_user):
    panel = factories.create_panel()
    heir = create_user()
    factories.grant(panel, heir, Group.WEB)
    login_as(panel.owner)
    form = testapp.get(f"/panels/{panel.number}/access/transfer").forms["transfer-form"]
    form["new_owner"] = str(heir.id)
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    form = response.forms["transfer-form"]
    form["confirm"] = True
    assert form.submit().status_int == 303
    db.session.refresh(panel)
    assert panel.owner_id == heir.id


def test_transfer_to_a_non_member_is_refused(testapp, login_as, create_user):
    panel = factories.create_panel()
    factories.grant(panel, create_user(), Group.WEB)
    outsider = create_user()
    login_as(panel.owner)
    fields = dict(
        testapp.get(f"/panels/{panel.number}/access/transfer")
        .forms["transfer-form"]
        .submit_fields()
    )
    fields.update(new_owner=str(outsider.id), confirm="y")
    assert (
        testapp.post(
            f"/panels/{panel.number}/access/transfer", fields, expect_errors=True
        ).status_int
        == 422
    )
    db.session.refresh(panel)
    assert panel.owner_id != outsider.id


def test_partner_invites_an_existing_panel_and_the_owner_chooses_the_groups(
    testapp, make_testapp, login_as, outbox
):
    partner = factories.create_partner()
    panel = factories.create_panel(products=[("domain", "bakery.bg")])
    login_as(partner.user)
    form = testapp.get("/partner/clients/invite").forms["invite-client-form"]
    form["panel_number"] = str(panel.number)
    form["email"] = panel.owner.email
    for name in ("can_domains", "can_web", "can_email", "can_billing"):
        form[name] = True
    form.submit()
    [mail] = outbox.to(panel.owner.email)
    path = re.search(r"/invitations/\S+", mail.get_content()).group(0)

    owner = login_as(panel.owner, make_testapp())
    accept = owner.get(path).forms["accept-form"]
    accept["can_domains"] = accept["can_email"] = accept["can_billing"] = False  # only web
    accept.submit()
    clients = testapp.get("/partner/clients")
    assert panel.name in clients.text
    assert "Уеб услуги" in clients.html.select_one("#client-table tbody tr").text
    assert testapp.get(f"/panels/{panel.number}/access/", expect_errors=True).status_int == 403


def test_client_list_search_and_pages(testapp, login_as):
    partner = factories.create_partner()
    for i in range(30):
        panel = factories.create_panel(name=f"Клиент {i:02d}")
        factories.link_client(partner, panel, Group.WEB)
    login_as(partner.user)
    first = testapp.get("/partner/clients")
    assert len(first.html.select("#client-table tbody tr")) == 25
    second = testapp.get("/partner/clients?page=2")
    assert len(second.html.select("#client-table tbody tr")) == 5
    found = testapp.get("/partner/clients", {"q": "клиент 07"})
    rows = found.html.select("#client-table tbody tr")
    assert len(rows) == 1 and "Клиент 07" in rows[0].text
    for bad in ("0", "-1", "x", "99999999999"):
        assert testapp.get(f"/partner/clients?page={bad}").status_int == 200


def test_client_list_and_panel_switcher_find_panels_by_any_domain_in_them(testapp, login_as):
    """A domain, a subdomain product, a site's host, an IDN typed in Cyrillic: all find the
    panel that holds them, in the client list and in the panel list alike."""
    from models import Site

    partner = factories.create_partner()
    bakery = factories.create_panel(name="Пекарна", products=[("domain", "pekarna-dobrudzha.bg")])
    hotel = factories.create_panel(
        name="Хотел", products=[("hosting", "hotel-vitosha.bg"), ("domain", "пример.бг")]
    )
    hosting = next(p for p in hotel.products if p.kind.value == "hosting")
    db.session.add(
        Site(product_id=hosting.id, host="booking.hotel-vitosha.bg", docroot="b", php="8.3")
    )
    other = factories.create_panel(name="Друг", products=[("domain", "other.org")])
    for panel in (bakery, hotel, other):
        factories.link_client(partner, panel, Group.WEB)
    db.session.commit()
    login_as(partner.user)

    def found(path, term):
        page = testapp.get(path, {"q": term})
        return sorted(a.text.strip() for a in page.html.select("tbody tr td:first-child a"))

    for path in ("/partner/clients", "/panels/"):
        assert found(path, "pekarna") == ["Пекарна"]
        assert found(path, "VITOSHA") == ["Хотел"]
        assert found(path, "booking") == ["Хотел"]  # a site's subdomain
        assert found(path, "пример.бг") == ["Хотел"]  # stored as xn--e1afmkfd.xn--90ae
        assert found(path, "nothing-like-it") == []


def test_partner_note_is_private_and_saved_inline(testapp, login_as):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(partner, panel, Group.WEB)
    login_as(partner.user)
    token = csrf_token(testapp)
    response = testapp.post(
        f"/partner/clients/{panel.number}/note",
        {"csrf_token": token, "note": "плаща късно"},
        headers={"HX-Request": "true"},
    )
    assert "Запазено" in response.text and "<html" not in response.text
    assert db.session.scalar(select(ClientLink.note)) == "плаща късно"


def test_staff_approves_an_application_and_the_partner_is_told(
    testapp, make_testapp, login_as, outbox
):
    applicant = factories.create_user("apply@example.com")
    login_as(applicant)
    form = testapp.get("/partner/apply").forms["apply-form"]
    form["company"], form["vat_number"], form["expected_hostings"] = "Студио", "BG123456789", "12"
    form.submit(status=422)  # the address its invoices carry is missing
    form = testapp.get("/partner/apply").forms["apply-form"]
    form["company"], form["vat_number"], form["expected_hostings"] = "Студио", "BG123456789", "12"
    form["address"] = "  ул. Шипка 5,\n 4000 Пловдив "
    form.submit()
    partner = db.session.scalar(select(Partner))
    assert partner.address == "ул. Шипка 5, 4000 Пловдив"
    staff = login_as(factories.create_user(is_staff=True), make_testapp())
    page = staff.get(f"/staff/partners/{partner.id}")
    assert "ул. Шипка 5, 4000 Пловдив" in page.text
    form = page.forms["approve-form"]
    form["minimum_deposit"] = "500"
    form.submit()
    db.session.refresh(partner)
    assert (partner.number, partner.minimum_deposit_cents) == (1001, 50_000)
    [mail] = outbox.to("apply@example.com")
    assert "1001" in mail.get_content()
    assert "Клиенти" in testapp.get("/").follow().text  # the partner's menu


@pytest.mark.parametrize(
    ("value", "status"), [("-5", 422), ("abc", 422), ("0", 422), ("1e3", 422), ("10000000", 422)]
)
def test_approval_refuses_bad_deposits(testapp, login_as, value, status):
    applicant = factories.create_user()
    from rules import partners

    partner = partners.apply(applicant, company="X", vat_number="BG1234", expected_hostings=1)
    db.session.commit()
    login_as(factories.create_user(is_staff=True))
    form = testapp.get(f"/staff/partners/{partner.id}").forms["approve-form"]
    form["minimum_deposit"] = value
    assert form.submit(expect_errors=True).status_int == status
    db.session.refresh(partner)
    assert partner.number is None


def test_owner_sees_the_panel_log_and_staff_sees_all(testapp, make_testapp, login_as):
    panel = factories.create_panel(name="Logged")
    member = factories.create_user()
    factories.grant(panel, member, ALL_GROUPS)
    login_as(panel.owner)
    log = testapp.get(f"/panels/{panel.number}/audit")
    assert "даден достъп" in log.text or "access given" in log.text
    assert (
        login_as(member, make_testapp())
        .get(f"/panels/{panel.number}/audit", expect_errors=True)
        .status_int
        == 403
    )
    staff = login_as(factories.create_user(is_staff=True), make_testapp())
    assert member.email in staff.get("/staff/audit").text


def test_the_audit_log_reads_as_sentences_and_filters_by_who_what_panel_and_day(
    testapp, make_testapp, login_as
):
    """No raw keys: "минимален депозит 300,00 €", not "minimum_deposit_cents: 300,00 €"; the
    staff filter by who, panel, kind of action and days, 50 entries a page."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from rules import partners

    staff_user = factories.create_user(is_staff=True)
    applicant = partners.apply(
        factories.create_user(), company="Агенция", vat_number="BG123456789", expected_hostings=3
    )
    partners.approve(applicant, minimum_deposit_cents=30_000, actor=staff_user)
    panel = factories.create_panel(name="Пекарна")
    member = factories.create_user(email="baker@example.com")
    factories.grant(panel, member, Group.WEB | Group.EMAIL)
    sofia = ZoneInfo("Europe/Sofia")
    with time_machine.travel(datetime(2026, 11, 2, 12, tzinfo=sofia), tick=False):
        for i in range(60):  # an older busy day: 60 panels made
            factories.create_panel(name=f"Стар {i}")
    db.session.commit()
    staff = login_as(staff_user, make_testapp())

    page = staff.get("/staff/audit", {"action": "partner"})
    details = page.html.select_one("#audit-entries").text
    assert "минимален депозит 300,00\xa0€" in details and "minimum_deposit_cents" not in details
    owner = panel.owner.email.upper()  # any case
    rights = staff.get("/staff/audit", {"who": owner, "panel": panel.number, "action": "grant"})
    [row] = rights.html.select("#audit-entries tbody tr")
    assert "права: Уеб услуги, Поща" in row.text and "потребител baker@example.com" in row.text

    day = staff.get("/staff/audit", {"since": "2026-11-02", "until": "2026-11-02"})
    assert "60 записа" in day.html.select_one("#audit-count").text
    assert len(day.html.select("#audit-entries tbody tr")) == 50
    older = day.html.select_one("a[rel=next]")["href"]
    assert len(staff.get("/staff/audit" + older).html.select("#audit-entries tbody tr")) == 10
    fragment = staff.get("/staff/audit", {"action": "grant"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="audit-log">')
    bad = staff.get("/staff/audit", {"since": "not a day", "panel": "x"})
    assert bad.status_int == 200 and bad.html.select(".audit-filters .field-error")

    login_as(panel.owner)
    own = testapp.get(f"/panels/{panel.number}/audit", {"who": "nobody-like-that"})
    assert "0 записа" in own.html.select_one("#audit-count").text


class Statements:
    """Count the SQL statements the app sends while a block runs."""

    def __init__(self):
        self.count = 0

    def __call__(self, *args):
        self.count += 1


def count_statements(testapp, path):
    counter = Statements()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        testapp.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return counter.count


@pytest.mark.parametrize("path", ["/partner/clients", "/panels/", "/"])
def test_statement_count_does_not_grow_with_client_panels(testapp, login_as, path):
    partner = factories.create_partner()
    factories.add_client_panels(partner, 10)
    login_as(partner.user)
    few = count_statements(testapp, path)
    factories.add_client_panels(partner, 990)
    many = count_statements(testapp, path)
    assert few == many, (few, many)
    assert few <= 12


def test_mass_assigned_fields_are_ignored_on_apply_create_and_approve(
    testapp, make_testapp, login_as
):
    applicant = factories.create_user()
    login_as(applicant)
    fields = dict(testapp.get("/partner/apply").forms["apply-form"].submit_fields())
    fields.update(
        company="Evil",
        vat_number="BG1234",
        address="ул. Шипка 5, Пловдив",
        expected_hostings="3",
        number="1",
        status="approved",
        user_id="1",
        minimum_deposit_cents="0",
    )
    testapp.post("/partner/apply", fields)
    partner = db.session.scalar(select(Partner))
    assert (partner.number, partner.status.value, partner.user_id) == (
        None,
        "applied",
        applicant.id,
    )

    staff = login_as(factories.create_user(is_staff=True), make_testapp())
    fields = dict(staff.get(f"/staff/partners/{partner.id}").forms["approve-form"].submit_fields())
    fields.update(minimum_deposit="100", number="7", partner_number="7", user_id="1")
    staff.post(f"/staff/partners/{partner.id}/approve", fields)
    db.session.refresh(partner)
    assert (partner.number, partner.minimum_deposit_cents) == (1001, 10_000)

    fields = dict(testapp.get("/partner/clients/new").forms["client-panel-form"].submit_fields())
    other = factories.create_user()
    fields.update(
        name="Client",
        owner_id=str(other.id),
        owner="partner",
        is_staff="1",
        number="1",
        partner_id="999",
    )
    testapp.post("/partner/clients", fields)
    panel = db.session.scalar(select(Panel).where(Panel.name == "Client"))
    assert panel.owner_id == applicant.id and panel.number >= 100001
    assert (
        db.session.scalar(select(ClientLink.partner_id).where(ClientLink.panel_id == panel.id))
        == partner.id
    )
    assert not db.session.get(User, applicant.id).is_staff


def test_a_refused_client_panel_leaves_nothing_behind(testapp, login_as):
    partner = factories.create_partner()
    login_as(partner.user)
    form = testapp.get("/partner/clients/new").forms["client-panel-form"]
    form["name"], form["owner"], form["client_email"] = "Mine", "client", partner.user.email
    response = form.submit(expect_errors=True)
    assert response.status_int == 422
    assert "Mine" not in response.html.select_one(".panel-switcher").text  # not even there
    assert "Въведете имейла на клиента, а не своя." in response.text
    assert db.session.scalar(select(func.count()).select_from(Panel)) == 0


def test_the_wrong_account_is_not_told_whom_an_invitation_was_for(testapp, login_as):
    panel = factories.create_panel()
    from models import InvitationKind
    from rules import invitations

    _inv, token = invitations.invite(
        InvitationKind.ACCESS, panel=panel, email="secret@example.com", groups=1, actor=panel.owner
    )
    db.session.commit()
    login_as(factories.create_user())
    response = testapp.get(f"/invitations/{token}", expect_errors=True)
    assert response.status_int == 403
    assert "secret@example.com" not in response.text


def test_suspending_a_partner_needs_confirmation(testapp, login_as):
    partner = factories.create_partner()
    login_as(factories.create_user(is_staff=True))
    form = testapp.get(f"/staff/partners/{partner.id}").forms["suspend-form"]
    assert form.submit(expect_errors=True).status_int == 422
    db.session.refresh(partner)
    assert partner.is_approved
    form["confirm"] = True
    assert form.submit().status_int == 303
    db.session.refresh(partner)
    assert partner.status.value == "suspended"
    assert partner.user.email in db.session.scalars(select(User.email)).all()


def test_no_second_application_form_while_one_is_pending(testapp, login_as):
    from rules import partners

    user = factories.create_user()
    partners.apply(user, company="A", vat_number="BG1234", expected_hostings=1)
    db.session.commit()
    login_as(user)
    assert testapp.get("/partner/apply").headers["Location"] == "/partner/"


def test_a_too_long_note_is_refused_in_place(testapp, login_as):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(partner, panel, Group.WEB)
    login_as(partner.user)
    response = testapp.post(
        f"/partner/clients/{panel.number}/note",
        {"csrf_token": csrf_token(testapp), "note": "x" * 2001},
        headers={"HX-Request": "true"},
        expect_errors=True,
    )
    assert response.status_int == 422
    assert response.text.lstrip().startswith("<form") and "2000" in response.text
    assert db.session.scalar(select(ClientLink.note)) == ""


def test_home_lists_the_invitations_waiting_for_the_user(testapp, login_as):
    panel = factories.create_panel(name="Салон")
    invitee = factories.create_user("wanted@example.com", verified=False)
    from rules import panels

    panels.add_person(panel, invitee.email, Group.WEB, actor=panel.owner)
    db.session.commit()
    login_as(invitee)
    home = testapp.get("/")
    assert "Покани, които чакат вашия отговор" in home.text and "Салон" in home.text


def test_access_dialog_statements_do_not_grow_with_members(testapp, login_as):
    panel = factories.create_panel()
    login_as(panel.owner)
    factories.grant(panel, factories.create_user(), Group.WEB)
    few = count_statements(testapp, f"/panels/{panel.number}/access/")
    for _ in range(10):
        factories.grant(panel, factories.create_user(), Group.EMAIL)
    assert count_statements(testapp, f"/panels/{panel.number}/access/") == few


def test_a_note_form_without_its_field_is_refused_not_a_server_error(testapp, login_as):
    partner = factories.create_partner()
    panel = factories.create_panel()
    factories.link_client(partner, panel, Group.WEB)
    db.session.execute(update(ClientLink).values(note="плаща късно"))
    db.session.commit()
    login_as(partner.user)
    response = testapp.post(
        f"/partner/clients/{panel.number}/note",
        {"csrf_token": csrf_token(testapp)},
        expect_errors=True,
    )
    assert response.status_int == 422
    assert "Формулярът е непълен." in response.text
    assert db.session.scalar(select(ClientLink.note)) == "плаща късно"
