"""The affiliate link over HTTP: the redirect and its cookie, bad input, what is not a click,
attribution at sign-up, the one-time commission, the partner's page and the staff's void."""

from datetime import date, timedelta
from urllib.parse import quote

import pytest
import time_machine
from sqlalchemy import func, select

from affiliate import links
from affiliate.app import create_link_app
from config import TestConfig
from models import (
    AffiliateDay,
    Commission,
    CommissionKind,
    CommissionStatus,
    Group,
    InvitationKind,
    Referral,
    db,
    utcnow,
)
from rules import billing, commissions, deposits, invitations, ledger, partners
from tests import factories
from tests.web.test_auth import signup
from tests.web.test_routes import csrf_token

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Sec-Fetch-Dest": "document",
}


def clicks_of(partner):
    db.session.commit()
    return db.session.scalar(
        select(func.coalesce(func.sum(AffiliateDay.clicks), 0)).where(
            AffiliateDay.partner_id == partner.id
        )
    )


def cookie_header(response):
    return [v for k, v in response.headerlist if k == "Set-Cookie"]


def test_the_link_lands_the_visitor_with_a_signed_cookie_and_counts_once(testapp, app):
    partner = factories.create_partner()
    response = testapp.get(f"/partners/{partner.number}?to=/prices", headers=BROWSER)
    assert response.status_int == 302
    assert response.headers["Location"] == "/prices"
    assert response.headers["Cache-Control"] == "no-store"
    [cookie] = cookie_header(response)  # no session cookie: the link keeps no session
    assert cookie.startswith("pp_ref=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Max-Age=7776000", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # tests run over plain HTTP; production sets it
    value = cookie.split(";")[0].split("=", 1)[1]
    click = links.read_cookie(app.config["SECRET_KEY"], value, 90 * 86_400)
    assert click.number == partner.number
    assert clicks_of(partner) == 1
    testapp.get(f"/partners/{partner.number}", headers=BROWSER)  # the same visitor again
    assert clicks_of(partner) == 1
    assert db.session.get(AffiliateDay, (partner.id, date.today())).visitors == 1


@pytest.mark.parametrize(
    "number",
    ["10a1", "+1001", "-1001", "01001", " 1001", "1" * 30, "١٠٠١", "1001/x", "%00", "1001%00"],
)
def test_bad_numbers_still_land_without_a_cookie(testapp, number):
    factories.create_partner()
    path = "/partners/" + quote(number, safe="/%")
    response = testapp.get(path, headers=BROWSER, expect_errors=True)
    assert response.status_int == 302
    assert response.headers["Location"] == "/"
    assert cookie_header(response) == []
    assert db.session.scalar(select(func.count()).select_from(AffiliateDay)) == 0


@pytest.mark.parametrize(
    ("to", "lands"),
    [
        ("//evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\\evil.example", "/"),
        ("http:/\\/evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\tevil", "/"),
        ("/\r\nLocation: https://evil.example", "/"),
        ("/partners/1", "/"),
        ("/цени?x=1#top", "/%D1%86%D0%B5%D0%BD%D0%B8?x=1#top"),  # a URI in the header
        # still percent-encoded after the query is decoded: a path on this site, no header
        ("/%0d%0aLocation:%20https://evil.example", "/%0d%0aLocation:%20https://evil.example"),
    ],
)
def test_landing_paths_never_leave_the_site(testapp, to, lands):
    partner = factories.create_partner()
    response = testapp.get(f"/partners/{partner.number}", {"to": to}, headers=BROWSER)
    assert response.status_int == 302
    assert response.headers["Location"] == lands


def test_encoded_open_redirects_are_decoded_once_and_refused(testapp):
    partner = factories.create_partner()
    for raw in ("%2F%2Fevil.example", "%5C%5Cevil.example", "%2F%5Cevil.example"):
        response = testapp.get(f"/partners/{partner.number}?to={raw}", headers=BROWSER)
        assert response.headers["Location"] == "/"


def test_unknown_suspended_head_and_post(testapp):
    partner = factories.create_partner()
    suspended = factories.create_partner()
    partners.suspend(suspended, actor=factories.create_user(is_staff=True))
    db.session.commit()
    for number in (999_999, suspended.number):
        response = testapp.get(f"/partners/{number}", headers=BROWSER)
        assert response.status_int == 302 and cookie_header(response) == []
    head = testapp.head(f"/partners/{partner.number}", headers=BROWSER)
    assert head.status_int == 302 and cookie_header(head) == []
    post = testapp.post(f"/partners/{partner.number}", headers=BROWSER, expect_errors=True)
    assert post.status_int == 405
    assert clicks_of(partner) == 0 and clicks_of(suspended) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        {"User-Agent": "Slackbot-LinkExpanding 1.0"},
        {**BROWSER, "Sec-Purpose": "prefetch"},
        {**BROWSER, "Purpose": "prefetch"},
        {**BROWSER, "Sec-Fetch-Dest": "image"},
        {**BROWSER, "Sec-Fetch-Dest": "iframe"},
        {},
    ],
)
def test_requests_that_are_not_a_persons_click_land_but_count_nothing(testapp, headers):
    partner = factories.create_partner()
    response = testapp.get(f"/partners/{partner.number}", headers=headers)
    assert response.status_int == 302
    assert cookie_header(response) == []  # nothing to stuff from a prefetch or an image
    assert clicks_of(partner) == 0


def test_a_click_flood_from_one_ip_stops_counting_but_still_lands(make_testapp, app):
    partner = factories.create_partner()
    budget = app.config["AFFILIATE_FLOOD_PER_MINUTE"]
    for i in range(budget + 5):
        visitor = make_testapp()  # a new visitor (no cookie) from the same address each time
        headers = {**BROWSER, "User-Agent": BROWSER["User-Agent"] + f" v{i}"}
        response = visitor.get(f"/partners/{partner.number}", headers=headers)
        assert response.status_int == 302
    assert budget - 1 <= clicks_of(partner) <= budget  # a minute may turn during the loop


def follow_and_sign_up(testapp, partner, email="visitor@example.com"):
    testapp.get(f"/partners/{partner.number}", headers=BROWSER)
    response = signup(testapp, email=email)
    assert response.status_int == 303
    return db.session.scalar(select(Referral).where(Referral.user.has(email=email)))


def order_and_pay(user, staff, plan_code="web-start", domain="visitor.bg"):
    """The user orders for a new panel of its own and pays by bank transfer."""
    billing.add_new(user, plan_code=plan_code, months=12, domain=domain, new_panel_name="Мой")
    invoice = billing.checkout(user)
    deposits.confirm_bank_transfer(
        invoice.reference, invoice.total_cents, received_on=date.today(), actor=staff
    )
    db.session.commit()
    return invoice


def test_a_referred_sign_up_and_first_invoice_earn_the_partner_once(
    testapp, make_testapp, login_as
):
    partner = factories.create_partner()
    factories.create_plan("web-start")
    staff = factories.create_user(is_staff=True)
    referral = follow_and_sign_up(testapp, partner)
    assert referral.partner_id == partner.id and referral.user.email == "visitor@example.com"

    invoice = order_and_pay(referral.user, staff)
    [commission] = db.session.scalars(select(Commission)).all()
    assert commission.kind == CommissionKind.AFFILIATE
    assert commission.partner_id == partner.id
    assert commission.amount_cents == round(invoice.net_cents * 0.2)
    assert commission.status == CommissionStatus.PENDING
    order_and_pay(referral.user, staff)  # the second invoice earns nothing
    assert db.session.scalar(select(func.count(Commission.id))) == 1

    page = login_as(partner.user, make_testapp()).get("/partner/affiliate/")
    totals = [td.text for td in page.html.select("#affiliate-totals td")]
    assert totals[:4] == ["1", "1", "1", "1"]
    assert "v***r@e***e.com" in page.html.select_one("#referred-users").text
    assert page.html.select_one("svg.qr") is not None
    assert page.html.select_one("#clicks-chart svg") is not None

    commissions.clear(utcnow() + timedelta(days=31))
    db.session.commit()
    assert db.session.get(Commission, commission.id).status == CommissionStatus.AVAILABLE
    assert ledger.check() == []


def test_a_logged_in_visitor_keeps_its_session_untouched(testapp, login_as, app):
    partner = factories.create_partner()
    login_as(factories.create_user())
    response = testapp.get(f"/partners/{partner.number}", headers=BROWSER)
    names = [cookie.split("=")[0] for cookie in cookie_header(response)]
    assert names == ["pp_ref"]  # the session cookie is neither read nor re-signed
    assert testapp.get("/account/").status_int == 200  # and it still works afterwards


def test_the_bare_prefix_lands_too_and_a_trailing_slash_still_counts(testapp):
    response = testapp.get("/partners/", headers=BROWSER)
    assert response.status_int == 302 and response.headers["Location"] == "/"
    assert testapp.get("/partners", headers=BROWSER).headers["Location"].endswith("/partners/")
    assert testapp.get("/partnersx", expect_errors=True).status_int == 404  # not the link
    partner = factories.create_partner()
    pasted = testapp.get(f"/partners/{partner.number}/", headers=BROWSER)
    assert [c.split("=")[0] for c in cookie_header(pasted)] == ["pp_ref"]
    assert clicks_of(partner) == 1


def test_the_app_hands_the_link_to_the_link_app_before_its_own_machinery(testapp):
    """No session, CSRF, rate-limit or language work on a click: only the link's headers."""
    partner = factories.create_partner()
    response = testapp.get(f"/partners/{partner.number}", headers=BROWSER)
    assert sorted(response.headers.keys()) == [
        "Cache-Control",
        "Content-Length",
        "Location",
        "Set-Cookie",
    ]
    assert response.body == b""


def test_every_new_browser_counts_once_and_no_agent_is_no_click(testapp, make_testapp):
    """A different browser per click (the link's real traffic): each counts, each is a new
    unique visitor; a plain client without a User-Agent lands without cookie or click."""
    partner = factories.create_partner()
    for i in range(5):
        agent = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.{i}.0 Safari/537.36"
        visitor = make_testapp()
        response = visitor.get(f"/partners/{partner.number}", headers={"User-Agent": agent})
        assert [c.split("=")[0] for c in cookie_header(response)] == ["pp_ref"]
        again = visitor.get(f"/partners/{partner.number}", headers={"User-Agent": agent})
        assert cookie_header(again)  # a repeat keeps its cookie but is no click
    plain = make_testapp().get(f"/partners/{partner.number}")
    assert plain.status_int == 302 and cookie_header(plain) == []
    assert clicks_of(partner) == 5
    assert db.session.get(AffiliateDay, (partner.id, date.today())).visitors == 5


def test_people_the_partner_invited_are_never_referred(testapp, make_testapp):
    partner = factories.create_partner()
    panel = factories.create_panel(partner.user)
    invitations.invite(
        InvitationKind.ACCESS,
        panel=panel,
        email="invited@example.com",
        groups=Group.WEB,
        actor=partner.user,
    )
    db.session.commit()
    follow_and_sign_up(make_testapp(), partner, email="invited@example.com")
    assert db.session.scalar(select(func.count(Referral.id))) == 0


@pytest.mark.parametrize("how", ["tampered", "other key", "other salt", "expired", "garbage"])
def test_invalid_cookies_attribute_nothing_at_sign_up(testapp, app, how):
    partner = factories.create_partner()
    secret = app.config["SECRET_KEY"]
    value = links.make_cookie(secret, partner.number, "0123456789abcdef")
    if how == "tampered":
        value = value.replace(str(partner.number), str(partner.number + 1))
    elif how == "other key":
        value = links.make_cookie("another key", partner.number, "0123456789abcdef")
    elif how == "other salt":
        from itsdangerous import TimestampSigner

        value = TimestampSigner(secret, salt="x").sign(f"{partner.number}.0123456789abcdef")
        value = value.decode()
    elif how == "garbage":
        value = "' OR 1=1 --"
    testapp.set_cookie("pp_ref", value)
    later = utcnow() + timedelta(days=91 if how == "expired" else 0)
    with time_machine.travel(later):
        assert signup(testapp).status_int == 303
    assert db.session.scalar(select(func.count(Referral.id))) == 0


def test_existing_users_and_the_partner_itself_earn_nothing_from_the_link(make_testapp, login_as):
    partner = factories.create_partner()
    factories.create_plan("web-start")
    staff = factories.create_user(is_staff=True)
    existing = factories.create_user("old@example.com")
    for user in (existing, partner.user):  # each follows the link while logged in, then pays
        client = login_as(user, make_testapp())
        assert cookie_header(client.get(f"/partners/{partner.number}", headers=BROWSER))
        client.get("/account/")
        order_and_pay(user, staff, domain=f"site{user.id}.bg")
    assert db.session.scalar(select(func.count(Referral.id))) == 0
    assert db.session.scalar(select(func.count(Commission.id))) == 0


def test_a_referred_user_who_joined_the_partners_panels_earns_it_nothing(testapp):
    partner = factories.create_partner()
    factories.create_plan("web-start")
    referral = follow_and_sign_up(testapp, partner)
    shared = factories.create_panel(partner.user, name="Общ")
    factories.grant(shared, referral.user, Group.WEB)
    invoice = order_and_pay(referral.user, factories.create_user(is_staff=True))
    assert db.session.scalar(select(func.count(Commission.id))) == 0
    assert db.session.get(Referral, referral.id).first_invoice_id == invoice.id  # used up


def test_the_last_click_before_sign_up_wins(testapp):
    first, second = factories.create_partner(), factories.create_partner()
    testapp.get(f"/partners/{first.number}", headers=BROWSER)
    referral = follow_and_sign_up(testapp, second)
    assert referral.partner_id == second.id


def test_managed_commission_wins_and_the_partners_own_payment_earns_nothing(
    testapp, make_testapp, login_as
):
    partner = factories.create_partner()
    plan = factories.create_plan("web-start")
    referral = follow_and_sign_up(testapp, partner)
    user = referral.user
    # The partner pays the referred user's invoice itself: no affiliate commission.
    panel = factories.create_panel(user, name="Клиент")
    factories.link_client(partner, panel, Group.BILLING | Group.WEB)
    partner.commission_rate_bp = 1000  # staff's override: managed commission is due
    db.session.commit()
    factories.fund(partner, 1_000_000)
    billing.add_new(
        user, plan_code=plan.code, months=12, domain="alpha.bg", panel_number=panel.number
    )
    invoice = billing.checkout(user)
    from rules import payments

    payments.pay_from_deposit(invoice, partner, actor=partner.user)
    db.session.commit()
    kinds = db.session.scalars(select(Commission.kind)).all()
    assert CommissionKind.AFFILIATE not in kinds
    assert db.session.get(Referral, referral.id).first_invoice_id is None
    # The user's own payment of a managed line: managed wins, never both on a line.
    billing.add_new(
        user, plan_code=plan.code, months=12, domain="beta.bg", panel_number=panel.number
    )
    invoice = order_paid_by_user(user, billing.checkout(user))
    line_kinds = db.session.execute(
        select(Commission.invoice_line_id, Commission.kind).where(
            Commission.invoice_line_id.in_([line.id for line in invoice.lines])
        )
    ).all()
    assert [kind for _line, kind in line_kinds] == [CommissionKind.MANAGED]
    assert db.session.get(Referral, referral.id).first_invoice_id == invoice.id


def order_paid_by_user(user, invoice):
    deposits.confirm_bank_transfer(
        invoice.reference,
        invoice.total_cents,
        received_on=date.today(),
        actor=factories.create_user(is_staff=True),
    )
    db.session.commit()
    return invoice


def test_staff_voids_a_referral_and_its_pending_commission(testapp, make_testapp, login_as):
    partner = factories.create_partner()
    factories.create_plan("web-start")
    staff = factories.create_user(is_staff=True)
    referral = follow_and_sign_up(testapp, partner)
    order_and_pay(referral.user, staff)
    admin = login_as(staff, make_testapp())
    page = admin.get("/staff/affiliate/")
    row = page.html.select_one("#affiliate-partners tbody tr")
    assert str(partner.number) in row.text
    empty = admin.post(
        f"/staff/affiliate/referrals/{referral.id}/void",
        {"csrf_token": csrf_token(admin), "reason": ""},
        expect_errors=True,
    )
    assert empty.status_int == 422
    assert "Посочете причината." in empty.html.select_one(f"#referral-{referral.id}").text
    done = admin.post(
        f"/staff/affiliate/referrals/{referral.id}/void",
        {"csrf_token": csrf_token(admin), "reason": "cookie stuffing"},
    )
    assert done.status_int == 303
    [commission] = db.session.scalars(select(Commission)).all()
    assert commission.status == CommissionStatus.VOIDED
    assert ledger.check() == []
    row = admin.get("/staff/affiliate/").html.select_one("#affiliate-partners tbody tr")
    assert [td.text for td in row.select("td")][3:] == ["0", "0", "0,00\xa0€"]
    mine = login_as(partner.user, make_testapp()).get("/partner/affiliate/")
    totals = [td.text for td in mine.html.select("#affiliate-totals td")]
    assert totals[2:4] == ["0", "0"] and totals[5] == "0,00\xa0€"
    again = admin.post(
        f"/staff/affiliate/referrals/{referral.id}/void",
        {"csrf_token": csrf_token(admin), "reason": "twice"},
        expect_errors=True,
    )
    assert again.status_int == 409


@pytest.mark.parametrize(
    ("typed", "status", "rate_bp"),
    [
        ("15", 303, 1500),
        ("12,5", 303, 1250),
        ("101", 422, 2000),
        ("-1", 422, 2000),
        ("x", 422, 2000),
    ],
)
def test_staff_sets_the_affiliate_rate(make_testapp, login_as, typed, status, rate_bp):
    from rules.referrals import affiliate_rate

    admin = login_as(factories.create_user(is_staff=True), make_testapp())
    response = admin.post(
        "/staff/affiliate/rate",
        {"csrf_token": csrf_token(admin), "rate": typed},
        expect_errors=True,
    )
    assert response.status_int == status
    db.session.commit()
    assert affiliate_rate() == rate_bp


def test_the_link_builder_makes_links_to_paths_here_only(make_testapp, login_as):
    partner = factories.create_partner()
    page = login_as(partner.user, make_testapp())
    built = page.get("/partner/affiliate/", {"path": "/prices"})
    assert built.html.select_one("#built-link")["value"].endswith(
        f"/partners/{partner.number}?to=%2Fprices"
    )
    refused = page.get("/partner/affiliate/", {"path": "//evil.example"}, expect_errors=True)
    assert refused.status_int == 422 and refused.html.select_one("#built-link") is None


def test_the_link_app_behind_a_proxy_reads_the_visitors_address(app, database_url):
    partner = factories.create_partner()
    link_app = create_link_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PROXY_HOPS=1)
    budget = app.config["AFFILIATE_FLOOD_PER_MINUTE"]
    for i in range(budget + 3):  # as many visitors, each from its own address, via the proxy
        headers = {**BROWSER, "X-Forwarded-For": f"203.0.113.{i}"}
        visitor = link_app.test_client()
        assert visitor.get(f"/partners/{partner.number}", headers=headers).status_code == 302
    assert clicks_of(partner) == budget + 3  # not one address flooding
    with link_app.app_context():
        db.engine.dispose()


def test_the_link_app_alone_answers_and_counts_the_same(app, database_url):
    partner = factories.create_partner()
    link_app = create_link_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url)
    client = link_app.test_client()
    response = client.get(f"/partners/{partner.number}?to=/order/", headers=BROWSER)
    assert response.status_code == 302 and response.headers["Location"] == "/order/"
    assert "pp_ref=" in response.headers["Set-Cookie"]
    assert client.get("/partners/nope").headers["Location"] == "/"
    assert client.post(f"/partners/{partner.number}").status_code == 405
    assert clicks_of(partner) == 1
    with link_app.app_context():
        db.engine.dispose()


def test_the_link_apps_health_check_asks_the_database(database_url, tmp_path):
    link_app = create_link_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url)
    answer = link_app.test_client().get("/")
    assert answer.status_code == 200 and answer.text == "ok\n"
    with link_app.app_context():
        db.engine.dispose()
    away = create_link_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no-such-folder/x.db"
    )
    answer = away.test_client().get("/")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "10"
    # and a click still lands, without a cookie, while the database is away
    click = away.test_client().get("/partners/1001", headers=BROWSER)
    assert click.status_code == 302 and "Set-Cookie" not in click.headers
    with away.app_context():
        db.engine.dispose()
