"""The staff area: partner applications and decisions, and the whole audit log."""

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import AccountKind, Partner, PartnerStatus, Withdrawal, db
from rules import audit, deposits, ledger, panels, partners, staff_reports
from rules import payments as paying
from rules.errors import NotFound
from rules.listings import Page
from web import htmx, mail, notify
from web.catalogue_forms import ConfirmTransferForm, RefundForm, RejectWithdrawalForm
from web.idempotency import idempotent
from web.panel_forms import ApproveForm, RejectForm, SuspendForm, audit_filters
from web.refusals import refusal

bp = Blueprint("staff", __name__, url_prefix="/staff")


@login_required
def require_staff():
    """Staff pages do not exist for anyone else."""
    if not current_user.is_staff:
        abort(404)


bp.before_request(require_staff)


@bp.get("/")
def index():
    """Show what waits for staff."""
    return render_template(
        "staff/index.html",
        counts=staff_reports.partner_counts(),
        queue=staff_reports.staff_queue(),
        failed_mail=mail.failed_count(),
    )


@bp.get("/partners")
def partner_list():
    """List partners and applicants, by status."""
    status = request.args.get("status", PartnerStatus.APPLIED.value)
    if status not in {s.value for s in PartnerStatus}:
        abort(400)
    return render_template(
        "staff/partners.html",
        partners=staff_reports.partners_with_status(status),
        status=status,
        statuses=PartnerStatus,
    )


def _partner(partner_id):
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound()
    return partner


def _show(partner, status=200, approve_form=None, reject_form=None, suspend_error=False):
    suspend_form = SuspendForm(formdata=None)
    if suspend_error:
        suspend_form.confirm.errors = [_("Tick the box to confirm.")]
    return render_template(
        "staff/partner.html",
        partner=partner,
        approve_form=approve_form or ApproveForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
        suspend_form=suspend_form,
    ), status


@bp.get("/partners/<int:partner_id>")
def partner_show(partner_id):
    """Show one application or partner with the decisions staff can take."""
    return _show(_partner(partner_id))


def _decided(partner, message):
    notify.partner_decision(partner)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("staff.partner_show", partner_id=partner.id), 303)


@bp.post("/partners/<int:partner_id>/approve")
def approve(partner_id):
    """Admit the applicant with a partner number and a minimum deposit."""
    partner = _partner(partner_id)
    form = ApproveForm()
    if not form.validate():
        return _show(partner, 422, approve_form=form)
    partners.approve(
        partner, minimum_deposit_cents=form.minimum_deposit.data * 100, actor=current_user
    )
    return _decided(partner, _("Approved as partner %(number)s.", number=partner.number))


@bp.post("/partners/<int:partner_id>/reject")
def reject(partner_id):
    """Refuse the application with a reason the applicant is told."""
    partner = _partner(partner_id)
    form = RejectForm()
    if not form.validate():
        return _show(partner, 422, reject_form=form)
    partners.reject(partner, reason=form.reason.data, actor=current_user)
    return _decided(partner, _("The application is rejected."))


@bp.post("/partners/<int:partner_id>/suspend")
def suspend(partner_id):
    """Suspend an approved partner: its partner pages and link stop working."""
    partner = _partner(partner_id)
    if not SuspendForm().validate():
        return _show(partner, 422, suspend_error=True)
    partners.suspend(partner, actor=current_user)
    return _decided(partner, _("The partner is suspended."))


@bp.get("/audit")
def audit_log():
    """Show the whole program's audit log: filtered by who, panel, what and days, a page at
    a time."""
    form, filters, page = audit_filters(request.args)
    number = filters.pop("panel_number")
    panel = panels.find(number) if number else None
    if number and panel is None:
        result = Page([], 0, 1, 50)  # no such panel: nothing of it
    else:
        result = audit.search(panel=panel, **filters, page=page)
    return htmx.render("staff/audit.html", "_audit_log.html", result=result, form=form)


@bp.get("/payments")
def payments():
    """Top-ups waiting for their transfer, unpaid invoices, and the book's totals and check."""
    return _payments_page(ConfirmTransferForm(formdata=None))


def _payments_page(form, status=200):
    return render_template(
        "staff/payments.html",
        form=form,
        waiting=staff_reports.waiting_top_ups(),
        unpaid=staff_reports.unpaid_invoices(),
        book=ledger.totals(),
        problems=ledger.check() if request.args.get("check") else None,
    ), status


@bp.post("/payments/confirm")
@idempotent
def confirm_transfer():
    """Record a received bank transfer: it credits a top-up or pays an invoice whole, once."""
    form = ConfirmTransferForm()
    if not form.validate():
        return _payments_page(form, 422)
    deposits.confirm_bank_transfer(
        form.reference.data.strip(),
        form.amount.data,
        received_on=form.received_on.data,
        actor=current_user,
    )
    flash(_("The transfer %(reference)s is recorded.", reference=form.reference.data), "success")
    return htmx.full_page_redirect(url_for("staff.payments"))


@bp.get("/withdrawals")
def withdrawals():
    """Withdrawals waiting for staff, and the latest decided ones."""
    return _withdrawals_page()


def _withdrawals_page(reject_form=None, status=200):
    return render_template(
        "staff/withdrawals.html",
        withdrawals=staff_reports.withdrawals(),
        reject_form=reject_form or RejectWithdrawalForm(formdata=None),
    ), status


def _withdrawal(withdrawal_id):
    found = db.session.get(Withdrawal, withdrawal_id)
    if found is None:
        raise NotFound()
    return found


@bp.post("/withdrawals/<int:withdrawal_id>/pay")
@idempotent
def pay_withdrawal(withdrawal_id):
    """Record that the money was sent: the held amount leaves the deposit."""
    found = _withdrawal(withdrawal_id)
    deposits.pay_out(found, actor=current_user)
    flash(_("The withdrawal is marked as paid out."), "success")
    return htmx.full_page_redirect(url_for("staff.withdrawals"))


@bp.post("/withdrawals/<int:withdrawal_id>/reject")
@idempotent
def reject_withdrawal(withdrawal_id):
    """Refuse the payout with a reason; the held amount is available to the partner again."""
    found = _withdrawal(withdrawal_id)
    form = RejectWithdrawalForm()
    if not form.validate():
        return _withdrawals_page(form, 422)
    deposits.reject(found, actor=current_user, reason=form.reason.data)
    flash(_("The withdrawal is rejected; the amount is released."), "success")
    return htmx.full_page_redirect(url_for("staff.withdrawals"))


@bp.get("/partners/<int:partner_id>/ledger")
def partner_ledger(partner_id):
    """A partner's deposit and commission accounts with their transfers."""
    partner = _partner(partner_id)
    accounts = [
        (kind, ledger.existing_account(kind, partner))
        for kind in (AccountKind.DEPOSIT, AccountKind.COMMISSION)
    ]
    return render_template(
        "staff/partner_ledger.html",
        partner=partner,
        accounts=[
            (kind, account, ledger.history(account, limit=300) if account else [])
            for kind, account in accounts
        ],
    )


def _invoice(number):
    found = staff_reports.invoice_by_number(number)
    if found is None:
        raise NotFound()
    return found


@bp.get("/invoices/<int:number>")
def invoice(number):
    """Any invoice, with its refunds and the form to refund it (paid ones)."""
    return _invoice_page(_invoice(number), RefundForm(formdata=None))


def _invoice_page(found, form, status=200):
    return render_template(
        "staff/invoice.html", invoice=found, form=form, refunds=staff_reports.refunds_of(found)
    ), status


@bp.post("/invoices/<int:number>/refund")
@idempotent
def refund(number):
    """Give back all or part of a paid invoice; commissions are reversed in proportion."""
    found = _invoice(number)
    form = RefundForm()
    if not form.validate():
        return _invoice_page(found, form, 422)
    with refusal(form) as refused:
        paying.refund(found, form.amount.data, reason=form.reason.data, actor=current_user)
    if refused:
        return _invoice_page(found, form, refused.status)
    flash(_("The refund is booked."), "success")
    return htmx.full_page_redirect(url_for("staff.invoice", number=number))
