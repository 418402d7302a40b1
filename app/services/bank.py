"""Importing, listing, retiring and exporting the item bank (all-or-nothing, audited)."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.bank import BankImport, BankSection, ItemVersion, MediaBlob, StimulusVersion
from app.repositories import bank as repo
from app.services import audit
from item_bank.errors import Problem
from item_bank.formats import Limits, ParsedItem, check_upload, open_bank_file
from item_bank.formats.base import FileRefused
from item_bank.formats.qti import EXPORT_IDENTITY
from item_bank.models import (
    DifficultyLevel,
    IRTParams,
    Item,
    ItemStatus,
    Media,
    Option,
    ScoringKind,
    Stimulus,
)

CHUNK = 1000
#: Codes listed one by one in an import's audit event up to this many; beyond, a digest.
AUDIT_CODE_LIMIT = 1000

#: The ``source`` key our own JSON export writes (value `EXPORT_IDENTITY`), so that
#: re-importing an export may version its items; QTI exports say it as ``qti_package``.
EXPORTED_BY = "exported_by"

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
    versioned: list[str] = field(default_factory=list)
    stimuli: int = 0

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
            versioned=tuple(self.versioned),
            stimuli=self.stimuli,
        )

    def as_dict(self) -> dict[str, object]:
        """The contract's JSON report (``--json``)."""
        return asdict(self.summary())


@dataclass(frozen=True)
class ImportSummary:
    """An import's report: counts, every located problem, and what was stored.

    ``media`` counts distinct images (by content), as an export of the same items does;
    ``versioned`` names the codes that become (or, on a dry run, would become) a new version;
    ``stimuli`` counts passages stored new or as a new version.
    """

    created: int
    new_versions: int
    unchanged: int
    errors: tuple[Problem, ...]
    dry_run: bool
    stored: bool
    media: int
    by_section: dict[str, int]
    versioned: tuple[str, ...] = ()
    stimuli: int = 0


def _option_json(option: Option) -> dict[str, object]:
    # ``fixed`` only when set: stored options of items without fixed positions stay as before.
    stored: dict[str, object] = {
        "label": option.label,
        "text": option.text,
        "points": option.points,
    }
    if option.fixed:
        stored["fixed"] = True
    return stored


def item_row(
    parsed: Item,
    version: int,
    now: datetime,
    source: dict[str, str],
    stimulus_id: int | None = None,
) -> dict[str, object]:
    """The column values of a new stored version of ``parsed`` (``stimulus_id``: the stored
    version of its passage)."""
    return {
        "code": parsed.code,
        "version": version,
        "section": parsed.section,
        "topic": parsed.topic,
        "stem": parsed.stem,
        "scoring": str(parsed.scoring),
        "key": parsed.key,
        "options": [_option_json(o) for o in parsed.options],
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
        "explanation": parsed.explanation,
        "shuffle": parsed.shuffle,
        "stimulus_ref": parsed.stimulus_ref,
        "stimulus_id": stimulus_id,
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
                bool(o.get("fixed", False)),
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
        explanation=row.explanation,
        shuffle=bool(row.shuffle),
        stimulus_ref=row.stimulus_ref,
    )


def stimulus_from_row(row: StimulusVersion) -> Stimulus:
    """The domain value of a stored passage version."""
    return Stimulus(
        code=row.code,
        content=row.content,
        media=tuple(Media(m["name"], m["content_type"], m["sha256"]) for m in row.media or []),
        title=row.title,
    )


def same_item(stored: Mapping[str, str], incoming: Mapping[str, str]) -> bool:
    """Whether an upload's item says it is the stored item of its code, changed.

    Yes when it comes from this engine's own export (JSON: ``source.exported_by``, QTI: the
    package identity `EXPORT_IDENTITY`), or from the same QTI package and resource as the
    stored version. A bare shared code (``choice``, ``item1``) says nothing of identity.
    """
    if EXPORT_IDENTITY in (incoming.get(EXPORTED_BY), incoming.get("qti_package")):
        return True
    package, resource = incoming.get("qti_package"), incoming.get("qti_resource")
    return bool(package and resource) and (
        stored.get("qti_package") == package and stored.get("qti_resource") == resource
    )


def _collision(parsed: ParsedItem, known: repo.LatestVersion) -> Problem:
    return Problem(
        parsed.file,
        parsed.location,
        "code",
        f"code {parsed.item.code!r} already names a different stored item (version"
        f" {known.version}) and nothing says this is the same item: give it another code, or"
        " import with --new-versions (new_versions=true) to make it a new version of the stored"
        " one",
    )


class _Importer:
    def __init__(
        self,
        session: Session,
        report: ImportReport,
        now: datetime,
        import_id: int | None,
        *,
        new_versions: bool = False,
    ):
        self.session = session
        self.report = report
        self.now = now
        self.import_id = import_id
        self.new_versions = new_versions
        self.changed_codes: list[str] = []
        # Refusals found while storing (codes of unrelated items, changed passages); kept apart
        # from the file problems so that every colliding code of the upload is named.
        self.collisions: list[Problem] = []
        self._stimuli: dict[str, int | None] = {}

    def _stimulus_id(self, parsed: ParsedItem, may_version: bool) -> int | None:
        """The stored version of the item's passage: found, stored new, or versioned.

        ``None`` when the item has none, or when its passage collides (then a problem is kept).
        """
        stimulus = parsed.stimulus
        if stimulus is None:
            return None
        if stimulus.code in self._stimuli:
            return self._stimuli[stimulus.code]
        digest = stimulus.content_hash()
        known = repo.latest_stimulus(self.session, stimulus.code)
        found: int | None
        if known is not None and known.content_hash == digest:
            found = known.id
        elif known is not None and not may_version:
            self.collisions.append(
                Problem(
                    parsed.file,
                    parsed.location,
                    "stimulus",
                    f"passage {stimulus.code!r} already names a different stored passage"
                    f" (version {known.version}) and nothing says this is the same passage:"
                    " give it another code, or import with --new-versions",
                )
            )
            found = None
        else:
            if known is not None:
                repo.retire_stimuli(self.session, [known.id])
            found = repo.insert_stimulus(
                self.session,
                {
                    "code": stimulus.code,
                    "version": 1 if known is None else known.version + 1,
                    "title": stimulus.title,
                    "content": stimulus.content,
                    "media": [
                        {"name": m.name, "content_type": m.content_type, "sha256": m.sha256}
                        for m in stimulus.media
                    ],
                    "status": str(ItemStatus.ACTIVE),
                    "content_hash": digest,
                    "created_at": self.now,
                    "import_id": self.import_id,
                },
            )
            self.report.stimuli += 1
        self._stimuli[stimulus.code] = found
        return found

    def write(self, chunk: list[ParsedItem]) -> None:
        latest = repo.latest_versions(self.session, [p.item.code for p in chunk])
        rows: list[dict[str, object]] = []
        superseded: list[int] = []
        for parsed in chunk:
            item = parsed.item
            known = latest.get(item.code)
            source = {**dict(item.source), "file": parsed.file, "location": parsed.location}
            may_version = known is None or self.new_versions or same_item(known.source, item.source)
            stimulus_id = self._stimulus_id(parsed, may_version)
            if parsed.stimulus is not None and stimulus_id is None:
                continue  # its passage collides (named above)
            if known is None:
                rows.append(item_row(item, 1, self.now, source, stimulus_id))
                self.report.created += 1
            elif known.content_hash == item.content_hash() and known.stimulus_id == stimulus_id:
                self.report.unchanged += 1
                continue
            elif not may_version:
                self.collisions.append(_collision(parsed, known))
                continue
            else:
                rows.append(item_row(item, known.version + 1, self.now, source, stimulus_id))
                superseded.append(known.id)
                self.report.new_versions += 1
                self.report.versioned.append(item.code)
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
    new_versions: bool = False,
) -> ImportReport:
    """Import bank files all-or-nothing inside a savepoint of the caller's transaction.

    Items stream through in chunks (memory stays flat whatever the bank's size). Every problem
    of every file is collected; if there is any, or on a dry run, the savepoint is rolled back
    and nothing is stored. Identical content is reported unchanged. Changed content under an
    existing code becomes a new version (the old one is retired from new forms) only when its
    source says it is the same item (see `same_item`) or ``new_versions`` asks for it;
    otherwise the upload is refused, naming every colliding code. Passages are stored once per
    code and versioned the same way. ``default_section`` / ``default_topic`` apply to QTI items
    whose metadata names none.
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
    importer = _Importer(session, report, now, record.id, new_versions=new_versions)
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
                    accept_stimuli=True,
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
    report.errors.extend(importer.collisions)
    if not report.errors:
        distinct: set[str] = set()
        for bank_file in opened:
            for media_file in bank_file.media().values():
                if media_file.sha256 not in distinct:
                    repo.add_media(
                        session, media_file.sha256, media_file.content_type, media_file.data
                    )
                    distinct.add(media_file.sha256)
        # Distinct images, as an export counts them: one picture under two names is one.
        report.media = len(distinct)
    if report.errors:
        report.created = report.new_versions = report.unchanged = report.stimuli = 0
        report.by_section = {}
        report.versioned = []
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
            "versioned": report.versioned if len(report.versioned) <= AUDIT_CODE_LIMIT else None,
            "new_versions_asked": new_versions,
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


@dataclass(frozen=True)
class BankExport:
    """The active bank as an export writes it: items, their passages, every image's bytes."""

    items: list[Item]
    stimuli: dict[str, Stimulus]
    media: dict[str, bytes]


def export_bank(session: Session) -> BankExport:
    """The active bank, its items marked as this engine's export (see `same_item`), with the
    passage version each item was stored with and the bytes of every image shown."""
    items: list[Item] = []
    stimulus_ids: set[int] = set()
    for row in repo.active_items(session):
        item = item_from_row(row)
        source = {
            k: v for k, v in item.source.items() if k not in {"file", "location", EXPORTED_BY}
        }
        source[EXPORTED_BY] = EXPORT_IDENTITY
        items.append(replace(item, source=MappingProxyType(source)))
        if row.stimulus_id is not None:
            stimulus_ids.add(row.stimulus_id)
    stimuli = {s.code: stimulus_from_row(s) for s in repo.stimuli_by_ids(session, stimulus_ids)}
    digests = sorted(
        {m.sha256 for item in items for m in item.media}
        | {m.sha256 for s in stimuli.values() for m in s.media}
    )
    return BankExport(items, stimuli, repo.media_bytes(session, digests))


def export_items(session: Session) -> tuple[list[Item], dict[str, bytes]]:
    """The active bank as domain items, with the bytes of every image they show."""
    exported = export_bank(session)
    return exported.items, exported.media


@dataclass(frozen=True, slots=True)
class PassageShown:
    """A passage as a form shows it: image names already turned into media links."""

    key: str
    code: str
    version: int
    title: str
    content: str


@dataclass(frozen=True)
class FormPassages:
    """The passages of a form's items: each item's passage key, and each passage once."""

    by_item: dict[int, str]
    passages: dict[str, PassageShown]


_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', re.IGNORECASE)


def media_paths(fragment: str, media: Mapping[str, str]) -> str:
    """``fragment`` with each image name of ``media`` (name -> SHA-256) as its media path, the
    form stems take before a candidate's links are signed."""

    def swap(match: re.Match[str]) -> str:
        digest = media.get(html.unescape(match.group(2)))
        target = f"/api/v1/media/{digest}" if digest else match.group(2)
        return f"{match.group(1)}{target}{match.group(3)}"

    return _IMG_SRC.sub(swap, fragment)


def form_passages(session: Session, item_ids: Sequence[int]) -> FormPassages:
    """The passages the items ``item_ids`` are read with (the versions they were stored with).

    A passage shared by several items appears once: items name it by its key
    (``code@version``), so a form sends each passage's text once.
    """
    by_item: dict[int, str] = {}
    passages: dict[str, PassageShown] = {}
    for item_id, row in repo.passages_of_items(session, item_ids):
        key = f"{row.code}@{row.version}"
        by_item[item_id] = key
        if key not in passages:
            media = {m["name"]: m["sha256"] for m in row.media or []}
            passages[key] = PassageShown(
                key, row.code, row.version, row.title, media_paths(row.content, media)
            )
    return FormPassages(by_item, passages)
