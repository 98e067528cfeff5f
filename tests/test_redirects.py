import pytest

from affiliate.redirects import is_local_path, safe_next

OFF_SITE = [
    "//evil.example",
    "//evil.example/path",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "http:/\\/evil.example",
    "http://evil.example",
    "https://evil.example/login",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\x00/evil.example",
    "/\x00",
    " //evil.example",
    "/ /evil.example",
    "/\u200b/evil.example",
    "/\u202e/evil.example",
    "///evil.example",
    "evil.example",
    "",
    None,
    "/" + "a" * 3000,
]

ON_SITE = ["/", "/account/", "/login?next=%2F", "/panels/1#products", "/%2F%2Fevil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_and_malformed_targets_are_refused(target):
    assert not is_local_path(target)
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ON_SITE)
def test_paths_on_this_site_are_kept(target):
    assert is_local_path(target)
    assert safe_next(target) == target
