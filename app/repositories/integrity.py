"""Queries feeding the integrity report: attempts with seats, answer events, item views, audit
counts, and the committee's decisions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, ResponseEvent
from app.models.audit import AuditEvent
from app.models.bank import ItemVersion
from app.models.integrity import IntegrityDecision, ItemViewBatch, RosterDetail
from app.models.result import Result
from app.models.sitting import Registration, Sitting
from exam_day import AttemptStatus, FrozenForm

#: Audit actions counted per attempt, by the kind of evidence they are.
DEVICE_MOVE_ACTIONS = ("candidate.device_moved", "attempt.move")
PAUSE_ACTIONS = ("attempt.pause",)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """A finished live attempt with its roster identity and seat."""

    attempt_id: int
    sitting_id: int
    sitting_name: str
    site: str
    nomor_peserta: str
    name: str
    category: str
    seat: int | None
    region: str | None
    gender: str | None
    started_at: datetime | None
    form: FrozenForm


def finished_attempts(
    session: Session, exam_id: int, sitting_id: int | None = None
) -> list[AttemptRow]:
    """Finished live attempts of an exam version (or one of its sittings), by attempt id."""
    query = (
        select(
            Attempt.id,
            Attempt.sitting_id,
            Sitting.name,
            Sitting.site,
            Registration.nomor_peserta,
            Registration.name,
            Registration.category,
            RosterDetail.seat,
            RosterDetail.region,
            RosterDetail.gender,
            Attempt.started_at,
            Attempt.form,
        )
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Attempt.sitting_id)
        .outerjoin(RosterDetail, RosterDetail.registration_id == Registration.id)
        .where(Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.FINISHED)
        .order_by(Attempt.id)
    )
    if sitting_id is not None:
        query = query.where(Attempt.sitting_id == sitting_id)
    return [
        AttemptRow(
            int(row[0]),
            int(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            FrozenForm.decode(row[11]),
        )
        for row in session.execute(query)
    ]


def answer_events(
    session: Session, attempt_ids: Sequence[int], batch: int = 2000
) -> Iterator[tuple[int, int, int | None, datetime]]:
    """(attempt, position, option or None = cleared, server time) of every accepted change."""
    for start in range(0, len(attempt_ids), batch):
        chunk = list(attempt_ids[start : start + batch])
        rows = session.execute(
            select(
                ResponseEvent.attempt_id,
                ResponseEvent.position,
                ResponseEvent.option,
                ResponseEvent.at,
            )
            .where(ResponseEvent.attempt_id.in_(chunk))
            .order_by(ResponseEvent.attempt_id, ResponseEvent.at, ResponseEvent.seq)
        )
        for attempt_id, position, option, at in rows:
            yield int(attempt_id), int(position), None if option is None else int(option), at


def view_batches(
    session: Session, attempt_ids: Sequence[int], batch: int = 2000
) -> Iterator[tuple[int, datetime, list[Any]]]:
    """(attempt, server arrival time, packed views) of every stored batch, oldest first."""
    for start in range(0, len(attempt_ids), batch):
        chunk = list(attempt_ids[start : start + batch])
        rows = session.execute(
            select(ItemViewBatch.attempt_id, ItemViewBatch.received_at, ItemViewBatch.views)
            .where(ItemViewBatch.attempt_id.in_(chunk))
            .order_by(ItemViewBatch.attempt_id, ItemViewBatch.received_at, ItemViewBatch.id)
        )
        for attempt_id, received_at, views in rows:
            yield int(attempt_id), received_at, list(views)


def add_view_batch(
    session: Session, attempt_id: int, received_at: datetime, views: list[list[int]]
) -> None:
    """Store one batch of item views."""
    session.add(ItemViewBatch(attempt_id=attempt_id, received_at=received_at, views=views))


def audit_counts(
    session: Session, attempt_ids: Sequence[int], actions: Sequence[str], batch: int = 2000
) -> dict[int, int]:
    """How many events of ``actions`` each attempt's subject has in the audit log."""
    counts: dict[int, int] = {}
    for start in range(0, len(attempt_ids), batch):
        subjects = [f"attempt:{i}" for i in attempt_ids[start : start + batch]]
        rows = session.execute(
            select(AuditEvent.subject, func.count())
            .where(AuditEvent.subject.in_(subjects), AuditEvent.action.in_(list(actions)))
            .group_by(AuditEvent.subject)
        )
        for subject, count in rows:
            counts[int(str(subject).split(":", 1)[1])] = int(count)
    return counts


def latest_decisions(session: Session, attempt_ids: Sequence[int]) -> dict[int, IntegrityDecision]:
    """The standing (newest) decision of each attempt that has one."""
    found: dict[int, IntegrityDecision] = {}
    if not attempt_ids:
        return found
    for start in range(0, len(attempt_ids), 2000):
        chunk = list(attempt_ids[start : start + 2000])
        for decision in session.scalars(
            select(IntegrityDecision)
            .where(IntegrityDecision.attempt_id.in_(chunk))
            .order_by(IntegrityDecision.attempt_id, IntegrityDecision.id)
        ):
            found[decision.attempt_id] = decision
    return found


def add_decision(session: Session, decision: IntegrityDecision) -> IntegrityDecision:
    """Store a committee decision."""
    session.add(decision)
    session.flush()
    return decision


def attempt_for_decision(session: Session, attempt_id: int) -> Attempt | None:
    """The attempt a decision is about."""
    return session.get(Attempt, attempt_id)


def set_roster_details(
    session: Session, details: Sequence[tuple[int, int | None, str | None, str | None]]
) -> None:
    """Store (registration, seat, region, gender) of newly registered candidates."""
    for registration_id, seat, region, gender in details:
        session.add(
            RosterDetail(registration_id=registration_id, seat=seat, region=region, gender=gender)
        )


def seats_taken(session: Session, sitting_id: int) -> dict[int, str]:
    """Seat numbers already given in a sitting, with the nomor peserta holding each."""
    rows = session.execute(
        select(RosterDetail.seat, Registration.nomor_peserta)
        .join(Registration, Registration.id == RosterDetail.registration_id)
        .where(Registration.sitting_id == sitting_id, RosterDetail.seat.is_not(None))
    )
    return {int(seat): str(nomor) for seat, nomor in rows if seat is not None}


def results_of(session: Session, attempt_ids: Sequence[int]) -> dict[int, tuple[float, bool]]:
    """(total, passed) of every attempt of ``attempt_ids`` that has a result."""
    found: dict[int, tuple[float, bool]] = {}
    for start in range(0, len(attempt_ids), 2000):
        chunk = list(attempt_ids[start : start + 2000])
        for attempt_id, total, passed in session.execute(
            select(Result.attempt_id, Result.total, Result.passed).where(
                Result.attempt_id.in_(chunk)
            )
        ):
            found[int(attempt_id)] = (float(total), bool(passed))
    return found


def irt_parameters(
    session: Session, item_ids: Sequence[int]
) -> dict[int, tuple[float | None, float | None, float | None]]:
    """(a, b, c) of each item version as stored (None where never calibrated)."""
    found: dict[int, tuple[float | None, float | None, float | None]] = {}
    for start in range(0, len(item_ids), 2000):
        chunk = list(item_ids[start : start + 2000])
        for item_id, a, b, c in session.execute(
            select(ItemVersion.id, ItemVersion.irt_a, ItemVersion.irt_b, ItemVersion.irt_c).where(
                ItemVersion.id.in_(chunk)
            )
        ):
            found[int(item_id)] = (a, b, c)
    return found
