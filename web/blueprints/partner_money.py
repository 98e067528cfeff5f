"""The partner's money pages: one-place billing, commissions, history, client statements."""

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from models import AccountKind, Commission, TransferKind, db
from rules import access, billing, deposits, ledger, listings, payments, reports
from rules import commissions as commission_rules
from rules.errors import NotFound
from rules.money import parse_cents
from web import htmx, labels, sessions
from web.blueprints.partner import approved_partner, partner_first
from web.catalogue_forms import WithdrawForm
from web.idempotency import idempotent
from web.refusals import (
    ClientNotInList,
    DateNotIso,
    DateOutOfRange,
    FilterNotInList,
    PeriodReversed,
    SourceOrderNotChosen,
    refusal,
)

bp = Blueprint("partner_money", __name__, url_prefix="/partner")

#: invoices the Billing page shows at once (the soonest due first; filters narrow the list)
PAGE = 200

#: the orders of sources a partner can choose for paying [R24]
SOURCE_ORDERS = {
    "commission,deposit": (_l("commission first, then deposit"), ["commission", "deposit"]),
    "deposit,commission": (_l("deposit first, then commission"), ["deposit", "commission"]),
    "deposit": (_l("deposit only"), ["deposit"]),
    "commission": (_l("commission only"), ["commission"]),
}


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in partner."""


def _date(raw):
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        raise DateNotIso() from None
    if day is not None and not 2000 <= day.year <= 2200:
        raise DateOutOfRange()
    return day


def _number(raw):
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise ClientNotInList()
    return int(raw)


@bp.get("/billing")
def billing_page():
    """Every unpaid invoice of the partner's own and client panels, to pay in one go."""
    partner = approved_partner()
    client, due = _number(request.args.get("client")), _date(request.args.get("due"))
    return _billing(partner, client, due)


def _billing(partner, client, due, status=200, *, ticked=(), order=None, error=None):
    """The Billing page (or its table, for htmx), with what was ticked and chosen kept."""
    return htmx.render(
        "partner/billing.html",
        "partner/_billing_table.html",
        status,
        partner=partner,
        invoices=billing.unpaid_for(partner, panel_number=client, due_by=due, limit=PAGE),
        page_size=PAGE,
        panels=listings.billing_panels(partner.user),
        client=client,
        due=due,
        orders=SOURCE_ORDERS,
        order=order,
        ticked=set(ticked),
        error=error,
        deposit=deposits.balance(partner),
        commission=ledger.balance(AccountKind.COMMISSION, partner).available,
    )


@bp.post("/billing/pay")
@partner_first
@idempotent
def pay_selected():
    """Pay the ticked invoices from the chosen sources: all of them, or none. A refusal shows
    the same page again, the ticks kept, saying which invoice and how much is missing."""
    partner = approved_partner()
    chosen = [c for c in request.form.getlist("invoice") if c.isascii() and c.isdigit()]
    numbers = [int(c) for c in chosen if len(c) <= 12][:500]
    order_key = request.form.get("order", "")
    # an invoice the partner may not pay (NotFound) is a tampered form, not a mistake to correct
    with refusal(let_through=NotFound) as refused:
        if not numbers:
            raise payments.NoInvoicesTicked()
        if order_key not in SOURCE_ORDERS:
            raise SourceOrderNotChosen()
        totals = payments.pay_many(
            partner, numbers, SOURCE_ORDERS[order_key][1], actor=current_user
        )
    if refused:
        return _billing(
            partner,
            _number(request.form.get("client")),
            _date(request.form.get("due")),
            422,
            ticked=numbers,
            order=order_key,
            error=refused.message,
        )
    flash(
        _(
            "Paid %(count)d invoices: %(commission)s from commission, %(deposit)s from"
            " the deposit.",
            count=len(set(numbers)),
            commission=labels.money(totals.get(AccountKind.COMMISSION, 0)),
            deposit=labels.money(totals.get(AccountKind.DEPOSIT, 0)),
        ),
        "success",
    )
    return htmx.full_page_redirect(url_for("partner_money.billing_page"))


@bp.get("/commissions")
def commissions():
    """Commissions: available, held while clearing, owed back; each one earned."""
    partner = approved_partner()
    available, pending, debt = reports.commission_summary(partner)
    rows = db.session.scalars(
        select(Commission)
        .where(Commission.partner_id == partner.id)
        .order_by(Commission.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "partner/commissions.html",
        partner=partner,
        available=available,
        pending=pending,
        debt=debt,
        commissions=rows,
        minimum=deposits.min_commission_withdrawal(),
    )


def _withdraw_page(partner, form, status=200):
    available, _pending, _debt = reports.commission_summary(partner)
    return render_template(
        "partner/withdraw_commission.html",
        partner=partner,
        form=form,
        available=available,
        minimum=deposits.min_commission_withdrawal(),
    ), status


@bp.get("/commissions/withdraw")
@partner_first
@sessions.fresh_login_required
def withdraw_commission():
    """Show the form to withdraw available commission (after a fresh login)."""
    return _withdraw_page(approved_partner(), WithdrawForm(formdata=None))


@bp.post("/commissions/withdraw")
@partner_first
@sessions.fresh_login_required
@idempotent
def withdraw_commission_submit():
    """Hold available commission for a payout until staff pays it out or rejects it."""
    partner = approved_partner()
    form = WithdrawForm()
    if not form.validate():
        return _withdraw_page(partner, form, 422)
    with refusal(form) as refused:
        deposits.request_withdrawal(
            partner, form.amount.data, form.iban.data, actor=current_user, source="commission"
        )
    if refused:
        return _withdraw_page(partner, form, refused.status)
    flash(_("Your withdrawal is requested; the amount is held until we pay it out."), "success")
    return htmx.full_page_redirect(url_for("partner_money.commissions"))


def _history_filters():
    account = request.args.get("account") or None
    kind = request.args.get("kind") or None
    if account not in (None, "deposit", "commission") or (
        kind is not None and kind not in {k.value for k in TransferKind}
    ):
        raise FilterNotInList()
    return account, kind


@bp.get("/history")
def history():
    """Deposits, orders, refunds, commissions earned, cleared, reversed, withdrawals."""
    partner = approved_partner()
    account, kind = _history_filters()
    rows = reports.history(
        partner,
        account_kind=AccountKind(account) if account else None,
        transfer_kind=TransferKind(kind) if kind else None,
    )
    return render_template(
        "partner/history.html", partner=partner, rows=rows, account=account, kind=kind
    )


def _csv(filename, header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so that spreadsheet programs read UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/history.csv")
def history_csv():
    """The same history as CSV (amounts in euro, with a point)."""
    partner = approved_partner()
    account, kind = _history_filters()
    rows = reports.history(
        partner,
        account_kind=AccountKind(account) if account else None,
        transfer_kind=TransferKind(kind) if kind else None,
        limit=100_000,
    )
    return _csv(
        f"partner-{partner.number}-history.csv",
        ["time_utc", "account", "kind", "phase", "reference", "amount_eur"],
        [
            (
                t.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                account_kind.value,
                t.kind.value,
                t.phase.value,
                t.reference,
                f"{signed / 100:.2f}",
            )
            for account_kind, t, signed in rows
        ],
    )


def _statement(number):
    partner = approved_partner()
    panel = access.panel_for(current_user, number, access.Group.BILLING).panel
    today = date.today()
    start = _date(request.args.get("from")) or today.replace(day=1) - timedelta(days=365)
    end = _date(request.args.get("to")) or today
    if end < start:
        raise PeriodReversed()
    return partner, panel, start, end, reports.statement(partner, panel, start, end)


@bp.get("/clients/<int:number>/statement")
def statement(number):
    """A client's statement for a period: invoices, payments, the commission they earned."""
    partner, panel, start, end, found = _statement(number)
    return render_template(
        "partner/statement.html", partner=partner, panel=panel, start=start, end=end, s=found
    )


@bp.get("/clients/<int:number>/statement.csv")
def statement_csv(number):
    """The statement as CSV, for re-billing the client."""
    _partner, panel, start, end, found = _statement(number)
    return _csv(
        f"statement-{panel.number}-{start}-{end}.csv",
        ["invoice", "issued", "status", "net_eur", "vat_eur", "total_eur", "refunded_eur"],
        [
            (
                i.number,
                i.issued_at.date().isoformat(),
                i.status.value,
                f"{i.net_cents / 100:.2f}",
                f"{i.vat_cents / 100:.2f}",
                f"{i.total_cents / 100:.2f}",
                f"{i.refunded_cents / 100:.2f}",
            )
            for i in found.invoices
        ],
    )


@bp.post("/commissions/to-deposit")
@partner_first
@idempotent
def move_to_deposit():
    """Move available commission into the deposit; waiting orders then activate."""
    partner = approved_partner()
    amount = parse_cents(request.form.get("amount", ""))
    if amount <= 0:
        raise payments.AmountNotPositive()
    commission_rules.move_to_deposit(
        partner, amount, key=f"to-deposit:{request.form['idempotency_key']}", actor=current_user
    )
    payments.pay_waiting_orders(partner, actor=current_user)  # orders waiting for the money
    flash(_("%(amount)s moved to your deposit.", amount=labels.money(amount)), "success")
    return htmx.full_page_redirect(url_for("partner_money.commissions"))
