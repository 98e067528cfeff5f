"""Screenshots of the pages issue 17 changed, at 1280 and 390 px, as the demo users see them.

Serve the demo data on :8050 first (APP_ENV=development, `flask --app wsgi db upgrade`, `flask
--app wsgi demo seed`, `gunicorn --bind 127.0.0.1:8050 wsgi:app`), then run this with the
project's Python; it writes PNGs here (the committed ones are JPEG copies, cut at 1,800 px).
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

from web.demo import PASSWORD

BASE = "http://127.0.0.1:8050"
OUT = str(Path(__file__).resolve().parent)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def login(page, email):
    page.goto(BASE + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form#login-form button[type=submit], form#login-form [type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page, name, full=True):
    page.screenshot(path=f"{OUT}/{name}.png", full_page=full)
    print(name, page.url)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    for width, tag in ((1280, "desktop"), (390, "phone")):

        def context(width=width):
            height = 900 if width > 500 else 844
            return browser.new_context(viewport={"width": width, "height": height})

        # a client with billing: her invoices, at her own price
        page = context().new_page()
        login(page, "bakery@demo.example")
        page.goto(BASE + "/billing/invoices")
        shot(page, f"17-1-client-invoices-{tag}")
        link = page.locator("a[href^='/billing/invoices/']").first
        link.click()
        page.wait_for_load_state("networkidle")
        shot(page, f"17-1-client-invoice-{tag}")
        page.context.close()
        # the partner: dashboard, billing refusal in place, panel, search, audit, cancel dialog
        page = context().new_page()
        login(page, "agency@demo.example")
        shot(page, f"17-3-4-partner-dashboard-{tag}")
        page.goto(BASE + "/partner/billing")
        boxes = page.locator("input[type=checkbox][name=invoice]")
        for i in range(boxes.count()):
            boxes.nth(i).check()
        page.wait_for_timeout(300)
        shot(page, f"17-2-billing-running-total-{tag}")
        for i in range(boxes.count()):
            boxes.nth(i).uncheck()
        page.locator("#billing-table [type=submit]").click()
        page.wait_for_timeout(1200)
        shot(page, f"17-2-billing-refusal-in-place-{tag}")
        page.goto(BASE + "/panels/100001")
        shot(page, f"17-4-panel-each-product-once-{tag}")
        page.goto(BASE + "/partner/clients?q=pekarna")
        shot(page, f"17-6-client-search-{tag}")
        page.goto(BASE + "/panels/100001/audit")
        shot(page, f"17-5-panel-audit-{tag}")
        if width < 500:
            page.goto(BASE + "/partner/")
            page.get_by_role("button", name="Меню").click()
            page.wait_for_timeout(300)
            shot(page, f"17-9-phone-menu-open-{tag}", full=False)
        page.context.close()
        # staff
        page = context().new_page()
        login(page, "staff@demo.example")
        shot(page, f"17-4-staff-queue-{tag}")
        page.goto(BASE + "/staff/audit")
        shot(page, f"17-5-staff-audit-{tag}")
        page.context.close()
        # English reader
        page = context().new_page()
        login(page, "webshop@demo.example")
        page.goto(BASE + "/order/")
        shot(page, f"17-7-order-english-{tag}")
        page.context.close()
    browser.close()
