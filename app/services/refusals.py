"""The exam-day model's refusals as the app's errors: same ``error`` names, same statuses.

:mod:`exam_day.errors` knows nothing of HTTP; each refusal carries its ``kind`` and the
``api_name`` clients see. This module gives every named refusal an :class:`~app.errors.AppError`
class of that name (so ``except DeadlinePassed`` and the envelope's ``error`` field keep working)
and maps refusals whose name is a generic one (``Conflict``, ``NotFound``, ``BadRequest``,
``AppError``) onto those classes, so the JSON envelope and the status code stay what they were.

=========================  ==============================  ======
exam_day refusal           error (envelope)                status
=========================  ==============================  ======
DeviceReplaced             DeviceReplaced                  401
AttemptNotActive           AttemptNotActive                409
AttemptNotStarted          AttemptNotActive                409
AttemptPaused              AttemptPaused                   409
DeadlinePassed             DeadlinePassed                  409
AdaptivePosition           AdaptivePosition                409
AdaptiveLocked             AdaptiveLocked                  409
NoSuchPosition             NotFound                        404
UnknownOption              Conflict                        409
SittingNotOpen             Conflict                        409
AlreadyStarted             AlreadyStarted                  409
FinishBeforeStart          BadRequest                      400
AlreadyFinished            AlreadyFinished                 409
NotDue                     NotDue                          409
NotRunning                 Conflict                        409
TimeOver                   Conflict                        409
ExtendAfterDeadline        ExtendAfterDeadline             409
InvalidExtension           AppError                        400
NotPaused                  Conflict                        409
SittingPaused              Conflict                        409
AlreadyVoided              AlreadyVoided                   409
=========================  ==============================  ======
"""

from __future__ import annotations

from app.errors import AppError, BadRequest, Conflict, NotFound, Unauthorized
from exam_day import errors as model
from exam_day.errors import ExamDayError, RefusalKind

_BASE: dict[RefusalKind, type[AppError]] = {
    RefusalKind.CONFLICT: Conflict,
    RefusalKind.UNAUTHORIZED: Unauthorized,
    RefusalKind.NOT_FOUND: NotFound,
    RefusalKind.BAD_REQUEST: BadRequest,
}


class DeadlinePassed(Conflict):
    """The exam time (plus the network grace) is over: the answer was not saved."""


class AttemptPaused(Conflict):
    """The proctor paused this attempt or the sitting: answers wait until it resumes."""


class AttemptNotActive(Conflict):
    """The attempt is not running (not started, finished or voided)."""


class DeviceReplaced(Unauthorized):
    """The candidate logged in on another PC; this device's token has ended."""


class AdaptivePosition(Conflict):
    """The position belongs to an adaptive section: its answer takes the adaptive path."""


class AdaptiveLocked(Conflict):
    """An answered item of an adaptive section cannot be changed (there is no going back)."""


class ExtendAfterDeadline(Conflict):
    """Extra time for an attempt whose time is already over."""


class AlreadyStarted(Conflict):
    """The attempt was started before."""


class AlreadyFinished(Conflict):
    """The attempt had already ended."""


class AlreadyVoided(Conflict):
    """The attempt was voided before."""


class NotDue(Conflict):
    """A deadline finish before the deadline plus grace."""


#: The app class of each ``api_name`` (generic names map onto the generic classes).
_BY_NAME: dict[str, type[AppError]] = {
    cls.__name__: cls
    for cls in (
        DeadlinePassed,
        AttemptPaused,
        AttemptNotActive,
        DeviceReplaced,
        AdaptivePosition,
        AdaptiveLocked,
        ExtendAfterDeadline,
        AlreadyStarted,
        AlreadyFinished,
        AlreadyVoided,
        NotDue,
        Conflict,
        NotFound,
        BadRequest,
        Unauthorized,
        AppError,
    )
}


def _app_class(refusal: type[ExamDayError]) -> type[AppError]:
    found = _BY_NAME.get(refusal.api_name)
    if found is None:
        # A refusal added to the model without an entry here still renders with its name and
        # the status of its kind.
        found = type(refusal.api_name, (_BASE[refusal.kind],), {"__doc__": refusal.__doc__})
        _BY_NAME[refusal.api_name] = found
    return found


#: Each model refusal class's app class, resolved once (the answer path maps refusals per save).
_BY_CLASS: dict[type[ExamDayError], type[AppError]] = {
    cls: _app_class(cls)
    for cls in vars(model).values()
    if isinstance(cls, type) and issubclass(cls, ExamDayError) and cls is not ExamDayError
}


def as_app_error(refusal: ExamDayError) -> AppError:
    """The app error that renders ``refusal`` with today's ``error`` name and status."""
    cls = _BY_CLASS.get(type(refusal)) or _app_class(type(refusal))
    return cls(refusal.detail)
