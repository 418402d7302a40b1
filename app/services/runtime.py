"""What a running exam needs in memory: its frozen spec, bank snapshot, item content and points.

Everything here is immutable once an exam version is published (item content never changes;
a key correction bumps ``scoring_revision`` and so makes a new cache entry), so each app
process may cache it without ever serving stale state.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.bank import ItemVersion
from app.models.exam import ExamVersion
from app.repositories import runtime as repo
from app.services.bank import item_from_row
from item_bank.assembly import FormExtras
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.exam_spec import ExamSpec, spec_from_dict
from item_bank.irt_forms import AdaptiveSection, adaptive_section
from item_bank.models import DifficultyLevel, IRTParams
from scoring.cat import AdaptiveRules, ScoreScale
from scoring.correction import (
    AnnulItem,
    CorrectionAction,
    CorrectKey,
    SetOptionPoints,
    apply_corrections,
)
from scoring.rules import ItemScoringRow, PointsTable, SectionScoringKind, build_points_table

_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ItemContent:
    """One item version as the candidate screen and the scorer need it.

    ``stem`` and ``options`` are sanitized HTML with image sources already pointing at
    ``/api/v1/media/<sha256>``; ``options`` is in the bank's original order.
    """

    id: int
    code: str
    version: int
    section: str
    topic: str
    stem: str
    options: tuple[str, ...]
    option_labels: tuple[str, ...]
    scoring: str
    key_index: int | None
    option_points: tuple[float, ...] | None
    media: tuple[str, ...]


def _rewrite_media(fragment: str, media: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        name = html.unescape(match.group(2))
        digest = media.get(name)
        target = f"/api/v1/media/{digest}" if digest else match.group(2)
        return f"{match.group(1)}{target}{match.group(3)}"

    return _SRC.sub(swap, fragment)


def item_content(row: ItemVersion) -> ItemContent:
    """The :class:`ItemContent` of a stored item version."""
    media = {m["name"]: m["sha256"] for m in row.media or []}
    labels = tuple(str(o["label"]) for o in row.options)
    points = tuple(float(o["points"]) for o in row.options) if row.scoring == "weighted" else None
    return ItemContent(
        id=row.id,
        code=row.code,
        version=row.version,
        section=row.section,
        topic=row.topic,
        stem=_rewrite_media(row.stem, media),
        options=tuple(_rewrite_media(str(o["text"]), media) for o in row.options),
        option_labels=labels,
        scoring=row.scoring,
        key_index=labels.index(row.key) if row.key is not None and row.key in labels else None,
        option_points=points,
        media=tuple(sorted(media.values())),
    )


@dataclass(frozen=True)
class RuntimeAdaptive:
    """An adaptive section ready to serve: its bank, rules, scale and item-id lookup."""

    section: AdaptiveSection
    rules: AdaptiveRules
    scale: ScoreScale
    row_of: dict[int, int]


@dataclass
class ExamRuntime:
    """A published exam version ready to serve: spec, snapshot, content and scoring table."""

    exam_id: int
    code: str
    version: int
    title: str
    status: str
    scoring_revision: int
    spec: ExamSpec
    snapshot: BankSnapshot
    items: dict[int, ItemContent]
    table: PointsTable
    row_of: dict[int, int] = field(default_factory=dict)
    #: Option layouts (kept orders, fixed options) and passages that form assembly honours.
    extras: FormExtras = field(default_factory=FormExtras)
    _adaptive: dict[str, RuntimeAdaptive] = field(default_factory=dict)
    _adaptive_lock: threading.Lock = field(default_factory=threading.Lock)

    def adaptive(self, code: str) -> RuntimeAdaptive:
        """The adaptive bank of section ``code`` (built once, on first use)."""
        found = self._adaptive.get(code)
        if found is not None:
            return found
        with self._adaptive_lock:
            found = self._adaptive.get(code)
            if found is None:
                config = self.spec.section(code).adaptive
                assert config is not None
                section = adaptive_section(self.spec, self.snapshot, code)
                found = RuntimeAdaptive(
                    section=section,
                    rules=section.rules(
                        min_items=config.min_items,
                        se_target=config.se_target,
                        randomesque=config.randomesque,
                    ),
                    scale=ScoreScale(
                        mean=config.scale_mean,
                        sd=config.scale_sd,
                        minimum=config.scale_min,
                        maximum=config.scale_max,
                    ),
                    row_of={int(item_id): row for row, item_id in enumerate(section.ids.tolist())},
                )
                self._adaptive[code] = found
        return found

    def form_rows(self, item_ids: Sequence[int]) -> NDArray[np.int64]:
        """Points-table rows of a form's item ids, in form order."""
        return np.fromiter((self.row_of[i] for i in item_ids), dtype=np.int64, count=len(item_ids))


def scoring_row(spec: ExamSpec, item: ItemContent) -> ItemScoringRow:
    """How ``item`` scores in ``spec`` (its section's rule and the item's key or points)."""
    section = spec.section(item.section)
    weighted = section.scoring.kind is SectionScoringKind.WEIGHTED
    return ItemScoringRow(
        section_scoring=section.scoring,
        n_options=len(item.options),
        key_index=None if weighted else item.key_index,
        option_points=item.option_points if weighted else None,
    )


def load_runtime(session: Session, exam_id: int) -> ExamRuntime:
    """Build the runtime of one exam version from the database."""
    exam = session.get(ExamVersion, exam_id)
    if exam is None:
        msg = f"no exam version with id {exam_id}"
        raise NotFound(msg)
    spec = spec_from_dict(exam.spec, source=f"exam {exam.code} v{exam.version}")
    pool = repo.pool_with_frozen_irt(session, exam_id)
    rows = [row for row, _a, _b, _c in pool]
    # The parameters frozen when the exam was published, not the item's current ones.
    frozen = {
        row.id: IRTParams(a, b, c or 0.0) if a is not None and b is not None else None
        for row, a, b, c in pool
    }
    items = {row.id: item_content(row) for row in rows}
    entries = [
        BankEntry(
            id=row.id,
            section=row.section,
            topic=row.topic,
            n_options=row.n_options,
            p_value=row.p_value,
            level=DifficultyLevel(row.level) if row.level else None,
            irt=frozen[row.id],
        )
        for row in rows
    ]
    snapshot = BankSnapshot.from_entries(entries, spec.difficulty_bands)
    ordered = sorted(items)
    row_of = {item_id: index for index, item_id in enumerate(ordered)}
    table = build_points_table([scoring_row(spec, items[i]) for i in ordered]) if ordered else None
    corrections = repo.key_corrections(session, exam_id)
    if corrections and table is not None:
        table = apply_corrections(
            table, [correction_action(c.action, row_of[c.item_id]) for c in corrections]
        )
    return ExamRuntime(
        exam_id=exam.id,
        code=exam.code,
        version=exam.version,
        title=exam.title,
        status=exam.status,
        scoring_revision=exam.scoring_revision,
        spec=spec,
        snapshot=snapshot,
        items=items,
        table=table,  # type: ignore[arg-type]
        row_of=row_of,
        extras=FormExtras.of({row.id: item_from_row(row) for row in rows}),
    )


class RuntimeCache:
    """Per-process cache of :class:`ExamRuntime` keyed by (exam id, scoring revision)."""

    def __init__(
        self, capacity: int = 16, loader: Callable[[Session, int], ExamRuntime] = load_runtime
    ) -> None:
        self._capacity = capacity
        self._loader = loader
        self._data: OrderedDict[tuple[int, int], ExamRuntime] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[int, int], threading.Lock] = {}

    def get(self, session: Session, exam_id: int) -> ExamRuntime:
        """The runtime of ``exam_id`` at its current scoring revision."""
        revision = repo.scoring_revision(session, exam_id)
        if revision is None:
            msg = f"no exam version with id {exam_id}"
            raise NotFound(msg)
        key = (exam_id, revision)
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
                return found
            build_lock = self._building.setdefault(key, threading.Lock())
        # One builder per key: 3,000 simultaneous starts must not load the bank 3,000 times.
        with build_lock:
            with self._lock:
                found = self._data.get(key)
            if found is None:
                found = self._loader(session, exam_id)
                with self._lock:
                    self._data[key] = found
                    while len(self._data) > self._capacity:
                        self._data.popitem(last=False)
                    self._building.pop(key, None)
        return found

    def clear(self) -> None:
        """Forget everything (tests; a draft exam republished under the same id)."""
        with self._lock:
            self._data.clear()


def correction_action(action: dict[str, Any], row: int) -> CorrectionAction:
    """The scoring action of a stored correction (``{"kind": ..., ...}``) on table ``row``."""
    kind = action["kind"]
    if kind == "correct_key":
        return CorrectKey(row, int(action["key_index"]))
    if kind == "set_points":
        return SetOptionPoints(row, tuple(float(p) for p in action["points"]))
    if kind == "annul":
        return AnnulItem(row, str(action["mode"]))
    msg = f"unknown correction kind {kind!r}"
    raise ValueError(msg)
