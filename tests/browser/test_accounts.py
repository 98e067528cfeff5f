"""The user journeys of the foundation in a real browser: sign-up, login, language, htmx forms."""

import re

from playwright.sync_api import expect

from models import db
from rules import users
from tests.factories import PASSWORD


def test_sign_up_log_out_log_in_and_switch_language(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "bg")
    page.get_by_role("link", name="Регистрация").first.click()
    page.get_by_label("Имейл", exact=True).fill("browser@example.com")
    page.get_by_label("Име", exact=True).fill("Браузър Тестов")
    page.get_by_label("Парола", exact=True).fill("a long browser password")
    page.get_by_label("Повторете паролата").fill("a long browser password")
    page.locator("#signup-form").get_by_role("button", name="Регистрация").click()
    expect(page.get_by_role("heading", name="Здравейте, Браузър Тестов")).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("Добре дошли")

    page.get_by_role("button", name="Изход").click()
    expect(page.locator(".flash-info")).to_contain_text("Излязохте")
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/login\?next=/account/$"))

    page.get_by_label("Имейл", exact=True).fill("browser@example.com")
    page.get_by_label("Парола", exact=True).fill("a long browser password")
    page.locator("#login-form").get_by_role("button", name="Вход").click()
    expect(page).to_have_url(re.compile(r"/account/$"))  # back where the login was asked for

    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")  # kept as the preference


def test_htmx_forms_save_inline_with_the_csrf_header(page, create_user):
    user = create_user("inline@example.com", name="Старо Име")
    log_in(page, user.email)
    page.goto("/account/")
    page.evaluate("window.notReloaded = true")
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    password_form = page.locator("#password-form")
    password_form.get_by_label("Текуща парола").fill(PASSWORD)
    password_form.get_by_label("Нова парола").fill("another long password")
    password_form.get_by_label("Повторете паролата").fill("another long password")
    with page.expect_response(lambda r: r.url.endswith("/account/password")) as answer:
        password_form.get_by_role("button", name="Смени паролата").click()
    assert answer.value.status == 200
    expect(page.locator(".flash-success")).to_contain_text("Паролата ви е сменена.")
    assert page.evaluate("window.notReloaded") is True  # swapped, not reloaded
    body_token = page.evaluate(
        "JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']"
    )
    assert posts[-1].headers["hx-request"] == "true"
    assert posts[-1].headers["x-csrftoken"] == body_token
    expect(password_form.get_by_label("Текуща парола")).to_have_value("")  # not sent back

    # A form error stays in place (422 is swapped) ...
    profile_form = page.locator("#profile-form")
    profile_form.get_by_label("Име", exact=True).fill("")
    profile_form.get_by_role("button", name="Запази").click()
    expect(profile_form.locator(".field-error")).to_have_text("Въведете името си.")
    expect(profile_form.locator("[name=name]")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.notReloaded") is True

    # ... and the page's other forms still work after the password change renewed the session.
    profile_form.get_by_label("Име", exact=True).fill("Ново Име")
    profile_form.get_by_role("button", name="Запази").click()
    expect(page.locator("header .user-name")).to_have_text("Ново Име")  # the page was refreshed
    expect(page.locator(".flash-success")).to_contain_text("Профилът ви е запазен.")


def test_session_ended_elsewhere_during_htmx_request_loads_the_login_page(page, create_user):
    user = create_user("expired@example.com")
    log_in(page, user.email)
    page.goto("/account/")
    users.revoke_sessions(user)  # as a log-out on another device does
    db.session.commit()
    page.locator("#profile-form").get_by_role("button", name="Запази").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/account/$"))
    expect(page.locator(".flash-info")).to_contain_text("Моля, влезте, за да продължите.")


def log_in(page, email, password=PASSWORD):
    page.goto("/login")
    page.get_by_label("Имейл", exact=True).fill(email)
    page.get_by_label("Парола", exact=True).fill(password)
    page.locator("#login-form").get_by_role("button", name="Вход").click()
    expect(page.get_by_role("button", name="Изход")).to_be_visible()
