"""Exams: define (draft), publish (freeze + bank snapshot), schedule sittings, import rosters."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.bank import ItemVersion
from app.models.exam import ExamVersion
from app.models.sitting import Registration, Sitting, SittingProctor
from app.models.staff import Role
from app.repositories import exams as repo
from app.repositories import staff as staff_repo
from app.repositories.common import insert_ignore
from app.services import audit
from app.services.candidate_tokens import pin_digest
from item_bank.blueprint import BankEntry, BankSnapshot, check_blueprint
from item_bank.errors import BlueprintShortfall, InvalidInput, Problem
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
    repo.freeze_pool(session, exam.id, items)
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
            status="scheduled",
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
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    user = staff_repo.by_username(session, username)
    if user is None or user.role != Role.PROCTOR:
        msg = f"no proctor account named {username!r}"
        raise NotFound(msg)
    insert_ignore(session, SittingProctor, {"sitting_id": sitting_id, "user_id": user.id})
    audit.record(
        session,
        at=now,
        actor=actor,
        action="sitting.assign_proctor",
        subject=f"sitting:{sitting_id}",
        payload={"proctor": username},
    )


# ------------------------------------------------------------------------------------------
# Rosters
# ------------------------------------------------------------------------------------------

ROSTER_COLUMNS = {
    "nomor_peserta": ("nomor_peserta", "nomor peserta", "no_peserta", "nomor"),
    "name": ("name", "nama"),
    "category": ("category", "kategori", "jenis_formasi"),
    "formation": ("formation", "formasi", "kode_formasi"),
    "extra_minutes": ("extra_minutes", "tambahan_waktu", "tambahan_menit"),
    "grade_average": ("grade_average", "ipk", "nilai_rata_rata"),
    "birth_date": ("birth_date", "tanggal_lahir"),
}
REQUIRED_ROSTER = ("nomor_peserta", "name", "category", "formation")


@dataclass
class RosterRow:
    """A valid roster row."""

    nomor_peserta: str
    name: str
    category: str
    formation: str
    extra_minutes: int = 0
    grade_average: float | None = None
    birth_date: date | None = None


@dataclass
class IssuedPin:
    """A PIN as handed out once (only its keyed hash is stored)."""

    nomor_peserta: str
    name: str
    pin: str
    slot: int


@dataclass
class RosterReport:
    """Candidates registered and their PINs, or every row problem."""

    registered: list[IssuedPin] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            [
                Problem(
                    filename,
                    f"byte {exc.start}",
                    "",
                    "the file is not UTF-8 text (save it as CSV UTF-8)",
                )
            ]
        ) from exc


def parse_roster(data: bytes, filename: str, spec: ExamSpec) -> list[RosterRow]:
    """Read a roster CSV (comma or semicolon), raising every row problem at once."""
    text = _decode(data, filename)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput([Problem(filename, "row 1", "", "the file is empty")]) from None
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower().replace("-", "_")
        for canonical, aliases in ROSTER_COLUMNS.items():
            if name in aliases or name.replace(" ", "_") in aliases:
                columns[canonical] = index
                break
        else:
            if name:
                problems.append(
                    Problem(
                        filename,
                        "row 1",
                        raw.strip(),
                        f"unknown column {raw.strip()!r}; expected {', '.join(ROSTER_COLUMNS)}",
                    )
                )
    for required in REQUIRED_ROSTER:
        if required not in columns:
            problems.append(
                Problem(filename, "row 1", required, f"the column {required!r} is missing")
            )
    if problems:
        raise InvalidInput(problems)
    categories = {c.category for c in spec.categories}
    formations = {f.code for f in spec.formations}
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for line_number, raw_row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw_row):
            continue
        where = f"row {line_number}"

        def cell(column: str, row: list[str] = raw_row) -> str:
            index = columns.get(column)
            return row[index].strip() if index is not None and index < len(row) else ""

        row_problems: list[Problem] = []
        values = {c: cell(c) for c in ROSTER_COLUMNS}
        for required in REQUIRED_ROSTER:
            if not values[required]:
                row_problems.append(Problem(filename, where, required, f"{required} is empty"))
        nomor = values["nomor_peserta"]
        if nomor and (len(nomor) > 32 or not nomor.replace("-", "").replace(".", "").isalnum()):
            row_problems.append(
                Problem(
                    filename,
                    where,
                    "nomor_peserta",
                    f"{nomor!r} is not a nomor peserta (letters, digits, '-' or '.', up to 32)",
                )
            )
        if nomor in seen:
            row_problems.append(
                Problem(
                    filename,
                    where,
                    "nomor_peserta",
                    f"{nomor} appears twice (also row {seen[nomor]})",
                )
            )
        elif nomor:
            seen[nomor] = line_number
        if categories and values["category"] and values["category"] not in categories:
            row_problems.append(
                Problem(
                    filename,
                    where,
                    "category",
                    f"unknown category {values['category']!r}; "
                    f"the exam has {', '.join(sorted(categories))}",
                )
            )
        if formations and values["formation"] and values["formation"] not in formations:
            row_problems.append(
                Problem(
                    filename,
                    where,
                    "formation",
                    f"unknown formation {values['formation']!r}; "
                    f"the exam has {', '.join(sorted(formations))}",
                )
            )
        extra = 0
        if values["extra_minutes"]:
            try:
                extra = int(values["extra_minutes"])
                if not 0 <= extra <= 600:
                    raise ValueError
            except ValueError:
                row_problems.append(
                    Problem(
                        filename,
                        where,
                        "extra_minutes",
                        f"expected whole minutes 0-600, got {values['extra_minutes']!r}",
                    )
                )
        grade = None
        if values["grade_average"]:
            try:
                grade = float(values["grade_average"].replace(",", "."))
                if not 0 <= grade <= 4.0:
                    raise ValueError
            except ValueError:
                row_problems.append(
                    Problem(
                        filename,
                        where,
                        "grade_average",
                        "expected a grade average 0-4 (e.g. 3,45), "
                        f"got {values['grade_average']!r}",
                    )
                )
        birth = None
        if values["birth_date"]:
            birth = _parse_date(values["birth_date"])
            if birth is None:
                row_problems.append(
                    Problem(
                        filename,
                        where,
                        "birth_date",
                        "expected a date like 1998-07-21 or 21-07-1998, "
                        f"got {values['birth_date']!r}",
                    )
                )
        if row_problems:
            problems.extend(row_problems)
            continue
        rows.append(
            RosterRow(
                nomor, values["name"], values["category"], values["formation"], extra, grade, birth
            )
        )
    if problems:
        raise InvalidInput(problems)
    if not rows:
        raise InvalidInput([Problem(filename, "row 2", "", "the roster has no candidates")])
    return rows


def _parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def new_pin() -> str:
    """A six-digit PIN from the system's secure random source."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def import_roster(
    session: Session,
    sitting_id: int,
    data: bytes,
    filename: str,
    *,
    secret: bytes,
    actor: str,
    now: datetime,
) -> list[IssuedPin]:
    """Register a roster's candidates in a sitting (all or nothing) and issue their PINs."""
    sitting = repo.sitting_for_update(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    if sitting.status == "closed":
        msg = "the sitting is closed; no more candidates can be registered"
        raise Conflict(msg)
    exam = session.get(ExamVersion, sitting.exam_id)
    assert exam is not None
    rows = parse_roster(data, filename, spec_of(exam))
    already = repo.registered_numbers(session, exam.id, [r.nomor_peserta for r in rows])
    if already:
        raise InvalidInput(
            [
                Problem(
                    filename,
                    f"row {index}",
                    "nomor_peserta",
                    f"{row.nomor_peserta} is already registered for {exam.code}",
                )
                for index, row in enumerate(rows, start=2)
                if row.nomor_peserta in already
            ]
        )
    slot = repo.next_slot(session, sitting_id)
    issued: list[IssuedPin] = []
    for row in rows:
        pin = new_pin()
        session.add(
            Registration(
                sitting_id=sitting_id,
                exam_id=exam.id,
                nomor_peserta=row.nomor_peserta,
                name=row.name,
                category=row.category,
                formation=row.formation,
                extra_minutes=row.extra_minutes,
                grade_average=row.grade_average,
                birth_date=row.birth_date,
                slot=slot,
                pin_hash=pin_digest(secret, sitting_id, pin),
                created_at=now,
            )
        )
        issued.append(IssuedPin(row.nomor_peserta, row.name, pin, slot))
        slot += 1
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="roster.import",
        subject=f"sitting:{sitting_id}",
        payload={"file": filename, "registered": len(issued)},
        chain=audit.sitting_chain(sitting_id),
    )
    return issued


def reissue_pins(
    session: Session,
    sitting_id: int,
    *,
    secret: bytes,
    actor: str,
    now: datetime,
    nomor_peserta: str | None = None,
) -> list[IssuedPin]:
    """New PINs for a sitting's candidates (or one of them); the old PINs stop working.

    PINs are stored only hashed, so a lost sheet is replaced, never read back.
    """
    sitting = repo.sitting_for_update(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    if sitting.status == "closed":
        msg = "the sitting is closed"
        raise Conflict(msg)
    issued: list[IssuedPin] = []
    for registration in repo.registrations(session, sitting_id):
        if nomor_peserta is not None and registration.nomor_peserta != nomor_peserta:
            continue
        pin = new_pin()
        registration.pin_hash = pin_digest(secret, sitting_id, pin)
        issued.append(
            IssuedPin(registration.nomor_peserta, registration.name, pin, registration.slot)
        )
    if nomor_peserta is not None and not issued:
        msg = f"{nomor_peserta} is not on this sitting's roster"
        raise NotFound(msg)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="sitting.pins_reissued",
        subject=f"sitting:{sitting_id}",
        payload={"count": len(issued), "nomor_peserta": nomor_peserta},
        chain=audit.sitting_chain(sitting_id),
    )
    return issued


def pins_csv(pins: list[IssuedPin]) -> str:
    """The PIN file: ``nomor_peserta,name,pin`` (UTF-8 CSV)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["nomor_peserta", "name", "pin"])
    for pin in pins:
        writer.writerow([pin.nomor_peserta, pin.name, pin.pin])
    return out.getvalue()
