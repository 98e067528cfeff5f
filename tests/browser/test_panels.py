"""Access dialogs and the client list in a real browser."""

import re

from playwright.sync_api import expect

from models import Group
from tests import factories
from tests.browser.test_accounts import log_in


def test_owner_ticks_groups_in_the_dialog_and_the_grantee_sees_the_change(
    browser, live_server, page, create_user
):
    panel = factories.create_panel(products=[("domain", "example.com"), ("email", "example.com")])
    grantee = create_user("grantee@example.com")
    grant = factories.grant(panel, grantee, Group.DOMAINS)

    log_in(page, panel.owner.email)
    page.goto(f"/panels/{panel.number}")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Достъп…").click()
    dialog = page.locator("#dialog dialog")
    expect(dialog).to_be_visible()
    row = dialog.locator(f"#member-{grant.id}")
    with page.expect_response(re.compile(rf"/access/{grant.id}$")) as answer:
        row.get_by_label("Поща").check()
    assert answer.value.status == 200
    expect(row.locator(".saved")).to_be_visible()
    with page.expect_response(re.compile(rf"/access/{grant.id}$")):
        dialog.locator(f"#member-{grant.id}").get_by_label("Домейни").uncheck()
    expect(dialog.locator(f"#member-{grant.id} .saved")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

    other = browser.new_context(base_url=live_server, locale="bg-BG")
    grantee_page = other.new_page()
    log_in(grantee_page, grantee.email)
    grantee_page.goto(f"/panels/{panel.number}")
    expect(grantee_page.locator("#section-email")).to_be_visible()
    expect(grantee_page.locator("#section-domains")).to_have_count(0)
    other.close()


def test_partner_invites_an_existing_client_who_accepts(browser, live_server, page, outbox):
    partner = factories.create_partner()
    panel = factories.create_panel(name="Пекарна", products=[("domain", "bakery.bg")])

    log_in(page, partner.user.email)
    page.goto("/partner/clients")
    page.get_by_role("button", name="Добави съществуващ панел").click()
    page.get_by_label("Номер на панела").fill(str(panel.number))
    page.get_by_label("Имейл на собственика на панела").fill(panel.owner.email)
    page.get_by_label("Уеб услуги").check()
    page.get_by_role("button", name="Изпрати поканата").click()
    expect(page.locator(".flash-info")).to_be_visible()

    [mail] = outbox.wait_for(panel.owner.email)
    path = re.search(r"/invitations/\S+", mail.get_content()).group(0)
    other = browser.new_context(base_url=live_server, locale="bg-BG")
    client_page = other.new_page()
    log_in(client_page, panel.owner.email)
    client_page.goto(path)
    client_page.get_by_role("button", name="Приеми").click()
    expect(client_page.get_by_role("heading", name="Пекарна")).to_be_visible()
    other.close()

    page.goto("/partner/clients")
    expect(page.locator("#client-table")).to_contain_text("Пекарна")
