"""Invoices as PDF: drawn by WeasyPrint, read back with pypdf, for each role that may see them."""

import base64
import io
import os
import struct
import sys
import zlib

import pypdf
import pytest
from sqlalchemy import select

from models import Invoice, db
from tests import factories
from tests.conftest import skip_or_fail
from tests.web.test_billing_pages import add_to_cart, partner_pays_for_its_client
from tests.web.test_billing_pages import shop as shop_fixture
from web import pdf

shop = shop_fixture
REQUIRE_PDF = os.environ.get("REQUIRE_PDF") == "1"


@pytest.fixture
def drawing():
    """WeasyPrint with Pango, or a visible skip (a failure where CI requires it)."""
    try:
        pdf._weasyprint()
    except pdf.PdfUnavailable as error:
        skip_or_fail(
            REQUIRE_PDF, f"PDF tests need Pango (apt-get install libpangoft2-1.0-0): {error}"
        )


def pdf_text(response):
    assert response.content_type == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.body))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def paid_for_client(testapp, shop, create_user, login_as, drawing):
    """A partner's invoice for a client's panel, paid from its deposit at its 5% tier."""
    partner, _own = shop
    partner.address = "бул. Витоша 1, 1000 София"
    client, bystander = create_user(name="Д-р Иванова"), create_user()
    invoice = partner_pays_for_its_client(testapp, shop, login_as, client, bystander)
    return partner, client, bystander, invoice


def test_the_buyer_downloads_the_invoice_with_the_bulgarian_fields(testapp, paid_for_client):
    partner, _client, _bystander, invoice = paid_for_client
    page = testapp.get(f"/billing/invoices/{invoice.number}")
    response = page.click(href=f"/billing/invoices/{invoice.number}.pdf")
    number = f"{invoice.number:010d}"
    assert response.headers["Content-Disposition"] == f"attachment; filename=invoice-{number}.pdf"
    text = pdf_text(response)
    assert f"Фактура № {number}" in text and "ОРИГИНАЛ" in text
    assert "Дата на издаване" in text and "Дата на данъчното събитие" in text
    # the supplier from the settings, the buyer from the partner's application
    assert "ДОСТАВЧИК Hosting Company Ltd 1 Example Street, 1000 Sofia, Bulgaria" in text
    assert "ЕИК: 000000000" in text and "ДДС номер: BG000000000" in text
    assert f"ПОЛУЧАТЕЛ {partner.company} бул. Витоша 1, 1000 София" in text
    assert f"ДДС номер: {partner.vat_number}" in text
    # the line at the partner's price, then the VAT breakdown: 120 − 5% = 114 + 20% = 136,80
    assert "1 Хостинг Бизнес — dentist.bg панел № " in text
    assert "Данъчна основа 114,00 €" in text and "Ставка на ДДС 20%" in text
    assert "ДДС 22,80 €" in text and "Сума за плащане 136,80 €" in text
    assert "Платена на" in text and "от депозита" in text


def test_the_client_downloads_a_statement_at_its_price(make_testapp, login_as, paid_for_client):
    partner, client, bystander, invoice = paid_for_client
    client_app = login_as(client, make_testapp())
    text = pdf_text(client_app.get(f"/billing/invoices/{invoice.number}.pdf"))
    assert f"Справка по фактура № {invoice.number:010d}" in text
    assert "НЕ Е ДАНЪЧНА ФАКТУРА" in text and "ОРИГИНАЛ" not in text
    assert "Данъчна основа 120,00 €" in text and "Сума за плащане 144,00 €" in text
    assert "136,80" not in text and "депозит" not in text and "комисион" not in text
    assert f"издадена на вашия партньор {partner.company}" in text
    assert f"ПОЛУЧАТЕЛ {client.name} {client.email}" in text

    for outsider in (bystander, factories.create_user()):
        login_as(outsider, make_testapp()).get(
            f"/billing/invoices/{invoice.number}.pdf", status=404
        )


def test_an_unpaid_invoice_says_how_to_pay_it_in_the_readers_language(
    testapp,
    shop,
    login_as,
    drawing,
):
    partner, own = shop
    partner.user.language = "en"
    login_as(partner.user)
    add_to_cart(testapp, own)
    testapp.get("/billing/cart").forms["checkout-form"].submit()
    invoice = db.session.scalar(select(Invoice))
    text = pdf_text(testapp.get(f"/billing/invoices/{invoice.number}.pdf"))
    assert f"Invoice № {invoice.number:010d}" in text and "ORIGINAL" in text
    assert "IBAN BG80 BNBG 9661 1020 3456 78" in text
    assert f"reference {invoice.reference}" in text


def _png():
    """A one-pixel PNG."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_drawing_fetches_nothing_but_data(tmp_path, drawing):
    """What reaches a page (a name, a domain) cannot make the server read a file or open a
    connection: only data: addresses are drawn."""
    image = tmp_path / "secret.png"
    image.write_bytes(_png())
    inline = "data:image/png;base64," + base64.b64encode(_png()).decode()

    def images(src):
        document = pdf.from_html(f'<!doctype html><p>x</p><img src="{src}">')
        return len(pypdf.PdfReader(io.BytesIO(document)).pages[0].images)

    assert images(inline) == 1
    assert images(image.as_uri()) == 0
    assert images("http://127.0.0.1:9/x.png") == 0


def test_without_weasyprint_the_pdf_answers_503_and_the_page_still_works(
    testapp,
    shop,
    login_as,
    monkeypatch,
):
    partner, own = shop
    login_as(partner.user)
    add_to_cart(testapp, own)
    testapp.get("/billing/cart").forms["checkout-form"].submit()
    invoice = db.session.scalar(select(Invoice))
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # what a host without it has
    pdf._weasyprint.cache_clear()
    try:
        response = testapp.get(f"/billing/invoices/{invoice.number}.pdf", status=503)
        assert "не могат да се изтеглят като PDF" in response.text
        testapp.get(f"/billing/invoices/{invoice.number}")
    finally:
        monkeypatch.undo()
        pdf._weasyprint.cache_clear()
