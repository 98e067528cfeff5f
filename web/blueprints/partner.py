"""The partner area: joining, and the client list with its panels and invitations."""

from functools import wraps

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import AccountKind, Invitation, PartnerStatus, TopUp, db
from rules import (
    access,
    catalogue,
    deposits,
    invitation_answers,
    ledger,
    listings,
    panels,
    partners,
    payments,
    reports,
)
from rules.errors import NotFound
from web import charts, errors, htmx, notify, sessions
from web.catalogue_forms import WithdrawForm
from web.idempotency import idempotent
from web.panel_forms import (
    ApplyForm,
    ClientPanelForm,
    InviteClientForm,
    NoteForm,
    listing_request,
)
from web.refusals import refusal

bp = Blueprint("partner", __name__, url_prefix="/partner")


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in user."""


def approved_partner():
    """Return the user's partner record if approved; other users get a 403 saying why."""
    partner = partners.partner_of(current_user)
    if partner is None or partner.status != PartnerStatus.APPROVED:
        raise partners.NotAnApprovedPartner()
    return partner


def partner_first(view):
    """Refuse users who are no approved partners before anything else looks at the request."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        approved_partner()
        return view(*args, **kwargs)

    return wrapper


@bp.get("/")
def index():
    """Show the user's standing in the program, or the way to join."""
    partner = partners.partner_of(current_user)
    if partner is None or not partner.is_approved:
        return render_template("partner/index.html", partner=partner, standing=None)
    available, pending, debt = reports.commission_summary(partner)
    months = reports.commissions_by_month(partner)
    return render_template(
        "partner/index.html",
        partner=partner,
        standing=catalogue.standing(partner),
        deposit=deposits.balance(partner),
        commission=available,
        commission_pending=pending,
        commission_debt=debt,
        chart=charts.bars(months),
        months=months,
        runway=reports.runway(partner),
        waiting=payments.waiting_invoices(partner),
    )


@bp.get("/apply")
def apply():
    """Show the application form (only to users without a live application)."""
    partner = partners.partner_of(current_user)
    if partner is not None and partner.status != PartnerStatus.REJECTED:
        return redirect(url_for("partner.index"))
    return render_template("partner/apply.html", form=ApplyForm())


@bp.post("/apply")
def apply_submit():
    """Apply to join the program; staff decides."""
    form = ApplyForm()
    if form.validate():
        partners.apply(
            current_user,
            company=form.company.data,
            vat_number=form.vat_number.data,
            address=form.address.data,
            expected_hostings=form.expected_hostings.data,
        )
        db.session.commit()
        flash(_("Thank you. We will email you our decision."), "success")
        return redirect(url_for("partner.index"), 303)
    return render_template("partner/apply.html", form=form), 422


@bp.get("/clients")
def clients():
    """List the client panels: owner, products, the partner's groups, next expiry, note."""
    partner = approved_partner()
    search, term, page = listing_request(request.args)
    result = listings.client_panels(partner, search=term, page=page)
    return htmx.render(
        "partner/clients.html",
        "partner/_clients_table.html",
        partner=partner,
        result=result,
        search=search,
        invitations=partners.open_invitations_of(partner),
    )


@bp.get("/clients/new")
def new_client():
    """Show the form for a new client panel."""
    approved_partner()
    return render_template("partner/new_client.html", form=ClientPanelForm())


@bp.post("/clients")
def create_client():
    """Create a client panel owned by the partner or, once accepted, by the client."""
    partner = approved_partner()
    form = ClientPanelForm()
    if not form.validate():
        return render_template("partner/new_client.html", form=form), 422
    try:
        panel, invited = partners.create_client_panel(
            partner,
            name=form.name.data,
            client_email=form.client_email.data or None,
            client_owns=form.owner.data == "client",
            groups=form.groups(),
            actor=current_user,
        )
    except panels.CannotInviteYourself as error:
        form.client_email.errors.append(error.message)
        return render_template("partner/new_client.html", form=form), 422
    if invited:
        notify.invitation(*invited)
    db.session.commit()
    flash(_("The client panel “%(name)s” is created.", name=panel.name), "success")
    return redirect(url_for("panels.show", number=panel.number), 303)


@bp.get("/clients/invite")
def invite_client():
    """Show the form that invites the owner of an existing panel."""
    approved_partner()
    return render_template("partner/invite_client.html", form=InviteClientForm())


@bp.post("/clients/invite")
def invite_client_submit():
    """Invite an existing panel's owner; the answer never tells whether the panel exists."""
    partner = approved_partner()
    form = InviteClientForm()
    if not form.validate():
        return render_template("partner/invite_client.html", form=form), 422
    invited = partners.invite_client_panel(
        partner,
        panel_number=form.panel_number.data,
        email=form.email.data,
        groups=form.groups(),
        actor=current_user,
    )
    if invited:
        notify.invitation(*invited)
    db.session.commit()
    flash(_("If that panel belongs to that email, its owner now has your invitation."), "info")
    return redirect(url_for("partner.clients"), 303)


@bp.post("/clients/<int:number>/note")
def save_note(number):
    """Save the partner's private note about a client panel."""
    partner = approved_partner()
    link = panels.link_of(access.panel_for(current_user, number).panel)
    if link is None or link.partner_id != partner.id:
        raise NotFound()
    form = NoteForm()
    if not form.validate():
        if htmx.is_partial():
            return render_template("partner/_note.html", link=link, form=form), 422
        return errors.render_error(422, form.note.errors[0])
    partners.set_note(link, form.note.data)
    db.session.commit()
    if htmx.is_partial():
        return render_template("partner/_note.html", link=link, form=form, saved=True)
    flash(_("The note is saved."), "success")
    return redirect(url_for("partner.clients"), 303)


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id):
    """Withdraw one of the partner's own invitations."""
    partner = approved_partner()
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.partner_id != partner.id:
        raise NotFound()
    invitation_answers.revoke(invitation, actor=current_user)
    db.session.commit()
    flash(_("The invitation is revoked."), "success")
    return redirect(url_for("partner.clients"), 303)


@bp.get("/deposit")
def deposit():
    """The deposit: what is available, top-ups waiting for their transfer, and the history."""
    partner = approved_partner()
    account = ledger.existing_account(AccountKind.DEPOSIT, partner)
    return render_template(
        "partner/deposit.html",
        partner=partner,
        balance=ledger.balance(AccountKind.DEPOSIT, partner),
        withdrawable=deposits.withdrawable(partner),
        top_ups=db.session.scalars(
            select(TopUp).where(TopUp.partner_id == partner.id).order_by(TopUp.id.desc()).limit(50)
        ).all(),
        history=ledger.history(account, limit=100) if account else [],
        bank=current_app.config,
    )


@bp.post("/deposit/top-up")
def top_up():
    """Ask for a reference for a bank transfer to the deposit."""
    partner = approved_partner()
    made = deposits.request_top_up(partner, actor=current_user)
    db.session.commit()
    flash(
        _("Transfer any amount quoting the reference %(reference)s.", reference=made.reference),
        "success",
    )
    return htmx.full_page_redirect(url_for("partner.deposit"))


@bp.get("/deposit/withdraw")
@partner_first
@sessions.fresh_login_required
def withdraw():
    """Show the withdrawal form (after a fresh login)."""
    partner = approved_partner()
    return _withdraw_page(partner, WithdrawForm(formdata=None))


def _withdraw_page(partner, form, status=200):
    return render_template(
        "partner/withdraw.html",
        partner=partner,
        form=form,
        balance=ledger.balance(AccountKind.DEPOSIT, partner),
        withdrawable=deposits.withdrawable(partner),
        unpaid=deposits.own_unpaid_invoices(partner),
    ), status


@bp.post("/deposit/withdraw")
@partner_first
@sessions.fresh_login_required
@idempotent
def withdraw_submit():
    """Hold the amount for a payout until staff pays it out or rejects it."""
    partner = approved_partner()
    form = WithdrawForm()
    if not form.validate():
        return _withdraw_page(partner, form, 422)
    with refusal(form) as refused:
        deposits.request_withdrawal(partner, form.amount.data, form.iban.data, actor=current_user)
    if refused:
        return _withdraw_page(partner, form, refused.status)
    flash(_("Your withdrawal is requested; the amount is held until we pay it out."), "success")
    return htmx.full_page_redirect(url_for("partner.deposit"))
