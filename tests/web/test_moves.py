"""The move dialog over HTTP: preview, move, stale preview, bad input, the pending move to a
client's new panel, undo and cancel, and the mails to both owners."""

import re

import pytest
from sqlalchemy import func, select

from models import ALL_GROUPS, Group, Move, MoveStatus, Product, ProductKind, db
from rules import moves
from tests import factories
from tests.web.test_routes import csrf_token


@pytest.fixture
def agency(app):
    """A partner with a site on example.com in its own panel and a second panel of its own."""
    partner = factories.create_partner()
    source = factories.create_panel(
        partner.user,
        name="Агенция",
        products=[
            ("hosting", "example.com"),
            ("domain", "example.com"),
            ("email", "blog.example.com"),
            ("hosting", "other.org"),
        ],
    )
    target = factories.create_panel(partner.user, name="Втори панел")
    anchor = next(
        p for p in source.products if p.kind == ProductKind.HOSTING and p.domain == "example.com"
    )
    return partner, source, target, anchor


def move_url(panel, product):
    return f"/panels/{panel.number}/products/{product.id}/move"


def panels_of_domain(domain_like):
    return set(
        db.session.scalars(
            select(Product.panel_id)
            .where(Product.domain.like(domain_like))
            .execution_options(populate_existing=True)
        )
    )


def test_the_dialog_shows_the_bundle_and_the_targets(testapp, login_as, agency):
    partner, source, target, anchor = agency
    login_as(partner.user)
    page = testapp.get(f"/panels/{source.number}")
    link = page.html.select_one(".domain-group .move-link")
    blog = next(p for p in source.products if p.domain == "blog.example.com")
    assert link["href"] == move_url(source, blog)  # the group's first product: same bundle
    assert link.text.strip() == "Преместване на example.com…"

    dialog = testapp.get(move_url(source, anchor), headers={"HX-Request": "true"})
    assert dialog.html.select_one("dialog h2").text == "Преместване в друг панел"
    rows = [r.select("td")[1].text for r in dialog.html.select(".move-bundle tbody tr")]
    assert rows == ["blog.example.com", "example.com", "example.com"]
    options = [o.text for o in dialog.html.select("#target option")]
    assert options == [f"Втори панел (№ {target.number})"]
    assert "destination-2" in {i["id"] for i in dialog.html.select("input[name=destination]")}

    full = testapp.get(move_url(source, anchor))
    assert full.html.select_one("main h1").text == "Преместване в друг панел"
    bundle = [p for p in source.products if p.domain.endswith("example.com")]
    assert full.forms["move-form"]["bundle"].value == moves.fingerprint(bundle)


def test_moving_to_an_own_panel_moves_the_bundle_and_mails_the_owner_once(
    testapp, login_as, agency, outbox
):
    partner, source, target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["destination"] = "panel"
    form["target"] = str(target.number)
    response = form.submit()
    assert response.status_int == 303
    assert response.headers["Location"] == f"/panels/{target.number}"
    page = response.follow()
    assert "3 продукта са преместени в „Втори панел“" in page.text
    assert panels_of_domain("%example.com") == {target.id}
    assert panels_of_domain("other.org") == {source.id}
    [mail] = outbox.wait_for(partner.user.email)
    assert "example.com" in mail["Subject"]
    assert "blog.example.com" in mail.get_content()
    assert "7 дни" in mail.get_content()
    undo = page.html.select_one(".moves-list tbody tr")
    assert "преместено" in undo.text


def test_htmx_move_answers_with_a_client_redirect(testapp, login_as, agency):
    partner, source, _target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    response = testapp.post(
        move_url(source, anchor),
        {
            "csrf_token": form["csrf_token"].value,
            "bundle": form["bundle"].value,
            "destination": "new",
            "new_name": "Нов сайт",
        },
        headers={"HX-Request": "true"},
    )
    new_panel = db.session.scalar(select(Move)).target
    assert response.headers["HX-Redirect"] == f"/panels/{new_panel.number}"
    assert new_panel.name == "Нов сайт" and new_panel.owner_id == partner.user.id


def test_a_stale_preview_is_refused_and_the_new_bundle_shown(testapp, login_as, agency):
    partner, source, target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    db.session.add(
        Product(
            panel_id=source.id, plan_name="SSL", kind=ProductKind.OTHER, domain="shop.example.com"
        )
    )
    db.session.commit()
    form["target"] = str(target.number)
    response = form.submit(expect_errors=True)
    assert response.status_int == 409
    assert "Нищо не е преместено" in response.html.select_one(".move-body [role=alert]").text
    assert "shop.example.com" in response.html.select_one(".move-bundle").text
    assert panels_of_domain("%example.com") == {source.id}
    again = response.forms["move-form"].submit()  # the new fingerprint is in the form now
    assert again.status_int == 303
    assert panels_of_domain("%example.com") == {target.id}


def test_a_second_submit_of_the_same_move_is_refused_clearly(testapp, login_as, agency):
    partner, source, target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["target"] = str(target.number)
    form.submit()
    again = form.submit(expect_errors=True)
    assert again.status_int == 409
    assert "вече са преместени от този панел" in again.text
    assert db.session.scalar(select(func.count(Move.id))) == 1


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"target": "abc"}, 422, "Изберете панела."),
        ({"target": "²"}, 422, "Изберете панела."),
        ({"target": "99999999"}, 422, "Изберете панела."),
        ({"target": "SOURCE"}, 422, "Изберете панела."),
        ({"target": "HIDDEN"}, 422, "Изберете панела."),
        ({"destination": "elsewhere"}, 422, None),
        ({"destination": "new", "new_name": "  "}, 422, "Въведете име."),
        ({"destination": "new", "new_name": "x" * 121}, 422, None),
        ({"destination": "client", "client_email": "c@example.com"}, 422, None),  # no partner
        ({"bundle": ""}, 422, None),
        ({"bundle": "1,2,3"}, 409, "Нищо не е преместено"),
    ],
)
def test_bad_input_moves_nothing(testapp, login_as, change, status, message):
    owner = factories.create_user()
    source = factories.create_panel(owner, products=[("hosting", "a.com"), ("domain", "a.com")])
    target = factories.create_panel(owner, name="Target")
    hidden = factories.create_panel(name="Hidden")
    anchor = source.products[0]
    login_as(owner)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    fields = {
        "csrf_token": form["csrf_token"].value,
        "bundle": form["bundle"].value,
        "destination": "panel",
        "target": str(target.number),
    }
    names = {"SOURCE": str(source.number), "HIDDEN": str(hidden.number)}
    fields.update({k: names.get(v, v) for k, v in change.items()})
    response = testapp.post(move_url(source, anchor), fields, expect_errors=True)
    assert response.status_int == status
    if message:
        assert message in response.text
    assert panels_of_domain("a.com") == {source.id}
    assert db.session.scalar(select(func.count(Move.id))) == 0


def test_moving_into_a_client_panel_needs_web_there(testapp, login_as, agency):
    partner, source, _target, anchor = agency
    without_web = factories.create_panel(name="Без уеб")
    factories.link_client(partner, without_web, Group.DOMAINS | Group.BILLING)
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    assert str(without_web.number) not in [v for v, *_ in form["target"].options]
    response = testapp.post(
        move_url(source, anchor),
        {
            "csrf_token": form["csrf_token"].value,
            "bundle": form["bundle"].value,
            "destination": "panel",
            "target": str(without_web.number),
        },
        expect_errors=True,
    )
    assert response.status_int == 422
    assert panels_of_domain("%example.com") == {source.id}


def test_a_product_of_another_panel_or_someone_elses_panel_is_not_found(testapp, login_as, agency):
    partner, source, target, anchor = agency
    stranger_panel = factories.create_panel(products=[("hosting", "x.com")])
    login_as(partner.user)
    assert testapp.get(move_url(target, anchor), expect_errors=True).status_int == 404
    assert testapp.get(move_url(stranger_panel, anchor), expect_errors=True).status_int == 404
    foreign = stranger_panel.products[0]
    assert testapp.get(move_url(source, foreign), expect_errors=True).status_int == 404


def test_members_see_no_move_links_and_cannot_move(testapp, login_as, agency):
    _partner, source, _target, anchor = agency
    member = factories.create_user()
    factories.grant(source, member, ALL_GROUPS)
    login_as(member)
    assert not testapp.get(f"/panels/{source.number}").html.select(".move-link")
    assert testapp.get(move_url(source, anchor), expect_errors=True).status_int == 403


def test_a_move_to_a_new_client_panel_waits_for_the_client(
    testapp, make_testapp, login_as, agency, outbox
):
    partner, source, _target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["destination"] = "client"
    form["new_name"] = "Пекарна"
    form["client_email"] = "baker@example.com"
    form["can_billing"] = False
    response = form.submit()
    assert response.headers["Location"] == f"/panels/{source.number}"
    page = response.follow()
    row = page.html.select_one(".moves-list tbody tr")
    assert "чака клиента" in row.text and "baker@example.com" in row.text
    assert row.select_one("form")["action"].endswith("/cancel")
    assert panels_of_domain("%example.com") == {source.id}

    [mail] = outbox.wait_for("baker@example.com")
    assert "Продуктите на example.com се преместват в него" in mail.get_content()
    path = re.search(r"http://\S+(/invitations/\S+)", mail.get_content()).group(1)
    client = factories.create_user("baker@example.com")
    client_app = login_as(client, make_testapp())
    invitation = client_app.get(path)
    assert "blog.example.com" in invitation.html.select_one(".move-bundle").text
    accept = invitation.forms["accept-form"]
    assert accept["can_billing"].checked is False  # the partner proposed to keep no billing
    response = accept.submit()
    move = db.session.scalar(select(Move).execution_options(populate_existing=True))
    assert move.status == MoveStatus.DONE
    assert response.headers["Location"] == f"/panels/{move.target.number}"
    shown = response.follow().html.select(".domain-group header strong")
    assert [s.text for s in shown] == ["example.com"]
    assert panels_of_domain("%example.com") == {move.target_panel_id}
    assert len(outbox.wait_for(partner.user.email)) == 1
    assert len(outbox.wait_for("baker@example.com")) == 2  # the invitation and the move


def test_cancel_and_undo_from_the_panel_page(testapp, login_as, agency, outbox):
    partner, source, target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["destination"] = "client"
    form["new_name"] = "Пекарна"
    form["client_email"] = "baker@example.com"
    page = form.submit().follow()
    cancel = page.html.select_one(".moves-list tbody tr form")
    response = testapp.post(cancel["action"], {"csrf_token": csrf_token(testapp)})
    page = response.follow()
    assert "Преместването е отменено" in page.text
    assert "отменено" in page.html.select_one(".moves-list tbody tr").text

    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["target"] = str(target.number)
    form.submit()
    page = testapp.get(f"/panels/{source.number}")
    undo = page.html.select_one(".moves-list tbody tr form")
    assert undo["action"].endswith("/undo")
    page = testapp.post(undo["action"], {"csrf_token": csrf_token(testapp)}).follow()
    assert "Преместването е върнато" in page.text
    assert panels_of_domain("%example.com") == {source.id}
    assert any("върнато" in m["Subject"] for m in outbox.wait_for(partner.user.email))
    again = testapp.post(undo["action"], {"csrf_token": csrf_token(testapp)}, expect_errors=True)
    assert again.status_int == 409


def test_undo_and_cancel_of_another_panels_move_are_not_found(testapp, login_as, agency):
    partner, source, target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["target"] = str(target.number)
    form.submit()
    move = db.session.scalar(select(Move))
    for action in ("undo", "cancel"):
        response = testapp.post(
            f"/panels/{target.number}/moves/{move.id}/{action}",
            {"csrf_token": csrf_token(testapp)},
            expect_errors=True,
        )
        assert response.status_int == 404
    assert panels_of_domain("%example.com") == {target.id}


def test_mistakes_in_the_dialog_stay_in_the_dialog(testapp, login_as, agency):
    partner, source, _target, anchor = agency
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["destination"] = "client"
    form["new_name"] = ""
    form["client_email"] = ""
    both = form.submit(expect_errors=True)
    assert both.status_int == 422
    errors = [e.text for e in both.html.select(".field-error")]
    assert "Въведете име." in errors and len(errors) == 2  # both at once
    form = both.forms["move-form"]
    form["new_name"] = "Пекарна"
    form["client_email"] = partner.user.email
    own = form.submit(expect_errors=True)
    assert own.status_int == 422
    assert own.forms["move-form"]["new_name"].value == "Пекарна"  # nothing typed is lost
    assert own.html.select_one("#client_email-error") is not None
    form = own.forms["move-form"]
    form["client_email"] = "baker@example.com"
    form.submit()
    again = testapp.get(move_url(source, anchor))
    assert "Първо отменете това преместване." in again.html.select_one("[role=alert]").text
    busy = again.forms["move-form"]
    busy["destination"] = "new"
    busy["new_name"] = "Друг"
    refused = busy.submit(expect_errors=True)
    assert refused.status_int == 409
    assert refused.html.select_one("#move-form") is not None


def test_the_mover_can_undo_from_the_client_panel_it_moved_into(testapp, login_as, agency):
    partner, source, _target, anchor = agency
    client_panel = factories.create_panel(name="Клиент")
    factories.link_client(partner, client_panel, ALL_GROUPS)
    login_as(partner.user)
    form = testapp.get(move_url(source, anchor)).forms["move-form"]
    form["target"] = str(client_panel.number)
    page = form.submit().follow()
    assert page.request.path == f"/panels/{client_panel.number}"
    undo = page.html.select_one(".moves-list tbody tr form")
    assert undo["action"].endswith("/undo") and f"/panels/{source.number}/" in undo["action"]
    testapp.post(undo["action"], {"csrf_token": csrf_token(testapp)})
    assert panels_of_domain("%example.com") == {source.id}
