"""The provisioning outbox: each change writes an entry beside the desired state it changed,
and the whole desired state of a target is built here for the worker (provision.worker)."""

from dataclasses import dataclass

import idna
from sqlalchemy import or_, select

from models import (
    DnsRecord,
    DomainSettings,
    MailAlias,
    Mailbox,
    Product,
    ProductKind,
    ProductStatus,
    ProvisionTask,
    Site,
    TaskStatus,
    db,
    utcnow,
)
from provision import state
from rules.domains import canonical

#: what a target names, by the prefix of its key
ZONE, REGISTRY, MAIL, WEB = "zone", "registry", "mail", "web"
#: the product kinds whose domain can carry mail and sites
MAIL_KINDS = (ProductKind.EMAIL, ProductKind.HOSTING)


def ascii_domain(domain):
    """The ASCII (punycode) form of a product's domain: 'пример.бг' -> 'xn--e1afmkfd.xn--90ae'."""
    return idna.encode(canonical(domain), uts46=True).decode("ascii")


def target_of(kind, product):
    return f"{kind}:{ascii_domain(product.domain)}"


def enqueue(product, kind, code, *, touch=True, **values):
    """Write an outbox entry for ``product``'s target of ``kind``, in the caller's transaction.

    ``code`` and ``values`` say what changed (the panel shows them, translated); ``touch``
    (a real change) raises the product's revision.
    """
    task = ProvisionTask(
        product_id=product.id,
        target=target_of(kind, product),
        summary={"code": code, **values},
        status=TaskStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    db.session.add(task)
    if touch:
        # A change of what the product serves is a change of the product: a move's undo sees it.
        product.revision = Product.revision + 1
    return task


def recent_tasks(product, kinds, limit=10):
    """The product's latest outbox entries of the targets ``kinds`` ("zone", "mail"...), newest
    first: each page shows the changes of its own group."""
    return db.session.scalars(
        select(ProvisionTask)
        .where(
            ProvisionTask.product_id == product.id,
            or_(*(ProvisionTask.target.startswith(f"{kind}:") for kind in kinds)),
        )
        .order_by(ProvisionTask.id.desc())
        .limit(limit)
    ).all()


# --- the desired state of a target, read whole at apply time -------------------------------


@dataclass(frozen=True)
class Settings:
    """What the state builders need from the app's configuration."""

    nameservers: tuple
    hostmaster: str


def _products(domain_ascii, kinds):
    return db.session.scalars(
        select(Product)
        .where(Product.domain == canonical(domain_ascii), Product.kind.in_(kinds))
        .order_by(Product.id)
    ).all()


def holder_panel_id(domain, kinds):
    """The panel that serves the domain's zone, mail or sites (by ``kinds``): the panel of the
    oldest active product of those kinds on it; None when none is active. Products on the same
    domain in other panels are not served and cannot be changed (rules.serving)."""
    active = [p for p in _products(ascii_domain(domain), kinds) if p.status == ProductStatus.ACTIVE]
    return active[0].panel_id if active else None


def _serving(domain_ascii, kinds):
    """The active products of ``kinds`` on the domain, in the panel that serves it."""
    active = [p for p in _products(domain_ascii, kinds) if p.status == ProductStatus.ACTIVE]
    return [p for p in active if p.panel_id == active[0].panel_id]


def _domain_product(domain_ascii):
    """The domain product the registry and the zone follow: the serving one, else the newest."""
    serving = _serving(domain_ascii, [ProductKind.DOMAIN])
    if serving:
        return serving[0]
    products = _products(domain_ascii, [ProductKind.DOMAIN])
    return products[-1] if products else None


def zone_state(domain_ascii, settings, serial):
    """The zone of the domain product on ``domain_ascii`` (not served: when none is active or
    the domain uses other nameservers)."""
    products = _serving(domain_ascii, [ProductKind.DOMAIN])
    product = products[0] if products else None
    custom = product and db.session.get(DomainSettings, product.id)
    served = product is not None and not (custom and custom.nameservers)
    records = ()
    if product is not None:
        records = tuple(
            state.Record(name=r.name, type=r.type, ttl=r.ttl, data=r.data)
            for r in db.session.scalars(
                select(DnsRecord)
                .where(DnsRecord.product_id == product.id)
                .order_by(DnsRecord.name, DnsRecord.type, DnsRecord.id)
            )
        )
    return state.ZoneState(
        domain=domain_ascii,
        serial=serial,
        nameservers=tuple(settings.nameservers),
        hostmaster=settings.hostmaster,
        records=records,
        served=served,
    )


def registry_state(domain_ascii, settings):
    product = _domain_product(domain_ascii)
    custom = product and db.session.get(DomainSettings, product.id)
    registrant = custom.registrant if custom and custom.registrant else None
    return state.RegistryState(
        domain=domain_ascii,
        nameservers=tuple(
            custom.nameservers if custom and custom.nameservers else settings.nameservers
        ),
        registrant=state.Registrant(**registrant) if registrant else None,
        auto_renew=bool(product and product.auto_renew),
        auth_code=(custom.auth_code or "") if custom else "",
    )


def mail_state(domain_ascii):
    """Every active mail product on the domain contributes its mailboxes and aliases."""
    ids = [p.id for p in _serving(domain_ascii, MAIL_KINDS)]
    mailboxes = db.session.scalars(
        select(Mailbox).where(Mailbox.product_id.in_(ids)).order_by(Mailbox.local)
    ).all()
    aliases = db.session.scalars(
        select(MailAlias).where(MailAlias.product_id.in_(ids)).order_by(MailAlias.local)
    ).all()
    return state.MailState(
        domain=domain_ascii,
        mailboxes=tuple(
            state.Mailbox(local=m.local, password_hash=m.password_hash, quota_mb=m.quota_mb)
            for m in mailboxes
        ),
        aliases=tuple(
            state.Alias(local=a.local, destinations=tuple(a.destinations)) for a in aliases
        ),
    )


def web_sites(domain_ascii):
    ids = [p.id for p in _serving(domain_ascii, [ProductKind.HOSTING])]
    return db.session.scalars(
        select(Site).where(Site.product_id.in_(ids)).order_by(Site.host)
    ).all()


def web_state(domain_ascii):
    return state.WebState(
        domain=domain_ascii,
        sites=tuple(
            state.Site(host=s.host, docroot=s.docroot, php=s.php, ssl=s.ssl)
            for s in web_sites(domain_ascii)
        ),
    )


def record_web_facts(domain_ascii, facts):
    """Keep what the backend reported about the sites (SSL state, disk usage)."""
    by_host = {f.host: f for f in facts.sites}
    now = utcnow()
    for site in web_sites(domain_ascii):
        fact = by_host.get(site.host)
        if fact is not None:
            site.ssl_status = fact.ssl
            site.disk_bytes = fact.disk_bytes
            site.reported_at = now


def next_serial(current, today):
    """The zone's next SOA serial: YYYYMMDD00 of today, or one more than the last."""
    return max(current + 1, int(today.strftime("%Y%m%d")) * 100)


def zone_serial(domain_ascii):
    """The serial the zone was last given (0: never), highest of its domain products: a zone
    that moves to a newer product of the domain keeps rising."""
    products = _products(domain_ascii, [ProductKind.DOMAIN])
    rows = [db.session.get(DomainSettings, p.id) for p in products]
    return max((row.zone_serial for row in rows if row), default=0)


def set_zone_serial(domain_ascii, serial):
    product = _domain_product(domain_ascii)
    if product is not None:
        settings_row(product).zone_serial = serial


def settings_row(product):
    """The product's DomainSettings, added to the session when it has none yet."""
    row = db.session.get(DomainSettings, product.id)
    if row is None:
        row = DomainSettings(product_id=product.id, zone_serial=0)
        db.session.add(row)
    return row
