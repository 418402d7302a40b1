"""Frozen values of the item bank: items, options, media and the content hash that versions them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

#: Option count bounds for a choice item (SKD and PPPK use 4-5; QTI allows more).
MIN_OPTIONS = 2
MAX_OPTIONS = 6

#: Labels options get when a source does not name them.
OPTION_LABELS = ("A", "B", "C", "D", "E", "F")


class ScoringKind(StrEnum):
    """How an item is scored.

    ``single``: exactly one option is the key; the section's rule gives points for correct, wrong
    and blank. ``weighted``: every option carries its own points (SKD's TKP: 1-5).
    """

    SINGLE = "single"
    WEIGHTED = "weighted"


class ItemStatus(StrEnum):
    """Life cycle of an item version: only ``active`` items are drawn into new forms."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class DifficultyLevel(StrEnum):
    """Coarse difficulty a bank author may give instead of (or beside) a p-value."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option. ``text`` is sanitized HTML; ``points`` is set for weighted items only.

    ``fixed`` keeps the option at its position when the item's options are shuffled ("None of
    the above", the last of an ordered series); it only matters while ``Item.shuffle`` is true.
    """

    label: str
    text: str
    points: float | None = None
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class IRTParams:
    """Item response theory parameters: discrimination ``a``, difficulty ``b``, guessing ``c``."""

    a: float
    b: float
    c: float = 0.0


@dataclass(frozen=True, slots=True)
class Media:
    """A file an item shows (an image of a figural item). ``name`` is how the stem refers to it."""

    name: str
    content_type: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Stimulus:
    """A passage (text, tables, images, formulas) that one or more items ask about.

    ``code`` is its identity in the bank (QTI's stimulus identifier); ``content`` is sanitized
    HTML like a stem; ``media`` the images it shows. Items refer to it by ``Item.stimulus_ref``.
    """

    code: str
    content: str
    media: tuple[Media, ...] = ()
    title: str = ""

    def content_hash(self) -> str:
        """SHA-256 (hex) over what a candidate sees of the passage: its text and images."""
        payload = {"content": self.content, "media": sorted([m.name, m.sha256] for m in self.media)}
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Item:
    """One version of one item.

    ``code`` is the stable identity across versions; ``version`` starts at 1 and grows when the
    content (see :meth:`content_hash`) changes. ``p_value`` is the classical difficulty (share
    correct, 0-1), ``level`` a coarse label; either may be absent. ``shuffle`` false keeps the
    options in their written order on every form (True/False, ordered numeric options); with
    ``shuffle`` true only the options not marked ``fixed`` move. ``stimulus_ref`` names the
    `Stimulus` (passage) the candidate reads beside the item, if any. ``explanation`` is the
    *pembahasan* (sanitized HTML) shown only on a practice exam's review, never during an exam.
    """

    code: str
    section: str
    topic: str
    stem: str
    options: tuple[Option, ...]
    scoring: ScoringKind
    key: str | None = None
    version: int = 1
    status: ItemStatus = ItemStatus.ACTIVE
    p_value: float | None = None
    level: DifficultyLevel | None = None
    irt: IRTParams | None = None
    media: tuple[Media, ...] = ()
    source: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    shuffle: bool = True
    stimulus_ref: str | None = None
    explanation: str | None = None

    def option_index(self, label: str) -> int:
        """Index of the option with ``label`` (raises ``KeyError`` when there is none)."""
        for index, option in enumerate(self.options):
            if option.label == label:
                return index
        raise KeyError(label)

    @property
    def key_index(self) -> int | None:
        """Index of the key option for ``single`` items, ``None`` for weighted ones."""
        return None if self.key is None else self.option_index(self.key)

    def content_payload(self) -> dict[str, Any]:
        """Everything that changes what a candidate sees or how the item is scored.

        Difficulty, IRT parameters, status and source metadata are left out on purpose: a new
        calibration or retiring an item must not create a new content version.

        ``shuffle``, ``fixed`` and ``stimulus`` appear only when they differ from their defaults,
        so the hash of an item that uses none of them is the one it had before they existed.
        The passage is named by its code; its own text is versioned by `Stimulus.content_hash`.
        """
        options: list[dict[str, Any]] = []
        for o in self.options:
            option: dict[str, Any] = {"label": o.label, "text": o.text, "points": o.points}
            if o.fixed:
                option["fixed"] = True
            options.append(option)
        payload: dict[str, Any] = {
            "section": self.section,
            "topic": self.topic,
            "stem": self.stem,
            "scoring": str(self.scoring),
            "key": self.key,
            "options": options,
            "media": sorted([m.name, m.sha256] for m in self.media),
        }
        if not self.shuffle:
            payload["shuffle"] = False
        if self.stimulus_ref is not None:
            payload["stimulus"] = self.stimulus_ref
        if self.explanation is not None:
            payload["explanation"] = self.explanation
        return payload

    def content_hash(self) -> str:
        """SHA-256 (hex) over the canonical JSON of :meth:`content_payload`."""
        canonical = json.dumps(
            self.content_payload(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def max_points(self) -> float | None:
        """Highest option points of a weighted item (``None`` for single items)."""
        if self.scoring is ScoringKind.SINGLE:
            return None
        return max(o.points or 0.0 for o in self.options)
