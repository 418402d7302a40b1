"""Item bank tables: sections, item versions, their media, and the record of each import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class BankSection(Base):
    """A section code items may belong to (TWK, TIU, TKP, ...); unknown codes are refused."""

    __tablename__ = "bank_sections"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class ItemVersion(Base):
    """One immutable version of an item. A changed item gets a new row with ``version + 1``.

    Content columns never change after insert (forms reference the row); only ``status``
    and the difficulty statistics may be updated.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        Index("ix_items_section_status", "section", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(ForeignKey("bank_sections.code"))
    topic: Mapped[str] = mapped_column(String(64))
    stem: Mapped[str] = mapped_column(Text)
    scoring: Mapped[str] = mapped_column(String(16))
    key: Mapped[str | None] = mapped_column(String(8))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    n_options: Mapped[int] = mapped_column(Integer)
    p_value: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(16))
    irt_a: Mapped[float | None] = mapped_column(Float)
    irt_b: Mapped[float | None] = mapped_column(Float)
    irt_c: Mapped[float | None] = mapped_column(Float)
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    source: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_imports.id"))
    # The calibration that set irt_a/b/c (None: imported with the item, or none).
    calibration_id: Mapped[int | None] = mapped_column(ForeignKey("calibrations.id"))
    # The pembahasan shown on a practice exam's review (never in a live candidate's payload).
    explanation: Mapped[str | None] = mapped_column(Text)
    # False keeps the options in their written order on every form; with True only options
    # not marked ``fixed`` (in ``options``) move.
    shuffle: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The passage the candidate reads beside the item: its code, and the exact stored
    # version the item was imported with (what a replay shows).
    stimulus_ref: Mapped[str | None] = mapped_column(String(64))
    stimulus_id: Mapped[int | None] = mapped_column(ForeignKey("stimuli.id"), index=True)


class StimulusVersion(Base):
    """One immutable version of a passage (text, tables, images, formulas) items refer to.

    Versioned like items: ``code`` is the identity, a changed text gets ``version + 1`` and
    the old version is retired but kept, since item versions (and so forms) point at it.
    """

    __tablename__ = "stimuli"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_imports.id"))


class MediaBlob(Base):
    """An image items show, stored once by its SHA-256."""

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class BankImport(Base):
    """One import command or upload that changed the bank (dry runs leave no row)."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    files: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[int] = mapped_column(Integer)
    new_versions: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
