import logging

from flask import current_app

from tests.conftest import sqlite_only
from web import mail

pytestmark = sqlite_only


def test_mail_goes_through_the_real_smtp_server(app, outbox):
    with app.test_request_context():
        assert mail.deliver(mail.build_message("x@example.com", "Здравейте", "Тяло\n"))
    [message] = outbox.to("x@example.com")
    assert message["Subject"] == "Здравейте"
    assert message.get_content() == "Тяло\n"


def test_without_mail_server_mail_is_logged_as_readable_text(app, outbox, caplog):
    app.config["MAIL_SERVER"] = None
    body = "Здравейте,\nhttp://localhost/password/reset/" + "x" * 120 + "\n"
    with app.test_request_context(), caplog.at_level(logging.INFO, logger=current_app.logger.name):
        assert mail.deliver(mail.build_message("x@example.com", "Нова парола", body))
    assert "Mail not sent" in caplog.text
    assert "To: x@example.com" in caplog.text and "Subject: Нова парола" in caplog.text
    assert body in caplog.text  # not base64 or quoted-printable: the link can be copied
    assert outbox.messages == []


def test_unreachable_mail_server_is_reported_not_raised(app, caplog):
    app.config["MAIL_PORT"] = 9  # discard: nothing listens here
    with app.test_request_context(), caplog.at_level(logging.ERROR):
        assert mail.deliver(mail.build_message("x@example.com", "Hi", "Body\n")) is False
    assert "could not be sent" in caplog.text
