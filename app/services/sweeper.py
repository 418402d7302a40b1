"""The deadline sweeper: finishes attempts whose time ran out even if the candidate never returns.

Every app process runs one. They share the work through the database (``SKIP LOCKED`` on
PostgreSQL; SQLite has one writer anyway), and finishing is exactly-once because it happens
under the attempt's row lock (:func:`app.services.attempts.finish`).

The query only lists candidates (running, unpaused, deadline before ``now - grace``: the SQL form
of :meth:`exam_day.attempt.AttemptState.is_expired`). Whether one is really due is decided again
by the model under the row lock, so an attempt a proctor paused or extended after the list was
read is left alone (its finish is ``NotDue``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta

from app.clock import Clock
from app.db import Database
from app.repositories import attempts as repo

log = logging.getLogger("ujian.sweeper")

FinishOne = Callable[[int], bool]


class Sweeper:
    """A daemon thread that finishes due attempts every ``interval`` seconds (or when woken)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        grace: timedelta,
        interval: float,
        finish_one: FinishOne,
        batch: int = 200,
    ) -> None:
        self._db = db
        self._clock = clock
        self._grace = grace
        self._interval = interval
        self._finish_one = finish_one
        self._batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.finished = 0

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def wake(self, _attempt_ids: Iterable[int] = ()) -> None:
        """Run a round now (the answer path saw an expired attempt)."""
        self._wake.set()

    def sweep_once(self) -> int:
        """Finish every attempt that is due now; how many this process finished."""
        done = 0
        while True:
            cutoff = self._clock.now() - self._grace
            with self._db.read_session() as session:
                due = repo.due_attempts_readonly(session, cutoff, self._batch)
            if not due:
                return done
            progressed = 0
            for attempt_id in due:
                try:
                    if self._finish_one(attempt_id):
                        progressed += 1
                except Exception:
                    log.exception("finishing attempt %s failed; retrying next round", attempt_id)
            done += progressed
            self.finished += progressed
            if progressed == 0 or len(due) < self._batch:
                return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep_once()
            except Exception:
                log.exception("sweeper round failed")
            self._wake.wait(self._interval)
            self._wake.clear()
