"""What every change to a product's settings checks first [R8, R9]: the product belongs to
the panel (``product_of``), is active, and its panel is the one serving the domain
(``require_active``); and the errors a settings form shows beside its field.

The settings themselves are in rules/zone.py (a domain), rules/sites.py (a hosting product's web
sites) and rules/mailboxes.py (a mail domain); rules/services.py says what a product's
activation and expiry do to all of them.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    Product,
    ProductKind,
    ProductStatus,
    db,
)
from rules import provisioning, rows
from rules.errors import DomainError, NotFound


class InvalidInput(DomainError):
    """Input a rule refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class InvalidFields(InvalidInput):
    """Several fields are wrong at once: ``errors`` maps each field to its message."""

    def __init__(self, errors):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = errors


class NotActive(DomainError):
    """The product is not active (waiting for payment, expired or cancelled)."""

    status = 409

    def default_message(self):
        return _l("This product is not active, so its settings cannot change now.")


def product_of(panel, product_id, kinds):
    """The panel's product with this id and one of ``kinds``; another panel's id is not found."""
    product = db.session.get(Product, product_id)
    if product is None or product.panel_id != panel.id or product.kind not in kinds:
        raise NotFound()
    if not product.domain:
        raise NotFound()
    return product


class HeldElsewhere(DomainError):
    """Another panel's product on the same domain is the one the servers follow."""

    status = 409

    def default_message(self):
        return _l(
            "Another control panel serves this domain, so this product's settings are not "
            "used. Ask the host's support to sort out who holds the domain."
        )


#: which products' data make up what the servers get for a domain, by the product's kind
_SERVED_WITH = {
    ProductKind.DOMAIN: [ProductKind.DOMAIN],
    ProductKind.HOSTING: [ProductKind.HOSTING],
    ProductKind.EMAIL: list(provisioning.MAIL_KINDS),
}


def require_active(product, kinds=None):
    """Lock the product (changes of one product queue up), check it is active and that its
    panel is the one serving the domain (``kinds``: the products served together)."""
    rows.lock(product)
    if product.status != ProductStatus.ACTIVE:
        raise NotActive()
    kinds = kinds or _SERVED_WITH[product.kind]
    holder = provisioning.holder_panel_id(product.domain, kinds)
    if holder is not None and holder != product.panel_id:
        raise HeldElsewhere()


def same_domain(product, kinds):
    """The ids of the panel's products on the product's domain, of ``kinds``."""
    return db.session.scalars(
        select(Product.id).where(
            Product.panel_id == product.panel_id,
            Product.domain == product.domain,
            Product.kind.in_(kinds),
        )
    ).all()


def child_row(model, product, child_id, *, gone_ok=False):
    """The product's row with this id. ``gone_ok``: None when no such row exists any more
    (a delete sent twice is done, not an error); another product's row is never found."""
    row = db.session.get(model, child_id)
    if row is None and gone_ok:
        return None
    if row is None or row.product_id != product.id:
        raise NotFound()
    return row
