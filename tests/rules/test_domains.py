import pytest

from rules.domains import canonical, registrable


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example.com", "example.com"),
        ("blog.example.com", "example.com"),
        ("Blog.Example.COM.", "example.com"),
        ("shop.example.co.uk", "example.co.uk"),
        ("other.co.uk", "other.co.uk"),
        ("пример.бг", "пример.бг"),
        ("xn--e1afmkfd.xn--90ae", "пример.бг"),
        ("www.xn--e1afmkfd.xn--90ae", "пример.бг"),
        ("example.com.evil.net", "evil.net"),
        ("localhost", "localhost"),  # no public suffix: the name itself
        ("", ""),
    ],
)
def test_registrable_domain_under_the_public_suffix_list(name, expected):
    assert registrable(name) == expected


def test_invalid_punycode_is_kept_as_typed():
    assert canonical("xn--zz.com") == "xn--zz.com"
