"""The order page in a real browser: the breakdown follows the choices without a reload."""

import re

from playwright.sync_api import expect

from tests import factories
from tests.browser.test_accounts import log_in


def test_changing_plan_period_and_payer_updates_the_breakdown_in_place(page):
    factories.create_plan("web-business", price=1000, periods={12: 0, 24: 1000, 36: 1500})
    factories.create_domain_plan(price=2500, periods={12: 0, 24: 300})
    partner = factories.create_partner()
    panel = factories.create_panel(partner.user)
    plan = factories.create_plan("web-pro", price=2000, name_bg="Хостинг Про")
    for i in range(3):
        factories.add_product(panel, plan, f"site{i}.bg")  # N = 3: 5%

    log_in(page, partner.user.email)
    page.goto("/order/?plan=web-business&months=12")
    page.evaluate("window.notReloaded = true")
    total = page.locator("#total")
    expect(total).to_have_text(re.compile(r"136,80"))  # 12000 − 5% = 11400 + 20%

    with page.expect_response(re.compile(r"/order/\?.*months=36")):
        page.get_by_label("Период").select_option(label="3 години")
    # 36000 − 15% = 30600 − 5% = 29070 + 20% VAT = 34884
    expect(total).to_have_text(re.compile(r"348,84"))
    expect(page.locator("#period-discount")).to_have_text(re.compile(r"54,00"))
    assert "months=36" in page.url  # the address follows, so a reload shows the same

    page.get_by_label("Плаща клиентът ми").check()
    expect(page.locator("#commission")).to_contain_text("15,30")  # 5% of 30600
    expect(total).to_have_text(re.compile(r"367,20"))

    # a domain has no 36 months: the period falls back to the plan's shortest
    page.get_by_label("План").select_option(label="Домейн .bg")
    expect(page.get_by_label("Период")).to_have_value("12")
    expect(total).to_have_text(re.compile(r"30,00"))
    assert page.evaluate("window.notReloaded") is True
