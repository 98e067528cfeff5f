"""The mail outbox: messages go with their transaction, through a real SMTP server, are tried
again while it is away, fail for good only when refused or out of tries, and staff see them."""

import logging
import subprocess
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import MailStatus, OutgoingMail, db, utcnow
from tests import factories
from tests.conftest import Outbox, sqlite_only, start_smtp_server
from web import mail


def queue(app, to="x@example.com", subject="Здравейте", body="Тяло\n", **options):
    with app.test_request_context():
        [row] = mail.queue(mail.build_message(to, subject, body), **options)
        db.session.commit()
    return row


def send(app):
    with app.test_request_context():
        return mail.send_due()


def test_a_queued_message_goes_through_the_real_smtp_server(app, outbox):
    row = queue(app)
    assert row.status == MailStatus.PENDING
    report = send(app)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [message] = outbox.to("x@example.com")
    assert message["Subject"] == "Здравейте"
    assert message.get_content() == "Тяло\n"
    db.session.refresh(row)
    assert row.status == MailStatus.SENT and row.sent_at is not None
    assert row.message == ""  # a sent reset or invitation link is not kept
    assert send(app).sent == 0  # and never sent twice


def test_a_rolled_back_change_sends_no_mail(app, outbox):
    with app.test_request_context():
        mail.queue(mail.build_message("x@example.com", "Never", "Body\n"))
        db.session.rollback()
    assert send(app).sent == 0
    assert db.session.scalars(select(OutgoingMail)).all() == []


@pytest.mark.config(MAIL_PORT=9, MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_SECONDS=60)
def test_an_smtp_outage_delays_mail_but_loses_none(app, outbox, smtp_server, caplog):
    row = queue(app)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock, caplog.at_level(logging.WARNING):
        assert send(app).retrying == 1
        db.session.refresh(row)
        assert (row.status, row.attempts) == (MailStatus.PENDING, 1)
        assert row.next_attempt_at == start + timedelta(seconds=60)
        assert "Connection refused" in row.last_error
        assert send(app).retrying == 0  # not due yet
        clock.shift(61)
        assert send(app).retrying == 1  # the second try, then the wait doubles
        db.session.refresh(row)
        assert row.next_attempt_at == start + timedelta(seconds=61 + 120)
        app.config["MAIL_PORT"] = smtp_server["port"]  # the server is back
        clock.shift(121)
        assert send(app).sent == 1
    assert outbox.to("x@example.com")
    assert "not sent" in caplog.text


@pytest.mark.config(MAIL_PORT=9, MAIL_MAX_ATTEMPTS=2, MAIL_RETRY_SECONDS=1)
def test_after_the_last_try_a_message_fails_and_staff_can_send_it_again(
    app, testapp, login_as, outbox, smtp_server
):
    row = queue(app, to="client@example.com")
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        send(app)
        clock.shift(2)
        assert send(app).failed == 1
    db.session.refresh(row)
    assert row.status == MailStatus.FAILED and row.message != ""
    staff = login_as(factories.create_user(is_staff=True))
    home = staff.get("/staff/")
    assert "1 писмо не можа да бъде доставено." in home.html.select_one("#failed-mail").text
    page = staff.get("/staff/mail/")
    listed = page.html.select_one(f"#mail-{row.id}").text
    assert "client@example.com" in listed and "Connection refused" in listed
    app.config["MAIL_PORT"] = smtp_server["port"]
    again = page.forms[f"retry-{row.id}"].submit()  # queued again, sent after the response
    assert again.status_int == 303
    db.session.refresh(row)
    assert row.status == MailStatus.SENT
    assert outbox.wait_for("client@example.com")
    assert "Всички писма са доставени." in staff.get("/staff/mail/").text


def test_a_mailbox_the_server_refuses_for_good_fails_at_once(app, outbox):
    row = queue(app, to="nobody@example.com")
    assert send(app).failed == 1
    db.session.refresh(row)
    assert row.status == MailStatus.FAILED and row.attempts == 1
    assert "550" in row.last_error


def test_a_link_that_expired_in_the_outbox_is_not_sent(app, outbox):
    row = queue(app, expires_in=timedelta(hours=1))
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        assert send(app).failed == 1
    db.session.refresh(row)
    assert "expired" in row.last_error
    assert outbox.to("x@example.com") == []


def test_a_claimed_message_is_not_sent_by_a_second_sender(app, outbox):
    row = queue(app)
    with app.test_request_context():
        assert mail._claim(row.id, utcnow()) is not None  # a first sender holds it
        assert mail.send_due().sent == 0  # a second finds nothing to take
        with time_machine.travel(utcnow() + mail.CLAIM + timedelta(seconds=1)):
            assert mail.send_due().sent == 1  # the first died: its claim lapsed
    assert len(outbox.to("x@example.com")) == 1


@sqlite_only
@pytest.mark.config(MAIL_BACKEND="log")
def test_the_log_backend_writes_readable_text(app, outbox, caplog):
    body = "Здравейте,\nhttp://localhost/password/reset/" + "x" * 120 + "\n"
    queue(app, subject="Нова парола", body=body)
    with caplog.at_level(logging.WARNING, logger="web.mail"):
        assert send(app).sent == 1
    assert "MAIL_BACKEND=log" in caplog.text
    assert "To: x@example.com" in caplog.text and "Subject: Нова парола" in caplog.text
    assert body in caplog.text  # not base64 or quoted-printable: the link can be copied
    assert outbox.messages == []


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


@sqlite_only
@pytest.mark.parametrize("trusted", [False, True])
def test_starttls_checks_the_server_certificate(app, tls_smtp_server, monkeypatch, trusted):
    app.config.update(MAIL_PORT=tls_smtp_server["port"], MAIL_USE_TLS=True)
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_smtp_server["cert"]))
    row = queue(app, to="tls@example.com")
    report = send(app)
    assert report.sent == int(trusted)
    assert bool(tls_smtp_server["outbox"].to("tls@example.com")) is trusted
    if not trusted:
        db.session.refresh(row)
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error


def test_reset_mail_is_sent_after_the_response(testapp, create_user, outbox):
    create_user("after@example.com")
    form = testapp.get("/password/forgot").forms["forgot-form"]
    form["email"] = "after@example.com"
    response = form.submit()
    assert response.status_int == 303
    assert len(outbox.to("after@example.com")) == 1  # delivered when the response closed
    row = db.session.scalar(select(OutgoingMail))
    assert row.status == MailStatus.SENT
    assert row.expires_at is not None  # a reset link is useless after an hour


def test_a_reset_link_is_built_on_the_apps_address_not_the_visitors_host(
    testapp, create_user, outbox
):
    """A visitor who sends Host: evil.example asking for someone's reset link must not get a
    link to evil.example mailed to the victim (PUBLIC_BASE_URL, never the Host)."""
    create_user("victim@example.com")
    page = testapp.get("/password/forgot", extra_environ={"HTTP_HOST": "evil.example"})
    form = page.forms["forgot-form"]
    form["email"] = "victim@example.com"
    form.submit(extra_environ={"HTTP_HOST": "evil.example"})
    [message] = outbox.wait_for("victim@example.com")
    body = message.get_content()
    assert "http://localhost/password/reset/" in body and "evil.example" not in body


@sqlite_only
@pytest.mark.config(TRUSTED_HOSTS=["partners.example.com"])
def test_trusted_hosts_refuse_any_other_host(testapp):
    assert (
        testapp.get("/login", extra_environ={"HTTP_HOST": "partners.example.com"}).status_int == 200
    )
    refused = testapp.get("/login", extra_environ={"HTTP_HOST": "evil.example"}, expect_errors=True)
    assert refused.status_int == 400
