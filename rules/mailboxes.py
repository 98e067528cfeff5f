"""A mail domain's mailboxes, aliases and catch-all [R9], within the plan's limits.

Every change writes the desired state, an audit entry and an outbox entry in the caller's
transaction (rules.provisioning); nothing reaches a server until the worker applies it.
"""

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    MailAlias,
    Mailbox,
    Product,
    ProductKind,
    db,
)
from provision import mailpass
from rules import audit, passwords, provisioning, serving
from rules.domains import InvalidDomain, canonical
from rules.domains import validate as validate_domain
from rules.provisioning import MAIL, ascii_domain
from rules.serving import InvalidInput

MAILBOX_PASSWORD_MIN = 10


MAX_DESTINATIONS = 20


#: mail limits of products whose plan is unknown (by the product's kind)
DEFAULT_MAIL_LIMITS = {ProductKind.HOSTING: (25, 10240), ProductKind.EMAIL: (50, 25600)}


_LOCAL = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")


def mail_limits(product):
    """(how many mailboxes, their quotas together in MB) the product's plan allows."""
    if product.plan is not None:
        return product.plan.mailboxes, product.plan.mail_quota_mb
    return DEFAULT_MAIL_LIMITS.get(product.kind, (0, 0))


def mailboxes_of(product):
    return db.session.scalars(
        select(Mailbox).where(Mailbox.product_id == product.id).order_by(Mailbox.local)
    ).all()


def aliases_of(product):
    return db.session.scalars(
        select(MailAlias).where(MailAlias.product_id == product.id).order_by(MailAlias.local)
    ).all()


def mailbox_of(product, mailbox_id, *, gone_ok=False):
    return serving.child_row(Mailbox, product, mailbox_id, gone_ok=gone_ok)


def alias_of(product, alias_id, *, gone_ok=False):
    return serving.child_row(MailAlias, product, alias_id, gone_ok=gone_ok)


def quota_used(product, *, without=None):
    query = select(func.coalesce(func.sum(Mailbox.quota_mb), 0)).where(
        Mailbox.product_id == product.id
    )
    if without is not None:
        query = query.where(Mailbox.id != without.id)
    return db.session.scalar(query)


def _local_part(product, text, field="local"):
    """'info' or 'info@example.com' (on the product's domain) -> 'info'."""
    text = (text or "").strip().lower()
    if "@" in text:
        text, _, domain = text.rpartition("@")
        try:
            same = validate_domain(domain) == canonical(product.domain)
        except InvalidDomain:
            same = False
        if not same:
            raise InvalidInput(
                _l(
                    "Addresses here are on %(domain)s; another domain needs its own "
                    "mail product in the panel.",
                    domain=canonical(product.domain),
                ),
                field,
            )
    if not _LOCAL.fullmatch(text) or ".." in text:
        raise InvalidInput(
            _l(
                "Use Latin letters, digits and . _ + - before the @ "
                "(not at the start or the end), up to 64 characters."
            ),
            field,
        )
    return text


def address(product, local):
    return f"{local}@{canonical(product.domain)}" if local else f"@{canonical(product.domain)}"


def _quota(text, product, *, without=None):
    try:
        quota = int(str(text or "").strip())
    except ValueError:
        raise InvalidInput(_l("Enter the quota in whole megabytes."), "quota") from None
    _count, total = mail_limits(product)
    free = total - quota_used(product, without=without)
    if quota < 1:
        raise InvalidInput(_l("Enter the quota in whole megabytes."), "quota")
    if quota > free:
        raise InvalidInput(
            _l(
                "The plan allows %(total)d MB for all mailboxes; %(free)d MB are free.",
                total=total,
                free=max(free, 0),
            ),
            "quota",
        )
    return quota


def _password(product, local, password):
    password = password or ""
    if len(password) < MAILBOX_PASSWORD_MIN:
        raise InvalidInput(_l("Use at least %(n)d characters.", n=MAILBOX_PASSWORD_MIN), "password")
    problem = passwords.password_problem(password, email=address(product, local))
    if problem:
        raise InvalidInput(problem, "password")
    return mailpass.hash_password(password)


def _mail_products(product):
    """The panel's mail products on this domain: their addresses share one mail domain."""
    return serving.same_domain(product, provisioning.MAIL_KINDS)


@dataclass(frozen=True)
class Sibling:
    id: int
    plan_id: int | None
    plan_name: str


def mail_siblings(product):
    """The panel's other mail products on this domain, with how many addresses each holds."""
    ids = [other for other in _mail_products(product) if other != product.id]
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Product.id,
            Product.plan_id,
            Product.plan_name,
            func.count(func.distinct(Mailbox.id)) + func.count(func.distinct(MailAlias.id)),
        )
        .outerjoin(Mailbox, Mailbox.product_id == Product.id)
        .outerjoin(MailAlias, MailAlias.product_id == Product.id)
        .where(Product.id.in_(ids))
        .group_by(Product.id, Product.plan_id, Product.plan_name)
        .order_by(Product.id)
    ).all()
    return [(Sibling(id=row[0], plan_id=row[1], plan_name=row[2]), row[3]) for row in rows]


def _local_exists(product, local):
    ids = _mail_products(product)
    return bool(
        db.session.scalar(
            select(func.count(Mailbox.id)).where(
                Mailbox.product_id.in_(ids), Mailbox.local == local
            )
        )
        or db.session.scalar(
            select(func.count(MailAlias.id)).where(
                MailAlias.product_id.in_(ids), MailAlias.local == local
            )
        )
    )


def _local_taken(product, local):
    if _local_exists(product, local):
        raise InvalidInput(
            _l("%(address)s is already a mailbox or an alias.", address=address(product, local)),
            "local",
        )


def _mail_change(product, code, actor, **details):
    audit.record(code, actor=actor, panel=product.panel, **details)
    provisioning.enqueue(product, MAIL, code, **details)


def add_mailbox(product, *, local, password, quota, actor):
    serving.require_active(product, provisioning.MAIL_KINDS)
    local = _local_part(product, local)
    _local_taken(product, local)
    count, _total = mail_limits(product)
    if len(mailboxes_of(product)) >= count:
        raise InvalidInput(_l("The plan allows %(n)d mailboxes; all are in use.", n=count))
    mailbox = Mailbox(
        product_id=product.id,
        local=local,
        quota_mb=_quota(quota, product),
        password_hash=_password(product, local, password),
    )
    db.session.add(mailbox)
    _mail_change(product, "mailbox.add", actor, address=address(product, local))
    db.session.flush()
    return mailbox


def update_mailbox(product, mailbox, *, quota, password, actor):
    """Change the quota, and the password when one is given."""
    serving.require_active(product, provisioning.MAIL_KINDS)
    quota = _quota(quota, product, without=mailbox)
    new_hash = _password(product, mailbox.local, password) if password else None
    if quota == mailbox.quota_mb and new_hash is None:
        return False
    mailbox.quota_mb = quota
    if new_hash:
        mailbox.password_hash = new_hash
    _mail_change(
        product,
        "mailbox.update",
        actor,
        address=address(product, mailbox.local),
        quota_mb=quota,
        password_changed=bool(new_hash),
    )
    return True


def delete_mailbox(product, mailbox, *, actor):
    serving.require_active(product, provisioning.MAIL_KINDS)
    db.session.delete(mailbox)
    _mail_change(product, "mailbox.delete", actor, address=address(product, mailbox.local))


def _destinations(product, text, local):
    items = [item for item in re.split(r"[\s,;]+", (text or "").strip()) if item]
    if not items:
        raise InvalidInput(_l("Enter where the mail goes: one or more addresses."), "destinations")
    if len(items) > MAX_DESTINATIONS:
        raise InvalidInput(
            _l("An alias sends mail to at most %(n)d addresses.", n=MAX_DESTINATIONS),
            "destinations",
        )
    result = []
    for item in items:
        try:
            email = validate_email(item, check_deliverability=False)
        except EmailNotValidError:
            raise InvalidInput(
                _l("“%(address)s” is not a valid email address.", address=item[:80]),
                "destinations",
            ) from None
        normal = f"{email.local_part.lower()}@{email.ascii_domain.lower()}"
        own_domain = email.ascii_domain.lower() == ascii_domain(product.domain)
        if own_domain and email.local_part.lower() == local:
            raise InvalidInput(_l("An alias cannot send mail to itself."), "destinations")
        if own_domain and not _local_exists(product, email.local_part.lower()):
            raise InvalidInput(
                _l(
                    "%(address)s is neither a mailbox nor an alias here: create it first.",
                    address=address(product, email.local_part.lower()),
                ),
                "destinations",
            )
        if normal not in result:
            result.append(normal)
    return result


def add_alias(product, *, local, destinations, actor):
    serving.require_active(product, provisioning.MAIL_KINDS)
    local = _local_part(product, local)
    _local_taken(product, local)
    alias = MailAlias(
        product_id=product.id, local=local, destinations=_destinations(product, destinations, local)
    )
    db.session.add(alias)
    _mail_change(
        product, "alias.add", actor, address=address(product, local), to=alias.destinations
    )
    db.session.flush()
    return alias


def delete_alias(product, alias, *, actor):
    serving.require_active(product, provisioning.MAIL_KINDS)
    db.session.delete(alias)
    _mail_change(product, "alias.delete", actor, address=address(product, alias.local))


def catch_all_of(product):
    return next((a for a in aliases_of(product) if a.local == ""), None)


def set_catch_all(product, destination, *, actor):
    """Send mail for unknown addresses to ``destination``; empty: refuse it again."""
    serving.require_active(product, provisioning.MAIL_KINDS)
    current = catch_all_of(product)
    if not (destination or "").strip():
        if current is None:
            return False
        db.session.delete(current)
        _mail_change(product, "alias.catch_all", actor, address=address(product, ""), to="")
        return True
    targets = _destinations(product, destination, "")
    if current is not None and current.destinations == targets:
        return False
    if current is None:
        current = MailAlias(product_id=product.id, local="", destinations=targets)
        db.session.add(current)
    current.destinations = targets
    _mail_change(product, "alias.catch_all", actor, address=address(product, ""), to=targets)
    return True
