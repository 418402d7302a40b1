"""The attempt as a pure state machine: its clock, its status and every rule that moves them.

:class:`AttemptState` is a frozen value; every transition returns a new one (or raises the one
refusal that applies, from :mod:`exam_day.errors`). Nothing here reads a clock or a database: the
caller passes ``now`` and stores the returned state, so every rule is written once and tested
without either.

The clock: ``deadline_at`` is the moment time runs out, already moved by every pause and time
credit. While ``paused_at`` is set the clock stands still (remaining = ``deadline_at -
paused_at``); a resume moves the deadline by exactly the pause. A save is admitted until
``deadline_at + grace`` (the network grace covers answers in flight when time ran out); after that
the attempt is *expired* and is finished by its deadline by whoever notices first.

Transitions at a glance (anything not listed is refused):

================  ===============================  ==========================================
transition        from                             refusal otherwise
================  ===============================  ==========================================
``start``         ready, sitting open              AlreadyStarted, SittingNotOpen
``pause``         running, time not over           NotRunning, TimeOver (paused: unchanged)
``resume``        paused (sitting not paused)      NotPaused, SittingPaused
``extend``        running, time not over           NotRunning, ExtendAfterDeadline
``finish``        running (deadline: expired)      AlreadyFinished, NotDue, FinishBeforeStart
``void``          anything not voided              AlreadyVoided
``move``          anything                         (never refused)
================  ===============================  ==========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from exam_day.errors import (
    AlreadyFinished,
    AlreadyStarted,
    AlreadyVoided,
    AttemptNotActive,
    AttemptNotStarted,
    AttemptPaused,
    DeadlinePassed,
    DeviceReplaced,
    ExamDayError,
    ExtendAfterDeadline,
    FinishBeforeStart,
    InvalidExtension,
    NotDue,
    NotPaused,
    NotRunning,
    SittingNotOpen,
    SittingPaused,
    TimeOver,
)
from exam_day.status import AttemptStatus, FinishReason, PausedBy, SittingStatus

_ENDED = (AttemptStatus.FINISHED, AttemptStatus.VOIDED)
_REPLACED = "this exam was opened on another computer; this one is logged out"
# The plain string: comparing the driver's str with it skips the enum's slower comparison on
# the answer path (every save of a batch passes here).
_RUNNING: str = AttemptStatus.IN_PROGRESS.value


def remaining_seconds(deadline_at: datetime, paused_at: datetime | None, now: datetime) -> int:
    """Whole seconds left, rounded up (a countdown shows 1 until time is really over); the
    clock stands still while paused; never negative.

    Args:
        deadline_at: When time runs out (already moved by pauses and credits).
        paused_at: When the clock was stopped, or None while it runs.
        now: The server's current time.
    """
    reference = paused_at or now
    return max(0, math.ceil((deadline_at - reference).total_seconds()))


def save_refusal(
    status: str,
    device_generation: int,
    deadline_at: datetime | None,
    paused_at: datetime | None,
    *,
    generation: int,
    now: datetime,
    grace: timedelta,
) -> ExamDayError | None:
    """Why a save from device ``generation`` at ``now`` is refused, or None if it is admitted.

    The one save rule, as a plain function of the four columns it reads so the answer path can
    judge a batch of hundreds of saves without building a state per save. The order is fixed (a
    client acts on the first that applies): device replaced, then not running, then paused, then
    past the deadline plus grace. Returned rather than raised for the same reason.

    Args:
        status: The attempt's status (an :class:`AttemptStatus` or its stored string).
        device_generation: The attempt's current device generation.
        deadline_at: When its time runs out.
        paused_at: When its clock was stopped, or None.
        generation: The generation of the device that sent the save.
        now: The server's current time.
        grace: How long after the deadline an answer in flight is still taken.
    """
    if generation != device_generation:
        return DeviceReplaced(_REPLACED)
    if status != _RUNNING or deadline_at is None:
        if status == AttemptStatus.READY:
            return AttemptNotStarted("the exam has not been started yet")
        return AttemptNotActive(f"the attempt is {status}; answers can no longer change")
    if paused_at is not None:
        return AttemptPaused("the exam is paused by the proctor; please wait")
    if now > deadline_at + grace:
        return DeadlinePassed("the exam time is over; this answer was not saved")
    return None


@dataclass(frozen=True, slots=True)
class AttemptState:
    """One attempt's status and clock, as stored on its row.

    Attributes:
        status: Where the attempt stands.
        device_generation: Grows at each login or move; only the newest device may write.
        started_at: When the clock started (None while ready).
        deadline_at: When time runs out (None while ready).
        paused_at: When the clock was stopped (None while it runs).
        paused_by: Who stopped it (the sitting or a proctor), set exactly when ``paused_at`` is.
        credit_seconds: Extra time a proctor added, in total.
        finished_at: When it ended (finished or voided).
        finish_reason: Why it ended.
    """

    status: AttemptStatus
    device_generation: int = 1
    started_at: datetime | None = None
    deadline_at: datetime | None = None
    paused_at: datetime | None = None
    paused_by: PausedBy | None = None
    credit_seconds: int = 0
    finished_at: datetime | None = None
    finish_reason: FinishReason | None = None

    # -- reading and writing rows ---------------------------------------------------------------
    @classmethod
    def of(cls, row: Any) -> AttemptState:
        """The state of any object with the attempt's column attributes (a stored row).

        Raises:
            ValueError: A stored status, pause owner or finish reason is not one this package
                knows.
        """
        paused_by = row.paused_by
        reason = row.finish_reason
        return cls(
            status=AttemptStatus(row.status),
            device_generation=int(row.device_generation),
            started_at=row.started_at,
            deadline_at=row.deadline_at,
            paused_at=row.paused_at,
            paused_by=None if paused_by is None else PausedBy(paused_by),
            credit_seconds=int(row.credit_seconds or 0),
            finished_at=row.finished_at,
            finish_reason=None if reason is None else FinishReason(reason),
        )

    def columns(self) -> dict[str, Any]:
        """The state as column values (what a caller writes back to the attempt's row)."""
        return {
            "status": self.status,
            "device_generation": self.device_generation,
            "started_at": self.started_at,
            "deadline_at": self.deadline_at,
            "paused_at": self.paused_at,
            "paused_by": self.paused_by,
            "credit_seconds": self.credit_seconds,
            "finished_at": self.finished_at,
            "finish_reason": self.finish_reason,
        }

    # -- questions ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the attempt is in progress (its clock may still be paused)."""
        return self.status == AttemptStatus.IN_PROGRESS

    @property
    def paused(self) -> bool:
        """Whether the clock stands still."""
        return self.paused_at is not None

    @property
    def ended(self) -> bool:
        """Whether the attempt is finished or voided (no transition brings it back)."""
        return self.status in _ENDED

    def remaining(self, now: datetime) -> int | None:
        """Whole seconds left for a running attempt (:func:`remaining_seconds`), else None."""
        if self.status != AttemptStatus.IN_PROGRESS or self.deadline_at is None:
            return None
        return remaining_seconds(self.deadline_at, self.paused_at, now)

    def time_over(self, now: datetime) -> bool:
        """Whether a running, unpaused attempt's time has run out (the grace aside)."""
        return (
            self.status == AttemptStatus.IN_PROGRESS
            and self.paused_at is None
            and self.deadline_at is not None
            and self.deadline_at <= now
        )

    def is_expired(self, now: datetime, grace: timedelta) -> bool:
        """Whether a running attempt's time plus the network grace is over: it is due to be
        finished by its deadline (a paused clock never expires)."""
        return (
            self.status == AttemptStatus.IN_PROGRESS
            and self.paused_at is None
            and self.deadline_at is not None
            and now > self.deadline_at + grace
        )

    # -- saving an answer -----------------------------------------------------------------------
    def save_refusal(self, generation: int, now: datetime, grace: timedelta) -> ExamDayError | None:
        """Why a save from device ``generation`` at ``now`` is refused, or None if admitted
        (the rule is :func:`save_refusal`)."""
        return save_refusal(
            self.status,
            self.device_generation,
            self.deadline_at,
            self.paused_at,
            generation=generation,
            now=now,
            grace=grace,
        )

    def check_device(self, generation: int) -> None:
        """Refuse a token of any device but the newest (reading the attempt, too).

        Raises:
            DeviceReplaced: ``generation`` is not the attempt's current device generation.
        """
        if generation != self.device_generation:
            raise DeviceReplaced(_REPLACED)

    def admit_save(self, generation: int, now: datetime, grace: timedelta) -> None:
        """Raise the refusal of :meth:`save_refusal`, if any."""
        refusal = self.save_refusal(generation, now, grace)
        if refusal is not None:
            raise refusal

    # -- transitions ----------------------------------------------------------------------------
    def start(
        self, now: datetime, duration: timedelta, sitting: SittingStatus | str
    ) -> AttemptState:
        """Start the clock: the deadline is ``now + duration``.

        Raises:
            AlreadyStarted: The attempt is not ready (a repeated start changes nothing).
            SittingNotOpen: The sitting is not open (scheduled, paused or closed).
        """
        if self.status != AttemptStatus.READY:
            msg = f"the attempt is already {self.status}"
            raise AlreadyStarted(msg)
        if sitting != SittingStatus.OPEN:
            msg = f"the sitting is {sitting}; the exam cannot start now"
            raise SittingNotOpen(msg)
        return replace(
            self, status=AttemptStatus.IN_PROGRESS, started_at=now, deadline_at=now + duration
        )

    def pause(self, now: datetime, by: PausedBy = PausedBy.PROCTOR) -> AttemptState:
        """Stop the clock. An attempt already paused (by anyone) is returned unchanged.

        Raises:
            NotRunning: The attempt is not in progress.
            TimeOver: Its time has already run out: a pause cannot give back time that was
                over before it began.
        """
        if self.status != AttemptStatus.IN_PROGRESS:
            msg = f"the attempt is {self.status}; only a running attempt can be paused"
            raise NotRunning(msg)
        if self.paused_at is not None:
            return self
        if self.deadline_at is None or self.deadline_at <= now:
            msg = "the attempt's time is already over"
            raise TimeOver(msg)
        return replace(self, paused_at=now, paused_by=by)

    def resume(
        self, now: datetime, by: PausedBy = PausedBy.PROCTOR, *, sitting_paused: bool = False
    ) -> AttemptState:
        """Restart the clock; the deadline moves by exactly the time it stood still.

        Args:
            now: The server's current time.
            by: ``PROCTOR`` resumes this attempt whoever paused it (not while its sitting is
                paused); ``SITTING`` resumes only a clock the sitting pause stopped and returns
                an attempt a proctor paused unchanged.
            sitting_paused: Whether the attempt's sitting is paused right now.

        Raises:
            NotPaused: The attempt is not paused, or no longer running.
            SittingPaused: A proctor resume while the whole sitting is paused.
        """
        if self.paused_at is None or self.status != AttemptStatus.IN_PROGRESS:
            msg = "the attempt is not paused"
            raise NotPaused(msg)
        if by == PausedBy.SITTING and self.paused_by != PausedBy.SITTING:
            return self
        if by == PausedBy.PROCTOR and sitting_paused:
            msg = "the whole sitting is paused; resume the sitting"
            raise SittingPaused(msg)
        assert self.deadline_at is not None  # a running attempt has a deadline
        return replace(
            self,
            deadline_at=self.deadline_at + (now - self.paused_at),
            paused_at=None,
            paused_by=None,
        )

    def extend(self, seconds: int, now: datetime) -> AttemptState:
        """Add ``seconds`` to the deadline (a time credit for an incident), paused or not.

        Raises:
            InvalidExtension: ``seconds`` is not positive.
            NotRunning: The attempt is not in progress.
            ExtendAfterDeadline: Its time has already run out (even if no one has finished it
                yet): extra time would revive an exam that is over.
        """
        if seconds < 1:
            msg = f"an extension must add at least one second (got {seconds})"
            raise InvalidExtension(msg)
        if self.status != AttemptStatus.IN_PROGRESS:
            msg = f"the attempt is {self.status}; time can be added only to a running attempt"
            raise NotRunning(msg)
        assert self.deadline_at is not None  # a running attempt has a deadline
        if self.time_over(now):
            msg = (
                f"the attempt's time ran out at {self.deadline_at.isoformat()}; "
                "an attempt whose time is over cannot be given more time"
            )
            raise ExtendAfterDeadline(msg)
        return replace(
            self,
            deadline_at=self.deadline_at + timedelta(seconds=seconds),
            credit_seconds=self.credit_seconds + seconds,
        )

    def finish(
        self, reason: FinishReason, now: datetime, grace: timedelta = timedelta(0)
    ) -> AttemptState:
        """End the attempt exactly once, stopping any pause.

        An attempt whose time plus grace is over was ended by its deadline, whoever notices:
        its reason is recorded as ``deadline`` even when the candidate's finish arrives first.

        Raises:
            AlreadyFinished: It has already ended; nothing changes.
            NotDue: A ``deadline`` finish before the deadline plus grace (or while paused, or
                before the start): nothing changes.
            FinishBeforeStart: A candidate's finish of an attempt never started.
            ValueError: ``reason`` is ``voided`` (that is :meth:`void`).
        """
        if reason == FinishReason.VOIDED:
            msg = "an attempt is voided with void(), not finished"
            raise ValueError(msg)
        if self.status in _ENDED:
            msg = f"the attempt is already {self.status}"
            raise AlreadyFinished(msg)
        expired = self.is_expired(now, grace)
        if reason == FinishReason.DEADLINE and not expired:
            msg = "the attempt's time (plus the grace) is not over yet"
            raise NotDue(msg)
        if self.status == AttemptStatus.READY:
            msg = "the exam has not been started"
            raise FinishBeforeStart(msg)
        return replace(
            self,
            status=AttemptStatus.FINISHED,
            finished_at=now,
            finish_reason=FinishReason.DEADLINE if expired else reason,
            paused_at=None,
            paused_by=None,
        )

    def void(self, now: datetime) -> AttemptState:
        """Void the attempt (cheating, impostor): it is never scored or ranked. A finished
        attempt keeps its finish time.

        Raises:
            AlreadyVoided: It was voided before; nothing changes.
        """
        if self.status == AttemptStatus.VOIDED:
            msg = "the attempt is already voided"
            raise AlreadyVoided(msg)
        return replace(
            self,
            status=AttemptStatus.VOIDED,
            finished_at=self.finished_at or now,
            finish_reason=FinishReason.VOIDED,
            paused_at=None,
            paused_by=None,
        )

    def move(self) -> AttemptState:
        """End the current device's token: the next login (on any PC) is the only writer."""
        return replace(self, device_generation=self.device_generation + 1)
