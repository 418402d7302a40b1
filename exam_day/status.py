"""The statuses an attempt and a sitting go through, spelled exactly as the database stores them.

Both enums are :class:`~enum.StrEnum`: a member compares equal to its stored string, so a row
read back as plain text and a member written by this package are interchangeable and the stored
values never change.
"""

from __future__ import annotations

from enum import StrEnum


class AttemptStatus(StrEnum):
    """Where one candidate's attempt stands (the ``attempts.status`` column)."""

    #: Logged in, form not drawn yet, clock not started.
    READY = "ready"
    #: Form frozen, clock running (or stood still by a pause).
    IN_PROGRESS = "in_progress"
    #: Finished once (by the candidate or the deadline) and scored.
    FINISHED = "finished"
    #: Voided by a proctor: never scored or ranked.
    VOIDED = "voided"


class SittingStatus(StrEnum):
    """Where a sitting stands (the ``sittings.status`` column)."""

    #: Created, not admitting logins yet.
    SCHEDULED = "scheduled"
    #: Admitting logins; attempts may start.
    OPEN = "open"
    #: Every clock of the sitting stands still (an outage); logins are still admitted.
    PAUSED = "paused"
    #: No more logins; running attempts run on to their deadlines. Final.
    CLOSED = "closed"


class PausedBy(StrEnum):
    """Who stopped an attempt's clock (the ``attempts.paused_by`` column)."""

    #: The whole sitting was paused; resuming the sitting restarts this clock.
    SITTING = "sitting"
    #: A proctor paused this one attempt; only resuming the attempt restarts it.
    PROCTOR = "proctor"


class FinishReason(StrEnum):
    """Why an attempt ended (the ``attempts.finish_reason`` column)."""

    #: The candidate pressed finish.
    CANDIDATE = "candidate"
    #: Time (plus the network grace) ran out.
    DEADLINE = "deadline"
    #: A proctor voided the attempt.
    VOIDED = "voided"


#: Sitting statuses in which a candidate may log in (and move to another PC).
ADMITS_LOGIN: frozenset[SittingStatus] = frozenset({SittingStatus.OPEN, SittingStatus.PAUSED})
