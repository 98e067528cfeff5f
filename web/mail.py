"""Outgoing mail over SMTP; without MAIL_SERVER the message goes to the log instead."""

import smtplib
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
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    try:
        with smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("Mail to %s could not be sent", message["To"])
        return False
    return True


def send_template(user_or_email, template, language="bg", **context):
    """Render ``mail/<template>.txt`` in the recipient's language and send it.

    The template's first line is the subject; the rest, after a blank line, is the body.
    """
    to = getattr(user_or_email, "email", user_or_email)
    language = getattr(user_or_email, "language", language)
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    return deliver(build_message(to, subject.strip(), body.strip() + "\n"))
