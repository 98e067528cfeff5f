"""What the screens do in a real browser: the Billing page's running total and its refusals
kept in place, destructive actions asked in a dialog, buttons busy while htmx works, and the
menu folded behind a button on a phone (390 px); no page wider than the screen."""

import re
import time

from playwright.sync_api import expect

from models import Group, Invoice, InvoiceStatus, db
from rules import billing
from tests import factories
from tests.browser.test_accounts import log_in


def _agency_with_three_client_invoices(deposit_cents):
    partner = factories.create_partner()
    factories.client_invoices(partner, 3)  # 144,00 € each
    factories.fund(partner, deposit_cents)
    return partner


def test_the_running_total_and_a_refusal_kept_in_place(page):
    partner = _agency_with_three_client_invoices(20_000)  # 200,00 €: one invoice, not two
    log_in(page, partner.user.email)
    page.goto("/partner/billing")
    page.evaluate("window.notReloaded = true")
    running = page.locator("#billing-running")
    expect(running).to_have_text("Още нищо не е отметнато.")
    boxes = page.locator("#unpaid tbody input[type=checkbox]")
    boxes.nth(0).check()
    page.get_by_label("Плащане от").select_option("deposit")
    expect(running).to_contain_text("Отметнати фактури: 1, общо 144,00")
    expect(running).to_contain_text("има 200,00")
    boxes.nth(1).check()
    expect(running).to_contain_text("не достигат 88,00")
    expect(running).to_have_class(re.compile("field-error"))
    page.get_by_role("button", name="Плати отметнатите фактури").click()
    error = page.locator("#billing-error")
    expect(error).to_contain_text("не достигат 88,00")
    expect(error).to_contain_text("Нищо не е платено.")
    expect(boxes.nth(0)).to_be_checked()  # the ticks kept
    expect(boxes.nth(1)).to_be_checked()
    expect(page.get_by_label("Плащане от")).to_have_value("deposit")
    expect(running).to_contain_text("не достигат 88,00")  # the total shown again at once
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not reloaded
    assert (
        db.session.scalar(
            db.select(db.func.count(Invoice.id)).where(Invoice.status == InvoiceStatus.PAID)
        )
        == 0
    )


def test_cancelling_an_invoice_asks_first_in_a_dialog(page):
    partner = factories.create_partner()
    own = factories.create_panel(partner.user)
    factories.create_plan("web-business", price=1000, periods={12: 0})
    billing.add_new(
        partner.user,
        plan_code="web-business",
        months=12,
        domain="own.bg",
        panel_number=own.number,
    )
    invoice = billing.checkout(partner.user)
    db.session.commit()
    log_in(page, partner.user.email)
    page.goto(f"/billing/invoices/{invoice.number}")
    dialog = page.locator("#confirm-dialog")
    page.get_by_role("button", name="Анулирай фактурата").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Да се анулира ли фактура {invoice.number}?")
    dialog.get_by_role("button", name="Не, остави").click()
    expect(dialog).to_be_hidden()
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.UNPAID
    page.get_by_role("button", name="Анулирай фактурата").click()
    dialog.get_by_role("button", name="Да").click()
    expect(page.locator("#invoice-status")).to_contain_text("анулирана")
    db.session.commit()  # end the test's read: see what the server wrote
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.CANCELLED


def test_removing_access_asks_first_and_the_button_is_busy_while_htmx_works(page):
    panel = factories.create_panel(name="Салон")
    member = factories.create_user(email="member@example.com")
    grant = factories.grant(panel, member, Group.WEB)
    log_in(page, panel.owner.email)
    page.goto(f"/panels/{panel.number}/access/")

    def slow(route):
        time.sleep(1.0)  # the server takes a while: the page must say it is working
        route.continue_()

    page.route(re.compile(rf"/access/{grant.id}/delete$"), slow)
    form = page.locator(f"#remove-{grant.id}-form")
    button = form.get_by_role("button", name="Премахни")
    button.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("member@example.com")
    dialog.get_by_role("button", name="Да").click()
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(page.locator(f"#member-{grant.id}")).to_have_count(0)


def test_on_a_phone_the_menu_folds_behind_a_button(browser, live_server):
    partner = factories.create_partner()
    context = browser.new_context(
        base_url=live_server, locale="bg-BG", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto("/login")
    toggle = page.get_by_role("button", name="Меню")
    expect(toggle).to_be_visible()
    expect(page.get_by_role("link", name="Цени")).to_be_hidden()
    toggle.click()
    expect(page.get_by_role("link", name="Цени")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.get_by_label("Имейл", exact=True).fill(partner.user.email)
    page.get_by_label("Парола", exact=True).fill(factories.PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Вход").click()
    expect(page).to_have_url(re.compile(r"/partner/$"))  # a partner lands on its dashboard
    expect(page.get_by_role("link", name="Клиенти")).to_be_hidden()
    page.get_by_role("button", name="Меню").click()
    expect(page.get_by_role("link", name="Клиенти")).to_be_visible()
    # nothing wider than the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


WIDE_PAGES = [
    "/partner/",
    "/partner/history",
    "/partner/deposit",
    "/panels/",
    "/billing/invoices",
    "/staff/",
    "/staff/partners",
    "/staff/payments",
]


def test_no_page_is_wider_than_the_screen_with_the_longest_menu(browser, live_server):
    """A staff member who is also a partner, with a long name, has every link in the menu;
    at desktop and tablet widths the menu wraps, on a phone wide tables scroll by themselves:
    the page itself never scrolls sideways."""
    user = factories.create_user(name="Ивана Агенция (Студио Дизайн) ООД", is_staff=True)
    partner = factories.create_partner(user, company="Студио Дизайн ООД")
    factories.own_orders(partner, 2)
    factories.fund(partner, 5_000)  # pays both: deposit, payment and history rows
    for width in (1280, 1024, 390):
        context = browser.new_context(
            base_url=live_server, locale="bg-BG", viewport={"width": width, "height": 900}
        )
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Имейл", exact=True).fill(user.email)
        page.get_by_label("Парола", exact=True).fill(factories.PASSWORD)
        page.locator("#login-form").get_by_role("button", name="Вход").click()
        expect(page).to_have_url(re.compile(r"/staff/$"))  # staff land on their queue
        for path in WIDE_PAGES:
            page.goto(path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{path} is {wide} px wide at {width} px"
        context.close()
