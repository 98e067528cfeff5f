"""The affiliate link in a real browser: a visitor follows it, signs up, orders and pays; the
partner sees the click, the sign-up and the pending commission, available 30 days later."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from models import Invoice, db, utcnow
from rules import commissions
from tests import factories
from tests.browser.test_accounts import log_in

#: headless Chromium says "HeadlessChrome", which is rightly a bot; a visitor's browser does not
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)


def test_a_visitor_from_the_link_signs_up_orders_and_earns_the_partner(browser, live_server):
    visitor = browser.new_context(base_url=live_server, locale="bg-BG", user_agent=DESKTOP_CHROME)
    page = visitor.new_page()
    partner = factories.create_partner(company="Студио Линк")
    factories.create_domain_plan()
    staff = factories.create_user(is_staff=True)

    page.goto(f"/partners/{partner.number}?to=/prices")
    expect(page).to_have_url(re.compile(r"/prices$"))
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["pp_ref"]["httpOnly"] and cookies["pp_ref"]["sameSite"] == "Lax"

    page.goto("/signup")
    page.get_by_label("Имейл", exact=True).fill("visitor@example.com")
    page.get_by_label("Име", exact=True).fill("Посетител")
    page.get_by_label("Парола", exact=True).fill("a long new password")
    page.get_by_label("Повторете паролата").fill("a long new password")
    page.locator("#signup-form").get_by_role("button").click()
    expect(page.get_by_role("button", name="Изход")).to_be_visible()

    page.goto("/order/?plan=domain-bg&months=12")
    page.get_by_label("Домейн", exact=True).fill("visitor.bg")
    page.get_by_role("button", name="Добави в количката").click()
    expect(page).to_have_url(re.compile(r"/billing/cart$"))
    page.get_by_role("button", name="Издай фактура").click()
    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+$"))
    db.session.commit()
    invoice = db.session.scalar(db.select(Invoice))

    other = browser.new_context(base_url=live_server, locale="bg-BG")
    staff_page = other.new_page()
    log_in(staff_page, staff.email)
    staff_page.goto("/staff/payments")
    staff_page.get_by_label("Основание").fill(invoice.reference)
    staff_page.get_by_label("Получена сума, EUR").fill(f"{invoice.total_cents / 100:.2f}")
    staff_page.get_by_label("Получен на").fill(utcnow().date().isoformat())
    staff_page.get_by_role("button", name="Запиши").click()
    expect(staff_page.locator("#flashes")).to_contain_text(invoice.reference)
    other.close()

    partner_context = browser.new_context(base_url=live_server, locale="bg-BG")
    partner_page = partner_context.new_page()
    log_in(partner_page, partner.user.email)
    partner_page.goto("/partner/affiliate/")
    totals = partner_page.locator("#affiliate-totals td")
    expect(totals.nth(0)).to_have_text("1")  # the click
    expect(totals.nth(2)).to_have_text("1")  # the sign-up
    expect(totals.nth(3)).to_have_text("1")  # the first order
    expect(partner_page.locator("#referred-users")).to_contain_text("v***r@e***e.com")
    partner_page.goto("/partner/commissions")
    expect(partner_page.locator("main")).to_contain_text("4,00")  # 20% of the 20,00 net

    db.session.commit()
    commissions.clear(utcnow() + timedelta(days=31))
    db.session.commit()
    partner_page.goto("/partner/")
    expect(partner_page.locator("#dashboard-commission")).to_contain_text("4,00")
    partner_context.close()
    visitor.close()
