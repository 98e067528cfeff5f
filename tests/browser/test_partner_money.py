"""One-place billing in a real browser: tick client invoices, pay from commission then
deposit, and see the dashboard's balances change."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from models import PaidVia, utcnow
from rules import commissions, payments
from tests import factories
from tests.browser.test_accounts import log_in


def test_pay_client_invoices_from_commission_then_deposit(page):
    partner = factories.create_partner()
    partner.commission_rate_bp = 5000
    first, *_rest = factories.client_invoices(partner, 3)
    payments.pay_externally(first, PaidVia.BANK_TRANSFER)  # earns 50% of 12000 = 60,00 €
    commissions.clear(utcnow() + timedelta(days=31))
    factories.fund(partner, 30_000)  # 300,00 €

    log_in(page, partner.user.email)
    page.goto("/partner/")
    expect(page.locator("#dashboard-commission")).to_contain_text("60,00")
    expect(page.locator("#dashboard-deposit")).to_contain_text("300,00")

    page.goto("/partner/billing")
    boxes = page.locator("#unpaid tbody input[type=checkbox]")
    expect(boxes).to_have_count(2)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Плащане от").select_option("commission,deposit")
    page.get_by_role("button", name="Плати отметнатите фактури").click()
    # two invoices of 144,00 € = 288,00 €: 60,00 € from commission, 228,00 € from the deposit
    expect(page.locator("#flashes")).to_contain_text("60,00")
    expect(page.locator("#flashes")).to_contain_text("228,00")
    expect(page.locator("#unpaid tbody input[type=checkbox]")).to_have_count(0)

    page.goto("/partner/")
    expect(page.locator("#dashboard-commission")).to_contain_text("0,00")
    expect(page.locator("#dashboard-deposit")).to_contain_text("72,00")
    expect(page.locator("#commission-chart svg rect")).to_have_count(12)
    assert re.search(r"/partner/$", page.url)
