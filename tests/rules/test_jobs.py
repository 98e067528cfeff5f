"""The daily job: renewal invoices once, auto-renewal from the deposit, reminders, expiry."""

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import (
    Group,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    ProductStatus,
    db,
    utcnow,
)
from rules import billing, deposits, jobs, ledger, payments
from tests import factories
from tests.concurrency import run_concurrently

TODAY = date(2027, 3, 1)


@pytest.fixture
def setup(app):
    partner = factories.create_partner()
    top_up = deposits.request_top_up(partner, actor=partner.user)
    deposits.credit(top_up, 100_000)
    client_panel = factories.create_panel(name="Client")
    factories.link_client(partner, client_panel, Group.WEB | Group.BILLING)
    plan = factories.create_plan("web-business", price=1000, periods={12: 0, 24: 1000})
    db.session.commit()
    return partner, client_panel, plan


def expiring(panel, plan, days, *, auto_renew=False, domain="site.bg"):
    product = factories.add_product(panel, plan, domain)
    product.expires_on = TODAY + timedelta(days=days)
    product.auto_renew = auto_renew
    db.session.commit()
    return product


def renewal_invoices(product):
    return db.session.scalars(
        select(Invoice)
        .join(InvoiceLine)
        .where(InvoiceLine.product_id == product.id, InvoiceLine.kind == LineKind.RENEWAL)
    ).all()


def test_a_renewal_invoice_is_issued_once_30_days_ahead(setup):
    _partner, panel, plan = setup
    soon = expiring(panel, plan, 30)
    later = expiring(panel, plan, 31, domain="later.bg")
    report = jobs.run(TODAY)
    jobs.run(TODAY)  # a second run the same day
    jobs.run(TODAY + timedelta(days=1))  # and the next day
    [invoice] = renewal_invoices(soon)
    assert report.renewal_invoices == 1
    assert invoice.buyer_id == panel.owner_id  # the client pays its own renewal
    assert invoice.status == InvoiceStatus.UNPAID
    assert len(renewal_invoices(later)) == 1  # its turn came the next day
    assert soon.status == ProductStatus.ACTIVE


def test_auto_renew_pays_from_the_partner_deposit_when_covered(setup):
    partner, panel, plan = setup
    product = expiring(panel, plan, 10, auto_renew=True)
    before = product.expires_on
    report = jobs.run(TODAY)
    [invoice] = renewal_invoices(product)
    assert report.auto_renewed == 1
    assert invoice.status == InvoiceStatus.PAID and invoice.buyer_id == partner.user_id
    assert invoice.partner_id == partner.id
    assert product.expires_on == billing.add_months(before, 12)
    assert deposits.balance(partner) == 100_000 - invoice.total_cents
    assert ledger.check() == []


def test_auto_renew_without_enough_deposit_leaves_the_invoice_unpaid(setup):
    partner, panel, _plan = setup
    pricey = factories.create_plan("web-pro", price=100_000, periods={12: 0})
    product = expiring(panel, pricey, 10, auto_renew=True)
    report = jobs.run(TODAY)
    [invoice] = renewal_invoices(product)
    assert report.auto_renewed == 0
    assert invoice.status == InvoiceStatus.UNPAID
    assert deposits.balance(partner) == 100_000
    assert ledger.check() == []


def test_reminders_go_once_at_30_7_and_1_days_even_after_a_missed_day(setup):
    _partner, panel, plan = setup
    product = expiring(panel, plan, 30)
    sent = []
    for offset in range(0, 31):
        if offset in (23, 24):  # the job did not run on the 7th and 6th day before
            continue
        report = jobs.run(TODAY + timedelta(days=offset))
        sent += [(days, offset) for pid, days in report.reminders if pid == product.id]
    assert sent == [(30, 0), (5, 25), (1, 29)]


def test_unpaid_products_expire_after_the_grace_and_lapsed_orders_are_cancelled(setup):
    partner, panel, plan = setup
    product = expiring(panel, plan, 0)
    jobs.run(TODAY + timedelta(days=15))
    assert product.status == ProductStatus.ACTIVE  # still in the grace period
    report = jobs.run(TODAY + timedelta(days=16))
    assert report.expired == 1 and product.status == ProductStatus.EXPIRED

    billing.add_new(
        partner.user,
        plan_code=plan.code,
        months=12,
        domain="never-paid.bg",
        panel_number=panel.number,
    )
    order = billing.checkout(partner.user, today=TODAY)
    db.session.commit()
    jobs.run(TODAY + timedelta(days=billing.DUE_DAYS + jobs.GRACE_DAYS))
    assert order.status == InvoiceStatus.UNPAID
    report = jobs.run(TODAY + timedelta(days=billing.DUE_DAYS + jobs.GRACE_DAYS + 1))
    assert report.cancelled_invoices == 1
    assert order.status == InvoiceStatus.CANCELLED
    assert order.lines[0].product.status == ProductStatus.CANCELLED


def test_two_jobs_at_once_issue_one_renewal_invoice_per_product(app, setup):
    _partner, panel, plan = setup
    products = [expiring(panel, plan, 20, domain=f"s{i}.bg") for i in range(5)]
    results = run_concurrently(app, 2, lambda i: jobs.run(TODAY).renewal_invoices)
    assert (
        sorted(r for r in results if isinstance(r, int)) == [0, 5]
        or sum(r for r in results if isinstance(r, int)) == 5
    ), results
    db.session.commit()
    for product in products:
        assert len(renewal_invoices(product)) == 1
    assert db.session.scalar(select(func.count(Invoice.id))) == 5


def test_the_cli_runs_the_job_and_mails_the_reminder(setup, cli, outbox):
    _partner, panel, plan = setup
    expiring(panel, plan, 7)
    result = cli.invoke(args=["jobs", "run", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 renewal invoice(s)" in result.output and "1 reminder(s)" in result.output
    [message] = outbox.wait_for(panel.owner.email)
    assert "site.bg" in message["Subject"]
    again = cli.invoke(args=["jobs", "run", "--today", TODAY.isoformat()])
    assert "0 renewal invoice(s)" in again.output and "0 reminder(s)" in again.output


@pytest.mark.config(MAIL_PORT=9)  # the SMTP server is down: nothing listens on the port
def test_reminders_of_a_job_run_during_an_smtp_outage_are_sent_when_it_is_back(
    app, setup, cli, outbox, smtp_server
):
    _partner, panel, plan = setup
    expiring(panel, plan, 7)
    result = cli.invoke(args=["jobs", "run", "--today", TODAY.isoformat()])
    assert "1 reminder(s) queued" in result.output and "0 sent, 1 to retry" in result.output
    assert outbox.to(panel.owner.email) == []
    again = cli.invoke(args=["jobs", "run", "--today", TODAY.isoformat()])
    assert "0 reminder(s)" in again.output  # marked, and queued in the same transaction
    app.config["MAIL_PORT"] = smtp_server["port"]  # the server is back
    with time_machine.travel(utcnow() + timedelta(hours=1)):  # past the next try
        sent = cli.invoke(args=["mail", "send", "--once"])
    assert "mail: 1 sent" in sent.output, sent.output
    [message] = outbox.wait_for(panel.owner.email)
    assert "site.bg" in message["Subject"]


def test_a_renewal_invoice_made_stale_by_another_renewal_is_refused_and_cancelled(setup):
    partner, panel, plan = setup
    product = expiring(panel, plan, 20)
    jobs.run(TODAY)
    [stale] = renewal_invoices(product)
    assert stale.due_on == product.expires_on  # a renewal is due when the product expires
    # the client cannot put a second renewal in the cart while one is open
    with pytest.raises(billing.BillingError):
        billing.add_renewal(panel.owner, product, 12)
    # renewed some other way (staff extended it), the old invoice can no longer be paid...
    product.expires_on = product.expires_on + timedelta(days=365)
    db.session.commit()
    with pytest.raises(billing.BillingError):
        payments.pay_from_deposit(stale, partner, actor=None)
    db.session.rollback()
    # ...and the next run cancels it
    jobs.run(TODAY)
    assert stale.status == InvoiceStatus.CANCELLED
    assert ledger.check() == []


def test_a_top_up_does_not_pay_renewals_nobody_asked_for(setup):
    partner, _panel, plan = setup
    own = factories.create_panel(partner.user, name="Own")
    plain = expiring(own, plan, 10, domain="plain.bg")
    auto = expiring(own, plan, 10, auto_renew=True, domain="auto.bg")
    before = deposits.balance(partner)
    # the job issues both renewals to the partner; auto-renewal pays one at once
    jobs.run(TODAY)
    [plain_invoice] = renewal_invoices(plain)
    [auto_invoice] = renewal_invoices(auto)
    assert auto_invoice.status == InvoiceStatus.PAID
    factories.fund(partner, 50_000)
    assert plain_invoice.status == InvoiceStatus.UNPAID  # waits for the partner to decide
    payments.cancel_by_buyer(partner.user, plain_invoice)
    db.session.commit()
    assert plain_invoice.status == InvoiceStatus.CANCELLED
    assert deposits.balance(partner) == before + 50_000 - auto_invoice.total_cents
