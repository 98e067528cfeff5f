"""The public price list and the catalogue as the quote engine reads it."""

from datetime import timedelta

import pytest

from models import VatRate, VolumeTier, db, utcnow
from rules import catalogue
from rules.pricing import Tier
from tests import factories


def add_plan(code="web-business", price=599, periods=None, eligible=True, retired=False):
    return factories.create_plan(
        code, price=price, periods=periods, eligible=eligible, retired=retired
    )


def test_defaults_until_staff_saves_tables(app):
    assert catalogue.tiers() == [Tier(3, 500), Tier(5, 1000), Tier(10, 1500)]
    assert catalogue.vat_bp() == 2000


def test_the_newest_vat_rate_in_effect_applies(app):
    now = utcnow()
    db.session.add_all(
        [
            VatRate(rate_bp=2000, effective_from=now - timedelta(days=30)),
            VatRate(rate_bp=900, effective_from=now - timedelta(days=1)),
            VatRate(rate_bp=2500, effective_from=now + timedelta(days=10)),  # not yet
        ]
    )
    db.session.add(VolumeTier(min_products=2, rate_bp=300))
    db.session.commit()
    assert catalogue.vat_bp() == 900
    assert catalogue.vat_bp(now + timedelta(days=11)) == 2500
    assert catalogue.tiers() == [Tier(2, 300)]


def test_price_list_shows_periods_and_savings(app):
    add_plan()
    add_plan(code="old", retired=True)
    [(plan, rows)] = catalogue.price_list()
    assert plan.code == "web-business"
    # 12 months: 599 × 12 = 7188; 24 months: 14376 − 10% = 12938, saving 2 × 7188 − 12938 = 1438
    assert [(r.months, r.net_cents, r.saving_cents) for r in rows] == [
        (12, 7188, 0),
        (24, 12938, 1438),
    ]
    assert rows[0].total_cents == 8626  # 7188 + 20% VAT (1437.6 → 1438)


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("bg", ["Цени", "Хостинг Бизнес", "24 месеца", "14,38", "129,38"]),
        ("en", ["Prices", "Hosting Business", "24 months", "14.38", "129.38"]),
    ],
)
def test_public_price_list_in_both_languages(testapp, language, texts):
    add_plan()
    page = testapp.get("/prices", headers={"Accept-Language": language})
    for text in texts:
        assert text in page.text, text
