"""Auto-renewal: a product set to renew from its managing partner's deposit [R19].

The daily job (rules/jobs.py) pays such renewals when the deposit covers them; this module
only turns the setting on and off. A domain's registry is told, since it renews the domain by
itself from then on, or stops.
"""

from flask_babel import lazy_gettext as _l

from models import Group, ProductKind
from rules import access, audit, partners, provisioning
from rules.errors import DomainError


class NoManagingPartner(DomainError):
    def default_message(self):
        return _l("Auto-renewal pays from a partner's deposit; this panel has no partner for it.")


def set_auto_renew(user, product, on, *, need=Group.BILLING):
    """Let the product renew from the managing partner's deposit (or stop it).

    ``need`` is the group that allows it (billing; the domain page allows it with domains).
    """
    access.require(user, product.panel, need)
    if on and partners.managing_partner(product) is None:
        raise NoManagingPartner()
    changed = product.auto_renew != bool(on)
    product.auto_renew = bool(on)
    audit.record(
        "product.auto_renew", actor=user, panel=product.panel, domain=product.domain, on=bool(on)
    )
    if changed and product.kind == ProductKind.DOMAIN and product.domain:
        # the registry renews the domain by itself, or not, from now on
        provisioning.enqueue(product, provisioning.REGISTRY, "product.auto_renew", on=bool(on))
