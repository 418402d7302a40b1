"""The exam day as pure rules: an attempt's clock and status, its frozen form, its refusals.

No web framework, ORM or app import: the services read a row, ask this package, and store what
it returns. Every rule that decides whether a candidate may save, or a proctor may pause,
resume, extend, void or move an attempt, is written here once.

Public API
----------

Statuses (:mod:`exam_day.status`), ``StrEnum`` members equal to the stored strings:
    ``AttemptStatus`` (ready, in_progress, finished, voided), ``SittingStatus`` (scheduled,
    open, paused, closed), ``PausedBy`` (sitting, proctor), ``FinishReason`` (candidate,
    deadline, voided), ``ADMITS_LOGIN`` (the sitting statuses that admit logins).

The attempt (:mod:`exam_day.attempt`):
    ``remaining_seconds(deadline_at, paused_at, now) -> int``, the save rule as a function of
    the columns it reads (``save_refusal(status, device_generation, deadline_at, paused_at, *,
    generation, now, grace) -> ExamDayError | None``, for the answer path's batches), and the
    frozen ``AttemptState``
    (``AttemptState.of(row)``, ``.columns()``), with

    * questions: ``remaining(now) -> int | None``, ``time_over(now)``, ``is_expired(now,
      grace)``, ``running``, ``paused``, ``ended``;
    * the save rule: ``save_refusal(generation, now, grace) -> ExamDayError | None`` (device,
      then status, then pause, then deadline + grace), ``admit_save`` (raises it) and
      ``check_device(generation)`` (raises ``DeviceReplaced``);
    * transitions returning a new state: ``start(now, duration, sitting_status)``,
      ``pause(now, by=PausedBy.PROCTOR)``, ``resume(now, by=..., sitting_paused=False)``,
      ``extend(seconds, now)``, ``finish(reason, now, grace)``, ``void(now)``, ``move()``.

The form (:mod:`exam_day.form`):
    ``FrozenForm.decode(stored_json)`` / ``.encode()`` (the one codec of ``attempts.form``),
    ``len``, iteration, ``item_ids()``, ``given_item_ids()``, ``at(position)``,
    ``given(position)``, ``option_order(position)``, ``fixed_orders()``, ``with_entry``;
    ``FormEntry(item_id, option_order, adaptive)``; ``OPTION_LETTERS``, ``letter_of(order,
    original)``, ``original_of(order, letter)``.

Refusals (:mod:`exam_day.errors`), each an ``ExamDayError`` with ``detail``, ``kind``
(``RefusalKind``) and ``api_name`` (the ``error`` name clients see):
    saving: ``DeviceReplaced``, ``AttemptNotActive``, ``AttemptNotStarted``, ``AttemptPaused``,
    ``DeadlinePassed``, ``AdaptivePosition``, ``AdaptiveLocked``, ``NoSuchPosition``,
    ``UnknownOption``; starting and finishing: ``SittingNotOpen``, ``AlreadyStarted``,
    ``FinishBeforeStart``, ``AlreadyFinished``, ``NotDue``; proctor actions: ``NotRunning``,
    ``TimeOver``, ``ExtendAfterDeadline``, ``InvalidExtension``, ``NotPaused``,
    ``SittingPaused``, ``AlreadyVoided``. ``InvalidForm`` (a ``ValueError``) is damaged stored
    data, not a refusal.
"""

from __future__ import annotations

from exam_day.attempt import AttemptState, remaining_seconds, save_refusal
from exam_day.errors import (
    AdaptiveLocked,
    AdaptivePosition,
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
    InvalidForm,
    NoSuchPosition,
    NotDue,
    NotPaused,
    NotRunning,
    RefusalKind,
    SittingNotOpen,
    SittingPaused,
    TimeOver,
    UnknownOption,
)
from exam_day.form import OPTION_LETTERS, FormEntry, FrozenForm, letter_of, original_of
from exam_day.status import (
    ADMITS_LOGIN,
    AttemptStatus,
    FinishReason,
    PausedBy,
    SittingStatus,
)

__all__ = [
    "ADMITS_LOGIN",
    "OPTION_LETTERS",
    "AdaptiveLocked",
    "AdaptivePosition",
    "AlreadyFinished",
    "AlreadyStarted",
    "AlreadyVoided",
    "AttemptNotActive",
    "AttemptNotStarted",
    "AttemptPaused",
    "AttemptState",
    "AttemptStatus",
    "DeadlinePassed",
    "DeviceReplaced",
    "ExamDayError",
    "ExtendAfterDeadline",
    "FinishBeforeStart",
    "FinishReason",
    "FormEntry",
    "FrozenForm",
    "InvalidExtension",
    "InvalidForm",
    "NoSuchPosition",
    "NotDue",
    "NotPaused",
    "NotRunning",
    "PausedBy",
    "RefusalKind",
    "SittingNotOpen",
    "SittingPaused",
    "SittingStatus",
    "TimeOver",
    "UnknownOption",
    "letter_of",
    "original_of",
    "remaining_seconds",
    "save_refusal",
]
