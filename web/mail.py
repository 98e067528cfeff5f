"""Outgoing mail over SMTP, sent after the response; without MAIL_SERVER it goes to the log."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale


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


def deliver(message):
    """Hand the message to the SMTP server; return False (and log) when it cannot be sent."""
    config = current_app.config
    if not config["MAIL_SERVER"]:
        current_app.logger.info(
            "Mail not sent (MAIL_SERVER is unset)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return True
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    tls = ssl.create_default_context()  # the server's certificate is checked
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
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("Mail to %s could not be sent", message["To"])
        return False
    return True


def send_after(response, *messages):
    """Send the messages once the response has gone out.

    The visitor does not wait for the mail server (nor learn from the delay whether an
    address has an account), and no database transaction is open meanwhile.
    """
    app = current_app._get_current_object()

    def _send():
        with app.app_context():
            for message in messages:
                deliver(message)

    response.call_on_close(_send)
    return response
