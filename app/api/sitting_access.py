"""The "proctor of this sitting" dependency: a proctor acts only on the sittings they are
assigned to, and on the attempts of those sittings.

Every proctor route that names a sitting or an attempt takes :data:`ProctorOfSitting` or
:data:`ProctorOfAttempt` instead of the bare role guard, so the assignment is checked in this one
place, before the route's own transaction opens (like the role guard, with a short read of its
own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.api.responses import IdPath
from app.deps import ProctorUser, get_database
from app.errors import Forbidden, NotFound
from app.repositories import exams as exam_repo
from app.repositories import sittings as sitting_repo
from app.services.staff import StaffPrincipal


@dataclass(frozen=True, slots=True)
class AssignedProctor:
    """A proctor admitted to act on ``sitting_id`` (and on the attempts of that sitting)."""

    principal: StaffPrincipal
    sitting_id: int

    @property
    def actor(self) -> str:
        """The audit log's name of the proctor."""
        return self.principal.actor


def _ensure_assigned(session: Session, principal: StaffPrincipal, sitting_id: int) -> None:
    if not exam_repo.is_proctor_of(session, sitting_id, principal.id):
        msg = f"you are not a proctor of sitting {sitting_id}"
        raise Forbidden(msg)


def proctor_of_sitting(
    sitting_id: IdPath, principal: ProctorUser, request: Request
) -> AssignedProctor:
    """Admit a proctor assigned to the sitting the path names (403 otherwise)."""
    with get_database(request).read_session() as session:
        _ensure_assigned(session, principal, sitting_id)
    return AssignedProctor(principal, sitting_id)


def proctor_of_attempt(
    attempt_id: IdPath, principal: ProctorUser, request: Request
) -> AssignedProctor:
    """Admit a proctor assigned to the sitting of the attempt the path names (404 when there is
    no such attempt, 403 when it belongs to another sitting)."""
    with get_database(request).read_session() as session:
        sitting_id = sitting_repo.sitting_of_attempt(session, attempt_id)
        if sitting_id is None:
            msg = f"no attempt {attempt_id}"
            raise NotFound(msg)
        _ensure_assigned(session, principal, sitting_id)
    return AssignedProctor(principal, sitting_id)


ProctorOfSitting = Annotated[AssignedProctor, Depends(proctor_of_sitting)]
ProctorOfAttempt = Annotated[AssignedProctor, Depends(proctor_of_attempt)]
