"""Rosters: read a roster CSV (every row problem at once), register its candidates in a sitting
with one-time PINs, reissue PINs, and write the PIN file."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.sitting import Registration
from app.repositories import exams as repo
from app.repositories import integrity as integrity_repo
from app.services import audit
from app.services.candidate_tokens import pin_digest
from app.services.exams import spec_of
from exam_day import SittingStatus
from item_bank.errors import InvalidInput, Problem
from item_bank.exam_spec import ExamSpec

PIN_DIGITS = 6

ROSTER_COLUMNS = {
    "nomor_peserta": ("nomor_peserta", "nomor peserta", "no_peserta", "nomor"),
    "name": ("name", "nama"),
    "category": ("category", "kategori", "jenis_formasi"),
    "formation": ("formation", "formasi", "kode_formasi"),
    "extra_minutes": ("extra_minutes", "tambahan_waktu", "tambahan_menit"),
    "grade_average": ("grade_average", "ipk", "nilai_rata_rata"),
    "birth_date": ("birth_date", "tanggal_lahir"),
    # Optional: the seat (adjacency for the similarity index) and DIF group fields.
    "seat": ("seat", "kursi", "nomor_kursi", "no_kursi"),
    "region": ("region", "wilayah", "provinsi"),
    "gender": ("gender", "jenis_kelamin"),
}
#: Longest region and gender labels a roster may carry.
MAX_REGION = 64
MAX_GENDER = 16
REQUIRED_ROSTER = ("nomor_peserta", "name", "category", "formation")


@dataclass(frozen=True)
class RosterRow:
    """A valid roster row."""

    nomor_peserta: str
    name: str
    category: str
    formation: str
    extra_minutes: int = 0
    grade_average: float | None = None
    birth_date: date | None = None
    seat: int | None = None
    region: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class IssuedPin:
    """A PIN as handed out once (only its keyed hash is stored)."""

    nomor_peserta: str
    name: str
    pin: str
    slot: int


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
    seats_seen: dict[int, int] = {}
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
        seat = _seat(
            values["seat"],
            filename=filename,
            where=where,
            line_number=line_number,
            seen=seats_seen,
            problems=row_problems,
        )
        for column, longest in (("region", MAX_REGION), ("gender", MAX_GENDER)):
            if len(values[column]) > longest:
                row_problems.append(
                    Problem(
                        filename, where, column, f"{column} is longer than {longest} characters"
                    )
                )
        if row_problems:
            problems.extend(row_problems)
            continue
        rows.append(
            RosterRow(
                nomor,
                values["name"],
                values["category"],
                values["formation"],
                extra,
                grade,
                birth,
                seat,
                values["region"] or None,
                values["gender"] or None,
            )
        )
    if problems:
        raise InvalidInput(problems)
    if not rows:
        raise InvalidInput([Problem(filename, "row 2", "", "the roster has no candidates")])
    return rows


def _seat(
    text: str,
    *,
    filename: str,
    where: str,
    line_number: int,
    seen: dict[int, int],
    problems: list[Problem],
) -> int | None:
    """The row's seat number (from 1), or None when the column is empty or absent."""
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        problems.append(
            Problem(filename, where, "seat", f"expected a seat number from 1, got {text!r}")
        )
        return None
    seat = int(text)
    if seat in seen:
        problems.append(
            Problem(filename, where, "seat", f"seat {seat} is given twice (also row {seen[seat]})")
        )
        return None
    seen[seat] = line_number
    return seat


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
    if sitting.status == SittingStatus.CLOSED:
        msg = "the sitting is closed; no more candidates can be registered"
        raise Conflict(msg)
    exam = repo.by_id(session, sitting.exam_id)
    if exam is None:
        msg = f"sitting {sitting_id} names exam version {sitting.exam_id}, which does not exist"
        raise NotFound(msg)
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
    taken = integrity_repo.seats_taken(session, sitting_id)
    if any(row.seat in taken for row in rows):
        raise InvalidInput(
            [
                Problem(
                    filename,
                    f"row {index}",
                    "seat",
                    f"seat {row.seat} is already taken by {taken[row.seat]} in this sitting",
                )
                for index, row in enumerate(rows, start=2)
                if row.seat is not None and row.seat in taken
            ]
        )
    slot = repo.next_slot(session, sitting_id)
    issued: list[IssuedPin] = []
    registrations: list[Registration] = []
    for row in rows:
        pin = new_pin()
        registrations.append(
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
    repo.add_registrations(session, registrations)
    integrity_repo.set_roster_details(
        session,
        [
            (registration.id, row.seat, row.region, row.gender)
            for registration, row in zip(registrations, rows, strict=True)
            if row.seat is not None or row.region or row.gender
        ],
    )
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
    if sitting.status == SittingStatus.CLOSED:
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
