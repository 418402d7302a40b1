"""The deadline sweeper: finishes attempts whose time ran out even if the candidate never returns.

Every app process runs one. They share the work through the database (``SKIP LOCKED`` on
PostgreSQL; SQLite has one writer anyway), and finishing is exactly-once because it happens
under the attempt's row lock (:func:`app.services.attempts.finish`).

The query only lists candidates (running, unpaused, deadline before ``now - grace``: the SQL form
of :meth:`exam_day.attempt.AttemptState.is_expired`). Whether one is really due is decided again
by the model under the row lock, so an attempt a proctor paused or extended after the list was
read is left alone (its finish is ``NotDue``).

An attempt that fails to finish (a broken row, a bug) must not starve the others: it is skipped
for the rest of the round and backed off (twice the interval per failure in a row, at most
:data:`MAX_BACKOFF_SECONDS`), and the listing goes on past it to later deadlines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from app.clock import Clock
from app.db import Database
from app.repositories import attempts as repo

log = logging.getLogger("ujian.sweeper")

FinishOne = Callable[[int], bool]

#: The longest a failing attempt waits before the sweeper tries it again.
MAX_BACKOFF_SECONDS = 300.0


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
        #: Attempts that failed to finish: (failures in a row, monotonic time of the next try).
        self._failing: dict[int, tuple[int, float]] = {}
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
        """Finish every attempt that is due now; how many this process finished.

        Each attempt is tried at most once a round; those failing are backed off, and the
        listing reaches past them (its limit grows by the number skipped), so however many fail,
        the later ones are still finished.
        """
        done = 0
        tried: set[int] = set()
        while True:
            cutoff = self._clock.now() - self._grace
            moment = time.monotonic()
            skipped = tried | {i for i, (_n, at) in self._failing.items() if at > moment}
            with self._db.read_session() as session:
                listed = repo.due_attempts_readonly(session, cutoff, self._batch + len(skipped))
            due = [i for i in listed if i not in skipped][: self._batch]
            if not due:
                return done
            for attempt_id in due:
                tried.add(attempt_id)
                try:
                    finished = self._finish_one(attempt_id)
                except Exception:
                    self._back_off(attempt_id)
                    continue
                self._failing.pop(attempt_id, None)
                if finished:
                    done += 1
                    self.finished += 1

    def _back_off(self, attempt_id: int) -> None:
        failures = self._failing.get(attempt_id, (0, 0.0))[0] + 1
        delay = min(self._interval * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS)
        self._failing[attempt_id] = (failures, time.monotonic() + delay)
        log.exception(
            "finishing attempt %s failed (%s in a row); next try in %.0f s",
            attempt_id,
            failures,
            delay,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep_once()
            except Exception:
                log.exception("sweeper round failed")
            self._wake.wait(self._interval)
            self._wake.clear()
