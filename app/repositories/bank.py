"""Queries of the item bank: sections, item versions, media and imports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.models.bank import BankImport, BankSection, ItemVersion, MediaBlob, StimulusVersion
from app.repositories.common import dialect_insert
from item_bank.models import ItemStatus


@dataclass(frozen=True, slots=True)
class LatestVersion:
    """The newest stored version of a code."""

    id: int
    code: str
    version: int
    content_hash: str
    status: str
    source: dict[str, str]
    stimulus_id: int | None


@dataclass(frozen=True, slots=True)
class LatestStimulus:
    """The newest stored version of a passage code."""

    id: int
    version: int
    content_hash: str


def section_codes(session: Session) -> frozenset[str]:
    """Every known section code."""
    return frozenset(session.scalars(select(BankSection.code)))


def sections(session: Session) -> list[BankSection]:
    """Every section, by code."""
    return list(session.scalars(select(BankSection).order_by(BankSection.code)))


def add_section(session: Session, code: str, name: str) -> None:
    """Add a section code unless it exists."""
    session.execute(
        dialect_insert(session, BankSection)
        .values(code=code, name=name)
        .on_conflict_do_nothing(index_elements=["code"])
    )


def latest_versions(session: Session, codes: Sequence[str]) -> dict[str, LatestVersion]:
    """The newest version of each of ``codes`` that exists."""
    if not codes:
        return {}
    newest = (
        select(ItemVersion.code, func.max(ItemVersion.version).label("version"))
        .where(ItemVersion.code.in_(codes))
        .group_by(ItemVersion.code)
        .subquery()
    )
    rows = session.execute(
        select(
            ItemVersion.id,
            ItemVersion.code,
            ItemVersion.version,
            ItemVersion.content_hash,
            ItemVersion.status,
            ItemVersion.source,
            ItemVersion.stimulus_id,
        ).join(
            newest,
            (ItemVersion.code == newest.c.code) & (ItemVersion.version == newest.c.version),
        )
    ).all()
    return {
        row.code: LatestVersion(
            row.id,
            row.code,
            row.version,
            row.content_hash,
            row.status,
            dict(row.source or {}),
            row.stimulus_id,
        )
        for row in rows
    }


def latest_stimulus(session: Session, code: str) -> LatestStimulus | None:
    """The newest stored version of passage ``code``, if any."""
    row = session.execute(
        select(StimulusVersion.id, StimulusVersion.version, StimulusVersion.content_hash)
        .where(StimulusVersion.code == code)
        .order_by(StimulusVersion.version.desc())
        .limit(1)
    ).first()
    return None if row is None else LatestStimulus(row.id, row.version, row.content_hash)


def insert_stimulus(session: Session, values: dict[str, object]) -> int:
    """Store a passage version; its id."""
    stored = session.execute(insert(StimulusVersion).values(**values).returning(StimulusVersion.id))
    return int(stored.scalar_one())


def retire_stimuli(session: Session, ids: Sequence[int]) -> None:
    """Retire passage versions superseded by a newer one (items keep pointing at them)."""
    if ids:
        session.execute(
            update(StimulusVersion)
            .where(StimulusVersion.id.in_(list(ids)))
            .values(status=ItemStatus.RETIRED)
        )


def stimuli_by_ids(session: Session, ids: Iterable[int]) -> list[StimulusVersion]:
    """Passage versions by id, oldest version first (so a later version of a code wins when
    they are collected by code)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(
        session.scalars(
            select(StimulusVersion)
            .where(StimulusVersion.id.in_(wanted))
            .order_by(StimulusVersion.code, StimulusVersion.version)
        )
    )


_ITEM_COLUMNS = (
    "code",
    "version",
    "section",
    "topic",
    "stem",
    "scoring",
    "key",
    "options",
    "n_options",
    "p_value",
    "level",
    "irt_a",
    "irt_b",
    "irt_c",
    "media",
    "source",
    "status",
    "content_hash",
    "created_at",
    "import_id",
    "shuffle",
    "stimulus_ref",
    "stimulus_id",
    "explanation",
)
_JSON_COLUMNS = frozenset({"options", "media", "source"})


def insert_items(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert many item versions: PostgreSQL's COPY (one round trip per chunk instead of
    one statement per row), SQLite's executemany."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(ItemVersion), rows)
        return
    driver = session.connection().connection.driver_connection
    columns = ", ".join(f'"{c}"' for c in _ITEM_COLUMNS)
    with driver.cursor() as cursor, cursor.copy(f"COPY items ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], ensure_ascii=False) if c in _JSON_COLUMNS else row.get(c)
                    for c in _ITEM_COLUMNS
                ]
            )


def retire(session: Session, ids: Sequence[int]) -> None:
    """Retire item versions (superseded by a newer version, or by a committee's decision)."""
    if ids:
        session.execute(
            update(ItemVersion)
            .where(ItemVersion.id.in_(list(ids)), ItemVersion.status == ItemStatus.ACTIVE)
            .values(status=ItemStatus.RETIRED)
        )


def set_status(session: Session, item_id: int, status: str) -> None:
    """Set one version's status."""
    session.execute(update(ItemVersion).where(ItemVersion.id == item_id).values(status=status))


def add_media(session: Session, sha256: str, content_type: str, data: bytes) -> None:
    """Store an image unless the same bytes are stored already."""
    session.execute(
        dialect_insert(session, MediaBlob)
        .values(sha256=sha256, content_type=content_type, size=len(data), data=data)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


def media(session: Session, sha256: str) -> MediaBlob | None:
    """An image by its SHA-256."""
    return session.get(MediaBlob, sha256)


def media_bytes(session: Session, digests: Sequence[str]) -> dict[str, bytes]:
    """Images by SHA-256 (for export)."""
    if not digests:
        return {}
    rows = session.execute(
        select(MediaBlob.sha256, MediaBlob.data).where(MediaBlob.sha256.in_(list(digests)))
    )
    return {str(digest): bytes(data) for digest, data in rows}


def add_import(session: Session, record: BankImport) -> BankImport:
    """Record an import."""
    session.add(record)
    session.flush()
    return record


def item_query(
    *,
    section: str | None = None,
    topic: str | None = None,
    status: str | None = None,
    text: str | None = None,
    code: str | None = None,
    all_versions: bool = False,
) -> Select[Any]:
    """Items matching the filters, newest version of each code unless ``all_versions``."""
    statement = select(ItemVersion)
    if not all_versions:
        newest = (
            select(ItemVersion.code, func.max(ItemVersion.version).label("version"))
            .group_by(ItemVersion.code)
            .subquery()
        )
        statement = statement.join(
            newest,
            (ItemVersion.code == newest.c.code) & (ItemVersion.version == newest.c.version),
        )
    if section:
        statement = statement.where(ItemVersion.section == section)
    if topic:
        statement = statement.where(ItemVersion.topic == topic)
    if status:
        statement = statement.where(ItemVersion.status == status)
    if code:
        statement = statement.where(ItemVersion.code == code)
    if text:
        pattern = f"%{text.lower()}%"
        statement = statement.where(
            or_(
                func.lower(ItemVersion.stem).like(pattern),
                func.lower(ItemVersion.code).like(pattern),
            )
        )
    return statement


def count(session: Session, statement: Select[Any]) -> int:
    """How many rows ``statement`` selects."""
    return int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def page(session: Session, statement: Select[Any], offset: int, limit: int) -> list[ItemVersion]:
    """One page of ``statement``, by code then version."""
    return list(
        session.scalars(
            statement.order_by(ItemVersion.code, ItemVersion.version).offset(offset).limit(limit)
        )
    )


def versions_of(session: Session, code: str) -> list[ItemVersion]:
    """Every version of one code, oldest first."""
    return list(
        session.scalars(
            select(ItemVersion).where(ItemVersion.code == code).order_by(ItemVersion.version)
        )
    )


def active_items(session: Session, batch: int = 2000) -> Any:
    """Every active item version (streamed), by code."""
    return session.scalars(
        select(ItemVersion)
        .where(ItemVersion.status == ItemStatus.ACTIVE)
        .order_by(ItemVersion.code)
        .execution_options(yield_per=batch)
    )


def passages_of_items(
    session: Session, item_ids: Sequence[int]
) -> list[tuple[int, StimulusVersion]]:
    """``(item id, passage version)`` of each of ``item_ids`` that has a passage."""
    if not item_ids:
        return []
    rows = session.execute(
        select(ItemVersion.id, StimulusVersion)
        .join(StimulusVersion, StimulusVersion.id == ItemVersion.stimulus_id)
        .where(ItemVersion.id.in_(sorted(set(item_ids))))
    ).all()
    return [(int(item_id), stimulus) for item_id, stimulus in rows]
