"""One exception class per refusal of the exam-day model.

Every refusal is an :class:`ExamDayError` with a ``detail`` meant for the person refused (the
candidate's screen or the proctor's console) and two class attributes the web layer maps onto its
error envelope without knowing each class:

* ``kind``: what sort of refusal it is (:class:`RefusalKind`: a clash with the attempt's state, a
  device that may no longer write, a position that does not exist, a request that makes no sense);
* ``api_name``: the ``error`` name clients see. Refusals that existed before this package keep the
  name they had (``DeadlinePassed``, or plain ``Conflict`` where the refusal had no name of its
  own); refusals that are new carry their class name.

Some refusals are reports rather than client errors (:class:`AlreadyFinished`,
:class:`AlreadyVoided`, :class:`AlreadyStarted`, :class:`NotDue`): a caller that is idempotent
catches them and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class RefusalKind(StrEnum):
    """The sort of a refusal, from which a web layer picks its status code."""

    #: The request clashes with the attempt's or sitting's current state.
    CONFLICT = "conflict"
    #: The device's token may no longer write (another PC took over).
    UNAUTHORIZED = "unauthorized"
    #: The thing named does not exist (a position beyond the form).
    NOT_FOUND = "not_found"
    #: The request itself makes no sense (finish before start, a non-positive extension).
    BAD_REQUEST = "bad_request"


class ExamDayError(Exception):
    """A transition or a save the exam-day rules refuse.

    Args:
        detail: What happened and what the person can do, in words shown to them.
    """

    kind: ClassVar[RefusalKind] = RefusalKind.CONFLICT
    api_name: ClassVar[str] = "ExamDayError"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __init_subclass__(cls) -> None:
        """Give a subclass its own name as ``api_name`` unless it declares one."""
        super().__init_subclass__()
        if "api_name" not in cls.__dict__:
            cls.api_name = cls.__name__


# -- saving an answer ----------------------------------------------------------------------------
class DeviceReplaced(ExamDayError):
    """The candidate logged in on another PC (or was moved); this device's token has ended."""

    kind = RefusalKind.UNAUTHORIZED


class AttemptNotActive(ExamDayError):
    """The attempt is not running (finished or voided): answers can no longer change."""


class AttemptNotStarted(AttemptNotActive):
    """The attempt has not been started: there is no form to answer yet."""

    api_name = "AttemptNotActive"


class AttemptPaused(ExamDayError):
    """The proctor paused this attempt or the sitting: answers wait until it resumes."""


class DeadlinePassed(ExamDayError):
    """The exam time plus the network grace is over: the answer was not saved."""


class AdaptivePosition(ExamDayError):
    """The position belongs to an adaptive section: its answer takes the adaptive path."""


class AdaptiveLocked(ExamDayError):
    """An adaptive item answered already, or not given yet: there is no going back or ahead."""


class NoSuchPosition(ExamDayError):
    """The position is beyond the form."""

    kind = RefusalKind.NOT_FOUND
    api_name = "NotFound"


class UnknownOption(ExamDayError):
    """The option letter is not one the item shows."""

    api_name = "Conflict"


# -- starting and finishing ----------------------------------------------------------------------
class SittingNotOpen(ExamDayError):
    """The sitting is not open, so no attempt of it may start."""

    api_name = "Conflict"


class AlreadyStarted(ExamDayError):
    """A report: the attempt was started before (a repeated start changes nothing)."""


class FinishBeforeStart(ExamDayError):
    """A finish of an attempt that was never started."""

    kind = RefusalKind.BAD_REQUEST
    api_name = "BadRequest"


class AlreadyFinished(ExamDayError):
    """A report: the attempt had already ended (finished or voided); nothing changed."""


class NotDue(ExamDayError):
    """A report: a deadline finish came before the deadline plus grace; nothing changed."""


# -- proctor actions -----------------------------------------------------------------------------
class NotRunning(ExamDayError):
    """A proctor action that needs a running attempt met one that is not running."""

    api_name = "Conflict"


class TimeOver(ExamDayError):
    """A pause of an attempt whose time is over: a pause cannot give back time already spent."""

    api_name = "Conflict"


class ExtendAfterDeadline(ExamDayError):
    """Extra time for an attempt whose deadline has passed: that would revive an ended exam."""


class InvalidExtension(ExamDayError):
    """An extension of zero or negative length."""

    kind = RefusalKind.BAD_REQUEST
    api_name = "AppError"


class NotPaused(ExamDayError):
    """A resume of an attempt that is not paused (running, finished or voided)."""

    api_name = "Conflict"


class SittingPaused(ExamDayError):
    """A resume of one attempt while its whole sitting is paused: resume the sitting instead."""

    api_name = "Conflict"


class AlreadyVoided(ExamDayError):
    """A report: the attempt was voided before; nothing changed."""


# -- stored data ---------------------------------------------------------------------------------
class InvalidForm(ValueError):
    """A stored frozen form that does not have the shape this package writes.

    Not a refusal: it means the stored data is damaged, and names where.
    """
