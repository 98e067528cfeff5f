"""The partner's Affiliate page and the staff's affiliate figures (DESIGN.md 3.4, 3.7)."""

import io
from urllib.parse import urlencode

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from affiliate import clicks, links
from models import Referral, db
from rules import referrals, staff_reports
from rules.errors import NotFound
from web import charts
from web.blueprints.partner import approved_partner, partner_first
from web.blueprints.staff import require_staff
from web.catalogue_forms import AffiliateRateForm, LinkBuilderForm, VoidReferralForm

bp = Blueprint("partner_affiliate", __name__, url_prefix="/partner/affiliate")
staff_bp = Blueprint("staff_affiliate", __name__, url_prefix="/staff/affiliate")
staff_bp.before_request(require_staff)


@bp.before_request
@login_required
def _require_login():
    """Every page here belongs to a logged-in partner."""


def link_of(partner, path=None):
    """The partner's public link, absolute, with a landing path when one is given."""
    # the link host when the redirect runs apart from the app, else this app's address
    config = current_app.config
    host = config["AFFILIATE_LINK_BASE_URL"] or config["PUBLIC_BASE_URL"]
    base = host + links.path_of(partner.number)
    return f"{base}?{urlencode({'to': path})}" if path else base


def qr_svg(text):
    """The link as a QR code, an inline SVG (segno: pure Python, no image files)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", scale=4, xmldecl=False, svgns=True, svgclass="qr", title=text
    )
    return Markup(out.getvalue().decode())  # noqa: S704 - segno's own SVG, the text escaped


@bp.get("/")
@partner_first
def show():
    """The link with its QR code and builder, the figures per day and month, the referrals."""
    partner = approved_partner()
    builder = LinkBuilderForm(request.args, meta={"csrf": False})
    built = None
    if builder.path.data:
        if builder.validate() and links.landing(builder.path.data, None):
            built = link_of(partner, builder.path.data)
        else:
            builder.path.errors = [
                _("Enter a path on this site that starts with /, such as /prices.")
            ]
    figures = referrals.Figures(partner, clicks.totals)
    return render_template(
        "partner/affiliate.html",
        partner=partner,
        link=link_of(partner),
        qr=qr_svg(link_of(partner)),
        builder=builder,
        built=built,
        figures=figures,
        day_chart=charts.bars(figures.series("clicks"), label_format="%d"),
        month_chart=charts.bars(figures.series("commission_cents", monthly=True)),
        referred=referrals.referrals_of(partner),
        mask=referrals.mask,
        rate_bp=referrals.affiliate_rate(),
    ), 200 if not builder.path.errors else 422


def _staff_page(rate_form=None, status=200, void_form=None, void_target=None):
    form = rate_form or AffiliateRateForm(formdata=None)
    if rate_form is None:
        form.rate.data = referrals.affiliate_rate()
    return render_template(
        "staff/affiliate.html",
        rows=staff_reports.affiliate_figures(),
        recent=staff_reports.recent_referrals(),
        rate_form=form,
        void_form=void_form or VoidReferralForm(formdata=None),
        void_target=void_target,
        rate_bp=referrals.affiliate_rate(),
    ), status


@staff_bp.get("/")
def staff_index():
    """Affiliate figures per partner, the latest referrals, and the affiliate rate."""
    return _staff_page()


@staff_bp.post("/rate")
def staff_rate():
    """Set the one-time affiliate commission rate for first invoices paid from now on."""
    form = AffiliateRateForm()
    if not form.validate():
        return _staff_page(form, 422)
    referrals.set_affiliate_rate(form.rate.data, actor=current_user)
    db.session.commit()
    flash(_("The affiliate rate is saved."), "success")
    return redirect(url_for("staff_affiliate.staff_index"), 303)


@staff_bp.post("/referrals/<int:referral_id>/void")
def staff_void(referral_id):
    """Void a fraudulent referral: its pending affiliate commission is voided too."""
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    form = VoidReferralForm()
    if not form.validate():
        return _staff_page(status=422, void_form=form, void_target=referral.id)
    referrals.void(referral, reason=form.reason.data, actor=current_user)
    db.session.commit()
    flash(_("The referral is void."), "success")
    return redirect(url_for("staff_affiliate.staff_index"), 303)
