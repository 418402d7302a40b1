"""Queries of exam versions, their frozen bank pools, sittings and rosters."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models.bank import ItemVersion
from app.models.exam import ExamPoolItem, ExamVersion
from app.models.sitting import Registration, Sitting, SittingProctor
from app.repositories.common import insert_ignore
from item_bank.models import ItemStatus


def latest_version(session: Session, code: str, *, lock: bool = False) -> ExamVersion | None:
    """The newest version of exam ``code``."""
    statement = (
        select(ExamVersion)
        .where(ExamVersion.code == code)
        .order_by(ExamVersion.version.desc())
        .limit(1)
    )
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def latest_published(session: Session, code: str) -> ExamVersion | None:
    """The newest published version of exam ``code``."""
    return session.scalars(
        select(ExamVersion)
        .where(ExamVersion.code == code, ExamVersion.status == "published")
        .order_by(ExamVersion.version.desc())
        .limit(1)
    ).first()


def lock(session: Session, exam_id: int) -> ExamVersion:
    """An exam version, locked for the transaction (its scoring revision changes under it)."""
    return session.scalars(
        select(ExamVersion).where(ExamVersion.id == exam_id).with_for_update()
    ).one()


def by_id(session: Session, exam_id: int) -> ExamVersion | None:
    """An exam version by id."""
    return session.get(ExamVersion, exam_id)


def sitting(session: Session, sitting_id: int) -> Sitting | None:
    """A sitting by id."""
    return session.get(Sitting, sitting_id)


def add_registrations(session: Session, registrations: Sequence[Registration]) -> None:
    """Insert a roster's registrations."""
    session.add_all(registrations)
    session.flush()


def assign_proctor(session: Session, sitting_id: int, user_id: int) -> None:
    """Let a proctor run a sitting (assigning twice changes nothing)."""
    insert_ignore(session, SittingProctor, {"sitting_id": sitting_id, "user_id": user_id})


def versions(session: Session, code: str) -> list[ExamVersion]:
    """Every version of exam ``code``, oldest first."""
    return list(
        session.scalars(
            select(ExamVersion).where(ExamVersion.code == code).order_by(ExamVersion.version)
        )
    )


def all_latest(session: Session) -> list[ExamVersion]:
    """The newest version of every exam, by code."""
    newest = (
        select(ExamVersion.code, func.max(ExamVersion.version).label("version"))
        .group_by(ExamVersion.code)
        .subquery()
    )
    return list(
        session.scalars(
            select(ExamVersion)
            .join(
                newest,
                (ExamVersion.code == newest.c.code) & (ExamVersion.version == newest.c.version),
            )
            .order_by(ExamVersion.code)
        )
    )


def add(session: Session, exam: ExamVersion) -> ExamVersion:
    """Insert an exam version."""
    session.add(exam)
    session.flush()
    return exam


def active_items_of_sections(session: Session, sections: Sequence[str]) -> list[ItemVersion]:
    """Active item versions of ``sections`` (the bank a publication snapshots)."""
    return list(
        session.scalars(
            select(ItemVersion)
            .where(ItemVersion.status == ItemStatus.ACTIVE, ItemVersion.section.in_(list(sections)))
            .order_by(ItemVersion.id)
        )
    )


def freeze_pool(session: Session, exam_id: int, items: Sequence[ItemVersion]) -> None:
    """Record the item versions a published exam version draws from, with their IRT
    parameters as they are now."""
    rows = [
        {"exam_id": exam_id, "item_id": i.id, "irt_a": i.irt_a, "irt_b": i.irt_b, "irt_c": i.irt_c}
        for i in items
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(ExamPoolItem), rows[start : start + 5000])


def add_sitting(session: Session, sitting: Sitting) -> Sitting:
    """Insert a sitting."""
    session.add(sitting)
    session.flush()
    return sitting


def sitting_for_update(session: Session, sitting_id: int) -> Sitting | None:
    """A sitting, locked for the transaction."""
    return session.scalars(
        select(Sitting).where(Sitting.id == sitting_id).with_for_update()
    ).one_or_none()


def sittings(session: Session, exam_ids: Sequence[int] | None = None) -> list[Sitting]:
    """Sittings (of some exam versions), by start time."""
    statement = select(Sitting).order_by(Sitting.starts_at, Sitting.id)
    if exam_ids is not None:
        statement = statement.where(Sitting.exam_id.in_(list(exam_ids)))
    return list(session.scalars(statement))


def registrations(session: Session, sitting_id: int) -> list[Registration]:
    """A sitting's roster, by slot."""
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.sitting_id == sitting_id)
            .order_by(Registration.slot)
        )
    )


def registered_numbers(session: Session, exam_id: int, numbers: Sequence[str]) -> set[str]:
    """Which of ``numbers`` are already registered for exam version ``exam_id``."""
    found: set[str] = set()
    for start in range(0, len(numbers), 1000):
        found.update(
            session.scalars(
                select(Registration.nomor_peserta).where(
                    Registration.exam_id == exam_id,
                    Registration.nomor_peserta.in_(list(numbers[start : start + 1000])),
                )
            )
        )
    return found


def next_slot(session: Session, sitting_id: int) -> int:
    """The first unused slot of a sitting."""
    value = session.scalar(
        select(func.max(Registration.slot)).where(Registration.sitting_id == sitting_id)
    )
    return 0 if value is None else int(value) + 1


def is_proctor_of(session: Session, sitting_id: int, user_id: int) -> bool:
    """Whether a proctor is assigned to a sitting."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SittingProctor)
            .where(SittingProctor.sitting_id == sitting_id, SittingProctor.user_id == user_id)
        )
        or 0
    ) > 0


def proctor_sittings(session: Session, user_id: int) -> list[Sitting]:
    """The sittings a proctor is assigned to."""
    return list(
        session.scalars(
            select(Sitting)
            .join(SittingProctor, SittingProctor.sitting_id == Sitting.id)
            .where(SittingProctor.user_id == user_id)
            .order_by(Sitting.starts_at)
        )
    )
