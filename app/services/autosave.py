"""Autosave with group commit: many candidates' answers share one durable commit.

Each ``PUT /attempts/current/responses/{position}`` is handed to :class:`AutosaveWriter` and
the request waits for its outcome. One writer thread per process takes every save queued
while the previous commit was running, checks them all against their attempts (status,
deadline, device) in one transaction, writes the accepted ones and commits once; only then is
each request answered. Durability is unchanged (nothing is acknowledged before its commit);
what changes is that an fsync (SQLite ``synchronous=FULL``) or a WAL flush (PostgreSQL) is paid
once per batch instead of once per answer, so throughput grows with load instead of
collapsing under it.

Everything is checked inside the batch's transaction against rows it has locked, so a save
racing a pause, a finish or a login from another PC is decided by the database, not by
process memory: two app processes on one PostgreSQL behave exactly like one.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError

from app.clock import Clock
from app.db import Database
from app.errors import AppError, Conflict, NotFound, Unauthorized, Unavailable
from app.models.attempt import Attempt, Response, ResponseEvent
from app.repositories.common import dialect_insert

log = logging.getLogger("ujian.autosave")

IN_PROGRESS = "in_progress"
OPTION_LETTERS = "ABCDEF"


class DeadlinePassed(Conflict):
    """The exam time (plus the network grace) is over: the answer was not saved."""


class AttemptPaused(Conflict):
    """The proctor paused this attempt or the sitting: answers wait until it resumes."""


class AttemptNotActive(Conflict):
    """The attempt is not running (not started, finished or voided)."""


class DeviceReplaced(Unauthorized):
    """The candidate logged in on another PC; this device's token has ended."""


@dataclass(frozen=True, slots=True)
class SaveRequest:
    """One answer as the candidate's device sent it (``option`` is the shown letter or None)."""

    attempt_id: int
    generation: int
    position: int
    option: str | None
    flagged: bool
    seq: int


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What the server did with a save, known only after its batch committed."""

    position: int
    option: str | None
    flagged: bool
    seq: int
    applied: bool
    remaining_seconds: int
    saved_at: datetime


def remaining_seconds(deadline_at: datetime, paused_at: datetime | None, now: datetime) -> int:
    """Whole seconds left, rounded up (a countdown shows 1 until time is really over); the
    clock stands still while paused; never negative."""
    reference = paused_at or now
    return max(0, math.ceil((deadline_at - reference).total_seconds()))


class FormCache:
    """Option orders of started attempts, by attempt id (a frozen form never changes).

    Bounded LRU: a miss costs one extra column in the batch's query.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._data: OrderedDict[int, tuple[tuple[int, ...], ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, attempt_id: int) -> tuple[tuple[int, ...], ...] | None:
        with self._lock:
            found = self._data.get(attempt_id)
            if found is not None:
                self._data.move_to_end(attempt_id)
            return found

    def put(self, attempt_id: int, form: list[Any]) -> tuple[tuple[int, ...], ...]:
        orders = tuple(tuple(int(o) for o in entry[1]) for entry in form)
        with self._lock:
            self._data[attempt_id] = orders
            self._data.move_to_end(attempt_id)
            while len(self._data) > self._capacity:
                self._data.popitem(last=False)
        return orders


@dataclass
class _Pending:
    request: SaveRequest
    future: Future[SaveOutcome]


class AutosaveWriter:
    """The group-commit writer of one process (a daemon thread)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        grace: timedelta,
        max_batch: int = 512,
        on_expired: Any = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._grace = grace
        self._max_batch = max_batch
        self._on_expired = on_expired
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._forms = FormCache()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.batches = 0
        self.saves = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._stopping = True
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, request: SaveRequest) -> Future[SaveOutcome]:
        """Queue a save; the future resolves after the commit that holds it."""
        future: Future[SaveOutcome] = Future()
        if self._thread is None or self._stopping:
            future.set_exception(Unavailable("the service is shutting down; retry"))
            return future
        self._queue.put(_Pending(request, future))
        return future

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._process(batch)
            if stop:
                return

    def _process(self, batch: list[_Pending]) -> None:
        for attempt in range(3):
            try:
                outcomes, expired = self._write([p.request for p in batch])
                break
            except DBAPIError as exc:
                # Deadlock/serialization failures and lock timeouts are retried whole: the
                # transaction rolled back, so nothing of it is visible.
                log.warning(
                    "autosave batch of %d failed (try %d): %s", len(batch), attempt + 1, exc
                )
                time.sleep(0.05 * (attempt + 1))
            except Exception:
                log.exception("autosave batch of %d failed", len(batch))
                break
        else:
            outcomes, expired = None, set()
        if outcomes is None:
            error = Unavailable("the answer could not be stored right now; it will be retried")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        self.batches += 1
        self.saves += len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, AppError):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
        if expired and self._on_expired is not None:
            self._on_expired(expired)

    def _write(self, requests: list[SaveRequest]) -> tuple[list[SaveOutcome | AppError], set[int]]:
        now = self._clock.now()
        ids = sorted({r.attempt_id for r in requests})
        with self._db.engine.begin() as conn:
            attempts = self._lock_attempts(conn, ids)
            outcomes: list[SaveOutcome | AppError | None] = [None] * len(requests)
            expired: set[int] = set()
            accepted: dict[tuple[int, int], tuple[int, SaveRequest, int | None]] = {}
            for index, request in enumerate(requests):
                row = attempts.get(request.attempt_id)
                verdict = self._check(request, row, now)
                if isinstance(verdict, AppError):
                    outcomes[index] = verdict
                    if isinstance(verdict, DeadlinePassed):
                        expired.add(request.attempt_id)
                    continue
                key = (request.attempt_id, request.position)
                held = accepted.get(key)
                if held is None or request.seq > held[1].seq:
                    accepted[key] = (index, request, verdict)

            stored = self._stored_seqs(conn, list(accepted))
            events: list[dict[str, Any]] = []
            upserts: list[dict[str, Any]] = []
            winners: set[int] = set()
            for key, (index, request, original) in accepted.items():
                if request.seq <= stored.get(key, -1):
                    continue
                winners.add(index)
                values = {
                    "attempt_id": request.attempt_id,
                    "position": request.position,
                    "option": original,
                    "flagged": request.flagged,
                    "seq": request.seq,
                }
                events.append({**values, "at": now, "device_generation": request.generation})
                upserts.append({**values, "saved_at": now})
            if events:
                conn.execute(insert(ResponseEvent), events)
                statement = dialect_insert(conn, Response)
                statement = statement.on_conflict_do_update(
                    index_elements=["attempt_id", "position"],
                    set_={
                        "option": statement.excluded.option,
                        "flagged": statement.excluded.flagged,
                        "seq": statement.excluded.seq,
                        "saved_at": statement.excluded.saved_at,
                    },
                    where=Response.__table__.c.seq < statement.excluded.seq,
                )
                conn.execute(statement, upserts)
            seen = [i for i in ids if i in attempts and attempts[i]["status"] == IN_PROGRESS]
            if seen:
                conn.execute(update(Attempt).where(Attempt.id.in_(seen)).values(last_seen_at=now))

        current = self._current_after(stored, accepted, winners)
        for index, request in enumerate(requests):
            if outcomes[index] is not None:
                continue
            row = attempts[request.attempt_id]
            if index in winners:
                outcomes[index] = SaveOutcome(
                    position=request.position,
                    option=request.option,
                    flagged=request.flagged,
                    seq=request.seq,
                    applied=True,
                    remaining_seconds=remaining_seconds(row["deadline_at"], row["paused_at"], now),
                    saved_at=now,
                )
            else:
                # A stale or repeated sequence: acknowledged (it is safe to drop from the
                # device's queue) but not applied; the newer answer stands.
                outcomes[index] = SaveOutcome(
                    position=request.position,
                    option=request.option,
                    flagged=request.flagged,
                    seq=current.get((request.attempt_id, request.position), request.seq),
                    applied=False,
                    remaining_seconds=remaining_seconds(row["deadline_at"], row["paused_at"], now),
                    saved_at=now,
                )
        return [o for o in outcomes if o is not None], expired

    @staticmethod
    def _current_after(
        stored: dict[tuple[int, int], int],
        accepted: dict[tuple[int, int], tuple[int, SaveRequest, int | None]],
        winners: set[int],
    ) -> dict[tuple[int, int], int]:
        current = dict(stored)
        for key, (index, request, _original) in accepted.items():
            if index in winners:
                current[key] = request.seq
        return current

    def _lock_attempts(self, conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
        columns = [
            Attempt.id,
            Attempt.status,
            Attempt.deadline_at,
            Attempt.paused_at,
            Attempt.device_generation,
        ]
        statement = select(*columns).where(Attempt.id.in_(ids)).order_by(Attempt.id)
        if conn.dialect.name == "postgresql":
            # Locked in id order: two processes' batches touching the same attempts queue
            # instead of deadlocking, and a finish or pause waits for this commit.
            statement = statement.with_for_update()
        rows = {row.id: dict(row._mapping) for row in conn.execute(statement)}
        missing = [i for i in rows if self._forms.get(i) is None]
        if missing:
            for attempt_id, form in conn.execute(
                select(Attempt.id, Attempt.form).where(Attempt.id.in_(missing))
            ):
                if form is not None:
                    self._forms.put(attempt_id, form)
        return rows

    def _check(
        self, request: SaveRequest, row: dict[str, Any] | None, now: datetime
    ) -> int | AppError | None:
        """The original option index to store, or the refusal."""
        if row is None:
            return NotFound("no such attempt")
        if request.generation != row["device_generation"]:
            return DeviceReplaced(
                "this exam was opened on another computer; this one is logged out"
            )
        status = row["status"]
        if status != IN_PROGRESS:
            if status == "ready":
                return AttemptNotActive("the exam has not been started yet")
            return AttemptNotActive(f"the attempt is {status}; answers can no longer change")
        deadline = row["deadline_at"]
        if row["paused_at"] is None and now > deadline + self._grace:
            return DeadlinePassed("the exam time is over; this answer was not saved")
        if row["paused_at"] is not None:
            return AttemptPaused("the exam is paused by the proctor; please wait")
        orders = self._forms.get(request.attempt_id)
        if orders is None:
            return AttemptNotActive("the exam has not been started yet")
        if not 1 <= request.position <= len(orders):
            return NotFound(f"there is no item {request.position} (1-{len(orders)})")
        if request.option is None:
            return None
        order = orders[request.position - 1]
        shown = OPTION_LETTERS.find(request.option)
        if shown < 0 or shown >= len(order):
            letters = OPTION_LETTERS[: len(order)]
            return Conflict(f"option must be one of {', '.join(letters)} or null")
        return order[shown]

    @staticmethod
    def _stored_seqs(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
        if not keys:
            return {}
        found: dict[tuple[int, int], int] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            statement = select(Response.attempt_id, Response.position, Response.seq).where(
                tuple_(Response.attempt_id, Response.position).in_(chunk)
            )
            for attempt_id, position, seq in conn.execute(statement):
                found[(attempt_id, position)] = seq
        return found
