"""Moving a product with its whole domain bundle to another panel (DESIGN.md 3.3) [R6, R7].

A move is previewed (``preview``), then confirmed with the preview's fingerprint: if the
bundle changed in between, the move is refused and the new preview shown. The move itself is
one transaction that locks the source panel first, so two moves of one bundle cannot both
happen. Products, the lines of their unpaid invoices and the move's record change together;
grants do not travel and commission attribution stays (DESIGN.md 3.4).

A move into a new panel for a client waits for the client to accept the ownership
invitation; until then the bundle is reserved and the mover can call the move off.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from models import (
    ClientLink,
    Grant,
    Group,
    Invitation,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Move,
    MoveItem,
    MoveStatus,
    Panel,
    Product,
    db,
    utcnow,
)
from rules import access, audit, invitations, panels, partners, rows
from rules.domains import registrable
from rules.errors import DomainError, NotFound, PermissionDenied
from rules.users import normalize_email

#: how long the mover can take a move back [issue 7]
UNDO_WINDOW = timedelta(days=7)


class SamePanel(DomainError):
    def default_message(self):
        return _l("The products are in this panel already. Choose another one.")


class StaleBundle(DomainError):
    """The bundle is not what the mover saw; ``preview`` is the bundle now (or None)."""

    status = 409

    def __init__(self, preview=None, message=None):
        self.preview = preview
        super().__init__(message)

    def default_message(self):
        return _l(
            "What would move has changed since you looked (a product was added, moved or "
            "removed). Nothing was moved: check the list below and confirm again."
        )


class BundleReserved(DomainError):
    status = 409

    def default_message(self):
        return _l(
            "These products are waiting for a client to accept a move. Cancel that move first."
        )


class PanelAwaitingClient(DomainError):
    status = 409

    def default_message(self):
        return _l(
            "This panel waits for its client to accept a move; it can take more products "
            "once the client owns it."
        )


class UndoClosed(DomainError):
    status = 409


class NotPending(DomainError):
    status = 409

    def default_message(self):
        return _l("This move is no longer waiting, so it cannot be cancelled.")


class TargetNotYours(PermissionDenied):
    def default_message(self):
        return _l("Products can go only to your own panels or to your clients' panels.")


class ClientPanelsNeedPartner(PermissionDenied):
    def default_message(self):
        return _l("Only an approved partner can make panels for clients.")


@dataclass
class Preview:
    """What a move of the anchor's bundle would carry, as shown in the dialog."""

    source: Panel
    anchor: Product
    products: list
    #: (invoice, whether it also covers products that stay behind)
    invoices: list

    @property
    def domain(self):
        return registrable(self.anchor.domain) if self.anchor.domain else None

    @property
    def fingerprint(self):
        return fingerprint(self.products, self.invoices)


def fingerprint(products, invoices=()):
    """What the dialog showed, as a short string the confirm form sends back: a hash of the
    product ids and of the unpaid invoices that would follow them."""
    seen = [sorted(p.id for p in products), sorted((i.id, shared) for i, shared in invoices)]
    return hashlib.sha256(repr(seen).encode()).hexdigest()[:32]


def bundle_of(product):
    """Every product of the panel on the product's registrable domain, subdomains included.

    A product without a domain is a bundle of its own. Rows are read fresh, so a caller
    holding the panel's lock decides on what the last committed move left.
    """
    if not product.domain:
        return [product]
    key = registrable(product.domain)
    candidates = db.session.scalars(
        select(Product)
        .where(Product.panel_id == product.panel_id, Product.domain.is_not(None))
        .order_by(Product.domain, Product.id)
        .execution_options(populate_existing=True)
    )
    return [p for p in candidates if registrable(p.domain) == key]


def unpaid_invoices(products):
    """The unpaid invoices with lines for these products, each with whether it covers others."""
    ids = {p.id for p in products}
    invoices = db.session.scalars(
        select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(
            Invoice.status == InvoiceStatus.UNPAID,
            Invoice.id.in_(select(InvoiceLine.invoice_id).where(InvoiceLine.product_id.in_(ids))),
        )
        .order_by(Invoice.number)
    ).all()
    return [(i, any(line.product_id not in ids for line in i.lines)) for i in invoices]


def source_and_anchor(user, number, product_id):
    """The panel the user owns (404/403 otherwise) and the product in it (404 if elsewhere;
    409 when a move took it out of this panel, e.g. a form sent twice)."""
    source = access.panel_for(user, number, access.OWNER).panel
    anchor = db.session.get(Product, product_id)
    if anchor is not None and anchor.panel_id != source.id and _moved_out(source, anchor):
        raise StaleBundle(None, ALREADY_MOVED)
    if anchor is None or anchor.panel_id != source.id:
        raise NotFound()
    return source, anchor


ALREADY_MOVED = _l("These products have already been moved out of this panel. Nothing changed.")


def _moved_out(source, product):
    return db.session.scalar(
        select(MoveItem.id)
        .join(Move, Move.id == MoveItem.move_id)
        .where(MoveItem.product_id == product.id, Move.source_panel_id == source.id)
        .limit(1)
    )


def preview(source, anchor):
    products = bundle_of(anchor)
    return Preview(source, anchor, products, unpaid_invoices(products))


def _approved_partner(user):
    partner = partners.partner_of(user)
    return partner if partner is not None and partner.is_approved else None


def _awaiting_client():
    """Panels a waiting move is meant for: the client accepts what it was shown, no more."""
    return (
        select(Move.target_panel_id)
        .join(Invitation, Invitation.id == Move.invitation_id)
        .where(Move.status == MoveStatus.PENDING, invitations.is_waiting())
    )


def targets(user, source):
    """Panels the bundle may go to: the user's own, and client panels where it holds ``web``."""
    own = db.session.scalars(
        select(Panel)
        .where(
            Panel.owner_id == user.id,
            Panel.id != source.id,
            Panel.id.not_in(_awaiting_client()),
        )
        .order_by(Panel.name)
    ).all()
    partner = _approved_partner(user)
    if partner is None:
        return own
    clients = db.session.execute(
        select(Panel, Grant.groups)
        .join(ClientLink, ClientLink.panel_id == Panel.id)
        .join(Grant, and_(Grant.panel_id == Panel.id, Grant.user_id == user.id))
        .where(ClientLink.partner_id == partner.id, Panel.id != source.id)
        .order_by(Panel.name)
    ).all()
    return own + [panel for panel, groups in clients if Group.WEB in groups]


def check_target(user, source, number):
    """The target panel by number, if the user may move products into it."""
    target = db.session.scalar(select(Panel).where(Panel.number == number))
    if target is not None and target.id == source.id:
        raise SamePanel()
    member = access.require(user, target)  # 404 when the user cannot see it
    if db.session.scalar(
        select(Panel.id).where(Panel.id.in_(_awaiting_client()), Panel.id == target.id)
    ):
        raise PanelAwaitingClient()
    if member.is_owner:
        return target
    partner = _approved_partner(user)
    link = panels.link_of(target)
    if partner is None or link is None or link.partner_id != partner.id:
        raise TargetNotYours()
    access.require(user, target, Group.WEB)
    return target


def reserving_move(source, anchor):
    """A move still waiting for a client that holds this bundle, or None."""
    key = registrable(anchor.domain) if anchor.domain else None
    same_bundle = Move.domain == key if key else Move.anchor_product_id == anchor.id
    return db.session.scalar(
        select(Move)
        .join(Invitation, Invitation.id == Move.invitation_id)
        .where(
            Move.source_panel_id == source.id,
            Move.status == MoveStatus.PENDING,
            same_bundle,
            invitations.is_waiting(),
        )
    )


def _lock_bundle(source, anchor, expected):
    """Lock the source panel, then check the bundle is still the one the mover confirmed."""
    rows.lock(source)
    db.session.refresh(anchor)
    if anchor.panel_id != source.id:
        raise StaleBundle(None, ALREADY_MOVED)
    now = preview(source, anchor)
    if now.fingerprint != expected:
        raise StaleBundle(now)
    if reserving_move(source, anchor) is not None:
        raise BundleReserved()
    return now.products


def _describe(products):
    return [f"{p.plan_name} · {p.domain}" if p.domain else p.plan_name for p in products]


def _carry(products, source, target, *, actor, action, move):
    """Put the products and their unpaid invoice lines in ``target``; audit both panels."""
    ids = [p.id for p in products]
    for product in products:
        product.panel_id = target.id
    lines = db.session.scalars(
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.product_id.in_(ids),
            InvoiceLine.panel_id == source.id,
            Invoice.status == InvoiceStatus.UNPAID,
        )
    ).all()
    for line in lines:
        line.panel_id = target.id
    db.session.flush()
    details = {
        "move": move.id,
        "moved_by": move.actor.email,
        "from_panel": source.number,
        "to_panel": target.number,
        "domain": move.domain,
        "products": _describe(products),
        "invoices": sorted({line.invoice.number for line in lines}),
    }
    audit.record(action, actor=actor, panel=source, **details)
    audit.record(action, actor=actor, panel=target, **details)


def _finish(move, products, *, actor):
    """Carry the bundle into the move's target and remember each product's new revision."""
    _carry(products, move.source, move.target, actor=actor, action="product.move", move=move)
    move.status = MoveStatus.DONE
    move.moved_at = utcnow()
    for product in products:
        db.session.add(MoveItem(move_id=move.id, product_id=product.id, revision=product.revision))
    db.session.flush()
    return move


def _new_move(user, source, anchor, target, status, invitation=None):
    move = Move(
        source_panel_id=source.id,
        target_panel_id=target.id,
        anchor_product_id=anchor.id,
        domain=registrable(anchor.domain) if anchor.domain else None,
        actor_id=user.id,
        status=status,
        invitation_id=getattr(invitation, "id", None),
    )
    db.session.add(move)
    db.session.flush()
    return move


def move_to(user, source, anchor, expected, target):
    """Move the anchor's bundle into ``target`` (checked with ``check_target``) now."""
    products = _lock_bundle(source, anchor, expected)
    move = _new_move(user, source, anchor, target, MoveStatus.DONE)
    return _finish(move, products, actor=user)


def move_to_new_panel(user, source, anchor, expected, *, name):
    """Move the anchor's bundle into a new panel the user owns."""
    products = _lock_bundle(source, anchor, expected)
    target = panels.create_panel(name=name, owner=user, actor=user)
    move = _new_move(user, source, anchor, target, MoveStatus.DONE)
    return _finish(move, products, actor=user)


def move_to_client(user, source, anchor, expected, *, name, client_email, partner_groups):
    """Make a client panel the client (by email) is invited to own; the bundle moves into it
    when the client accepts. Returns the pending move and the invitation's token."""
    partner = _approved_partner(user)
    if partner is None:
        raise ClientPanelsNeedPartner()
    _lock_bundle(source, anchor, expected)
    target, (invitation, token) = partners.create_client_panel(
        partner,
        name=name,
        client_email=normalize_email(client_email),
        client_owns=True,
        groups=partner_groups,
        actor=user,
    )
    move = _new_move(user, source, anchor, target, MoveStatus.PENDING, invitation)
    audit.record(
        "move.request",
        actor=user,
        panel=source,
        move=move.id,
        to_panel=target.number,
        domain=move.domain,
        client=invitation.email,
    )
    return move, token


def is_waiting(move):
    """Whether a pending move still waits for its client (the invitation is open and valid)."""
    invitation = move.invitation
    return (
        move.status == MoveStatus.PENDING
        and invitation is not None
        and invitation.is_open
        and invitation.expires_at > utcnow()
    )


def pending_for(invitation):
    """The move waiting for this ownership invitation, or None."""
    return db.session.scalar(
        select(Move).where(Move.invitation_id == invitation.id, Move.status == MoveStatus.PENDING)
    )


def done_for(invitation):
    """The move this invitation's acceptance carried out, or None."""
    return db.session.scalar(
        select(Move).where(Move.invitation_id == invitation.id, Move.status == MoveStatus.DONE)
    )


def carry_out_pending(invitation, *, actor):
    """The client accepted the panel: move the bundle in now (in the acceptance's transaction).

    The bundle is taken as it is now: products the partner added on the domain meanwhile go
    too. Returns the move, or None when none was waiting.
    """
    move = pending_for(invitation)
    if move is None:
        return None
    rows.lock(move.source)
    anchor = db.session.get(Product, move.anchor_product_id, populate_existing=True)
    if move.source.owner_id != move.actor_id or anchor.panel_id != move.source_panel_id:
        # The source changed hands meanwhile: its new owner did not agree to give anything.
        _end(move, MoveStatus.CANCELLED, actor=actor, reason="source owner changed")
        return None
    return _finish(move, bundle_of(anchor), actor=actor)


def _end(move, status, *, actor, reason):
    move.status, move.ended_at = status, utcnow()
    audit.record(
        "move.cancel",
        actor=actor,
        panel=move.source,
        move=move.id,
        domain=move.domain,
        reason=reason,
    )


def end_pending(invitation, *, actor, declined):
    """The invitation a move waits for was declined or revoked: the move ends with it."""
    move = pending_for(invitation)
    if move is not None:
        status = MoveStatus.DECLINED if declined else MoveStatus.CANCELLED
        _end(
            move,
            status,
            actor=actor,
            reason="invitation declined" if declined else "invitation revoked",
        )


def cancel(move, *, actor):
    """Call off a move still waiting for its client; the invitation is revoked."""
    if move.status != MoveStatus.PENDING:
        raise NotPending()
    rows.lock(move.invitation)  # first, as accepting does: the two never wait for each other
    rows.lock(move)
    if move.status != MoveStatus.PENDING:
        raise NotPending()
    _end(move, MoveStatus.CANCELLED, actor=actor, reason="cancelled by the mover")
    if move.invitation.is_open:
        invitations.revoke(move.invitation, actor=actor)


def undo_refusal(move, *, user=None, now=None):
    """Why the move cannot be undone now (a message), or None when it can.

    Within the window, every moved product must still be in the target panel and unchanged
    since the move: a renewal, a payment, a setting or another move changes its revision.
    A client who accepted a panel with the products has them for good, and ``user`` must
    still hold Web services in a target panel it does not own.
    """
    if move.status != MoveStatus.DONE:
        return _l("Only a completed move can be undone.")
    if move.invitation_id is not None:
        return _l(
            "The client accepted the panel with these products: only the client can move them."
        )
    if user is not None and move.target.owner_id != user.id:
        member = access.membership(user, move.target)
        if member is None or not member.has(Group.WEB):
            return _l("You no longer hold Web services in the panel they went to.")
    if (now or utcnow()) - move.moved_at > UNDO_WINDOW:
        return _l("A move can be undone within 7 days only.")
    for item in move.items:
        if item.product.panel_id != move.target_panel_id:
            return _l("A moved product has left the panel it was moved to.")
        if item.product.revision != item.revision:
            return _l("A moved product has been changed since the move.")
    ids = [item.product_id for item in move.items]
    if db.session.scalar(
        select(Invoice.id)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.product_id.in_(ids), Invoice.issued_at > move.moved_at)
        .limit(1)
    ):
        return _l("A moved product has been ordered or renewed since the move.")
    if move.domain and any(
        p.created_at > move.moved_at and registrable(p.domain) == move.domain
        for p in db.session.scalars(
            select(Product).where(
                Product.panel_id == move.target_panel_id, Product.domain.is_not(None)
            )
        )
    ):
        return _l("A product on this domain has been added to the panel since the move.")
    return None


def undo(move, *, actor):
    """Move the products back where they came from, if nothing changed them since."""
    # Both panels, in id order: a move out of either waits, and two undos cannot deadlock.
    for panel in sorted((move.source, move.target), key=lambda p: p.id):
        rows.lock(panel)
    rows.lock(move)
    products = db.session.scalars(
        select(Product)
        .where(Product.id.in_([item.product_id for item in move.items]))
        .order_by(Product.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    refusal = undo_refusal(move, user=actor)
    if refusal is not None:
        raise UndoClosed(refusal)
    _carry(products, move.target, move.source, actor=actor, action="move.undo", move=move)
    move.status, move.ended_at = MoveStatus.UNDONE, utcnow()


def recent(panel, *, days=30, limit=20):
    """Moves out of and into the panel in the last ``days``, newest first."""
    return db.session.scalars(
        select(Move)
        .options(
            selectinload(Move.items).selectinload(MoveItem.product),
            selectinload(Move.source),
            selectinload(Move.target),
            selectinload(Move.invitation),
        )
        .where(
            or_(Move.source_panel_id == panel.id, Move.target_panel_id == panel.id),
            Move.created_at >= utcnow() - timedelta(days=days),
        )
        .order_by(Move.id.desc())
        .limit(limit)
    ).all()


def of_panel(panel, move_id):
    """A move out of the panel by id, or NotFound."""
    move = db.session.get(Move, move_id)
    if move is None or move.source_panel_id != panel.id:
        raise NotFound()
    return move
