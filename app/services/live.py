"""The live score board: each process polls the database for a sitting's new results and fans
them out to its viewers. The database is the only source, so a result finished on any app
process reaches viewers on every process within one poll interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.models.result import Result
from app.repositories import public as public_repo
from app.repositories import sittings as sitting_repo

log = logging.getLogger("ujian.live")

POLL_SECONDS = 1.0
#: Results are re-read this far back on every poll: clocks of two app hosts may differ a little
#: and a transaction may commit a result stamped slightly earlier than one already seen.
OVERLAP = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class BoardRow:
    """What the public board shows of one result: no name, no nomor peserta."""

    pseudonym: str
    sections: dict[str, float]
    total: float
    passed: bool
    finished_at: str  # ISO 8601 with its offset, as the board's clients have always read it

    def as_json(self) -> dict[str, Any]:
        """The row as the JSON object an event carries."""
        return {
            "pseudonym": self.pseudonym,
            "sections": dict(self.sections),
            "total": self.total,
            "passed": self.passed,
            "finished_at": self.finished_at,
        }


def result_row(result: Result) -> BoardRow:
    """The board's row of one result."""
    return BoardRow(
        pseudonym=result.pseudonym,
        sections=dict(result.section_scores),
        total=result.total,
        passed=result.passed,
        finished_at=result.computed_at.isoformat(),
    )


def board_rows(
    session: Session, sitting_id: int, since: datetime | None
) -> list[tuple[int, BoardRow]]:
    """Results of a sitting (excluding voided attempts) computed since ``since``, by attempt."""
    cutoff = None if since is None else since - OVERLAP
    return [
        (r.attempt_id, result_row(r))
        for r in public_repo.finished_results(session, sitting_id, cutoff)
    ]


def read_board(db: Database, sitting_id: int, since: datetime | None) -> list[tuple[int, BoardRow]]:
    """:func:`board_rows` in a read transaction of its own (the poller's)."""
    with db.read_session() as session:
        return board_rows(session, sitting_id, since)


def sitting_exists(db: Database, sitting_id: int) -> bool:
    """Whether a sitting exists."""
    with db.read_session() as session:
        return sitting_repo.sitting(session, sitting_id) is not None


@dataclass
class _Feed:
    sitting_id: int
    queues: set[asyncio.Queue[list[BoardRow]]] = field(default_factory=set)
    seen: dict[int, BoardRow] = field(default_factory=dict)
    last: datetime | None = None
    task: asyncio.Task[None] | None = None


class LiveHub:
    """One poller per sitting with viewers in this process."""

    def __init__(self, db: Database, poll_seconds: float = POLL_SECONDS) -> None:
        self._db = db
        self._poll = poll_seconds
        self._feeds: dict[int, _Feed] = {}

    async def _run(self, feed: _Feed) -> None:
        while feed.queues:
            try:
                rows = await run_in_threadpool(read_board, self._db, feed.sitting_id, feed.last)
            except Exception:
                log.exception("live board poll of sitting %s failed", feed.sitting_id)
                rows = []
            fresh = []
            for attempt_id, row in rows:
                if feed.seen.get(attempt_id) != row:
                    feed.seen[attempt_id] = row
                    fresh.append(row)
                finished = datetime.fromisoformat(row.finished_at)
                feed.last = finished if feed.last is None else max(feed.last, finished)
            if fresh:
                for queue in list(feed.queues):
                    queue.put_nowait(fresh)
            await asyncio.sleep(self._poll)
        self._feeds.pop(feed.sitting_id, None)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, sitting_id: int
    ) -> AsyncIterator[tuple[list[BoardRow], asyncio.Queue[list[BoardRow]]]]:
        """The board so far and a queue of later results, for as long as the block runs."""
        current = await run_in_threadpool(read_board, self._db, sitting_id, None)
        feed = self._feeds.get(sitting_id)
        if feed is None:
            feed = _Feed(sitting_id)
            for attempt_id, row in current:
                feed.seen[attempt_id] = row
            feed.last = max(
                (datetime.fromisoformat(r.finished_at) for _i, r in current), default=None
            )
            self._feeds[sitting_id] = feed
        queue: asyncio.Queue[list[BoardRow]] = asyncio.Queue()
        feed.queues.add(queue)
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._run(feed))
        try:
            yield [row for _i, row in current], queue
        finally:
            feed.queues.discard(queue)
