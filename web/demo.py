"""The demo data of ``flask demo seed`` (and ``make run``): people, partners, clients, their
panels, products, money, referrals and services, made through the same rules the app uses."""

from datetime import date, timedelta

from sqlalchemy import select, update

from models import (
    ALL_GROUPS,
    AffiliateDay,
    ClientLink,
    Group,
    InvitationKind,
    Panel,
    Plan,
    PlanKind,
    PlanPeriod,
    Product,
    ProductKind,
    Referral,
    User,
    db,
    utcnow,
)
from rules import (
    billing,
    catalogue,
    commissions,
    deposits,
    invitations,
    mailboxes,
    panels,
    partners,
    payments,
    services,
    users,
    zone,
)

#: every demo login uses this password (it passes the password policy)
PASSWORD = "partner-demo-2026"  # noqa: S105

#: (email, name, language, is_staff, role shown in the printed list)
USERS = [
    ("staff@demo.example", "Мария Служебна", "bg", True, "staff"),
    ("agency@demo.example", "Ивана Агенция (Студио Дизайн)", "bg", False, "partner 1001"),
    ("webshop@demo.example", "Georgi Webshop Agency", "en", False, "partner 1002"),
    ("bakery@demo.example", "Пекарна Добруджа", "bg", False, "client of partner 1001"),
    ("dentist@demo.example", "Д-р Петрова", "bg", False, "client of partner 1001"),
    ("florist@demo.example", "Florist Ltd", "en", False, "client of partner 1002"),
    ("applicant@demo.example", "Петър Фрийлансър", "bg", False, "applied to be a partner"),
]


def _product(panel, code, domain, expires_on):
    plan = db.session.scalar(select(Plan).where(Plan.code == code))
    db.session.add(
        Product(
            panel_id=panel.id,
            plan_id=plan.id,
            plan_name=plan.name_bg,
            kind=catalogue.PRODUCT_KIND[plan.kind],
            domain=domain,
            expires_on=expires_on,
        )
    )


def _products(panel, domain, *, today, months=(14, 3, 8)):
    """A realistic bundle: the domain, a hosting plan on it and its mailboxes."""
    codes = ("domain-bg" if domain.endswith(".bg") else "domain-com", "web-business", "mail-10")
    for code, months_left in zip(codes, months, strict=True):
        _product(panel, code, domain, today + timedelta(days=30 * months_left))


def _partner(user, number_company, staff, deposit_eur):
    partner = partners.apply(
        user,
        company=number_company,
        vat_number="BG" + str(200000000 + user.id),
        address="бул. Витоша 1, 1000 София",
        expected_hostings=25,
    )
    partners.approve(partner, minimum_deposit_cents=deposit_eur * 100, actor=staff)
    return partner


def seed():
    """Create what is missing of the demo data; return whether anything was created."""
    people, created = {}, False
    for email, name, language, is_staff, _role in USERS:
        people[email] = db.session.scalar(select(User).where(User.email == email))
        if people[email] is None:
            people[email] = users.register_user(
                email=email, name=name, password=PASSWORD, language=language
            )
            people[email].is_staff = is_staff
            people[email].email_verified_at = utcnow()  # demo addresses cannot receive mail
            created = True
    if db.session.scalar(select(Plan.id).limit(1)) is None:
        _seed_catalogue()
        created = True
    if partners.partner_of(people["agency@demo.example"]) is None:
        _seed_program(people)
        created = True
    db.session.commit()
    return created


#: (code, kind, Bulgarian name, English name, price in cents, base months, eligible, periods)
DEMO_CATALOGUE = [
    (
        "web-start",
        "shared_hosting",
        "Хостинг Старт",
        "Hosting Start",
        299,
        1,
        False,
        {12: 0, 24: 500},
    ),
    (
        "web-business",
        "shared_hosting",
        "Хостинг Бизнес",
        "Hosting Business",
        599,
        1,
        True,
        {12: 0, 24: 1000, 36: 1500},
    ),
    (
        "web-pro",
        "shared_hosting",
        "Хостинг Про",
        "Hosting Pro",
        999,
        1,
        True,
        {12: 0, 24: 1000, 36: 1500},
    ),
    (
        "web-premium",
        "shared_hosting",
        "Хостинг Премиум",
        "Hosting Premium",
        1499,
        1,
        True,
        {12: 0, 24: 1000, 36: 1500},
    ),
    ("vps-s", "vps", "VPS S", "VPS S", 1900, 1, False, {1: 0, 12: 800}),
    ("vps-m", "vps", "VPS M", "VPS M", 3400, 1, False, {1: 0, 12: 800}),
    ("mail-10", "email", "Поща 10 GB", "Mail 10 GB", 250, 1, False, {12: 0, 24: 500}),
    (
        "ssl-dv",
        "ssl",
        "SSL сертификат DV",
        "SSL certificate DV",
        2900,
        12,
        False,
        {12: 0, 24: 1000},
    ),
    ("domain-bg", "domain", "Домейн .bg", "Domain .bg", 2500, 12, False, {12: 0, 24: 300}),
    ("domain-xn--90ae", "domain", "Домейн .бг", "Domain .бг", 2500, 12, False, {12: 0}),
    ("domain-com", "domain", "Домейн .com", "Domain .com", 1390, 12, False, {12: 0, 24: 300}),
    ("domain-eu", "domain", "Домейн .eu", "Domain .eu", 990, 12, False, {12: 0, 24: 300}),
    ("domain-net", "domain", "Домейн .net", "Domain .net", 1590, 12, False, {12: 0}),
    ("domain-org", "domain", "Домейн .org", "Domain .org", 1490, 12, False, {12: 0}),
]


#: plans whose names promise other mail limits than their kind comes with
DEMO_MAIL_LIMITS = {"mail-10": (20, 10240)}


def _seed_catalogue():
    for code, kind, name_bg, name_en, price, base, eligible, periods in DEMO_CATALOGUE:
        if db.session.scalar(select(Plan.id).where(Plan.code == code)) is not None:
            continue
        plan = Plan(
            code=code,
            kind=PlanKind(kind),
            name_bg=name_bg,
            name_en=name_en,
            price_cents=price,
            base_months=base,
            volume_eligible=eligible,
        )
        plan.periods = [PlanPeriod(months=m, discount_bp=d) for m, d in periods.items()]
        if code in DEMO_MAIL_LIMITS:  # the plan's name says its mail
            plan.mailboxes, plan.mail_quota_mb = DEMO_MAIL_LIMITS[code]
        db.session.add(plan)


def _seed_program(people, today=None):
    today = today or date.today()
    staff = people["staff@demo.example"]
    studio = _partner(people["agency@demo.example"], "Студио Дизайн ООД", staff, 500)
    shop = _partner(people["webshop@demo.example"], "Webshop Agency Ltd", staff, 300)
    partners.apply(
        people["applicant@demo.example"],
        company="Фрийлансър ЕООД",
        vat_number="BG123456789",
        address="ул. Шипка 5, 4000 Пловдив",
        expected_hostings=8,
    )
    _seed_studio(studio, people, today)
    _seed_money(studio, shop, staff, today)
    _seed_affiliate(studio, people, today)
    florist = people["florist@demo.example"]
    panel = panels.create_panel(name="Florist Ltd", owner=florist, actor=florist)
    _products(panel, "florist-sofia.com", today=today, months=(9, 9, 9))
    partners.link_panel(shop, panel, Group.WEB | Group.EMAIL, actor=florist)


def _seed_money(studio, shop, staff, today):
    """Partner 1001: a 600 € deposit, one order paid from it, one waiting for a transfer;
    partner 1002: a top-up reference waiting for its transfer (not active yet)."""
    deposits.credit(
        deposits.request_top_up(studio, actor=studio.user),
        60_000,
        received_on=today,
        actor=staff,
    )
    own = db.session.scalar(select(Panel).where(Panel.owner_id == studio.user_id))
    for domain, pay in (("studio-design.eu", True), ("novo-kafe.bg", False)):
        plan = "domain-eu" if domain.endswith(".eu") else "domain-bg"
        billing.add_new(
            studio.user, plan_code=plan, months=12, domain=domain, panel_number=own.number
        )
        invoice = billing.checkout(studio.user, today=today)
        if pay:
            payments.pay_from_deposit(invoice, studio, actor=studio.user)
    deposits.request_top_up(shop, actor=shop.user)
    _seed_commissions(studio, staff, today)


def _seed_affiliate(studio, people, today):
    """Partner 1001's link: a month of clicks, and the freelancer who signed up through it."""
    for back in range(30):
        clicks = 3 + (back * 7) % 11
        db.session.add(
            AffiliateDay(
                partner_id=studio.id,
                day=today - timedelta(days=back),
                clicks=clicks,
                visitors=clicks - back % 3,
            )
        )
    db.session.add(
        Referral(
            user_id=people["applicant@demo.example"].id,
            partner_id=studio.id,
            click_id="0123456789abcdef",
            clicked_at=utcnow() - timedelta(days=12),
            created_at=utcnow() - timedelta(days=11),
        )
    )


def _seed_commissions(studio, staff, today):
    """The bakery, a client of partner 1001, pays two orders by bank transfer: the first
    commission has cleared (available), the second is still held."""
    db.session.execute(
        update(Product)
        .where(Product.attributed_partner_id.is_(None))
        .values(
            attributed_partner_id=select(ClientLink.partner_id)
            .where(ClientLink.panel_id == Product.panel_id)
            .scalar_subquery()
        )
    )
    bakery = db.session.scalar(
        select(Panel)
        .join(ClientLink, ClientLink.panel_id == Panel.id)
        .where(ClientLink.partner_id == studio.id, Panel.name == "Пекарна Добруджа")
    )
    for step, domain in enumerate(("shop.pekarna-dobrudzha.bg", "menu.pekarna-dobrudzha.bg")):
        billing.add_new(
            bakery.owner,
            plan_code="web-pro",
            months=12,
            domain=domain,
            panel_number=bakery.number,
        )
        invoice = billing.checkout(bakery.owner, today=today)
        deposits.confirm_bank_transfer(
            invoice.reference, invoice.total_cents, received_on=today, actor=staff
        )
        if step == 0:
            commissions.clear(utcnow() + commissions.clearing())


def _seed_studio(studio, people, today):
    """Partner 1001: its own panel, a client's panel, a panel it owns for a client, invitations."""
    agency, bakery_owner = studio.user, people["bakery@demo.example"]
    own = panels.create_panel(name="Студио Дизайн – собствени сайтове", owner=agency, actor=agency)
    _products(own, "studio-design.bg", today=today)
    _product(own, "web-pro", "portfolio.studio-design.bg", today + timedelta(days=200))
    # A site built for a hotel that has no panel yet, ready to hand over with "Move…".
    _products(own, "hotel-vitosha.bg", today=today)
    _product(own, "web-start", "booking.hotel-vitosha.bg", today + timedelta(days=300))

    bakery = panels.create_panel(name="Пекарна Добруджа", owner=bakery_owner, actor=bakery_owner)
    _products(bakery, "pekarna-dobrudzha.bg", today=today, months=(1, 11, 11))
    _product(bakery, "web-start", "blog.pekarna-dobrudzha.bg", today + timedelta(days=20))
    partners.link_panel(studio, bakery, ALL_GROUPS, actor=bakery_owner)

    dentist, _ = partners.create_client_panel(
        studio,
        name="Дентален кабинет Петрова",
        client_email="dentist@demo.example",
        groups=Group.BILLING,
        actor=agency,
    )
    _products(dentist, "d-r-petrova.com", today=today, months=(6, 6, 2))

    _seed_services(own, agency)
    _seed_services(bakery, agency)

    # A client panel still waiting for its new owner, and a designer invited to the studio.
    partners.create_client_panel(
        studio,
        name="Кафе Морско",
        client_email="cafe@demo.example",
        client_owns=True,
        groups=ALL_GROUPS,
        actor=agency,
    )
    invitations.invite(
        InvitationKind.ACCESS,
        panel=own,
        email="designer@demo.example",
        groups=Group.WEB,
        actor=agency,
    )


def _seed_services(panel, actor):
    """Sites, DNS records and mailboxes as a partner leaves them, queued for the servers."""
    db.session.flush()
    for product in sorted(panel.products, key=lambda p: p.id):
        name = product.domain
        if product.kind == ProductKind.HOSTING:
            services.on_activated(product)
        if product.kind == ProductKind.DOMAIN:
            for fields in (
                {"name": "@", "type": "A", "value": "192.0.2.10"},
                {"name": "@", "type": "AAAA", "value": "2001:db8::10"},
                {"name": "www", "type": "CNAME", "value": name},
                {"name": "@", "type": "MX", "priority": "10", "value": "mail." + name},
                {"name": "mail", "type": "A", "value": "192.0.2.25"},
                {"name": "@", "type": "TXT", "value": "v=spf1 mx -all"},
                {"name": "@", "type": "CAA", "value": '0 issue "letsencrypt.org"'},
            ):
                zone.add_record(product, {"ttl": "3600", **fields}, actor=actor)
        if product.kind == ProductKind.EMAIL:
            mailboxes.add_mailbox(
                product, local="office", password=PASSWORD, quota="2048", actor=actor
            )
            mailboxes.add_alias(product, local="info", destinations="office@" + name, actor=actor)
