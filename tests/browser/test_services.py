"""Inline editing in a real browser: a DNS record and a mailbox are added, edited and deleted
in place by htmx, without a page reload; a refused record shows its message in the form."""

import pytest
from playwright.sync_api import expect

from models import DnsRecord, Mailbox, db
from tests import factories
from tests.browser.test_accounts import log_in


@pytest.fixture
def panel(app):
    return factories.create_panel(products=[("domain", "пример.бг"), ("email", "пример.бг")])


def product(panel, kind):
    return next(p for p in panel.products if p.kind.value == kind)


@pytest.mark.parametrize("expected_statuses", [{422}])
def confirm(page, question):
    """Answer the page's own "are you sure" dialog with yes."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(question)
    dialog.get_by_role("button", name="Да").click()


def test_a_dns_record_is_added_edited_and_deleted_inline(page, panel, expected_statuses):
    log_in(page, panel.owner.email)
    page.goto(f"/panels/{panel.number}/domains/{product(panel, 'domain').id}")
    page.evaluate("window.notReloaded = true")
    form = page.locator("#record-add")
    form.locator("[name=name]").fill("блог")
    form.locator("[name=type]").select_option("A")
    form.locator("[name=value]").fill("192.0.2.300")
    form.locator("button[type=submit]").click()
    expect(page.locator("#record-add .field-error")).to_contain_text("IPv4")
    page.locator("#record-add [name=value]").fill("192.0.2.30")
    page.locator("#record-add button[type=submit]").click()
    row = page.locator("#records tbody tr", has_text="блог.пример.бг")
    expect(row).to_contain_text("192.0.2.30")
    expect(page.locator("#record-add [name=value]")).to_have_value("")
    # the change is on its way to the servers, and the page says so without a reload
    expect(page.locator("#tasks")).to_contain_text("DNS записът е добавен")

    row.get_by_role("link", name="Редактиране").click()
    editing = page.locator("#records tr.editing")
    editing.locator("[name=value]").fill("192.0.2.31")
    editing.get_by_role("button", name="Запази").click()
    expect(page.locator("#records tr.editing")).to_have_count(0)
    expect(page.locator("#records tbody")).to_contain_text("192.0.2.31")

    page.locator("#records tbody tr", has_text="блог").get_by_role(
        "button", name="Изтриване"
    ).click()
    confirm(page, "Да се изтрие ли този запис?")
    expect(page.locator("#records tbody tr", has_text="блог")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True  # all of it by htmx, in place
    db.session.commit()
    assert db.session.query(DnsRecord).count() == 0


def test_a_mailbox_is_created_and_deleted_inline(page, panel):
    log_in(page, panel.owner.email)
    page.goto(f"/panels/{panel.number}/email/{product(panel, 'email').id}")
    page.evaluate("window.notReloaded = true")
    form = page.locator("#mailbox-add")
    form.locator("[name=local]").fill("office")
    form.locator("[name=password]").fill("a long enough secret")
    form.locator("[name=quota]").fill("300")
    form.locator("button[type=submit]").click()
    row = page.locator("#mailboxes tbody tr", has_text="office@пример.бг")
    expect(row).to_contain_text("300")
    expect(page.locator("#mail-usage")).to_contain_text("300 MB от 25 GB")
    row.get_by_role("button", name="Изтриване").click()
    confirm(page, "Да се изтрие ли тази пощенска кутия?")
    expect(page.locator("#mailboxes tbody tr", has_text="office@")).to_have_count(0)
    expect(page.locator("#tasks")).to_contain_text("пощенската кутия е изтрита")
    expect(page.locator("#mail-usage")).to_contain_text("0 от")
    assert page.evaluate("window.notReloaded") is True
    db.session.commit()
    assert db.session.query(Mailbox).count() == 0
