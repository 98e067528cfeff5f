"""Outgoing mail, never silently lost.

A message is rendered in its recipient's language and written to the outbox (``queue``) in the
transaction of the change it tells about; if that change is rolled back, so is the message.
Once the response has gone out, the request's messages are sent; what the SMTP server does not
take is tried again by ``flask mail send`` (a service, or ``--once`` from cron) with growing
waits, MAIL_MAX_ATTEMPTS times, and then shown to staff as failed. MAIL_BACKEND=log writes
messages to the log instead of sending them (development; production only when asked).
"""

import email
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import and_, func, or_, select, update

from models import MailStatus, OutgoingMail, db, utcnow

log = logging.getLogger(__name__)

#: the longest wait between two tries of a message
MAX_BACKOFF = timedelta(hours=1)
#: how long a sender's claim on a message holds (a sender that died loses it)
CLAIM = timedelta(minutes=5)


def build_message(to, subject, body):
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="partner-program")
    message.set_content(body)
    return message


def render_message(to, language, template, **context):
    """Render ``mail/<template>.txt`` in ``language``: its first line is the subject."""
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    return build_message(to, subject.strip(), body.strip() + "\n")


# -- writing to the outbox -----------------------------------------------------------------


def queue(*messages, expires_in=None):
    """Write the messages to the outbox in the current transaction (the caller commits).

    ``expires_in``: a message whose link stops working after that long is not sent later.
    In a request, the messages are sent once the response has gone out.
    """
    now = utcnow()
    rows = [
        OutgoingMail(
            recipient=str(message["To"]),
            subject=str(message["Subject"])[:300],
            message=message.as_string(),
            next_attempt_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        for message in messages
    ]
    db.session.add_all(rows)
    db.session.flush()
    _send_after_this_request([row.id for row in rows])
    return rows


def _send_after_this_request(ids):
    if has_request_context():
        g.setdefault("queued_mail", []).extend(ids)


def send_after_response(response):
    """Send the request's queued messages once the response has gone out: the visitor does not
    wait for the mail server (nor learn from the delay whether an address has an account)."""
    ids = g.pop("queued_mail", None)
    if ids:
        app = current_app._get_current_object()

        def _send():
            with app.app_context():
                try:
                    send_due(ids=ids)
                except Exception:  # the outbox keeps them; the sender tries again
                    log.exception("queued mail could not be sent after the response")
                finally:
                    db.session.remove()

        response.call_on_close(_send)
    return response


# -- sending ---------------------------------------------------------------------------------


class PermanentFailure(Exception):
    """The server refused the message for good (5xx for its recipient or its content)."""


def transport(message):
    """Hand one message to MAIL_BACKEND: the SMTP server, or the log. Raises when the server
    does not take it (PermanentFailure when trying again cannot help)."""
    config = current_app.config
    if config["MAIL_BACKEND"] == "log":
        log.warning(
            "Mail written to the log (MAIL_BACKEND=log), not sent\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    encrypted = config["MAIL_USE_SSL"] or config["MAIL_USE_TLS"]
    # the server's certificate is checked; made only when used (loading the CA store is slow)
    tls = ssl.create_default_context() if encrypted else None
    try:
        if config["MAIL_USE_SSL"]:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls(context=tls)
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _text in error.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        raise
    except smtplib.SMTPDataError as error:
        if error.smtp_code >= 500:
            raise PermanentFailure(
                f"message refused: {error.smtp_code} {error.smtp_error}"
            ) from error
        raise


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _claimable(now):
    return or_(
        and_(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.next_attempt_at <= now),
        and_(OutgoingMail.status == MailStatus.SENDING, OutgoingMail.claimed_until < now),
    )


def _claim(mail_id, now):
    """Take the message for this sender (one conditional UPDATE: no two senders take it)."""
    taken = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, _claimable(now))
        .values(
            status=MailStatus.SENDING,
            claimed_until=now + CLAIM,
            attempts=OutgoingMail.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(OutgoingMail, mail_id, populate_existing=True) if taken else None


def _send_one(row, now):
    """Send a claimed message and record how it went (the transaction ends before SMTP)."""
    config = current_app.config
    if row.expires_at is not None and row.expires_at < now:
        error = PermanentFailure("expired before it could be sent (its link no longer works)")
    else:
        message = email.message_from_string(row.message, policy=policy.default)
        db.session.commit()  # no transaction stays open while the SMTP server answers
        try:
            transport(message)
            error = None
        except (smtplib.SMTPException, OSError, PermanentFailure) as caught:
            log.warning("mail %s to %s not sent: %s", row.id, row.recipient, caught)
            error = caught
    row = db.session.get(OutgoingMail, row.id, populate_existing=True)
    row.claimed_until = None
    if error is None:
        row.status, row.sent_at, row.message, row.last_error = MailStatus.SENT, utcnow(), "", None
        outcome = "sent"
    elif isinstance(error, PermanentFailure) or row.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        row.status, row.last_error = MailStatus.FAILED, str(error)[:1000] or type(error).__name__
        outcome = "failed"
    else:
        wait = timedelta(seconds=config["MAIL_RETRY_SECONDS"] * 2 ** min(row.attempts - 1, 20))
        row.status, row.last_error = MailStatus.PENDING, str(error)[:1000] or type(error).__name__
        row.next_attempt_at = utcnow() + min(wait, MAX_BACKOFF)
        outcome = "retrying"
    db.session.commit()
    return outcome


def send_due(ids=None, limit=None):
    """Send the messages that are due (only ``ids``, when given), oldest first."""
    report = Report()
    now = utcnow()
    query = select(OutgoingMail.id).where(_claimable(now)).order_by(OutgoingMail.id)
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    due = db.session.scalars(query.limit(limit)).all()
    db.session.rollback()
    for mail_id in due:
        row = _claim(mail_id, now)
        if row is not None:
            outcome = _send_one(row, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def send_forever(poll_seconds, echo=print):
    """Keep sending as messages come; wait ``poll_seconds`` when none is due."""
    while True:
        report = send_due(limit=100)
        if report.sent or report.retrying or report.failed:
            echo(f"mail: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
        else:
            time.sleep(poll_seconds)


def retry(mail=None):
    """Queue failed messages again (one, or all; in a request, sent after its response);
    return how many."""
    failed = select(OutgoingMail.id).where(
        OutgoingMail.status == MailStatus.FAILED, OutgoingMail.message != ""
    )
    if mail is not None:
        failed = failed.where(OutgoingMail.id == mail.id)
    ids = db.session.scalars(failed).all()
    db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(ids))
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _send_after_this_request(ids)
    return len(ids)


def failed_count():
    return db.session.scalar(
        select(func.count(OutgoingMail.id)).where(OutgoingMail.status == MailStatus.FAILED)
    )


def problems():
    """Messages staff should look at: failed ones, and ones the server refused so far."""
    return db.session.scalars(
        select(OutgoingMail)
        .where(
            or_(
                OutgoingMail.status == MailStatus.FAILED,
                and_(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.attempts > 0),
            )
        )
        .order_by(OutgoingMail.id.desc())
        .limit(200)
    ).all()


def init_app(app):
    """Send the mail a request queued once its response has gone out."""
    app.after_request(send_after_response)
