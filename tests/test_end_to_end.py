"""End to end on PostgreSQL: gunicorn with several workers, one partner ordering from many
browser sessions at once, then the ledger check."""

import threading

import pytest
from sqlalchemy import func, select

from models import Invoice, InvoiceStatus, Product, ProductStatus, db
from rules import deposits, ledger
from tests import factories
from tests.conftest import postgres_only
from tests.live import Client, free_port, start_gunicorn

SESSIONS, ORDERS_EACH = 6, 4


@postgres_only
@pytest.mark.timeout(180)
def test_concurrent_http_orders_from_one_partner_keep_the_book(app, database_url, tmp_path):
    partner = factories.create_partner()
    panel = factories.create_panel(partner.user)
    factories.create_domain_plan(price=1000)
    deposits.credit(deposits.request_top_up(partner, actor=partner.user), 10 * 1200)  # 10 orders
    db.session.commit()
    email, number = partner.user.email, panel.number

    server, base = start_gunicorn(database_url, free_port(), str(tmp_path), workers=3)
    answers, errors = [], []
    try:
        clients = [Client(base, email, number, factories.PASSWORD) for _ in range(SESSIONS)]
        barrier = threading.Barrier(SESSIONS)

        def shop(i):
            try:
                barrier.wait(timeout=30)
                for n in range(ORDERS_EACH):
                    # the sessions share the partner's cart: a checkout may take another
                    # session's line, or find the cart empty (422); a payment may find the
                    # deposit spent (422). Never a 5xx, never money out of thin air.
                    for answer in clients[i].order(f"{i}-{n}", expect=(303, 409, 422)):
                        if answer is not None:
                            answers.append(answer.status_code)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=shop, args=(i,)) for i in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(10)
    assert errors == []
    assert all(code < 500 for code in answers)

    db.session.commit()
    assert ledger.check() == []
    paid = db.session.scalars(select(Invoice).where(Invoice.status == InvoiceStatus.PAID)).all()
    assert paid, "some orders must have been paid"
    assert deposits.balance(partner) == 10 * 1200 - sum(i.total_cents for i in paid) >= 0
    active = db.session.scalar(
        select(func.count(Product.id)).where(Product.status == ProductStatus.ACTIVE)
    )
    assert active == sum(len(i.lines) for i in paid)


@postgres_only
@pytest.mark.timeout(180)
def test_twenty_concurrent_withdrawals_over_http_hold_the_deposit_once(app, database_url, tmp_path):
    """Each request its own key and other unrelated fields: the ledger, not the key, decides."""
    partner = factories.create_partner()
    factories.fund(partner, 50_000)
    email = partner.user.email
    server, base = start_gunicorn(database_url, free_port(), str(tmp_path), workers=3)
    codes, errors = [], []
    try:
        clients = [Client(base, email, None, factories.PASSWORD) for _ in range(4)]
        barrier = threading.Barrier(20)

        def withdraw(i):
            try:
                barrier.wait(timeout=30)
                answer = clients[i % 4].withdraw(
                    "500,00",
                    "BG80 BNBG 9661 1020 3456 78",
                    expect=(303, 422),
                    note=f"request {i}",
                    **{f"extra{i}": "x" * i},
                )
                codes.append(answer.status_code)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=withdraw, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(10)
    assert errors == []
    assert sorted(codes) == [303] + [422] * 19
    db.session.commit()
    assert deposits.balance(partner) == 0
    assert ledger.balance("deposit", partner).held == 50_000
    assert ledger.check() == []
