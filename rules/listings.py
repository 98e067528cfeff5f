"""The lists people page through: their panels (the switcher) and a partner's clients.

Each is one query for the rows and one for the count, however many panels there are.
"""

import contextlib
from dataclasses import dataclass

import idna
from sqlalchemy import String, and_, case, cast, exists, func, or_, select

from models import (
    ALL_GROUPS,
    ClientLink,
    Grant,
    Group,
    Panel,
    Product,
    ProductStatus,
    Site,
    User,
    db,
)


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages


def _like(term):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped.lower() + "%"


def _domain_forms(term):
    """The term as people type a domain, and as it is stored: IDN labels in their ASCII form
    (a whole Cyrillic domain or label finds its xn-- form)."""
    forms = {term}
    if not term.isascii():
        with contextlib.suppress(idna.IDNAError):
            forms.add(idna.encode(term.strip(".")).decode())
    return forms


def _search(query, term, *columns):
    """Rows whose columns hold the term, or whose panel has a product or site on a domain or
    subdomain that holds it (``pekarna`` finds the panel of pekarna-dobrudzha.bg)."""
    term = (term or "").strip()[:100]
    if not term:
        return query
    patterns = [_like(form) for form in _domain_forms(term)]
    in_columns = [func.lower(c).like(_like(term), escape="\\") for c in columns]
    on_domain = or_(*(func.lower(Product.domain).like(p, escape="\\") for p in patterns))
    on_site = or_(*(func.lower(Site.host).like(p, escape="\\") for p in patterns))
    products = select(Product.id).where(Product.panel_id == Panel.id, on_domain)
    sites = (
        select(Site.id)
        .join(Product, Product.id == Site.product_id)
        .where(Product.panel_id == Panel.id, on_site)
    )
    return query.where(or_(*in_columns, exists(products), exists(sites)))


def paginate(query, order_by, page, per_page):
    """One page of ``query``'s rows (as scalars when it selects one entity) and the total."""
    result = _page(query, order_by, page, per_page)
    result.items = [row[0] if len(row) == 1 else row for row in result.items]
    return result


def _page(query, order_by, page, per_page):
    """One page of ``query`` and the total count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(
        query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)
    )
    return Page(rows.all(), total, page, per_page)


def visible_panels(user, *, search="", page=1, per_page=20):
    """The panels the user owns or holds a grant on, with the groups it holds in each."""
    groups = case((Panel.owner_id == user.id, int(ALL_GROUPS)), else_=Grant.groups)
    query = (
        select(Panel, groups.label("groups"), User.email.label("owner_email"))
        .join(User, User.id == Panel.owner_id)
        .outerjoin(Grant, and_(Grant.panel_id == Panel.id, Grant.user_id == user.id))
        .where(or_(Panel.owner_id == user.id, Grant.id.is_not(None)))
    )
    query = _search(query, search, Panel.name, cast(Panel.number, String), User.email)
    result = _page(query, (Panel.name, Panel.number), page, per_page)
    result.items = [(panel, Group(g), owner_email) for panel, g, owner_email in result.items]
    return result


def _per_panel(column, *where):
    """A correlated subquery over the products of the row's panel (indexed by panel)."""
    return (
        select(column)
        .where(Product.panel_id == Panel.id, *where)
        .correlate(Panel)
        .scalar_subquery()
    )


def client_panels(partner, *, search="", page=1, per_page=25):
    """The partner's client list: owner, product counts, the partner's groups, next expiry."""

    def clients(*columns):
        query = (
            select(*columns)
            .join(ClientLink, ClientLink.panel_id == Panel.id)
            .join(User, User.id == Panel.owner_id)
            .where(ClientLink.partner_id == partner.id)
        )
        return _search(
            query,
            search,
            Panel.name,
            cast(Panel.number, String),
            User.email,
            User.name,
            ClientLink.note,
        )

    order = (Panel.name, Panel.number)
    result = _page(clients(Panel.id), order, page, per_page)  # the page's panels, sorted
    on_page = [panel_id for (panel_id,) in result.items]
    active = Product.status == ProductStatus.ACTIVE
    groups = case((Panel.owner_id == partner.user_id, int(ALL_GROUPS)), else_=Grant.groups)
    rows = db.session.execute(
        select(
            Panel,
            User,
            ClientLink,
            groups.label("groups"),
            _per_panel(func.count()),
            _per_panel(func.count(), active),
            _per_panel(func.min(Product.expires_on), active),
        )
        .join(ClientLink, ClientLink.panel_id == Panel.id)
        .join(User, User.id == Panel.owner_id)
        .outerjoin(Grant, and_(Grant.panel_id == Panel.id, Grant.user_id == partner.user_id))
        .where(Panel.id.in_(on_page))
        .order_by(*order)
    ).all()
    result.items = [
        ClientRow(panel, owner, link, Group(g or 0), n, n_active, expiry)
        for panel, owner, link, g, n, n_active, expiry in rows
    ]
    return result


@dataclass
class ClientRow:
    panel: Panel
    owner: User
    link: ClientLink
    groups: Group
    products: int
    active: int
    next_expiry: object


def billing_panels(user, limit=200):
    """The panels where the user may order and pay: owned, or with the ``billing`` group."""
    return db.session.scalars(
        select(Panel)
        .outerjoin(Grant, and_(Grant.panel_id == Panel.id, Grant.user_id == user.id))
        .where(
            or_(
                Panel.owner_id == user.id,
                Grant.groups.op("&")(int(Group.BILLING)) != 0,
            )
        )
        .order_by(Panel.name, Panel.number)
        .limit(limit)
    ).all()
