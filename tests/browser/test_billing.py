"""Ordering in a real browser: paid from the deposit it is active at once; otherwise it waits
as pending until staff record the bank transfer."""

import re

from playwright.sync_api import expect

from models import Invoice, ProductStatus, db
from tests import factories
from tests.browser.test_accounts import log_in


def order_a_domain(page, domain):
    page.goto("/order/?plan=domain-bg&months=12")
    page.get_by_label("Домейн", exact=True).fill(domain)
    page.get_by_role("button", name="Добави в количката").click()
    expect(page).to_have_url(re.compile(r"/billing/cart$"))
    page.get_by_role("button", name="Издай фактура").click()
    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+$"))


def test_a_domain_paid_from_the_deposit_is_active_at_once(browser, live_server, page):
    partner = factories.create_partner()
    factories.create_panel(partner.user, name="Студио")
    factories.create_domain_plan()
    factories.fund(partner, 10_000)

    log_in(page, partner.user.email)
    order_a_domain(page, "pekarna.bg")
    page.get_by_role("button", name=re.compile("Плати .* от депозита")).click()
    expect(page.locator("#invoice-status")).to_contain_text("платена")
    db.session.commit()
    product = db.session.scalar(db.select(Invoice)).lines[0].product
    page.goto(f"/panels/{product.panel.number}")
    expect(page.get_by_text("pekarna.bg").first).to_be_visible()
    assert product.status == ProductStatus.ACTIVE


def test_too_little_deposit_waits_until_staff_record_the_transfer(browser, live_server, page):
    partner = factories.create_partner()
    factories.create_panel(partner.user, name="Студио")
    factories.create_domain_plan()
    staff = factories.create_user(is_staff=True)

    log_in(page, partner.user.email)
    order_a_domain(page, "cafe.bg")
    expect(page.get_by_role("button", name=re.compile("от депозита"))).to_be_disabled()
    reference = page.locator("#pay-bank strong").inner_text()
    db.session.commit()
    invoice = db.session.scalar(db.select(Invoice))
    assert invoice.lines[0].product.status == ProductStatus.PENDING

    other = browser.new_context(base_url=live_server, locale="bg-BG")
    staff_page = other.new_page()
    log_in(staff_page, staff.email)
    staff_page.goto("/staff/payments")
    staff_page.get_by_label("Основание").fill(reference)
    staff_page.get_by_label("Получена сума, EUR").fill("24,00")
    staff_page.get_by_label("Получен на").fill("2026-11-29")
    staff_page.get_by_role("button", name="Запиши").click()
    expect(staff_page.locator("#flashes")).to_contain_text(reference)
    other.close()

    page.reload()
    expect(page.locator("#invoice-status")).to_contain_text("платена")
    db.session.commit()
    assert db.session.scalar(db.select(Invoice)).lines[0].product.status == ProductStatus.ACTIVE
