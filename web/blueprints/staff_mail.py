"""The staff's view of the mail outbox: what the SMTP server refused or has not taken yet."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import MailStatus, OutgoingMail, db
from rules import audit
from rules.errors import NotFound
from web import mail
from web.blueprints.staff import require_staff
from web.forms import EmptyForm

bp = Blueprint("staff_mail", __name__, url_prefix="/staff/mail")
bp.before_request(require_staff)


@bp.get("/")
def index():
    """List failed messages and those waiting for another try, with the server's answer."""
    return render_template("staff/mail.html", problems=mail.problems(), form=EmptyForm())


@bp.post("/<int:mail_id>/retry")
def retry(mail_id):
    """Queue one failed message again (its cause fixed, or the address corrected)."""
    row = db.session.get(OutgoingMail, mail_id)
    if row is None or row.status != MailStatus.FAILED:
        raise NotFound()
    count = mail.retry(row)
    audit.record("mail.retry", actor=current_user, mail=row.id, to=row.recipient)
    db.session.commit()
    flash(_("The message is queued again.") if count else _("Nothing to send again."), "info")
    return redirect(url_for("staff_mail.index"), 303)


@bp.post("/retry")
def retry_all():
    """Queue every failed message again."""
    count = mail.retry()
    audit.record("mail.retry", actor=current_user, count=count)
    db.session.commit()
    flash(_("%(count)d messages are queued again.", count=count), "info")
    return redirect(url_for("staff_mail.index"), 303)
