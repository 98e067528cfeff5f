"""Command-line tools: ``flask demo seed``, ``ledger check``, ``jobs run``, ``provision``,
``users``, ``mail``, ``backup`` and ``restore``."""

import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from models import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    db,
)
from provision import worker
from rules import (
    jobs,
    ledger,
    sites,
    users,
)
from rules.errors import DomainError
from web import backup, demo, mail, notify

demo_cli = AppGroup("demo", help="Demo data for trying the app.")


@demo_cli.command("seed")
@click.option("--base-url", default="http://127.0.0.1:8000", help="Where the app is served.")
@click.option("--force", is_flag=True, help="Load it outside development and test too.")
def seed_command(base_url, force):
    """Load the demo data once; running it again changes nothing."""
    if current_app.config["ENV_NAME"] not in {"development", "test"} and not force:
        raise click.ClickException(
            "The demo data makes logins with a published password (staff@demo.example among"
            f" them); this is APP_ENV={current_app.config['ENV_NAME']}. Run it with --force"
            " only on a server nobody outside may reach."
        )
    created = demo.seed()
    click.echo("Demo data loaded." if created else "Demo data was already there.")
    click.echo(f"Log in at {base_url}/login with password {demo.PASSWORD!r} as:")
    for email, _name, _language, _staff, role in demo.USERS:
        click.echo(f"  {email:<24} {role}")


ledger_cli = AppGroup("ledger", help="The book of money movements.")


@ledger_cli.command("check")
def ledger_check_command():
    """Recompute every balance from the transfers; exit 1 on any disagreement."""
    problems = ledger.check()
    book = ledger.totals()
    for problem in problems:
        click.echo(f"DISAGREES {problem}", err=True)
    click.echo(
        f"ledger check: {book['transfers']} transfers, {book['posted']} cents posted,"
        f" {book['pending']} cents held; "
        + (f"{len(problems)} disagreement(s)" if problems else "every balance agrees")
    )
    if problems:
        raise SystemExit(1)


jobs_cli = AppGroup("jobs", help="The daily job, for cron.")


@jobs_cli.command("run")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Run as of this date.")
def jobs_run_command(today):
    """Issue renewal invoices, auto-renew, send reminders, expire lapsed products; safe to rerun."""
    base = current_app.config["PUBLIC_BASE_URL"]
    with current_app.test_request_context(base_url=base):  # for the links in the reminders
        report = jobs.run(today.date() if today else None, remind=notify.renewal_reminder)
    sent = mail.send_due()
    click.echo(
        f"jobs: {report.renewal_invoices} renewal invoice(s), {report.auto_renewed} auto-renewed,"
        f" {len(report.reminders)} reminder(s) queued, {report.expired} expired,"
        f" {report.cancelled_invoices} lapsed order(s) cancelled;"
        f" mail: {sent.sent} sent, {sent.retrying} to retry, {sent.failed} failed"
    )


provision_cli = AppGroup("provision", help="Hand the panel's changes to the hosting servers.")


@provision_cli.command("run")
@click.option("--once", is_flag=True, help="Apply what is due now and stop (for cron).")
@click.option("--poll-seconds", default=5, show_default=True, help="Wait when the queue is empty.")
def provision_run_command(once, poll_seconds):
    """Apply the outbox entries through PROVISION_BACKEND; retries failures with back-off."""
    backend = worker.load_backend(current_app.config)
    options = worker.Options.from_config(current_app.config)
    if not once:
        click.echo(f"provision: worker {worker.worker_name()} started; Ctrl+C stops it")
        worker.run_forever(backend, options, poll_seconds)
    report = worker.run_once(backend, options)
    click.echo(
        f"provision: {report.applied} applied (+{report.settled} covered by them), "
        f"{report.retrying} to retry, {report.failed} failed"
    )


@provision_cli.command("retry")
def provision_retry_command():
    """Queue the failed entries again, once what made them fail is fixed."""
    click.echo(f"provision: {worker.retry_failed()} failed entr(y/ies) queued again")


@provision_cli.command("refresh")
def provision_refresh_command():
    """Queue every hosting account's sites again, so certificates and disk usage are reported."""
    queued = sites.refresh_web()
    db.session.commit()
    click.echo(f"provision: {queued} hosting account(s) queued for a fresh report")


users_cli = AppGroup("users", help="Accounts: the first staff user, and who is staff.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", help="The name shown in the app (the part before @ by default).")
@click.option("--language", type=click.Choice(list(LANGUAGES)), default=DEFAULT_LANGUAGE)
@click.option("--staff", is_flag=True, help="Staff of the hosting company.")
@click.password_option(help="Prompted for (twice, not shown) when not given.")
def users_create_command(email, name, language, staff, password):
    """Create an account (its address counts as confirmed); with --staff, a staff user."""
    try:
        user = users.register_user(
            email=email, name=name or email.partition("@")[0], password=password, language=language
        )
    except DomainError as error:
        with force_locale("en"):  # the command line speaks to the operator in English
            raise click.ClickException(str(error.message)) from None
    users.mark_email_verified(user, user.email)
    if staff:
        users.set_staff(user, True)
    db.session.commit()
    click.echo(f"users: {user.email} created" + (" as staff" if staff else ""))


@users_cli.command("set-staff")
@click.argument("email")
@click.option("--remove", is_flag=True, help="Take the staff role away instead.")
def users_set_staff_command(email, remove):
    """Make an existing account staff (or, with --remove, no longer)."""
    user = users.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    users.set_staff(user, not remove)
    db.session.commit()
    click.echo(f"users: {user.email} is {'no longer ' if remove else ''}staff")


mail_cli = AppGroup("mail", help="The mail outbox: what the SMTP server has not taken yet.")


@mail_cli.command("send")
@click.option("--once", is_flag=True, help="Send what is due now and stop (for cron).")
@click.option("--poll-seconds", default=5, show_default=True, help="Wait when nothing is due.")
def mail_send_command(once, poll_seconds):
    """Send the queued messages; a failure is tried again later, MAIL_MAX_ATTEMPTS times."""
    if not once:
        click.echo("mail: sender started; Ctrl+C stops it")
        mail.send_forever(poll_seconds, echo=click.echo)
    report = mail.send_due()
    click.echo(f"mail: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")


@mail_cli.command("retry")
def mail_retry_command():
    """Queue the failed messages again, once what made them fail is fixed."""
    count = mail.retry()
    db.session.commit()
    click.echo(f"mail: {count} failed message(s) queued again")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path):
    """Write the database and the provisioning files to one archive (PATH, or a dated file in
    the folder PATH), safely while the app runs."""
    try:
        made = backup.backup(path, current_app.config["PROVISION_DIR"])
    except (backup.BackupError, subprocess.CalledProcessError, OSError) as error:
        raise click.ClickException(_tool_error(error)) from None
    click.echo(f"backup: {made} ({made.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(
    prompt="This replaces the database and the provisioning files. Is the app stopped?"
)
def restore_command(archive):
    """Put a backup's database and provisioning files in place of the current ones."""
    try:
        manifest = backup.restore(archive, current_app.config["PROVISION_DIR"])
    except (backup.BackupError, subprocess.CalledProcessError, OSError) as error:
        raise click.ClickException(_tool_error(error)) from None
    click.echo(
        f"restore: the {manifest['database']} database of {manifest['created_at']} (migration"
        f" {manifest['revision']}) is back; run 'flask db upgrade' if this code is newer"
    )


def _tool_error(error):
    if isinstance(error, subprocess.CalledProcessError):
        return f"{error.cmd[0]} failed: {error.stderr.decode(errors='replace').strip()}"
    return str(error)


def init_app(app):
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(provision_cli)
