"""The worker behind ``flask provision run``: claim an outbox entry, apply its target's whole
state through the backend, settle it (and the entries of the same target it covered).

One entry per target is applied at a time, oldest first: an entry can be claimed only while no
older entry of its target waits and no other entry of its target is claimed (even one whose
claim lapsed: it is claimed again first). The claim is one conditional UPDATE (a
compare-and-set on both SQLite and PostgreSQL), committed before the backend is called, so two
workers never apply the same entry. A worker that dies while applying loses its claim after
PROVISION_CLAIM_SECONDS; the entry is then applied again, which is harmless because states are
whole (docs/provisioning.md). A slow worker that finds its claim lost when it is done queues the
target once more, so the newest state is applied last.
"""

import importlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from models import ProvisionTask, TaskStatus, db, utcnow
from provision.backends.base import BackendError, PermanentBackendError
from provision.backends.files import FilesBackend
from rules import provisioning

log = logging.getLogger(__name__)

#: the longest wait between two tries of an entry
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class Report:
    applied: int = 0
    settled: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Options:
    max_attempts: int
    retry_seconds: int
    claim_seconds: int
    settings: provisioning.Settings

    @classmethod
    def from_config(cls, config):
        return cls(
            max_attempts=config["PROVISION_MAX_ATTEMPTS"],
            retry_seconds=config["PROVISION_RETRY_SECONDS"],
            claim_seconds=config["PROVISION_CLAIM_SECONDS"],
            settings=provisioning.Settings(
                nameservers=tuple(config["PROVISION_NAMESERVERS"]),
                hostmaster=config["PROVISION_HOSTMASTER"],
            ),
        )


def load_backend(config):
    """The backend PROVISION_BACKEND names: "files", or "package.module:Class"."""
    name = config["PROVISION_BACKEND"]
    if name == "files":
        return FilesBackend(config["PROVISION_DIR"])
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)(config)


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


def _claimable(now):
    return or_(
        and_(ProvisionTask.status == TaskStatus.PENDING, ProvisionTask.next_attempt_at <= now),
        and_(ProvisionTask.status == TaskStatus.RUNNING, ProvisionTask.claimed_until < now),
    )


def claim(worker, options, now=None):
    """Claim the oldest entry that may be applied now; None when there is none."""
    now = now or utcnow()
    other = aliased(ProvisionTask)
    blocked = exists().where(
        other.target == ProvisionTask.target,
        other.id != ProvisionTask.id,
        or_(
            and_(other.status == TaskStatus.PENDING, other.id < ProvisionTask.id),
            other.status == TaskStatus.RUNNING,
        ),
    )
    candidates = db.session.scalars(
        select(ProvisionTask.id)
        .where(_claimable(now), ~blocked)
        .order_by(ProvisionTask.id)
        .limit(20)
    ).all()
    db.session.rollback()
    for task_id in candidates:
        result = db.session.execute(
            update(ProvisionTask)
            .where(ProvisionTask.id == task_id, _claimable(now), ~blocked)
            .values(
                status=TaskStatus.RUNNING,
                claimed_by=worker,
                claimed_until=now + timedelta(seconds=options.claim_seconds),
                attempts=ProvisionTask.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if result.rowcount != 1:
            continue
        task = db.session.get(ProvisionTask, task_id, populate_existing=True)
        if task.attempts > options.max_attempts:  # its workers kept dying while applying it
            _failed(
                task, worker, options, PermanentBackendError("the worker stopped while applying it")
            )
            continue
        return task
    return None


def apply(task, backend, worker, options, today=None):
    """Apply the claimed entry's target; settle, retry later or fail. Returns how it went.

    The state is read, then the transaction ends before the backend is called, so a slow
    server never holds the database (SQLite's write lock above all) while it works.
    """
    kind, _, domain = task.target.partition(":")
    # The entries of the target committed before the state is read are covered by this apply;
    # their ids are read first (on PostgreSQL an id says nothing of when its entry committed).
    covered = db.session.scalars(
        select(ProvisionTask.id).where(
            ProvisionTask.target == task.target,
            ProvisionTask.status.in_([TaskStatus.PENDING, TaskStatus.FAILED]),
            ProvisionTask.id != task.id,
        )
    ).all()
    if kind == provisioning.ZONE:
        # The serial is taken for good before the backend runs: a zone written and then
        # reported as failed, or a lost claim, never shows new data under an old serial.
        serial = provisioning.next_serial(provisioning.zone_serial(domain), today or date.today())
        provisioning.set_zone_serial(domain, serial)
        desired = provisioning.zone_state(domain, options.settings, serial)
    elif kind == provisioning.REGISTRY:
        desired = provisioning.registry_state(domain, options.settings)
    elif kind == provisioning.MAIL:
        desired = provisioning.mail_state(domain)
    elif kind == provisioning.WEB:
        desired = provisioning.web_state(domain)
    else:
        desired = None
    db.session.commit()
    try:
        if desired is None:
            raise PermanentBackendError(f"unknown target {task.target!r}")
        facts = getattr(backend, f"apply_{kind}")(desired)
    except BackendError as error:
        return _failed(task, worker, options, error)
    except Exception as error:  # a bug in a backend must not stop the queue
        log.exception("provisioning %s failed", task.target)
        return _failed(task, worker, options, BackendError(f"{type(error).__name__}: {error}"))
    if kind == provisioning.WEB:
        provisioning.record_web_facts(domain, facts)
    return _settle(task, worker, covered)


def _settle(task, worker, covered):
    now = utcnow()
    mine = db.session.execute(
        update(ProvisionTask)
        .where(
            ProvisionTask.id == task.id,
            ProvisionTask.status == TaskStatus.RUNNING,
            ProvisionTask.claimed_by == worker,
        )
        .values(
            status=TaskStatus.APPLIED,
            applied_by_id=task.id,
            applied_at=now,
            claimed_by=None,
            claimed_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if mine.rowcount != 1:
        return _lost(task)
    settled = 0
    if covered:
        # earlier failed entries too: their change is on the servers now, with the rest
        settled = db.session.execute(
            update(ProvisionTask)
            .where(
                ProvisionTask.id.in_(covered),
                ProvisionTask.status.in_([TaskStatus.PENDING, TaskStatus.FAILED]),
            )
            .values(status=TaskStatus.APPLIED, applied_by_id=task.id, applied_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    return ("applied", settled)


def _lost(task):
    """The claim lapsed while the backend worked and another worker took the entry over: what
    this worker wrote may be older than what the other one did, so the target goes once more."""
    db.session.rollback()
    db.session.add(
        ProvisionTask(
            product_id=task.product_id,
            target=task.target,
            summary={"code": "provision.again"},
            status=TaskStatus.PENDING,
            next_attempt_at=utcnow(),
        )
    )
    db.session.commit()
    return "lost"


def _failed(task, worker, options, error):
    task = db.session.get(ProvisionTask, task.id, populate_existing=True)
    if task is None:
        db.session.rollback()
        return "lost"
    if task.claimed_by != worker or task.status != TaskStatus.RUNNING:
        return _lost(task)
    final = isinstance(error, PermanentBackendError) or task.attempts >= options.max_attempts
    task.last_error = str(error)[:1000] or type(error).__name__
    task.claimed_by = None
    task.claimed_until = None
    if final:
        task.status = TaskStatus.FAILED
    else:
        wait = timedelta(seconds=options.retry_seconds * 2 ** min(task.attempts - 1, 20))
        task.status = TaskStatus.PENDING
        task.next_attempt_at = utcnow() + min(wait, MAX_BACKOFF)
    db.session.commit()
    return "failed" if final else "retrying"


def retry_failed(product_id=None):
    """Queue the failed entries again (after the cause is fixed); return how many."""
    query = (
        update(ProvisionTask)
        .where(ProvisionTask.status == TaskStatus.FAILED)
        .values(status=TaskStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if product_id is not None:
        query = query.where(ProvisionTask.product_id == product_id)
    count = db.session.execute(query).rowcount
    db.session.commit()
    return count


def run_once(backend, options, worker=None, limit=None):
    """Apply every entry that is due now (at most ``limit``); return what happened."""
    worker = worker or worker_name()
    report = Report()
    while limit is None or report.applied + report.retrying + report.failed < limit:
        task = claim(worker, options)
        if task is None:
            break
        outcome = apply(task, backend, worker, options)
        if isinstance(outcome, tuple):
            report.applied += 1
            report.settled += outcome[1]
        elif outcome == "retrying":
            report.retrying += 1
        elif outcome == "failed":
            report.failed += 1
    return report


def run_forever(backend, options, poll_seconds, worker=None, echo=print):
    """Keep applying entries as they come; wait ``poll_seconds`` when the queue is empty."""
    worker = worker or worker_name()
    while True:
        report = run_once(backend, options, worker)
        if report.applied or report.retrying or report.failed:
            echo(
                f"applied {report.applied} (+{report.settled} covered), "
                f"retrying {report.retrying}, failed {report.failed}"
            )
        else:
            time.sleep(poll_seconds)
