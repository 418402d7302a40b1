"""Random sequences of transitions and clock moves against a running tally of time.

The tally is kept independently of the model: the seconds the clock ran (only while the attempt
is running and not paused) against the budget (the duration plus every extension granted). The
model must agree with it at every step, whatever the order of pauses, resumes, extensions, moves,
saves, finishes and voids.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from exam_day import (
    AttemptState,
    AttemptStatus,
    ExamDayError,
    FinishReason,
    PausedBy,
    SittingStatus,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)
DURATION = 600

operations = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(0, 400)),
        st.tuples(st.just("pause"), st.sampled_from(PausedBy)),
        st.tuples(st.just("resume"), st.sampled_from(PausedBy), st.booleans()),
        st.tuples(st.just("extend"), st.integers(-5, 300)),
        st.tuples(
            st.just("finish"), st.sampled_from([FinishReason.CANDIDATE, FinishReason.DEADLINE])
        ),
        st.tuples(st.just("void")),
        st.tuples(st.just("move")),
        st.tuples(st.just("save"), st.integers(0, 3)),
    ),
    max_size=40,
)


class Tally:
    """Time as the candidate lived it, kept apart from the model."""

    def __init__(self) -> None:
        self.budget = DURATION
        self.spent = 0

    def left(self) -> int:
        return max(0, math.ceil(self.budget - self.spent))


def _step(state: AttemptState, op: tuple[object, ...], now: datetime) -> tuple[AttemptState, bool]:
    """Apply one operation; the new state and whether it was admitted."""
    kind = op[0]
    try:
        if kind == "pause":
            return state.pause(now, op[1]), True  # type: ignore[arg-type]
        if kind == "resume":
            return state.resume(now, op[1], sitting_paused=bool(op[2])), True  # type: ignore[arg-type]
        if kind == "extend":
            return state.extend(int(op[1]), now), True  # type: ignore[call-overload]
        if kind == "finish":
            return state.finish(op[1], now, GRACE), True  # type: ignore[arg-type]
        if kind == "void":
            return state.void(now), True
        if kind == "move":
            return state.move(), True
        if kind == "save":
            state.admit_save(int(op[1]), now, GRACE)  # type: ignore[call-overload]
            return state, True
    except ExamDayError:
        return state, False
    raise AssertionError(kind)


@settings(max_examples=400, deadline=None)
@given(operations)
def test_random_sequences_keep_every_rule(ops):
    state = AttemptState(AttemptStatus.READY).start(T0, timedelta(seconds=DURATION), "open")
    now = T0
    tally = Tally()
    finishes = 0
    ended_as: AttemptStatus | None = None
    for op in ops:
        if op[0] == "advance":
            seconds = int(op[1])  # type: ignore[call-overload]
            now += timedelta(seconds=seconds)
            if state.running and not state.paused:
                tally.spent += seconds
            continue
        before = state
        was_over = before.time_over(now) or before.is_expired(now, GRACE)
        state, admitted = _step(state, op, now)

        # Every refusal changes nothing.
        if not admitted:
            assert state is before
        # The pause owner is set exactly while the clock stands still.
        assert (state.paused_at is None) == (state.paused_by is None)
        if op[0] == "extend" and admitted:
            assert state.credit_seconds - before.credit_seconds == op[1]
            tally.budget += int(op[1])  # type: ignore[call-overload]
            assert state.remaining(now) == (before.remaining(now) or 0) + op[1]
        if op[0] == "save" and admitted:
            # No save after the deadline plus grace, and none from a replaced device.
            assert tally.spent <= tally.budget + GRACE.total_seconds()
            assert state.running
            assert not state.paused
            assert op[1] == state.device_generation
        if op[0] == "finish" and admitted:
            finishes += 1
        # No transition revives an attempt whose time is over.
        if was_over and state.running:
            assert state.remaining(now) == 0
            assert not state.paused
        # Ended is final: nothing but a void moves a finished attempt, and nothing moves a
        # voided one.
        if ended_as is not None:
            assert state.ended
            if ended_as == AttemptStatus.VOIDED:
                assert state.status == AttemptStatus.VOIDED
        if state.ended:
            ended_as = state.status
            assert state.remaining(now) is None
        # The clock agrees with the tally, paused or not.
        if state.running:
            assert state.remaining(now) == tally.left()
    assert finishes <= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 300)), max_size=10))
def test_pauses_conserve_remaining_time(pauses):
    state = AttemptState(AttemptStatus.READY).start(T0, timedelta(hours=2), SittingStatus.OPEN)
    now = T0
    for running_for, paused_for in pauses:
        now += timedelta(seconds=running_for)
        if state.time_over(now):
            break
        left = state.remaining(now)
        state = state.pause(now, PausedBy.SITTING)
        now += timedelta(seconds=paused_for)
        assert state.remaining(now) == left
        state = state.resume(now, PausedBy.SITTING)
        assert state.remaining(now) == left
    assert state.deadline_at is not None
    spent_running = sum(r for r, _ in pauses)
    assert state.deadline_at - T0 >= timedelta(hours=2)
    if not state.time_over(now):
        assert state.remaining(now) == 7200 - spent_running


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 600))
def test_no_save_is_admitted_after_the_deadline_plus_grace(elapsed, extension):
    state = AttemptState(AttemptStatus.READY).start(T0, timedelta(seconds=DURATION), "open")
    now = T0 + timedelta(seconds=elapsed)
    admitted = state.save_refusal(1, now, GRACE) is None
    assert admitted == (elapsed <= DURATION + GRACE.total_seconds())
    try:
        extended = state.extend(extension, now)
    except ExamDayError:
        assert elapsed >= DURATION
    else:
        assert elapsed < DURATION
        assert extended.save_refusal(1, now, GRACE) is None
