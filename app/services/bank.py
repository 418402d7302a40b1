"""Importing, listing, retiring and exporting the item bank (all-or-nothing, audited)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.bank import BankImport, BankSection, ItemVersion, MediaBlob
from app.repositories import bank as repo
from app.services import audit
from item_bank.errors import Problem
from item_bank.formats import Limits, ParsedItem, check_upload, open_bank_file
from item_bank.formats.base import FileRefused
from item_bank.models import (
    DifficultyLevel,
    IRTParams,
    Item,
    ItemStatus,
    Media,
    Option,
    ScoringKind,
)

CHUNK = 1000
#: Codes listed one by one in an import's audit event up to this many; beyond, a digest.
AUDIT_CODE_LIMIT = 1000

ProgressFn = Callable[[int], None]


@dataclass
class UploadFile:
    """One file of an upload: the name the user gave and its bytes."""

    name: str
    stream: BinaryIO
    media_resolver: Callable[[str], bytes | None] | None = None


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or with errors, would have done)."""

    created: int = 0
    new_versions: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    media: int = 0
    import_id: int | None = None
    by_section: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the upload was accepted (nothing is stored otherwise)."""
        return not self.errors

    def summary(self) -> ImportSummary:
        """The contract's report, as ``--json`` prints it and the API answers it."""
        return ImportSummary(
            created=self.created,
            new_versions=self.new_versions,
            unchanged=self.unchanged,
            errors=tuple(self.errors),
            dry_run=self.dry_run,
            stored=self.ok and not self.dry_run,
            media=self.media,
            by_section=dict(sorted(self.by_section.items())),
        )

    def as_dict(self) -> dict[str, object]:
        """The contract's JSON report (``--json``)."""
        return asdict(self.summary())


@dataclass(frozen=True)
class ImportSummary:
    """An import's report: counts, every located problem, and what was stored."""

    created: int
    new_versions: int
    unchanged: int
    errors: tuple[Problem, ...]
    dry_run: bool
    stored: bool
    media: int
    by_section: dict[str, int]


def item_row(
    parsed: Item, version: int, now: datetime, source: dict[str, str]
) -> dict[str, object]:
    """The column values of a new stored version of ``parsed``."""
    return {
        "code": parsed.code,
        "version": version,
        "section": parsed.section,
        "topic": parsed.topic,
        "stem": parsed.stem,
        "scoring": str(parsed.scoring),
        "key": parsed.key,
        "options": [{"label": o.label, "text": o.text, "points": o.points} for o in parsed.options],
        "n_options": len(parsed.options),
        "p_value": parsed.p_value,
        "level": str(parsed.level) if parsed.level else None,
        "irt_a": parsed.irt.a if parsed.irt else None,
        "irt_b": parsed.irt.b if parsed.irt else None,
        "irt_c": parsed.irt.c if parsed.irt else None,
        "media": [
            {"name": m.name, "content_type": m.content_type, "sha256": m.sha256}
            for m in parsed.media
        ],
        "source": source,
        "status": str(parsed.status),
        "content_hash": parsed.content_hash(),
        "created_at": now,
    }


def item_from_row(row: ItemVersion) -> Item:
    """The domain value of a stored item version (for export and analysis)."""
    return Item(
        code=row.code,
        section=row.section,
        topic=row.topic,
        stem=row.stem,
        options=tuple(
            Option(
                str(o["label"]),
                str(o["text"]),
                None if o.get("points") is None else float(o["points"]),
            )
            for o in row.options
        ),
        scoring=ScoringKind(row.scoring),
        key=row.key,
        version=row.version,
        status=ItemStatus(row.status),
        p_value=row.p_value,
        level=DifficultyLevel(row.level) if row.level else None,
        irt=IRTParams(row.irt_a, row.irt_b, row.irt_c or 0.0)
        if row.irt_a is not None and row.irt_b is not None
        else None,
        media=tuple(Media(m["name"], m["content_type"], m["sha256"]) for m in row.media or []),
        source=MappingProxyType(dict(row.source or {})),
    )


class _Importer:
    def __init__(
        self, session: Session, report: ImportReport, now: datetime, import_id: int | None
    ):
        self.session = session
        self.report = report
        self.now = now
        self.import_id = import_id
        self.changed_codes: list[str] = []

    def write(self, chunk: list[ParsedItem]) -> None:
        latest = repo.latest_versions(self.session, [p.item.code for p in chunk])
        rows: list[dict[str, object]] = []
        superseded: list[int] = []
        for parsed in chunk:
            item = parsed.item
            known = latest.get(item.code)
            source = {**dict(item.source), "file": parsed.file, "location": parsed.location}
            if known is None:
                rows.append(item_row(item, 1, self.now, source))
                self.report.created += 1
            elif known.content_hash == item.content_hash():
                self.report.unchanged += 1
                continue
            else:
                rows.append(item_row(item, known.version + 1, self.now, source))
                superseded.append(known.id)
                self.report.new_versions += 1
            self.changed_codes.append(item.code)
            self.report.by_section[item.section] = self.report.by_section.get(item.section, 0) + 1
        for row in rows:
            row["import_id"] = self.import_id
        # Old versions stay (forms that used them stay intact) but leave the draw.
        repo.retire(self.session, superseded)
        repo.insert_items(self.session, rows)


def import_files(
    session: Session,
    files: Sequence[UploadFile],
    *,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    limits: Limits | None = None,
    progress: ProgressFn | None = None,
    default_section: str | None = None,
    default_topic: str | None = None,
) -> ImportReport:
    """Import bank files all-or-nothing inside a savepoint of the caller's transaction.

    Items stream through in chunks (memory stays flat whatever the bank's size). Every problem
    of every file is collected; if there is any, or on a dry run, the savepoint is rolled back
    and nothing is stored. Identical content is reported unchanged; changed content under an
    existing code becomes a new version and the old version is retired from new forms.
    ``default_section`` / ``default_topic`` apply to QTI items whose metadata names none.
    """
    report = ImportReport(dry_run=dry_run)
    known_sections = repo.section_codes(session)
    savepoint = session.begin_nested()
    record = repo.add_import(
        session,
        BankImport(
            at=now,
            actor=actor,
            files=[f.name for f in files],
            created=0,
            new_versions=0,
            unchanged=0,
        ),
    )
    importer = _Importer(session, report, now, record.id)
    opened = []
    for upload in files:
        try:
            opened.append(
                open_bank_file(
                    upload.name,
                    upload.stream,
                    known_sections=known_sections,
                    limits=limits or Limits(),
                    media_resolver=upload.media_resolver,
                    default_section=default_section,
                    default_topic=default_topic,
                )
            )
        except FileRefused as exc:
            report.errors.append(exc.problem(upload.name))
    chunk: list[ParsedItem] = []
    seen = 0
    for record_or_problem in check_upload(opened):
        if isinstance(record_or_problem, Problem):
            report.errors.append(record_or_problem)
            chunk.clear()
            continue
        seen += 1
        if not report.errors:
            chunk.append(record_or_problem)
            if len(chunk) >= CHUNK:
                importer.write(chunk)
                chunk = []
        if progress is not None and seen % 500 == 0:
            progress(seen)
    if chunk and not report.errors:
        importer.write(chunk)
    if progress is not None:
        progress(seen)
    if not report.errors:
        for bank_file in opened:
            for media_file in bank_file.media().values():
                repo.add_media(session, media_file.sha256, media_file.content_type, media_file.data)
                report.media += 1
    if report.errors:
        report.created = report.new_versions = report.unchanged = 0
        report.by_section = {}
    if report.errors or dry_run:
        savepoint.rollback()
        return report
    record.created = report.created
    record.new_versions = report.new_versions
    record.unchanged = report.unchanged
    report.import_id = record.id
    codes = importer.changed_codes
    audit.record(
        session,
        at=now,
        actor=actor,
        action="bank.import",
        subject=f"import:{record.id}",
        payload={
            "files": [f.name for f in files],
            "created": report.created,
            "new_versions": report.new_versions,
            "unchanged": report.unchanged,
            "codes": codes if len(codes) <= AUDIT_CODE_LIMIT else None,
            "codes_sha256": hashlib.sha256("\n".join(codes).encode()).hexdigest(),
        },
    )
    savepoint.commit()
    return report


@dataclass(frozen=True)
class ItemSearch:
    """One page of an item search and how many items match in all."""

    total: int
    items: list[ItemVersion]


def search_items(
    session: Session,
    *,
    section: str | None = None,
    topic: str | None = None,
    status: str | None = None,
    text: str | None = None,
    all_versions: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> ItemSearch:
    """Newest version of each item (or every version), filtered, by code."""
    statement = repo.item_query(
        section=section, topic=topic, status=status, text=text, all_versions=all_versions
    )
    return ItemSearch(repo.count(session, statement), repo.page(session, statement, offset, limit))


def item_versions(session: Session, code: str) -> list[ItemVersion]:
    """Every version of ``code``, oldest first (NotFound when there is none)."""
    rows = repo.versions_of(session, code)
    if not rows:
        msg = f"no item with code {code!r}"
        raise NotFound(msg)
    return rows


def sections(session: Session) -> list[BankSection]:
    """The section codes items may use, by code."""
    return repo.sections(session)


def add_section(session: Session, code: str, name: str, *, actor: str, now: datetime) -> None:
    """Add a section code (adding an existing one changes nothing); audited."""
    repo.add_section(session, code, name)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="bank.section_add",
        subject=f"section:{code}",
        payload={"name": name},
    )


def media(session: Session, sha256: str) -> MediaBlob:
    """A stored image by its SHA-256 (NotFound when there is none)."""
    blob = repo.media(session, sha256)
    if blob is None:
        msg = "no such image"
        raise NotFound(msg)
    return blob


def set_item_status(
    session: Session, code: str, status: str, *, actor: str, now: datetime, reason: str = ""
) -> ItemVersion:
    """Retire or (re)activate the newest version of ``code``; audited."""
    versions = repo.versions_of(session, code)
    if not versions:
        msg = f"no item with code {code!r}"
        raise NotFound(msg)
    newest = versions[-1]
    if status not in tuple(ItemStatus):
        msg = f"status must be active, retired or draft, not {status!r}"
        raise Conflict(msg)
    previous = newest.status
    repo.set_status(session, newest.id, status)
    audit.record(
        session,
        at=now,
        actor=actor,
        action=f"item.{status}",
        subject=f"item:{code}",
        payload={"version": newest.version, "from": previous, "reason": reason},
    )
    session.refresh(newest)
    return newest


def export_items(session: Session) -> tuple[list[Item], dict[str, bytes]]:
    """The active bank as domain items, with the bytes of every image they show."""
    items = [item_from_row(row) for row in repo.active_items(session)]
    digests = sorted({m.sha256 for item in items for m in item.media})
    return items, repo.media_bytes(session, digests)
