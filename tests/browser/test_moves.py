"""The move dialog in a real browser: the partner sees the bundle, hands it to a new client
panel, the client accepts, and the products appear in the client's panel."""

import re

import pytest
from playwright.sync_api import expect

from models import Product, ProductKind, db
from tests import factories
from tests.browser.test_accounts import log_in


def test_partner_hands_a_site_to_a_new_client_who_accepts(browser, live_server, page, outbox):
    partner = factories.create_partner()
    panel = factories.create_panel(
        partner.user,
        name="Агенция",
        products=[
            ("hosting", "пример.бг"),
            ("domain", "пример.бг"),
            ("email", "поща.пример.бг"),
            ("hosting", "other.org"),
        ],
    )

    log_in(page, partner.user.email)
    page.goto(f"/panels/{panel.number}")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Преместване на пример.бг…").click()
    dialog = page.locator("#dialog dialog")
    expect(dialog).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # the dialog came by htmx
    bundle = dialog.locator(".move-bundle tbody tr")
    expect(bundle).to_have_count(3)
    expect(dialog.locator(".move-bundle")).not_to_contain_text("other.org")

    dialog.get_by_label("Нов панел за клиент (покана по имейл)").check()
    expect(dialog.get_by_label("Панел", exact=True)).to_be_hidden()  # only this choice's fields
    dialog.get_by_label("Име на новия панел").fill("Пекарна „Пример“")
    dialog.get_by_label("Имейл на клиента").fill("baker@example.com")
    dialog.get_by_role("button", name="Преместване на 3 продукта").click()
    expect(page.locator(".moves-list")).to_contain_text("чака клиента")
    expect(page.locator(".domain-group")).to_have_count(2)  # nothing moved yet

    [mail] = outbox.wait_for("baker@example.com")
    path = re.search(r"/invitations/\S+", mail.get_content()).group(0)
    db.session.commit()  # end the test's read snapshot before it writes
    client = factories.create_user("baker@example.com")
    other = browser.new_context(base_url=live_server, locale="bg-BG")
    client_page = other.new_page()
    log_in(client_page, client.email)
    client_page.goto(path)
    expect(client_page.locator(".move-bundle")).to_contain_text("поща.пример.бг")
    client_page.get_by_role("button", name="Приеми").click()
    expect(client_page.get_by_role("heading", name="Пекарна „Пример“")).to_be_visible()
    expect(client_page.locator(".domain-group header strong")).to_have_text(["пример.бг"])
    expect(client_page.locator(".domain-group li")).to_have_count(3)
    other.close()

    page.goto(f"/panels/{panel.number}")
    expect(page.locator(".domain-group header strong")).to_have_text(["other.org"])
    expect(page.locator(".moves-list")).to_contain_text("преместено")


@pytest.mark.parametrize("expected_statuses", [{409}])  # the refused move answers 409
def test_a_stale_preview_shows_the_new_bundle_in_the_dialog(page):
    owner = factories.create_user()
    panel = factories.create_panel(owner, products=[("hosting", "example.com")])
    factories.create_panel(owner, name="Втори")
    log_in(page, owner.email)
    page.goto(f"/panels/{panel.number}")
    page.get_by_role("link", name="Преместване на example.com…").click()
    dialog = page.locator("#dialog dialog")
    expect(dialog.locator(".move-bundle tbody tr")).to_have_count(1)

    db.session.commit()  # end the test's read snapshot before it writes
    db.session.add(
        Product(
            panel_id=panel.id, plan_name="SSL", kind=ProductKind.OTHER, domain="www.example.com"
        )
    )
    db.session.commit()
    dialog.get_by_role("button", name="Преместване на 1 продукт").click()
    expect(dialog.locator("[role=alert]")).to_contain_text("Нищо не е преместено")
    expect(dialog.locator(".move-bundle tbody tr")).to_have_count(2)
    dialog.get_by_role("button", name="Преместване на 2 продукта").click()
    expect(page.get_by_role("heading", name="Втори")).to_be_visible()
    expect(page.locator(".domain-group li")).to_have_count(2)
