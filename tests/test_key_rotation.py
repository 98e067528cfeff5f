"""SECRET_KEY rotation: with the old key in SECRET_KEY_FALLBACKS, what it signed still works
(sessions, reset and confirmation links, affiliate cookies); without it, nothing does."""

import pytest
from sqlalchemy import select

from affiliate import links
from config import TestConfig
from models import Referral, db
from rules import users
from tests import factories
from tests.conftest import IsolatedApp, login, sqlite_only
from tests.web.test_auth import signup
from web import create_app

OLD, NEW = "the-old-key-" + "o" * 40, "the-new-key-" + "n" * 40

pytestmark = sqlite_only  # signing does not depend on the database


def app_with(database_url, app_config, key, fallbacks=()):
    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=key,
        SECRET_KEY_FALLBACKS=list(fallbacks),
        **app_config,
    )


@pytest.mark.parametrize("kept", [True, False])
def test_what_the_old_key_signed_works_while_it_is_a_fallback(app, database_url, app_config, kept):
    import webtest

    user = factories.create_user(email="maria@example.com")
    partner = factories.create_partner()
    old_app = app_with(database_url, app_config, OLD)
    browser = webtest.TestApp(IsolatedApp(old_app))
    login(browser, user)
    reset = users.make_reset_token(user, OLD)
    verify = users.make_verification_token(user, OLD)
    click = links.make_cookie(OLD, partner.number, links.new_click_id())

    new_app = app_with(database_url, app_config, NEW, [OLD] if kept else [])
    browser.app = IsolatedApp(new_app)
    assert (browser.get("/account/", expect_errors=True).status_int == 200) is kept
    assert (browser.get(f"/password/reset/{reset}", expect_errors=True).status_int == 200) is kept
    confirm = (
        browser.get(f"/email/confirm/{verify}").forms["confirm-form"].submit(expect_errors=True)
    )
    assert (confirm.status_int == 303) is kept
    visitor = webtest.TestApp(IsolatedApp(new_app))
    visitor.set_cookie("pp_ref", click)
    assert signup(visitor).status_int == 303
    referred = db.session.scalar(select(Referral).where(Referral.user.has(email="new@example.com")))
    assert (referred is not None) is kept
    # what the new app signs now is signed with the new key
    assert links.read_cookie(NEW, links.make_cookie((OLD, NEW), 1001, "0" * 16), 60)
    for made in (old_app, new_app):
        with made.app_context():
            db.engine.dispose()
