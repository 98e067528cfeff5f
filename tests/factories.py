"""Builders for test data: plain callables that commit what they make."""

import itertools

from sqlalchemy import select

from models import db
from rules import users

PASSWORD = "correct horse battery"  # passes the policy; never in the common list

_numbers = itertools.count(1)


def create_user(
    email=None, *, name=None, password=PASSWORD, language="bg", is_staff=False, verified=True
):
    """Register a user through the real rule (its address confirmed unless told) and commit."""
    n = next(_numbers)
    user = users.register_user(
        email=email or f"user{n}@example.com",
        name=name or f"User {n}",
        password=password,
        language=language,
    )
    user.is_staff = is_staff
    if verified:
        users.mark_email_verified(user, user.email)
    db.session.commit()
    return user


def create_panel(owner=None, *, name=None, products=()):
    """A panel (owned by a new user unless given) with products: (kind, domain) pairs."""
    from datetime import date, timedelta

    from models import Product, ProductKind
    from rules import panels

    owner = owner or create_user()
    panel = panels.create_panel(name=name or f"Panel {next(_numbers)}", owner=owner, actor=owner)
    for i, (kind, domain) in enumerate(products):
        db.session.add(
            Product(
                panel_id=panel.id,
                plan_name=f"{kind} plan",
                kind=ProductKind(kind),
                domain=domain,
                expires_on=date.today() + timedelta(days=30 + i),
            )
        )
    db.session.commit()
    return panel


def grant(panel, user, groups):
    """Give ``user`` the ``groups`` on ``panel`` through the real rule."""
    from models import Group
    from rules import panels

    made = panels.give_access(panel, user, Group(groups), actor=panel.owner)
    db.session.commit()
    return made


def create_partner(user=None, *, company=None):
    """An approved partner (with its number) through the real rules."""
    from rules import partners

    user = user or create_user()
    staff = create_user(is_staff=True)
    partner = partners.apply(
        user,
        company=company or f"Agency {user.id}",
        vat_number=f"BG{100000000 + user.id}",
        expected_hostings=10,
    )
    partners.approve(partner, minimum_deposit_cents=50_000, actor=staff)
    db.session.commit()
    return partner


def link_client(partner, panel, groups):
    """Put ``panel`` in the partner's client list with ``groups`` for the partner."""
    from models import Group
    from rules import partners

    partners.link_panel(partner, panel, Group(groups), actor=panel.owner)
    db.session.commit()


def add_client_panels(partner, count, *, products_per_panel=2, owner=None):
    """Add ``count`` client panels of ``partner`` quickly, with plain inserts (for volume)."""
    from datetime import date, timedelta

    from sqlalchemy import insert

    from models import ClientLink, Grant, Panel, Product, ProductKind
    from rules.numbers import next_number

    kinds = [ProductKind.DOMAIN, ProductKind.HOSTING, ProductKind.EMAIL, ProductKind.HOSTING]
    owner = owner or create_user()
    today = date.today()
    for i in range(count):
        number = next_number("panel")
        panel_id = db.session.execute(
            insert(Panel)
            .values(number=number, name=f"Client {number}", owner_id=owner.id)
            .returning(Panel.id)
        ).scalar()
        db.session.execute(
            insert(ClientLink).values(panel_id=panel_id, partner_id=partner.id, note="")
        )
        db.session.execute(
            insert(Grant).values(panel_id=panel_id, user_id=partner.user_id, groups=15)
        )
        db.session.execute(
            insert(Product),
            [
                {
                    "panel_id": panel_id,
                    "plan_name": "Plan",
                    "kind": kinds[j % 4],
                    "domain": (f"sub{j}." if j % 4 == 3 else "") + f"c{number}.bg",
                    "expires_on": today + timedelta(days=(i * 7 + j) % 400),
                }
                for j in range(products_per_panel)
            ],
        )
    db.session.commit()


def create_plan(
    code=None,
    *,
    kind="shared_hosting",
    price=599,
    base_months=1,
    periods=None,
    eligible=True,
    retired=False,
    name_bg="Хостинг Бизнес",
    name_en="Hosting Business",
):
    """A catalogue plan with its periods ({months: discount bp}, 12 and 24 months by default)."""
    from models import Plan, PlanKind, PlanPeriod, utcnow

    plan = Plan(
        code=code or f"plan-{next(_numbers)}",
        kind=PlanKind(kind),
        name_bg=name_bg,
        name_en=name_en,
        price_cents=price,
        base_months=base_months,
        volume_eligible=eligible,
        retired_at=utcnow() if retired else None,
    )
    plan.periods = [
        PlanPeriod(months=m, discount_bp=d) for m, d in (periods or {12: 0, 24: 1000}).items()
    ]
    db.session.add(plan)
    db.session.commit()
    return plan


def add_product(panel, plan, domain=None, *, status="active"):
    """A subscription of ``plan`` in ``panel``, as an order would leave it."""
    from datetime import date, timedelta

    from models import Product, ProductStatus
    from rules.catalogue import PRODUCT_KIND

    product = Product(
        panel_id=panel.id,
        plan_id=plan.id,
        plan_name=plan.name_bg,
        kind=PRODUCT_KIND[plan.kind],
        domain=domain,
        status=ProductStatus(status),
        expires_on=date.today() + timedelta(days=365),
    )
    db.session.add(product)
    db.session.commit()
    return product


def create_domain_plan(suffix="bg", *, price=2000, periods=None):
    """A domain registration plan for ``suffix`` (its code names the suffix: domain-bg)."""
    return create_plan(
        f"domain-{suffix}",
        kind="domain",
        price=price,
        base_months=12,
        periods=periods or {12: 0},
        eligible=False,
        name_bg=f"Домейн .{suffix}",
        name_en=f"Domain .{suffix}",
    )


def fund(partner, cents):
    """Credit ``cents`` to the partner's deposit through a top-up, as staff would."""
    from rules import deposits

    top_up = deposits.request_top_up(partner, actor=partner.user)
    deposits.credit(top_up, cents)
    db.session.commit()
    return top_up


def own_orders(partner, count, price=100):
    """``count`` invoices the partner ordered for a new own panel, unpaid: each 12 months of the
    plan web-start (made at ``price`` cents a month, not volume-eligible, when the test has no
    web-start plan yet; an existing one keeps its price) plus VAT."""
    from models import Plan
    from rules import billing

    own = create_panel(partner.user)
    if db.session.scalar(select(Plan).where(Plan.code == "web-start")) is None:
        create_plan("web-start", price=price, periods={12: 0}, eligible=False)
    invoices = []
    for i in range(count):
        billing.add_new(
            partner.user,
            plan_code="web-start",
            months=12,
            domain=f"own{own.number}-{i}.bg",
            panel_number=own.number,
        )
        invoices.append(billing.checkout(partner.user))
    db.session.commit()
    return invoices


def client_invoices(partner, count, *, price=1000):
    """A client panel "Пекарна" in the partner's list (web and billing) with ``count`` unpaid
    invoices for 12 months of web-business (made at ``price`` cents a month when missing):
    144,00 € each at the default price. Returns the invoices."""
    from models import Group, Plan
    from rules import billing

    if db.session.scalar(select(Plan).where(Plan.code == "web-business")) is None:
        create_plan("web-business", price=price, periods={12: 0})
    client = create_user()
    panel = create_panel(client, name="Пекарна")
    link_client(partner, panel, Group.WEB | Group.BILLING)
    invoices = []
    for i in range(count):
        billing.add_new(
            client,
            plan_code="web-business",
            months=12,
            domain=f"p{i}.bg",
            panel_number=panel.number,
        )
        invoices.append(billing.checkout(client))
    db.session.commit()
    return invoices
