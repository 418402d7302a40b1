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

import asyncio
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app.clock import Clock
from app.db import Database
from app.errors import AppError, NotFound, TooManyRequests, Unavailable
from app.services.refusals import DeadlinePassed, as_app_error
from exam_day.attempt import remaining_seconds, save_refusal
from exam_day.errors import AdaptivePosition, AttemptNotStarted, NoSuchPosition, UnknownOption
from exam_day.form import FrozenForm, original_of
from exam_day.status import AttemptStatus

log = logging.getLogger("ujian.autosave")

#: How stale ``last_seen_at`` may get before a save refreshes it (seat list precision).
LAST_SEEN_RESOLUTION = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class SaveRequest:
    """One answer as the candidate's device sent it (``option`` is the shown letter or None)."""

    attempt_id: int
    generation: int
    position: int
    option: str | None
    flagged: bool
    seq: int
    #: Items shown since the device's last acknowledged save: (position, ms before sending).
    views: tuple[tuple[int, int], ...] = ()
    #: When the server received the request: the deadline is judged against it, so a save sent
    #: in time is never refused because its batch was written late. None: when it is written.
    received_at: datetime | None = None


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

    def put(self, attempt_id: int, form: Any) -> tuple[tuple[int, ...], ...]:
        # Adaptive positions are kept empty: their answers take the adaptive path, and only
        # there does a form grow.
        orders = FrozenForm.decode(form).fixed_orders()
        with self._lock:
            self._data[attempt_id] = orders
            self._data.move_to_end(attempt_id)
            while len(self._data) > self._capacity:
                self._data.popitem(last=False)
        return orders


class _Locked(NamedTuple):
    """The columns of a locked attempt the save rule reads (as the driver returns them)."""

    status: str
    device_generation: int
    deadline_at: datetime | None
    paused_at: datetime | None
    last_seen_at: datetime | None


@dataclass
class _Pending:
    request: SaveRequest
    future: Future[SaveOutcome] | asyncio.Future[SaveOutcome]
    loop: asyncio.AbstractEventLoop | None = None


def _settle(
    settled: list[tuple[asyncio.Future[SaveOutcome], SaveOutcome | BaseException]],
) -> None:
    """Resolve a batch's futures on their event loop (one wake-up for the whole batch)."""
    for future, outcome in settled:
        if future.done():
            continue  # the request was cancelled (client gone); the answer is stored anyway
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class SaveRateLimit:
    """Saves per attempt: ``rate`` a second with bursts of ``burst`` (a token bucket per attempt,
    on the service's clock), so one device cannot flood the writer and the answer history.

    Checked on the event loop before a save is queued (one thread: no lock). A refused save gets
    429 with ``Retry-After``; the screen's save queue waits that long and sends it again.
    """

    def __init__(self, clock: Clock, *, rate: float, burst: int, capacity: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            msg = f"save rate limit: rate must be > 0 and burst >= 1, got {rate}/s, {burst}"
            raise ValueError(msg)
        self._clock = clock
        self.rate = rate
        self.burst = burst
        self._capacity = capacity
        self._buckets: dict[int, tuple[float, float]] = {}

    def retry_after(self, attempt_id: int) -> float | None:
        """Take one save from the attempt's bucket: None if admitted, else seconds to wait."""
        now = self._clock.now().timestamp()
        tokens, last = self._buckets.get(attempt_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[attempt_id] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self._capacity and attempt_id not in self._buckets:
            # Full buckets carry no information: forget them all rather than grow without end.
            self._buckets.clear()
        self._buckets[attempt_id] = (tokens - 1.0, now)
        return None


class AutosaveWriter:
    """The group-commit writer of one process (a daemon thread)."""

    #: Per-attempt save limit (set by the application from its settings); None: no limit.
    rate_limit: SaveRateLimit | None = None

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

    async def save(self, request: SaveRequest) -> SaveOutcome:
        """Queue a save from the event loop and wait for the commit that holds it.

        The batch's outcomes come back to the loop in one ``call_soon_threadsafe``: one wake-up
        per commit rather than one per answer.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SaveOutcome] = loop.create_future()
        if self._thread is None or self._stopping:
            msg = "the service is shutting down; retry"
            raise Unavailable(msg)
        if self.rate_limit is not None:
            wait = self.rate_limit.retry_after(request.attempt_id)
            if wait is not None:
                msg = "too many saves from this exam at once; this one is sent again shortly"
                raise TooManyRequests(msg, retry_after=wait)
        self._queue.put(_Pending(request, future, loop))
        return await future

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
            self._deliver(batch, [error] * len(batch))
            return
        self.batches += 1
        self.saves += len(batch)
        self._deliver(batch, outcomes)
        if expired and self._on_expired is not None:
            self._on_expired(expired)

    @staticmethod
    def _deliver(batch: list[_Pending], outcomes: list[Any]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.loop is not None:
                by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
                continue
            future = pending.future
            assert isinstance(future, Future)
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        for loop, settled in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, settled)

    def _write(self, requests: list[SaveRequest]) -> tuple[list[SaveOutcome | AppError], set[int]]:
        now = self._clock.now()
        sql = _SQL_BY_DIALECT[self._db.engine.dialect.name]
        stamp = sql.timestamp(now)
        ids = sorted({r.attempt_id for r in requests})
        outcomes: list[SaveOutcome | AppError | None] = [None] * len(requests)
        expired: set[int] = set()
        with self._db.engine.begin() as conn:
            attempts = self._lock_attempts(conn, sql, ids)
            # The newest save per (attempt, position) in this batch; older ones in the same
            # batch are answered as stale once the newest is known.
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

            applied: set[tuple[int, int]] = set()
            if accepted:
                rows = [
                    (r.attempt_id, r.position, original, r.flagged, r.seq, stamp)
                    for _index, r, original in accepted.values()
                ]
                # The upsert itself decides: a row is written (and returned) only when its
                # sequence is newer than the stored one, under the rows' locks.
                for attempt_id, position in conn.exec_driver_sql(*sql.upsert(rows)):
                    applied.add((int(attempt_id), int(position)))
            if applied:
                events = [
                    (r.attempt_id, r.position, original, r.flagged, r.seq, stamp, r.generation)
                    for key in applied
                    for _index, r, original in (accepted[key],)
                ]
                conn.exec_driver_sql(*sql.insert_events(events))
                # Item views ride on the save that carried them, only when it was applied (a
                # resent save is not stored twice); saves without views cost nothing more.
                viewed = [
                    (r.attempt_id, stamp, json.dumps([list(v) for v in r.views]))
                    for key in applied
                    for _index, r, _original in (accepted[key],)
                    if r.views
                ]
                if viewed:
                    conn.exec_driver_sql(*sql.insert_views(viewed))
            stale_keys = [key for key in accepted if key not in applied]
            stored = self._stored_seqs(conn, sql, stale_keys) if stale_keys else {}
            seen = [
                attempt_id
                for attempt_id, row in attempts.items()
                if row.status == AttemptStatus.IN_PROGRESS
                and (row.last_seen_at is None or now - row.last_seen_at > LAST_SEEN_RESOLUTION)
            ]
            if seen:
                conn.exec_driver_sql(*sql.touch(stamp, seen))

        newest = {key: accepted[key][1].seq for key in accepted}
        for index, request in enumerate(requests):
            if outcomes[index] is not None:
                continue
            row = attempts[request.attempt_id]
            key = (request.attempt_id, request.position)
            won = key in applied and accepted[key][0] == index
            current = newest[key] if key in applied else stored.get(key, request.seq)
            outcomes[index] = SaveOutcome(
                position=request.position,
                option=request.option,
                flagged=request.flagged,
                # A stale or repeated sequence is acknowledged (the device may drop it from its
                # queue) but not applied: the newer answer stands and its seq is returned.
                seq=request.seq if won else current,
                applied=won,
                remaining_seconds=remaining_seconds(row.deadline_at, row.paused_at, now)
                if row.deadline_at is not None
                else 0,
                saved_at=now,
            )
        return [o for o in outcomes if o is not None], expired

    def _lock_attempts(
        self, conn: Connection, sql: _DriverSQL, ids: list[int]
    ) -> dict[int, _Locked]:
        """The batch's attempts (locked on PostgreSQL); the forms not cached yet are read in
        the same transaction."""
        rows: dict[int, _Locked] = {}
        for attempt_id, status, deadline, paused, generation, last_seen in conn.exec_driver_sql(
            *sql.lock_attempts(ids)
        ):
            rows[int(attempt_id)] = _Locked(
                status,
                int(generation),
                sql.read_time(deadline),
                sql.read_time(paused),
                sql.read_time(last_seen),
            )
        missing = [i for i in rows if self._forms.get(i) is None]
        if missing:
            for attempt_id, form in conn.exec_driver_sql(*sql.forms(missing)):
                if form is not None:
                    self._forms.put(int(attempt_id), sql.read_json(form))
        return rows

    def _check(
        self, request: SaveRequest, row: _Locked | None, now: datetime
    ) -> int | AppError | None:
        """The original option index to store (None: a blank), or the refusal.

        The attempt's rules (device, status, pause, deadline) are the model's
        (:func:`exam_day.attempt.save_refusal`, a plain call on the locked columns); what is
        left here is the form lookup, from the cache.
        """
        if row is None:
            return NotFound("no such attempt")
        refusal = save_refusal(
            row.status,
            row.device_generation,
            row.deadline_at,
            row.paused_at,
            generation=request.generation,
            now=request.received_at or now,
            grace=self._grace,
        )
        if refusal is not None:
            return as_app_error(refusal)
        orders = self._forms.get(request.attempt_id)
        if orders is None:
            return as_app_error(AttemptNotStarted("the exam has not been started yet"))
        if not 1 <= request.position <= len(orders):
            msg = f"there is no item {request.position} (1-{len(orders)})"
            return as_app_error(NoSuchPosition(msg))
        order = orders[request.position - 1]
        if not order:
            return as_app_error(AdaptivePosition("an adaptive item"))
        if request.option is None:
            return None
        try:
            return original_of(order, request.option)
        except UnknownOption as wrong:
            return as_app_error(wrong)

    @staticmethod
    def _stored_seqs(
        conn: Connection, sql: _DriverSQL, keys: list[tuple[int, int]]
    ) -> dict[tuple[int, int], int]:
        found: dict[tuple[int, int], int] = {}
        for attempt_id, position in keys:
            row = conn.exec_driver_sql(sql.stored_seq, (attempt_id, position)).first()
            if row is not None:
                found[(attempt_id, position)] = int(row[0])
        return found


Statement = tuple[str, Any]


class _DriverSQL:
    """The answer path's statements in the driver's own dialect and parameter style.

    This one module talks to the driver directly: the ORM's per-statement compilation cost
    more than the commit itself at hundreds of saves per batch. Every other query goes
    through SQLAlchemy. SQLite gets multi-row VALUES lists; PostgreSQL gets arrays through
    ``unnest`` so each statement's text is fixed and psycopg parses it once.
    """

    sqlite = True
    stored_seq = "SELECT seq FROM responses WHERE attempt_id = ? AND position = ?"
    _upsert_tail = (
        " ON CONFLICT (attempt_id, position) DO UPDATE SET option = excluded.option, "
        "flagged = excluded.flagged, seq = excluded.seq, saved_at = excluded.saved_at "
        "WHERE responses.seq < excluded.seq RETURNING attempt_id, position"
    )
    _upsert_head = "INSERT INTO responses (attempt_id, position, option, flagged, seq, saved_at) "
    _events_head = (
        "INSERT INTO response_events "
        "(attempt_id, position, option, flagged, seq, at, device_generation) "
    )
    _views_head = "INSERT INTO item_view_batches (attempt_id, received_at, views) "

    @staticmethod
    def _marks(n: int, width: int = 1) -> str:
        row = "(" + ", ".join("?" * width) + ")" if width > 1 else "?"
        return ", ".join([row] * n)

    def lock_attempts(self, ids: list[int]) -> Statement:
        return (
            "SELECT id, status, deadline_at, paused_at, device_generation, last_seen_at "
            f"FROM attempts WHERE id IN ({self._marks(len(ids))}) ORDER BY id",
            tuple(ids),
        )

    def forms(self, ids: list[int]) -> Statement:
        return f"SELECT id, form FROM attempts WHERE id IN ({self._marks(len(ids))})", tuple(ids)

    def upsert(self, rows: list[tuple[Any, ...]]) -> Statement:
        flat = tuple(value for row in rows for value in row)
        return self._upsert_head + f"VALUES {self._marks(len(rows), 6)}" + self._upsert_tail, flat

    def insert_events(self, rows: list[tuple[Any, ...]]) -> Statement:
        flat = tuple(value for row in rows for value in row)
        return self._events_head + f"VALUES {self._marks(len(rows), 7)}", flat

    def insert_views(self, rows: list[tuple[Any, ...]]) -> Statement:
        flat = tuple(value for row in rows for value in row)
        return self._views_head + f"VALUES {self._marks(len(rows), 3)}", flat

    def touch(self, stamp: Any, ids: list[int]) -> Statement:
        return (
            f"UPDATE attempts SET last_seen_at = ? WHERE id IN ({self._marks(len(ids))})",
            (stamp, *ids),
        )

    def timestamp(self, moment: datetime) -> Any:
        """A UTC moment as the column stores it (SQLite: SQLAlchemy's text format)."""
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def read_time(value: Any) -> datetime | None:
        """A stored moment back as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def read_json(value: Any) -> Any:
        """A JSON column's value (SQLite hands back text)."""
        return json.loads(value) if isinstance(value, str | bytes) else value


class _PostgresSQL(_DriverSQL):
    """PostgreSQL: arrays and ``unnest``, rows locked in id order.

    Locking in id order means two processes' batches touching the same attempts queue
    instead of deadlocking, and a finish or pause waits for this commit.
    """

    sqlite = False
    stored_seq = "SELECT seq FROM responses WHERE attempt_id = %s AND position = %s"

    def lock_attempts(self, ids: list[int]) -> Statement:
        return (
            "SELECT id, status, deadline_at, paused_at, device_generation, last_seen_at "
            "FROM attempts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (ids,),
        )

    def forms(self, ids: list[int]) -> Statement:
        return "SELECT id, form FROM attempts WHERE id = ANY(%s)", (ids,)

    def upsert(self, rows: list[tuple[Any, ...]]) -> Statement:
        columns = tuple(list(c) for c in zip(*rows, strict=True))
        return (
            self._upsert_head
            + "SELECT * FROM unnest(%s::integer[], %s::smallint[], %s::smallint[], "
            "%s::boolean[], %s::bigint[], %s::timestamptz[])" + self._upsert_tail,
            columns,
        )

    def insert_events(self, rows: list[tuple[Any, ...]]) -> Statement:
        columns = tuple(list(c) for c in zip(*rows, strict=True))
        return (
            self._events_head
            + "SELECT * FROM unnest(%s::integer[], %s::smallint[], %s::smallint[], "
            "%s::boolean[], %s::bigint[], %s::timestamptz[], %s::integer[])",
            columns,
        )

    def insert_views(self, rows: list[tuple[Any, ...]]) -> Statement:
        columns = tuple(list(c) for c in zip(*rows, strict=True))
        return (
            self._views_head + "SELECT * FROM unnest(%s::integer[], %s::timestamptz[], %s::json[])",
            columns,
        )

    def touch(self, stamp: Any, ids: list[int]) -> Statement:
        return "UPDATE attempts SET last_seen_at = %s WHERE id = ANY(%s)", (stamp, ids)

    def timestamp(self, moment: datetime) -> Any:
        return moment


_SQL_BY_DIALECT: dict[str, _DriverSQL] = {"sqlite": _DriverSQL(), "postgresql": _PostgresSQL()}
