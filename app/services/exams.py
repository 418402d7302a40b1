"""Exams: define (draft), publish (freeze + bank snapshot), schedule sittings and their proctors."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.bank import ItemVersion
from app.models.exam import ExamVersion
from app.models.sitting import Sitting
from app.models.staff import Role
from app.repositories import exams as repo
from app.repositories import staff as staff_repo
from app.services import audit, practice
from exam_day import SittingStatus
from item_bank.blueprint import BankEntry, BankSnapshot, check_blueprint
from item_bank.errors import BlueprintShortfall
from item_bank.exam_spec import ExamSpec, parse_exam_spec, spec_from_dict, spec_hash, spec_to_dict
from item_bank.models import DifficultyLevel, IRTParams

#: Site time zones of Indonesia and what candidates call them.
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
PIN_DIGITS = 6


@dataclass(frozen=True)
class ExamChange:
    """What defining an exam did."""

    exam: ExamVersion
    outcome: str  # "created", "updated", "unchanged"


def define_exam(
    session: Session, data: bytes | str, filename: str, *, actor: str, now: datetime
) -> ExamChange:
    """Validate a spec and store it as a draft version.

    A draft is replaced in place; a published version is never touched: a changed spec becomes
    a new draft version. Identical content to the newest version changes nothing.
    """
    spec = parse_exam_spec(data, filename)
    digest = spec_hash(spec)
    latest = repo.latest_version(session, spec.code, lock=True)
    if latest is not None and latest.spec_hash == digest:
        return ExamChange(latest, "unchanged")
    stored = spec_to_dict(spec)
    if latest is not None and latest.status == "draft":
        latest.spec = stored
        latest.spec_hash = digest
        latest.title = spec.title
        exam, outcome = latest, "updated"
    else:
        exam = repo.add(
            session,
            ExamVersion(
                code=spec.code,
                version=(latest.version + 1) if latest else 1,
                title=spec.title,
                spec=stored,
                spec_hash=digest,
                status="draft",
                scoring_revision=0,
                created_at=now,
                created_by=actor,
            ),
        )
        outcome = "created"
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action=f"exam.{'update' if outcome == 'updated' else 'create'}",
        subject=f"exam:{exam.code}:v{exam.version}",
        payload={"spec_hash": digest, "file": filename},
    )
    return ExamChange(exam, outcome)


def spec_of(exam: ExamVersion) -> ExamSpec:
    """The domain spec of a stored exam version."""
    return spec_from_dict(exam.spec, source=f"exam {exam.code} v{exam.version}")


def snapshot_of_bank(session: Session, spec: ExamSpec) -> tuple[BankSnapshot, list[ItemVersion]]:
    """The active bank items of the spec's sections, as the assembly sees them."""
    rows = repo.active_items_of_sections(session, spec.section_codes)
    entries = [
        BankEntry(
            id=row.id,
            section=row.section,
            topic=row.topic,
            n_options=row.n_options,
            p_value=row.p_value,
            level=DifficultyLevel(row.level) if row.level else None,
            irt=IRTParams(row.irt_a, row.irt_b, row.irt_c or 0.0)
            if row.irt_a is not None and row.irt_b is not None
            else None,
        )
        for row in rows
    ]
    return BankSnapshot.from_entries(entries, spec.difficulty_bands), rows


def publish_exam(session: Session, code: str, *, actor: str, now: datetime) -> ExamVersion:
    """Freeze the newest draft of ``code`` with the bank it will draw from.

    Refused (naming every shortfall) when the active bank cannot serve the blueprint.
    Publishing an already published newest version changes nothing.
    """
    exam = repo.latest_version(session, code, lock=True)
    if exam is None:
        msg = f"no exam with code {code!r}"
        raise NotFound(msg)
    if exam.status == "published":
        return exam
    spec = spec_of(exam)
    snapshot, items = snapshot_of_bank(session, spec)
    shortfalls = check_blueprint(spec, snapshot)
    if shortfalls:
        raise BlueprintShortfall(shortfalls)
    for section in spec.adaptive_sections:
        calibrated = sum(
            1
            for i in items
            if i.section == section.code and i.irt_a is not None and i.irt_b is not None
        )
        if calibrated < section.item_count:
            msg = (
                f"adaptive section {section.code} needs at least {section.item_count} items "
                f"with IRT parameters; the bank has {calibrated} (run ujian calibrate)"
            )
            raise Conflict(msg)
    # A practice exam shows keys to anyone: it and live exams never share an item.
    practice.refuse_shared_items(session, items, practice=spec.practice)
    repo.freeze_pool(session, exam.id, items)
    exam.practice = spec.practice
    exam.status = "published"
    exam.published_at = now
    exam.published_by = actor
    exam.pool_hash = snapshot.digest
    audit.record(
        session,
        at=now,
        actor=actor,
        action="exam.publish",
        subject=f"exam:{exam.code}:v{exam.version}",
        payload={
            "spec_hash": exam.spec_hash,
            "pool_items": len(items),
            "pool_hash": snapshot.digest,
        },
    )
    return exam


def parse_start(value: str | datetime, timezone: str) -> datetime:
    """A scheduled start as UTC: ISO with an offset, or local time at the site."""
    zone = site_zone(timezone)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            msg = (
                f"starts_at: {value!r} is not an ISO date-time "
                "(e.g. 2026-12-01T08:00 or 2026-12-01T08:00+07:00)"
            )
            raise AppError(msg) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(ZoneInfo("UTC"))


def site_zone(timezone: str) -> ZoneInfo:
    """The site's zone, refusing unknown names."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = (
            f"timezone: unknown zone {timezone!r} "
            "(use e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura)"
        )
        raise AppError(msg) from exc


def local_time(moment: datetime, timezone: str) -> str:
    """``01-12-2026 08:00 WIB``: a UTC moment as the site reads it."""
    local = moment.astimezone(site_zone(timezone))
    zone = ZONE_NAMES.get(timezone, local.tzname() or timezone)
    return f"{local:%d-%m-%Y %H:%M} {zone}"


def latest_exams(session: Session) -> list[ExamVersion]:
    """The newest version of every exam, by code."""
    return repo.all_latest(session)


def exam_versions(session: Session, code: str) -> list[ExamVersion]:
    """Every version of exam ``code``, oldest first (NotFound when there is none)."""
    found = repo.versions(session, code)
    if not found:
        msg = f"no exam with code {code!r}"
        raise NotFound(msg)
    return found


def sittings(session: Session) -> list[Sitting]:
    """Every sitting, by start time."""
    return repo.sittings(session)


def exam_of(session: Session, sitting: Sitting) -> ExamVersion | None:
    """The exam version a sitting runs."""
    return repo.by_id(session, sitting.exam_id)


def published_exam(session: Session, exam_code: str) -> ExamVersion:
    """The newest published version of ``exam_code`` (NotFound when it has none)."""
    exam = repo.latest_published(session, exam_code)
    if exam is None:
        msg = f"exam {exam_code!r} has no published version"
        raise NotFound(msg)
    return exam


def create_sitting(
    session: Session,
    *,
    exam_code: str,
    name: str,
    starts_at: str | datetime,
    site: str = "",
    room: str = "",
    timezone: str = "Asia/Jakarta",
    actor: str,
    now: datetime,
) -> Sitting:
    """Schedule a sitting of the newest published version of ``exam_code``."""
    exam = repo.latest_published(session, exam_code)
    if exam is None:
        msg = f"exam {exam_code!r} has no published version; publish it first"
        raise Conflict(msg)
    if not name.strip():
        msg = "name: a sitting needs a name (e.g. 'Sesi 1')"
        raise AppError(msg)
    sitting = repo.add_sitting(
        session,
        Sitting(
            exam_id=exam.id,
            name=name.strip(),
            site=site.strip(),
            room=room.strip(),
            timezone=timezone,
            starts_at=parse_start(starts_at, timezone),
            status=SittingStatus.SCHEDULED,
            paused_at=None,
            # Unpredictable, kept from candidates; with each slot it fixes every form.
            seed=secrets.randbelow(2**63),
            created_at=now,
        ),
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="sitting.create",
        subject=f"sitting:{sitting.id}",
        payload={
            "exam": f"{exam.code}:v{exam.version}",
            "name": sitting.name,
            "starts_at": sitting.starts_at.isoformat(),
            "timezone": timezone,
        },
    )
    return sitting


def assign_proctor(
    session: Session, sitting_id: int, username: str, *, actor: str, now: datetime
) -> None:
    """Let a proctor run a sitting."""
    sitting = repo.sitting(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    user = staff_repo.by_username(session, username)
    if user is None or user.role != Role.PROCTOR:
        msg = f"no proctor account named {username!r}"
        raise NotFound(msg)
    repo.assign_proctor(session, sitting_id, user.id)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="sitting.assign_proctor",
        subject=f"sitting:{sitting_id}",
        payload={"proctor": username},
    )


# Rosters live in app.services.roster. These names stay reachable through this module for the
# callers (command line, proctor routes, demo loader) that still import them from here; looked
# up on first use, because app.services.roster itself builds on this module.
_ROSTER_NAMES = frozenset(
    {"IssuedPin", "import_roster", "parse_roster", "pins_csv", "reissue_pins"}
)


def __getattr__(name: str) -> Any:
    if name in _ROSTER_NAMES:
        from app.services import roster

        return getattr(roster, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
