"""A hosting product's web sites [R9]: host names, document roots, PHP version and SSL.

Every change writes the desired state, an audit entry and an outbox entry in the caller's
transaction (rules.provisioning); nothing reaches a server until the worker applies it.
"""

import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    Product,
    ProductKind,
    ProductStatus,
    Site,
    db,
)
from rules import audit, provisioning, serving
from rules.domains import InvalidDomain, canonical
from rules.domains import validate as validate_domain
from rules.provisioning import WEB, ascii_domain
from rules.serving import InvalidInput

_DOCROOT = re.compile(r"[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,7}")


def php_versions():
    return tuple(current_app.config["PHP_VERSIONS"])


def sites_of(product):
    return db.session.scalars(
        select(Site).where(Site.product_id == product.id).order_by(Site.host)
    ).all()


def site_of(product, site_id, *, gone_ok=False):
    return serving.child_row(Site, product, site_id, gone_ok=gone_ok)


def is_main(product, site):
    return site.host == ascii_domain(product.domain)


def default_docroot(product, host):
    """'public_html' for the main domain, 'public_html/blog' for blog.example.com."""
    main = ascii_domain(product.domain)
    if host == main or not host.endswith("." + main):
        return "public_html"
    return "public_html/" + host[: -len(main) - 1].replace(".", "_")


def _validate_docroot(docroot):
    docroot = (docroot or "").strip().rstrip("/")
    if len(docroot) > 200:
        raise InvalidInput(_l("Use at most %(n)d characters.", n=200), "docroot")
    # no part may start with a dot: ".", "..", and hidden folders such as .ssh stay private
    if not _DOCROOT.fullmatch(docroot) or any(p.startswith(".") for p in docroot.split("/")):
        raise InvalidInput(
            _l(
                "Use a folder inside the account, such as public_html/blog: Latin letters, "
                "digits, dots, dashes and underscores."
            ),
            "docroot",
        )
    return docroot


def _validate_php(php):
    if php not in php_versions():
        raise InvalidInput(_l("Choose one of the PHP versions offered."), "php")
    return php


def _site_host(product, host):
    try:
        name = validate_domain(host)
    except InvalidDomain as error:
        raise InvalidInput(error.message, "host") from None
    main = canonical(product.domain)
    if name != main and not name.endswith("." + main):
        raise InvalidInput(
            _l("A site here is %(domain)s or a subdomain of it.", domain=main), "host"
        )
    return ascii_domain(name)


def _served_elsewhere(product, host):
    """Whether another hosting product has this site, or is itself on this host name."""
    other_site = db.session.scalar(
        select(func.count(Site.id)).where(Site.host == host, Site.product_id != product.id)
    )
    other_product = db.session.scalar(
        select(func.count(Product.id)).where(
            Product.id != product.id,
            Product.kind == ProductKind.HOSTING,
            Product.domain == canonical(host),
            Product.status == ProductStatus.ACTIVE,
        )
    )
    return bool(other_site or other_product)


def add_site(product, *, host, docroot, php, ssl, actor):
    serving.require_active(product)
    host = _site_host(product, host)
    if any(site.host == host for site in sites_of(product)):
        raise InvalidInput(_l("This site is already there."), "host")
    if _served_elsewhere(product, host):
        raise InvalidInput(
            _l(
                "%(host)s is served by another hosting product; manage it there.",
                host=canonical(host),
            ),
            "host",
        )
    site = Site(
        product_id=product.id,
        host=host,
        docroot=_validate_docroot(docroot or default_docroot(product, host)),
        php=_validate_php(php),
        ssl=bool(ssl),
        ssl_status="none",
    )
    db.session.add(site)
    _web_change(product, "site.add", site, actor)
    db.session.flush()
    return site


def update_site(product, site, *, docroot, php, ssl, actor):
    serving.require_active(product)
    docroot, php, ssl = _validate_docroot(docroot), _validate_php(php), bool(ssl)
    if (site.docroot, site.php, site.ssl) == (docroot, php, ssl):
        return False
    code = "site.ssl" if site.ssl != ssl else "site.update"
    site.docroot, site.php, site.ssl = docroot, php, ssl
    _web_change(product, code, site, actor)
    return True


def delete_site(product, site, *, actor):
    serving.require_active(product)
    if is_main(product, site):
        raise InvalidInput(_l("The main domain's site stays while the hosting does."))
    db.session.delete(site)
    _web_change(product, "site.delete", site, actor)


def _web_change(product, code, site, actor):
    audit.record(
        code,
        actor=actor,
        panel=product.panel,
        host=site.host,
        docroot=site.docroot,
        php=site.php,
        ssl=site.ssl,
    )
    provisioning.enqueue(product, WEB, code, host=site.host, ssl=site.ssl)


def refresh_web(*, limit=10_000):
    """Queue a re-apply of every active hosting product's sites, so the backend reports again
    (certificates issued since, disk usage); for cron. Returns how many were queued."""
    products = db.session.scalars(
        select(Product)
        .where(
            Product.kind == ProductKind.HOSTING,
            Product.status == ProductStatus.ACTIVE,
            Product.id.in_(select(Site.product_id)),
        )
        .order_by(Product.id)
        .limit(limit)
    ).all()
    for product in products:
        provisioning.enqueue(product, WEB, "site.refresh", touch=False)
    return len(products)
