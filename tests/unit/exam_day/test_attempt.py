"""Each transition of the attempt model, and each of its refusals, with today's messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exam_day import (
    AlreadyFinished,
    AlreadyStarted,
    AlreadyVoided,
    AttemptNotActive,
    AttemptNotStarted,
    AttemptPaused,
    AttemptState,
    AttemptStatus,
    DeadlinePassed,
    DeviceReplaced,
    ExtendAfterDeadline,
    FinishBeforeStart,
    FinishReason,
    InvalidExtension,
    NotDue,
    NotPaused,
    NotRunning,
    PausedBy,
    SittingNotOpen,
    SittingPaused,
    SittingStatus,
    TimeOver,
    remaining_seconds,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
GRACE = timedelta(seconds=30)


def running() -> AttemptState:
    """An attempt started at T0 with an hour to go."""
    return AttemptState(AttemptStatus.READY).start(T0, HOUR, SittingStatus.OPEN)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- statuses are stored as today -------------------------------------------------------------
def test_enum_values_are_the_stored_strings():
    assert [s.value for s in AttemptStatus] == ["ready", "in_progress", "finished", "voided"]
    assert [s.value for s in SittingStatus] == ["scheduled", "open", "paused", "closed"]
    assert [p.value for p in PausedBy] == ["sitting", "proctor"]
    assert [r.value for r in FinishReason] == ["candidate", "deadline", "voided"]
    assert AttemptStatus("in_progress") == "in_progress"
    assert f"{AttemptStatus.FINISHED}" == "finished"


# -- remaining time ---------------------------------------------------------------------------
def test_remaining_rounds_up_stands_still_while_paused_and_is_never_negative():
    deadline = at(100)
    assert remaining_seconds(deadline, None, at(0.2)) == 100
    assert remaining_seconds(deadline, None, at(99.9)) == 1
    assert remaining_seconds(deadline, None, at(100)) == 0
    assert remaining_seconds(deadline, None, at(500)) == 0
    assert remaining_seconds(deadline, at(40), at(90)) == 60


def test_remaining_is_none_unless_running():
    assert AttemptState(AttemptStatus.READY).remaining(T0) is None
    finished = running().finish(FinishReason.CANDIDATE, at(10))
    assert finished.remaining(at(10)) is None
    assert running().remaining(at(10)) == 3590


# -- start ------------------------------------------------------------------------------------
def test_start_sets_the_deadline_from_the_duration():
    state = AttemptState(AttemptStatus.READY).start(T0, HOUR, "open")
    assert state.status == AttemptStatus.IN_PROGRESS
    assert (state.started_at, state.deadline_at) == (T0, T0 + HOUR)


@pytest.mark.parametrize("sitting", ["scheduled", "paused", "closed"])
def test_start_refuses_unless_the_sitting_is_open(sitting):
    with pytest.raises(SittingNotOpen, match=f"the sitting is {sitting}; the exam cannot start"):
        AttemptState(AttemptStatus.READY).start(T0, HOUR, sitting)


def test_start_twice_is_reported():
    with pytest.raises(AlreadyStarted):
        running().start(at(5), HOUR, SittingStatus.OPEN)


# -- the save rule ----------------------------------------------------------------------------
def test_save_admitted_while_running_and_within_grace():
    state = running()
    assert state.save_refusal(1, at(10), GRACE) is None
    assert state.save_refusal(1, at(3600 + 30), GRACE) is None  # the last moment of grace
    state.admit_save(1, at(3600 + 30), GRACE)


def test_save_refusals_in_order_with_todays_messages():
    state = running()
    replaced = state.save_refusal(2, at(10), GRACE)
    assert isinstance(replaced, DeviceReplaced)
    assert replaced.detail == "this exam was opened on another computer; this one is logged out"
    assert replaced.api_name == "DeviceReplaced"

    ready = AttemptState(AttemptStatus.READY).save_refusal(1, T0, GRACE)
    assert isinstance(ready, AttemptNotStarted)
    assert ready.api_name == "AttemptNotActive"
    assert ready.detail == "the exam has not been started yet"

    finished = state.finish(FinishReason.CANDIDATE, at(5)).save_refusal(1, at(6), GRACE)
    assert isinstance(finished, AttemptNotActive)
    assert finished.detail == "the attempt is finished; answers can no longer change"

    paused = state.pause(at(5)).save_refusal(1, at(9000), GRACE)
    assert isinstance(paused, AttemptPaused)  # a paused clock never passes its deadline
    assert paused.detail == "the exam is paused by the proctor; please wait"

    late = state.save_refusal(1, at(3600 + 30.001), GRACE)
    assert isinstance(late, DeadlinePassed)
    assert late.detail == "the exam time is over; this answer was not saved"
    with pytest.raises(DeadlinePassed):
        state.admit_save(1, at(3631), GRACE)

    # The device comes first: a replaced device learns that, not that time is over.
    assert isinstance(state.save_refusal(9, at(99999), GRACE), DeviceReplaced)


def test_expiry_is_after_the_grace_and_never_while_paused():
    state = running()
    assert not state.is_expired(at(3630), GRACE)
    assert state.is_expired(at(3630.5), GRACE)
    assert state.time_over(at(3600))
    assert not state.time_over(at(3599))
    assert not state.pause(at(10)).is_expired(at(99999), GRACE)


# -- pause and resume -------------------------------------------------------------------------
def test_pause_then_resume_moves_the_deadline_by_the_pause():
    paused = running().pause(at(600))
    assert (paused.paused_at, paused.paused_by) == (at(600), PausedBy.PROCTOR)
    assert paused.remaining(at(5000)) == 3000
    resumed = paused.resume(at(900))
    assert resumed.deadline_at == T0 + HOUR + timedelta(seconds=300)
    assert (resumed.paused_at, resumed.paused_by) == (None, None)
    assert resumed.remaining(at(900)) == 3000


def test_pause_of_a_paused_attempt_changes_nothing():
    paused = running().pause(at(10), PausedBy.SITTING)
    assert paused.pause(at(20), PausedBy.PROCTOR) is paused


def test_pause_refusals():
    with pytest.raises(NotRunning, match="the attempt is ready; only a running attempt"):
        AttemptState(AttemptStatus.READY).pause(T0)
    with pytest.raises(TimeOver, match="the attempt's time is already over"):
        running().pause(at(3600))


def test_resume_refusals():
    with pytest.raises(NotPaused, match="the attempt is not paused"):
        running().resume(at(5))
    finished = running().pause(at(5)).finish(FinishReason.CANDIDATE, at(6))
    with pytest.raises(NotPaused):
        finished.resume(at(7))
    with pytest.raises(SittingPaused, match="the whole sitting is paused; resume the sitting"):
        running().pause(at(5), PausedBy.SITTING).resume(at(6), sitting_paused=True)


def test_a_sitting_resume_leaves_a_proctor_pause_alone():
    by_proctor = running().pause(at(5), PausedBy.PROCTOR)
    assert by_proctor.resume(at(50), PausedBy.SITTING) is by_proctor
    by_sitting = running().pause(at(5), PausedBy.SITTING)
    assert by_sitting.resume(at(50), PausedBy.SITTING).paused_at is None


# -- extend -----------------------------------------------------------------------------------
def test_extend_adds_exactly_its_seconds_paused_or_not():
    state = running().extend(600, at(10))
    assert state.deadline_at == T0 + HOUR + timedelta(seconds=600)
    assert state.credit_seconds == 600
    paused = running().pause(at(10)).extend(60, at(20))
    assert paused.remaining(at(30)) == 3590 + 60


def test_extend_refusals():
    with pytest.raises(InvalidExtension):
        running().extend(0, at(10))
    with pytest.raises(NotRunning, match="time can be added only to a running attempt"):
        running().finish(FinishReason.CANDIDATE, at(5)).extend(60, at(6))
    with pytest.raises(ExtendAfterDeadline) as refused:
        running().extend(60, at(3600))  # time over, not finished by anyone yet
    assert refused.value.api_name == "ExtendAfterDeadline"
    with pytest.raises(ExtendAfterDeadline):
        running().extend(60, at(3600 + 5000))  # expired, the sweeper not there yet


# -- finish and void --------------------------------------------------------------------------
def test_finish_once_clears_a_pause():
    finished = running().pause(at(5)).finish(FinishReason.CANDIDATE, at(10))
    assert finished.status == AttemptStatus.FINISHED
    assert (finished.finished_at, finished.finish_reason) == (at(10), FinishReason.CANDIDATE)
    assert (finished.paused_at, finished.paused_by) == (None, None)
    with pytest.raises(AlreadyFinished):
        finished.finish(FinishReason.CANDIDATE, at(11))
    with pytest.raises(AlreadyFinished):
        finished.finish(FinishReason.DEADLINE, at(99999), GRACE)


def test_deadline_finish_waits_for_the_grace():
    with pytest.raises(NotDue):
        running().finish(FinishReason.DEADLINE, at(3630), GRACE)
    with pytest.raises(NotDue):
        running().pause(at(5)).finish(FinishReason.DEADLINE, at(99999), GRACE)
    with pytest.raises(NotDue):
        AttemptState(AttemptStatus.READY).finish(FinishReason.DEADLINE, at(99999), GRACE)
    done = running().finish(FinishReason.DEADLINE, at(3631), GRACE)
    assert done.finish_reason == FinishReason.DEADLINE


def test_a_candidate_finish_after_the_grace_is_the_deadlines():
    done = running().finish(FinishReason.CANDIDATE, at(3631), GRACE)
    assert done.finish_reason == FinishReason.DEADLINE
    within = running().finish(FinishReason.CANDIDATE, at(3629), GRACE)
    assert within.finish_reason == FinishReason.CANDIDATE


def test_finish_before_start_is_refused():
    with pytest.raises(FinishBeforeStart, match="the exam has not been started"):
        AttemptState(AttemptStatus.READY).finish(FinishReason.CANDIDATE, T0)
    with pytest.raises(ValueError, match="void"):
        running().finish(FinishReason.VOIDED, T0)


def test_void_keeps_a_finish_time_and_is_reported_twice():
    finished = running().finish(FinishReason.CANDIDATE, at(10))
    voided = finished.void(at(20))
    assert voided.status == AttemptStatus.VOIDED
    assert (voided.finished_at, voided.finish_reason) == (at(10), FinishReason.VOIDED)
    paused = running().pause(at(5)).void(at(6))
    assert (paused.paused_at, paused.paused_by, paused.finished_at) == (None, None, at(6))
    with pytest.raises(AlreadyVoided):
        voided.void(at(30))


def test_move_ends_the_old_device():
    moved = running().move()
    assert moved.device_generation == 2
    assert isinstance(moved.save_refusal(1, at(5), GRACE), DeviceReplaced)
    assert moved.save_refusal(2, at(5), GRACE) is None
    with pytest.raises(DeviceReplaced):
        moved.check_device(1)
    moved.check_device(2)


def test_state_round_trips_through_row_attributes():
    class Row:
        status = "in_progress"
        device_generation = 3
        started_at = T0
        deadline_at = T0 + HOUR
        paused_at = at(5)
        paused_by = "sitting"
        credit_seconds = 120
        finished_at = None
        finish_reason = None

    state = AttemptState.of(Row())
    assert state.paused_by == PausedBy.SITTING
    assert state.columns() == {k: getattr(Row, k) for k in state.columns()}
