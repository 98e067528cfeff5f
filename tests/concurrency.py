"""Run the same work in many threads at once, each with its own app context and session."""

import threading

from models import database, db


def run_concurrently(app, count, work, *, timeout=60):
    """Start ``count`` threads that wait at a barrier, then call ``work(i)`` and commit.

    Returns what each call returned or raised, by thread index. Each thread's transaction
    begins as a request that writes would (BEGIN IMMEDIATE on SQLite), and a call that raises
    is rolled back, as a request would be.
    """
    results = [None] * count
    barrier = threading.Barrier(count, timeout=timeout)

    def run(i):
        with app.app_context():
            database.mark_read_only(False)
            try:
                barrier.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:  # the test looks at what each thread met
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
