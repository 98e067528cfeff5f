import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import sqlite_only

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "bg" / "LC_MESSAGES" / "messages.po"


def _method_map():
    methods = []
    for line in (ROOT / "babel.cfg").read_text().splitlines():
        if line.startswith("["):
            method, _, pattern = line.strip("[]").partition(": ")
            methods.append((pattern, method))
    return methods


def test_bulgarian_catalogue_translates_every_message_in_the_code():
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "_l": None,
        "lazy_gettext": None,
        "lazy_pgettext": ((1, "c"), 2),
    }
    found = {
        (context, message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), _method_map(), keywords=keywords
        )
    }
    catalogue = read_po(io.BytesIO(CATALOGUE.read_bytes()))
    translated = {
        (m.context, m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id
        and m.string
        and (all(m.string) if isinstance(m.string, tuple) else True)
        and not m.fuzzy
    }
    assert len(found) > 50
    missing = sorted(found - translated)
    assert missing == [], "run `make translations` and translate these in messages.po"


def test_translations_keep_their_placeholders():
    catalogue = read_po(io.BytesIO(CATALOGUE.read_bytes()))
    for message in catalogue:
        if message.id and "%(" in message.id:
            for name in ("name", "email", "n"):
                assert (f"%({name})" in message.id) == (f"%({name})" in message.string), message.id


@sqlite_only
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "bg"),  # Bulgarian by default
        ("en-US,en;q=0.9", "en"),
        ("bg-BG,bg;q=0.9,en;q=0.8", "bg"),
        ("de-DE,de;q=0.9", "bg"),  # unknown: the default
        ("de,en;q=0.5", "en"),
    ],
)
def test_accept_language_chooses_for_visitors(testapp, accept, expected):
    headers = {"Accept-Language": accept} if accept else {}
    page = testapp.get("/login", headers=headers)
    assert page.html.html["lang"] == expected
    assert ("Вход" in page.text) is (expected == "bg")


@sqlite_only
def test_switch_beats_accept_language_for_visitors(testapp):
    page = testapp.get("/login", headers={"Accept-Language": "bg"})
    response = page.forms["language-form"].submit(
        name="language", value="en", headers={"Accept-Language": "bg"}
    )
    assert response.status_int == 303
    assert response.headers["Location"] == "/login"  # back where the switch was pressed
    page = response.follow(headers={"Accept-Language": "bg"})
    assert page.html.html["lang"] == "en"
    assert "Log in" in page.text


@sqlite_only
def test_user_preference_beats_switch_and_accept_language(testapp, login_as, create_user):
    user = create_user(language="en")
    login_as(user)
    assert testapp.get("/", headers={"Accept-Language": "bg"}).html.html["lang"] == "en"
    page = testapp.get("/")
    page.forms["language-form"].submit(name="language", value="bg")
    # a logged-in switch changes the preference itself, everywhere
    assert testapp.get("/", headers={"Accept-Language": "en"}).html.html["lang"] == "bg"


@sqlite_only
@pytest.mark.parametrize("value", ["xx", "", "bg\x00"])
def test_switch_refuses_unknown_languages(testapp, value):
    page = testapp.get("/login")
    fields = dict(page.forms["language-form"].submit_fields())
    fields["language"] = value
    response = testapp.post("/language", fields, expect_errors=True)
    assert response.status_int == 400


@sqlite_only
@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example"])
def test_switch_never_redirects_off_site(testapp, target):
    page = testapp.get("/login")
    fields = dict(page.forms["language-form"].submit_fields())
    fields.update(language="en", next=target)
    response = testapp.post("/language", fields)
    assert response.headers["Location"] == "/"


def test_every_audit_detail_the_code_records_has_a_phrase():
    """The audit log shows no raw key: each keyword given to audit.record (and each key of a
    details dict passed on to it) has its phrase in web/audit_text.DETAILS."""
    import ast
    from pathlib import Path

    from web.audit_text import DETAILS

    root = Path(__file__).resolve().parents[2]
    recorded = set()
    for path in [*root.glob("rules/*.py"), *root.glob("web/**/*.py"), *root.glob("provision/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            is_record = (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "record"
                and getattr(node.func.value, "id", None) == "audit"
            )
            if is_record:
                recorded |= {
                    kw.arg for kw in node.keywords if kw.arg not in (None, "actor", "panel")
                }
            helper = isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("_change")
            if helper:
                recorded |= {kw.arg for kw in node.keywords if kw.arg not in (None, "actor")}
            details = isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            if details and getattr(node.targets[0], "id", None) == "details":
                recorded |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    assert recorded - DETAILS.keys() == set()
    assert len(recorded) > 40


def test_a_reader_sees_plan_names_counts_dates_and_money_in_its_own_language(testapp, login_as):
    """The catalogue's name per language, "1 активен от 1" / "1 active of 1", dates and money
    through Babel: 7.12.2026 г. and 12,00 € in Bulgarian, Dec 7, 2026 and €12.00 in English."""
    from models import db
    from tests import factories

    partner = factories.create_partner()
    client = factories.create_panel(factories.create_user(), name="Пекарна")
    factories.link_client(partner, client, 15)  # all four groups
    product = factories.add_product(client, factories.create_plan(), "pekarna.bg")
    factories.fund(partner, 1_200)
    expiry = product.expires_on
    login_as(partner.user)

    def seen(path):
        return " ".join(testapp.get(path).html.select_one("main").text.split())

    for language, name, count, date, money in (
        ("bg", "Хостинг Бизнес", "1 активен от 1", f"{expiry.day}.{expiry.month}.", "12,00 €"),
        ("en", "Hosting Business", "1 active of 1", f"{expiry.day}, {expiry.year}", "€12.00"),
    ):
        partner.user.language = language
        db.session.commit()
        panel_page = seen(f"/panels/{client.number}")
        assert name in panel_page and date in panel_page, language
        assert str(expiry) not in panel_page  # no ISO date
        assert count in seen("/partner/clients"), language
        assert money in seen("/partner/deposit"), language
