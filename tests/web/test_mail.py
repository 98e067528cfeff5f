import logging
import subprocess

import pytest
from flask import current_app

from tests.conftest import Outbox, sqlite_only, start_smtp_server
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


@pytest.fixture
def tls_smtp_server(tmp_path):
    """An SMTP server offering STARTTLS with a self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    maildir = tmp_path / "Maildir"
    process, port = start_smtp_server(maildir, "--tlscert", str(cert), "--tlskey", str(key))
    yield {"port": port, "cert": cert, "outbox": Outbox(maildir)}
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("trusted", [False, True])
def test_starttls_checks_the_server_certificate(app, tls_smtp_server, monkeypatch, caplog, trusted):
    app.config.update(MAIL_PORT=tls_smtp_server["port"], MAIL_USE_TLS=True)
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_smtp_server["cert"]))
    with app.test_request_context(), caplog.at_level(logging.ERROR):
        sent = mail.deliver(mail.build_message("tls@example.com", "TLS", "Body\n"))
    assert sent is trusted
    assert bool(tls_smtp_server["outbox"].to("tls@example.com")) is trusted
    if not trusted:
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


def test_reset_mail_is_sent_after_the_response(testapp, create_user, outbox):
    create_user("after@example.com")
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "after@example.com"
    response = form.submit()
    assert response.status_int == 303
    assert len(outbox.to("after@example.com")) == 1  # delivered when the response closed
