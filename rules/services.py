"""A product's services as a whole: what its activation and expiry do to the servers.

A product that becomes active gets its main site (hosting) and what it holds is served
again; one that expires stops being served (the data stays). The settings themselves are in
rules/zone.py, rules/sites.py and rules/mailboxes.py.
"""

from sqlalchemy import func, select

from models import (
    ProductKind,
    Site,
    db,
)
from rules import mailboxes, provisioning, sites
from rules.provisioning import MAIL, WEB, ZONE, ascii_domain


def _served_targets(product):
    """The targets a product's data is part of: its zone, its mail domain, its sites."""
    kinds = []
    if product.kind == ProductKind.DOMAIN:
        kinds.append(ZONE)
    if product.kind in provisioning.MAIL_KINDS and (
        mailboxes.mailboxes_of(product) or mailboxes.aliases_of(product)
    ):
        kinds.append(MAIL)
    if product.kind == ProductKind.HOSTING and sites.sites_of(product):
        kinds.append(WEB)
    return kinds


def on_activated(product):
    """A product that just became active: a hosting product gets its main site (once), and
    what it holds is served (again)."""
    if not product.domain:
        return
    made = False
    host = ascii_domain(product.domain)
    served = db.session.scalar(select(func.count(Site.id)).where(Site.host == host))
    if product.kind == ProductKind.HOSTING and not sites.sites_of(product) and not served:
        site = Site(
            product_id=product.id,
            host=host,
            docroot="public_html",
            php=sites.php_versions()[0],
            ssl=False,
            ssl_status="none",
        )
        db.session.add(site)
        db.session.flush()
        provisioning.enqueue(product, WEB, "site.add", host=host, ssl=False)
        made = True
    for kind in _served_targets(product):
        if not (made and kind == WEB):
            provisioning.enqueue(product, kind, "product.active", touch=False)


def on_deactivated(product):
    """A product that expired: the servers stop serving what it holds (the data stays)."""
    if not product.domain:
        return
    for kind in _served_targets(product):
        provisioning.enqueue(product, kind, "product.inactive", touch=False)
