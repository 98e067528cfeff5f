"""Moving a bundle (DESIGN.md 3.3): membership, the move, its atomicity, concurrency, the
pending move to a client's new panel, undo, and who may touch the products afterwards."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import (
    ALL_GROUPS,
    AuditEntry,
    Group,
    InvoiceLine,
    InvoiceStatus,
    Move,
    MoveStatus,
    Product,
    ProductKind,
    db,
    utcnow,
)
from rules import access, billing, invitation_answers, invitations, moves, panels
from rules.errors import NotFound, PermissionDenied
from tests import factories
from tests.concurrency import run_concurrently


def domains(products):
    return sorted(p.domain or "" for p in products)


@pytest.mark.parametrize(
    ("anchor", "other", "together"),
    [
        ("example.com", "blog.example.com", True),
        ("blog.example.com", "example.com", True),
        ("a.b.example.com", "c.example.com", True),
        ("example.com", "EXAMPLE.COM.", True),
        ("www.example.com.", "Example.Com", True),
        ("shop.example.co.uk", "example.co.uk", True),
        ("shop.example.co.uk", "other.co.uk", False),
        ("example.co.uk", "example.uk", False),
        ("пример.бг", "xn--e1afmkfd.xn--90ae", True),
        ("blog.пример.бг", "пример.бг", True),
        ("ПРИМЕР.БГ", "поща.пример.бг", True),
        ("пример.бг", "пример.com", False),
        ("example.com", "example.com.evil.net", False),
        ("example.com", "myexample.com", False),
        ("example.com", "example.net", False),
        ("example.com", "exampleXcom", False),
        ("example.com", None, False),
    ],
)
def test_bundle_membership(app, anchor, other, together):
    panel = factories.create_panel(products=[("hosting", anchor), ("email", other)])
    first = db.session.scalar(select(Product).where(Product.domain == anchor))
    bundle = moves.bundle_of(first)
    assert (len(bundle) == 2) is together
    assert first in bundle
    assert all(p.panel_id == panel.id for p in bundle)


def test_a_product_without_a_domain_moves_alone(app):
    factories.create_panel(products=[("other", None), ("other", None), ("hosting", "x.com")])
    lone = db.session.scalars(select(Product).where(Product.domain.is_(None))).first()
    assert moves.bundle_of(lone) == [lone]


def test_the_bundle_stays_inside_its_panel(app):
    owner = factories.create_user()
    mine = factories.create_panel(owner, products=[("hosting", "example.com")])
    factories.create_panel(owner, products=[("domain", "example.com")])
    anchor = mine.products[0]
    assert moves.bundle_of(anchor) == [anchor]


@pytest.fixture
def site(app):
    """A partner's own panel with a site on example.com: hosting, its domain, mail, a blog,
    an unrelated product, and an unpaid invoice for a new product on the same domain."""
    partner = factories.create_partner()
    source = factories.create_panel(
        partner.user,
        name="Agency",
        products=[
            ("hosting", "example.com"),
            ("domain", "example.com"),
            ("email", "example.com"),
            ("hosting", "blog.example.com"),
            ("hosting", "other.org"),
        ],
    )
    plan = factories.create_plan("web-start")
    billing.add_new(
        partner.user,
        plan_code=plan.code,
        months=12,
        domain="shop.example.com",
        panel_number=source.number,
    )
    billing.add_new(
        partner.user,
        plan_code=plan.code,
        months=12,
        domain="stays.org",
        panel_number=source.number,
    )
    invoice = billing.checkout(partner.user)
    db.session.commit()
    anchor = next(p for p in source.products if p.domain == "example.com")
    return partner, source, anchor, invoice


def wait_for_client(partner, source, anchor, *, name="Site"):
    """Start a move of the anchor's bundle into a new panel for c@example.com, committed."""
    expected = moves.preview(source, anchor).fingerprint
    move_and_token = moves.move_to_client(
        partner.user,
        source,
        anchor,
        expected,
        name=name,
        client_email="c@example.com",
        partner_groups=Group.WEB,
    )
    db.session.commit()
    return move_and_token


def panel_of(product_id):
    return db.session.get(Product, product_id, populate_existing=True).panel_id


def test_preview_shows_the_bundle_and_the_invoices_that_follow(site):
    _partner, source, anchor, invoice = site
    preview = moves.preview(source, anchor)
    assert domains(preview.products) == [
        "blog.example.com",
        "example.com",
        "example.com",
        "example.com",
        "shop.example.com",
    ]
    assert preview.invoices == [(invoice, True)]  # it also covers stays.org
    assert preview.domain == "example.com"


def test_a_move_carries_products_and_unpaid_lines_and_audits_both_panels(site):
    partner, source, anchor, invoice = site
    target = factories.create_panel(partner.user, name="Client site")
    preview = moves.preview(source, anchor)
    moved_ids = {p.id for p in preview.products}
    move = moves.move_to(partner.user, source, anchor, preview.fingerprint, target)
    db.session.commit()

    assert move.status == MoveStatus.DONE
    assert {item.product_id for item in move.items} == moved_ids
    for product in db.session.scalars(select(Product)):
        want = target.id if product.id in moved_ids else source.id
        assert product.panel_id == want, product.domain
    lines = {line.description.split(" — ")[-1]: line.panel_id for line in invoice.lines}
    assert lines == {"shop.example.com": target.id, "stays.org": source.id}
    for panel in (source, target):
        entry = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.panel_id == panel.id, AuditEntry.action == "product.move"
            )
        )
        assert entry.actor_id == partner.user.id
        assert entry.details["from_panel"] == source.number
        assert entry.details["to_panel"] == target.number
        assert len(entry.details["products"]) == 5
        assert entry.details["invoices"] == [invoice.number]


def test_paid_invoices_stay_with_the_panel_they_were_paid_in(site):
    partner, source, anchor, invoice = site
    factories.fund(partner, 1_000_000)  # the first deposit pays the waiting orders
    assert invoice.status == InvoiceStatus.PAID
    target = factories.create_panel(partner.user)
    moves.move_to(partner.user, source, anchor, moves.preview(source, anchor).fingerprint, target)
    db.session.commit()
    assert {line.panel_id for line in invoice.lines} == {source.id}


def test_attribution_stays_when_products_move(app):
    partner = factories.create_partner()
    client_panel = factories.create_panel(products=[("hosting", "client.bg")])
    factories.link_client(partner, client_panel, ALL_GROUPS)
    product = client_panel.products[0]
    product.attributed_partner_id = partner.id
    other = factories.create_panel(client_panel.owner)
    db.session.commit()
    owner = client_panel.owner
    moves.move_to(owner, client_panel, product, moves.fingerprint([product]), other)
    db.session.commit()
    assert db.session.get(Product, product.id).attributed_partner_id == partner.id


def test_grants_do_not_travel(site):
    partner, source, anchor, _invoice = site
    source_member, target_member = factories.create_user(), factories.create_user()
    factories.grant(source, source_member, ALL_GROUPS)
    target = factories.create_panel(partner.user)
    factories.grant(target, target_member, Group.WEB)
    moves.move_to(partner.user, source, anchor, moves.preview(source, anchor).fingerprint, target)
    db.session.commit()
    product = db.session.get(Product, anchor.id)
    assert access.membership(source_member, product.panel) is None
    assert access.membership(target_member, product.panel).has(Group.WEB)


def test_a_stale_preview_is_refused_with_the_new_one(site):
    partner, source, anchor, _invoice = site
    seen = moves.preview(source, anchor).fingerprint
    # A product on the domain arrives after the preview.
    db.session.add(
        Product(
            panel_id=source.id, plan_name="SSL", kind=ProductKind.OTHER, domain="www.example.com"
        )
    )
    db.session.commit()
    target = factories.create_panel(partner.user)
    with pytest.raises(moves.StaleBundle) as refused:
        moves.move_to(partner.user, source, anchor, seen, target)
    db.session.rollback()
    assert "www.example.com" in domains(refused.value.preview.products)
    assert panel_of(anchor.id) == source.id
    assert db.session.scalar(select(func.count(Move.id))) == 0


def test_a_failure_in_the_middle_leaves_every_product_where_it_was(site, monkeypatch):
    partner, source, anchor, _invoice = site
    target = factories.create_panel(partner.user)
    preview = moves.preview(source, anchor)
    before = {p.id: p.panel_id for p in db.session.scalars(select(Product))}
    lines_before = {line.id: line.panel_id for line in db.session.scalars(select(InvoiceLine))}

    def broken(action, **details):  # the products and lines are already flushed by now
        raise RuntimeError("disk full")

    monkeypatch.setattr(moves.audit, "record", broken)
    with pytest.raises(RuntimeError):
        moves.move_to(partner.user, source, anchor, preview.fingerprint, target)
    db.session.rollback()
    monkeypatch.undo()
    assert {p.id: p.panel_id for p in db.session.scalars(select(Product))} == before
    assert {
        line.id: line.panel_id for line in db.session.scalars(select(InvoiceLine))
    } == lines_before
    assert db.session.scalar(select(func.count(Move.id))) == 0


def test_two_moves_of_one_bundle_at_once_one_wins(app, site):
    partner, source, anchor, _invoice = site
    targets = [factories.create_panel(partner.user, name=f"T{i}") for i in range(2)]
    expected = moves.preview(source, anchor).fingerprint
    source_id, anchor_id, user_id = source.id, anchor.id, partner.user.id
    target_ids = [t.id for t in targets]
    db.session.commit()  # end this session's read, so it sees what the threads commit

    def work(i):
        from models import Panel, User

        user = db.session.get(User, user_id)
        return moves.move_to(
            user,
            db.session.get(Panel, source_id),
            db.session.get(Product, anchor_id),
            expected,
            db.session.get(Panel, target_ids[i]),
        ).target_panel_id

    results = run_concurrently(app, 2, work)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, moves.StaleBundle)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert db.session.scalar(select(func.count(Move.id))) == 1
    moved = db.session.scalars(
        select(Product.panel_id).where(Product.domain.like("%example.com"))
    ).all()
    assert set(moved) == {winners[0]}


def test_targets_and_their_checks(app):
    partner = factories.create_partner()
    source = factories.create_panel(partner.user, products=[("hosting", "a.com")])
    own = factories.create_panel(partner.user, name="Own")
    with_web = factories.create_panel(name="Client with web")
    factories.link_client(partner, with_web, Group.WEB | Group.BILLING)
    without_web = factories.create_panel(name="Client without web")
    factories.link_client(partner, without_web, Group.DOMAINS | Group.BILLING)
    friend = factories.create_panel(name="A friend's panel")  # web, but not a client panel
    factories.grant(friend, partner.user, ALL_GROUPS)
    hidden = factories.create_panel(name="Someone else's")

    assert {p.name for p in moves.targets(partner.user, source)} == {"Own", "Client with web"}
    assert moves.check_target(partner.user, source, own.number) == own
    assert moves.check_target(partner.user, source, with_web.number) == with_web
    with pytest.raises(PermissionDenied):
        moves.check_target(partner.user, source, without_web.number)
    with pytest.raises(PermissionDenied):
        moves.check_target(partner.user, source, friend.number)
    with pytest.raises(NotFound):
        moves.check_target(partner.user, source, hidden.number)
    with pytest.raises(NotFound):
        moves.check_target(partner.user, source, 99_999_999)
    with pytest.raises(moves.SamePanel):
        moves.check_target(partner.user, source, source.number)


def test_only_the_owner_moves_and_only_its_own_products(app):
    owner = factories.create_user()
    panel = factories.create_panel(owner, products=[("hosting", "a.com")])
    elsewhere = factories.create_panel(products=[("hosting", "b.com")])
    member = factories.create_user()
    factories.grant(panel, member, ALL_GROUPS)
    with pytest.raises(PermissionDenied):
        moves.source_and_anchor(member, panel.number, panel.products[0].id)
    with pytest.raises(NotFound):
        moves.source_and_anchor(owner, panel.number, elsewhere.products[0].id)
    with pytest.raises(NotFound):
        moves.source_and_anchor(factories.create_user(), panel.number, panel.products[0].id)


def test_a_client_owner_moves_between_its_own_panels_but_makes_no_client_panels(app):
    owner = factories.create_user()
    panel = factories.create_panel(owner, products=[("hosting", "a.com")])
    other = factories.create_panel(owner, name="Second")
    anchor = panel.products[0]
    assert moves.targets(owner, panel) == [other]
    moves.move_to(owner, panel, anchor, moves.fingerprint([anchor]), other)
    db.session.commit()
    assert panel_of(anchor.id) == other.id
    with pytest.raises(PermissionDenied):
        moves.move_to_client(
            owner,
            other,
            anchor,
            moves.fingerprint([anchor]),
            name="X",
            client_email="c@example.com",
            partner_groups=Group.WEB,
        )
    move = moves.move_to_new_panel(
        owner, other, anchor, moves.fingerprint([anchor]), name="Brand new"
    )
    db.session.commit()
    assert move.target.owner_id == owner.id and move.target.name == "Brand new"


def test_a_move_to_a_client_waits_for_acceptance_and_then_happens(site):
    partner, source, anchor, invoice = site
    expected = moves.preview(source, anchor).fingerprint
    move, token = moves.move_to_client(
        partner.user,
        source,
        anchor,
        expected,
        name="Bakery site",
        client_email="Baker@Example.com",
        partner_groups=Group.WEB | Group.BILLING,
    )
    db.session.commit()
    assert move.status == MoveStatus.PENDING and move.invitation.email == "baker@example.com"
    assert panel_of(anchor.id) == source.id  # nothing moved yet
    target = move.target
    assert target.owner_id == partner.user.id and target.products == []

    # While it waits, the bundle is reserved.
    with pytest.raises(moves.BundleReserved):
        moves.move_to(partner.user, source, anchor, expected, factories.create_panel(partner.user))
    db.session.rollback()

    client = factories.create_user("baker@example.com")
    invitation_answers.accept(token, client, partner_groups=Group.WEB | Group.BILLING)
    db.session.commit()
    move = db.session.get(Move, move.id)
    assert move.status == MoveStatus.DONE and len(move.items) == 5
    assert target.owner_id == client.id
    assert panel_of(anchor.id) == target.id
    assert access.membership(partner.user, target).groups == Group.WEB | Group.BILLING
    lines = {line.description.split(" — ")[-1]: line.panel_id for line in invoice.lines}
    assert lines["shop.example.com"] == target.id


def test_a_pending_move_can_be_cancelled_and_then_the_bundle_is_free(site):
    partner, source, anchor, _invoice = site
    move, token = wait_for_client(partner, source, anchor)
    moves.cancel(move, actor=partner.user)
    db.session.commit()
    assert move.status == MoveStatus.CANCELLED and not move.invitation.is_open
    with pytest.raises(invitations.InvitationClosed):
        invitation_answers.accept(token, factories.create_user("c@example.com"))
    db.session.rollback()
    with pytest.raises(moves.NotPending):
        moves.cancel(move, actor=partner.user)
    db.session.rollback()
    target = factories.create_panel(partner.user)
    moves.move_to(partner.user, source, anchor, moves.preview(source, anchor).fingerprint, target)
    db.session.commit()
    assert panel_of(anchor.id) == target.id


def test_a_pending_move_whose_invitation_expired_reserves_nothing(site):
    partner, source, anchor, _invoice = site
    move, _token = wait_for_client(partner, source, anchor)
    with time_machine.travel(utcnow() + timedelta(days=8)):
        assert not moves.is_waiting(move)
        target = factories.create_panel(partner.user)
        moves.move_to(
            partner.user, source, anchor, moves.preview(source, anchor).fingerprint, target
        )
        db.session.commit()
    assert panel_of(anchor.id) == target.id


def test_undo_moves_everything_back(site):
    partner, source, anchor, invoice = site
    target = factories.create_panel(partner.user)
    move = moves.move_to(
        partner.user, source, anchor, moves.preview(source, anchor).fingerprint, target
    )
    db.session.commit()
    assert moves.undo_refusal(move) is None
    moves.undo(move, actor=partner.user)
    db.session.commit()
    assert move.status == MoveStatus.UNDONE
    assert {p.panel_id for p in db.session.scalars(select(Product))} == {source.id}
    assert {line.panel_id for line in invoice.lines} == {source.id}
    assert (
        "move.undo"
        in db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.panel_id == target.id)
        ).all()
    )
    with pytest.raises(moves.UndoClosed):
        moves.undo(move, actor=partner.user)


def moved_into_a_client_panel():
    """A partner's product on a.com, moved into a client panel where it holds every group."""
    partner = factories.create_partner()
    source = factories.create_panel(partner.user, products=[("hosting", "a.com")])
    client = factories.create_panel(name="Client")
    factories.link_client(partner, client, ALL_GROUPS)
    anchor = source.products[0]
    move = moves.move_to(partner.user, source, anchor, moves.fingerprint([anchor]), client)
    db.session.commit()
    return partner, client, anchor, move


def test_undo_is_refused_once_a_moved_product_changed(app):
    partner, client, anchor, move = moved_into_a_client_panel()
    product = db.session.get(Product, anchor.id)
    product.auto_renew = True  # the client's owner changes a setting
    db.session.commit()
    assert str(moves.undo_refusal(move)) == "Преместен продукт е променян след преместването."
    with pytest.raises(moves.UndoClosed):
        moves.undo(move, actor=partner.user)
    db.session.rollback()
    assert panel_of(anchor.id) == client.id


def test_undo_is_refused_after_seven_days(app):
    owner = factories.create_user()
    source = factories.create_panel(owner, products=[("hosting", "a.com")])
    target = factories.create_panel(owner)
    anchor = source.products[0]
    move = moves.move_to(owner, source, anchor, moves.fingerprint([anchor]), target)
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(days=6, hours=23)):
        assert moves.undo_refusal(move) is None
    later = time_machine.travel(utcnow() + timedelta(days=7, minutes=1))
    with later, pytest.raises(moves.UndoClosed):
        moves.undo(move, actor=owner)


def test_undo_is_refused_when_a_product_moved_on(app):
    owner = factories.create_user()
    first, second, third = (factories.create_panel(owner) for _ in range(3))
    db.session.add(
        Product(panel_id=first.id, plan_name="Web", kind=ProductKind.HOSTING, domain="a.com")
    )
    db.session.commit()
    anchor = first.products[0]
    move = moves.move_to(owner, first, anchor, moves.fingerprint([anchor]), second)
    db.session.commit()
    moves.move_to(owner, second, anchor, moves.fingerprint([anchor]), third)
    db.session.commit()
    assert str(moves.undo_refusal(move)) == (
        "Преместен продукт вече не е в панела, в който беше преместен."
    )


def test_a_declined_or_revoked_invitation_ends_the_waiting_move(site):
    partner, source, anchor, _invoice = site
    move, token = wait_for_client(partner, source, anchor)
    client = factories.create_user("c@example.com")
    invitation_answers.decline(invitations.find(token), client)
    db.session.commit()
    assert move.status == MoveStatus.DECLINED

    again, _token = wait_for_client(partner, source, anchor, name="Site 2")
    # the partner revokes it from its client page
    invitation_answers.revoke(again.invitation, actor=partner.user)
    db.session.commit()
    assert again.status == MoveStatus.CANCELLED
    assert panel_of(anchor.id) == source.id


def test_a_waiting_move_is_called_off_when_its_source_changes_owner(site):
    partner, source, anchor, _invoice = site
    move, token = wait_for_client(partner, source, anchor)
    heir = factories.create_user()
    factories.grant(source, heir, Group(0))
    panels.transfer_ownership(source, heir, actor=partner.user)
    db.session.commit()
    client = factories.create_user("c@example.com")
    invitation_answers.accept(token, client)
    db.session.commit()
    assert move.status == MoveStatus.CANCELLED
    assert panel_of(anchor.id) == source.id  # the heir gave nothing away


def test_a_panel_waiting_for_its_client_takes_no_other_products(site):
    partner, source, anchor, _invoice = site
    move, _token = wait_for_client(partner, source, anchor)
    assert move.target not in moves.targets(partner.user, source)
    with pytest.raises(moves.PanelAwaitingClient):
        moves.check_target(partner.user, source, move.target.number)


def test_a_preview_is_stale_when_its_invoices_changed(site):
    partner, source, anchor, invoice = site
    seen = moves.preview(source, anchor).fingerprint
    factories.fund(partner, 1_000_000)  # pays the invoice: it no longer follows the products
    assert invoice.status == InvoiceStatus.PAID
    with pytest.raises(moves.StaleBundle):
        moves.move_to(partner.user, source, anchor, seen, factories.create_panel(partner.user))


def test_only_a_real_change_raises_a_products_revision(app):
    panel = factories.create_panel(products=[("hosting", "a.com")])
    product = panel.products[0]
    start = product.revision
    product.auto_renew = product.auto_renew  # the same value: no change
    product.domain = "a.com"
    db.session.commit()
    assert db.session.get(Product, product.id, populate_existing=True).revision == start
    product.auto_renew = not product.auto_renew
    db.session.commit()
    assert product.revision == start + 1


def test_undo_is_refused_after_an_order_or_a_new_product_on_the_domain(app):
    partner = factories.create_partner()
    plan = factories.create_plan("web-start")
    source = factories.create_panel(partner.user)
    anchor = factories.add_product(source, plan, "a.com")
    target = factories.create_panel(partner.user)
    move = moves.move_to(partner.user, source, anchor, moves.fingerprint([anchor]), target)
    db.session.commit()
    billing.add_new(
        partner.user,
        plan_code=plan.code,
        months=12,
        domain="shop.a.com",
        panel_number=target.number,
    )
    billing.checkout(partner.user)
    db.session.commit()
    assert str(moves.undo_refusal(move)) == (
        "Продукт на този домейн е добавен в панела след преместването."
    )

    other_move = factories.add_product(source, plan, "b.com")
    move = moves.move_to(partner.user, source, other_move, moves.fingerprint([other_move]), target)
    db.session.commit()
    billing.add_renewal(partner.user, db.session.get(Product, other_move.id), 12)
    billing.checkout(partner.user)
    db.session.commit()
    assert str(moves.undo_refusal(move)) == (
        "Преместен продукт е поръчан или подновен след преместването."
    )


def test_an_undo_and_a_move_out_of_the_target_at_once_one_wins(app):
    owner = factories.create_user()
    first, second, third = (factories.create_panel(owner) for _ in range(3))
    product = Product(panel_id=first.id, plan_name="Web", kind=ProductKind.HOSTING, domain="a.com")
    db.session.add(product)
    db.session.commit()
    move = moves.move_to(owner, first, product, moves.fingerprint([product]), second)
    db.session.commit()
    ids = {"move": move.id, "owner": owner.id, "product": product.id}
    ids |= {"second": second.id, "third": third.id}
    expected = moves.fingerprint([product])
    db.session.commit()

    def work(i):
        from models import Panel, User

        user = db.session.get(User, ids["owner"])
        if i == 0:
            return moves.undo(db.session.get(Move, ids["move"]), actor=user) or "undone"
        return (
            moves.move_to(
                user,
                db.session.get(Panel, ids["second"]),
                db.session.get(Product, ids["product"]),
                expected,
                db.session.get(Panel, ids["third"]),
            )
            and "moved on"
        )

    results = run_concurrently(app, 2, work)
    wins = [r for r in results if isinstance(r, str)]
    assert len(wins) == 1, results
    want = {"undone": first.id, "moved on": third.id}[wins[0]]
    assert panel_of(product.id) == want


def test_a_move_the_client_accepted_cannot_be_undone_by_the_partner(site):
    partner, source, anchor, _invoice = site
    move, token = wait_for_client(partner, source, anchor)
    client = factories.create_user("c@example.com")
    invitation_answers.accept(token, client, partner_groups=ALL_GROUPS)
    db.session.commit()
    assert str(moves.undo_refusal(move, user=partner.user)) == (
        "Клиентът прие панела с тези продукти: само клиентът може да ги премести."
    )
    with pytest.raises(moves.UndoClosed):
        moves.undo(move, actor=partner.user)


def test_undo_needs_web_services_in_a_client_panel(app):
    partner, client, _anchor, move = moved_into_a_client_panel()
    assert moves.undo_refusal(move, user=partner.user) is None
    grant = panels.grant_of(client, partner.user)
    panels.set_groups(grant, Group.BILLING, actor=client.owner)  # the client keeps web for itself
    db.session.commit()
    assert str(moves.undo_refusal(move, user=partner.user)) == (
        "Вече нямате права за Уеб услуги в панела, в който отидоха."
    )
