"""What people type as amounts and percentages: exact decimals or a clear refusal."""

import pytest

from rules.money import (
    MAX_PRICE_CENTS,
    BadNumber,
    format_hundredths,
    parse_basis_points,
    parse_cents,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("0", 0),
        ("12", 1200),
        ("12.5", 1250),
        ("12,50", 1250),  # the Bulgarian decimal comma
        (" 5.99 ", 599),
        ("0.01", 1),
        ("1000000", MAX_PRICE_CENTS),
    ],
)
def test_amounts_read_as_exact_cents(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "+1",
        "12.345",  # too many decimals
        "NaN",
        "nan",
        "inf",
        "1e3",
        "1E3",
        "0x10",
        "1_000",
        "1 000",
        "12.",
        ".5",
        "12,5,0",
        "١٢",  # Arabic-Indic digits: int() would take them, we do not
        "1000000.01",  # over the limit
        "9" * 40,  # huge
        "12€",
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(BadNumber):
        parse_cents(text)


@pytest.mark.parametrize(
    ("text", "bp"), [("0", 0), ("5", 500), ("12.5", 1250), ("12,25", 1225), ("100", 10_000)]
)
def test_percentages_read_as_basis_points(text, bp):
    assert parse_basis_points(text) == bp


@pytest.mark.parametrize("text", ["-5", "100.01", "101", "NaN", "1e1", "5.555", "", "5%"])
def test_percentages_outside_0_to_100_or_malformed_are_refused(text):
    with pytest.raises(BadNumber):
        parse_basis_points(text)


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (1200, "12"), (1250, "12.50"), (5, "0.05")])
def test_stored_values_are_shown_back_as_typed(value, shown):
    assert format_hundredths(value) == shown
    assert parse_cents(shown) == value
