"""Bank snapshots indexed by blueprint cell, and the check that a bank can serve an exam.

The app hands in the active items as light :class:`BankEntry` records; :class:`BankSnapshot`
turns them into numpy columns sorted by id and indexes every (section, topic, stratum) cell,
so drawing a form never scans the bank. :func:`check_blueprint` names every cell the bank
cannot fill, which is what publishing an exam checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from item_bank.errors import Shortfall
from item_bank.exam_spec import STRATA, DifficultyBands, ExamSpec
from item_bank.models import MAX_OPTIONS, MIN_OPTIONS, DifficultyLevel, IRTParams, Item

#: Code of "no stratum" in :attr:`BankSnapshot.strata` (no level and no p-value).
NO_STRATUM: Final = -1

_STRATUM_CODE: Final = {level: code for code, level in enumerate(STRATA)}

#: A blueprint cell as the index knows it: section, topic (``None``: any), stratum (``None``: any).
CellKey = tuple[str, str | None, DifficultyLevel | None]

_EMPTY_ROWS: NDArray[np.intp] = np.empty(0, dtype=np.intp)
_EMPTY_ROWS.setflags(write=False)


@dataclass(frozen=True, slots=True)
class BankEntry:
    """What assembly needs to know of one active item version.

    ``id`` is the item version's stable identity (its database id); ``n_options`` how many
    options it shows; ``p_value`` and ``level`` place it in a difficulty stratum (see
    :class:`~item_bank.exam_spec.DifficultyBands`); ``irt`` is kept for later selection methods.
    """

    id: int
    section: str
    topic: str
    n_options: int
    p_value: float | None = None
    level: DifficultyLevel | None = None
    irt: IRTParams | None = None

    @classmethod
    def from_item(cls, id: int, item: Item) -> BankEntry:
        """The entry of ``item`` stored under ``id``."""
        return cls(
            id=id,
            section=item.section,
            topic=item.topic,
            n_options=len(item.options),
            p_value=item.p_value,
            level=item.level,
            irt=item.irt,
        )


class BankSnapshot:
    """The active items of a bank as read-only numpy columns, one row per item, sorted by id.

    Build it with :meth:`from_entries`. Rows are in ascending id order whatever order the
    entries came in, so the same items always give the same snapshot (and the same forms).
    :attr:`strata` depends on the :class:`~item_bank.exam_spec.DifficultyBands` the snapshot
    was built with; :meth:`with_bands` gives the same items under other bands. :attr:`digest`
    names everything a draw depends on: store it with a form to prove a replay used the same
    bank.
    """

    __slots__ = (
        "_index",
        "_rebanded",
        "bands",
        "digest",
        "ids",
        "irt",
        "levels",
        "n_options",
        "p_values",
        "section_codes",
        "sections",
        "strata",
        "topic_names",
        "topics",
    )

    ids: NDArray[np.int64]
    sections: NDArray[np.int32]
    section_codes: tuple[str, ...]
    topics: NDArray[np.int32]
    topic_names: tuple[str, ...]
    n_options: NDArray[np.int8]
    p_values: NDArray[np.float64]
    levels: NDArray[np.int8]
    irt: NDArray[np.float64]
    strata: NDArray[np.int8]
    bands: DifficultyBands
    digest: str
    _index: dict[CellKey, NDArray[np.intp]]
    _rebanded: dict[DifficultyBands, BankSnapshot]

    def __init__(
        self,
        *,
        ids: NDArray[np.int64],
        sections: NDArray[np.int32],
        section_codes: tuple[str, ...],
        topics: NDArray[np.int32],
        topic_names: tuple[str, ...],
        n_options: NDArray[np.int8],
        p_values: NDArray[np.float64],
        levels: NDArray[np.int8],
        irt: NDArray[np.float64],
        bands: DifficultyBands,
    ) -> None:
        self.ids = ids
        self.sections = sections
        self.section_codes = section_codes
        self.topics = topics
        self.topic_names = topic_names
        self.n_options = n_options
        self.p_values = p_values
        self.levels = levels
        self.irt = irt
        self.bands = bands
        self.strata = _strata_of(p_values, levels, bands)
        for array in (ids, sections, topics, n_options, p_values, levels, irt, self.strata):
            array.setflags(write=False)
        self._index = self._build_index()
        self.digest = self._digest()
        self._rebanded = {bands: self}

    @classmethod
    def from_entries(
        cls, entries: Iterable[BankEntry], bands: DifficultyBands | None = None
    ) -> BankSnapshot:
        """The snapshot of ``entries``, in any order.

        Parameters
        ----------
        entries
            The active item versions, one entry each.
        bands
            How p-values map to strata (default: 0.70 / 0.30); pass the spec's
            ``difficulty_bands`` to avoid re-stratifying at the first draw.

        Returns
        -------
        BankSnapshot
            Rows sorted by id, every (section, topic, stratum) cell indexed.

        Raises
        ------
        ValueError
            For a repeated id or an option count outside ``MIN_OPTIONS..MAX_OPTIONS``: the app
            hands in validated items, so either is a bug.
        """
        rows = list(entries)
        ids = np.fromiter((e.id for e in rows), dtype=np.int64, count=len(rows))
        order = np.argsort(ids, kind="stable")
        rows = [rows[i] for i in order]
        ids = ids[order]
        if ids.size and np.any(ids[1:] == ids[:-1]):
            raise ValueError("bank entries repeat an id")
        section_codes = tuple(sorted({e.section for e in rows}))
        topic_names = tuple(sorted({e.topic for e in rows}))
        section_of = {code: i for i, code in enumerate(section_codes)}
        topic_of = {name: i for i, name in enumerate(topic_names)}
        n = len(rows)
        n_options = np.fromiter((e.n_options for e in rows), dtype=np.int64, count=n)
        if n and (n_options.min() < MIN_OPTIONS or n_options.max() > MAX_OPTIONS):
            raise ValueError(f"bank entries need {MIN_OPTIONS}..{MAX_OPTIONS} options")
        irt = np.full((n, 3), np.nan)
        for row, entry in enumerate(rows):
            if entry.irt is not None:
                irt[row] = (entry.irt.a, entry.irt.b, entry.irt.c)
        return cls(
            ids=ids,
            sections=np.fromiter((section_of[e.section] for e in rows), np.int32, count=n),
            section_codes=section_codes,
            topics=np.fromiter((topic_of[e.topic] for e in rows), np.int32, count=n),
            topic_names=topic_names,
            n_options=n_options.astype(np.int8),
            p_values=np.fromiter(
                (np.nan if e.p_value is None else e.p_value for e in rows), np.float64, count=n
            ),
            levels=np.fromiter(
                (NO_STRATUM if e.level is None else _STRATUM_CODE[e.level] for e in rows),
                np.int8,
                count=n,
            ),
            irt=irt,
            bands=DifficultyBands() if bands is None else bands,
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def with_bands(self, bands: DifficultyBands) -> BankSnapshot:
        """The same items with strata from ``bands`` (computed once, then reused)."""
        found = self._rebanded.get(bands)
        if found is None:
            found = BankSnapshot(
                ids=self.ids,
                sections=self.sections,
                section_codes=self.section_codes,
                topics=self.topics,
                topic_names=self.topic_names,
                n_options=self.n_options,
                p_values=self.p_values,
                levels=self.levels,
                irt=self.irt,
                bands=bands,
            )
            self._rebanded[bands] = found
        return found

    def rows(
        self, section: str, topic: str | None = None, stratum: DifficultyLevel | None = None
    ) -> NDArray[np.intp]:
        """Rows of the items in a cell, in ascending id order (read-only; empty if none).

        ``topic=None`` or ``stratum=None`` means any. An item with no stratum is in no
        stratum's cell, only in cells that do not ask for one.
        """
        return self._index.get((section, topic, stratum), _EMPTY_ROWS)

    def available(
        self, section: str, topic: str | None = None, stratum: DifficultyLevel | None = None
    ) -> int:
        """How many items a cell holds."""
        return int(self.rows(section, topic, stratum).size)

    def stratum_of(self, row: int) -> DifficultyLevel | None:
        """The stratum of the item in ``row`` (``None`` when it has neither level nor p-value)."""
        code = int(self.strata[row])
        return None if code == NO_STRATUM else STRATA[code]

    def _build_index(self) -> dict[CellKey, NDArray[np.intp]]:
        n_topics = max(len(self.topic_names), 1)
        n_strata = len(STRATA) + 1
        strata = self.strata.astype(np.int64) + 1  # 0 = none, 1.. = easy, medium, hard
        base = self.sections.astype(np.int64) * n_topics + self.topics
        any_topic = self.sections.astype(np.int64) * n_topics
        index: dict[CellKey, NDArray[np.intp]] = {}
        granularities = (
            (base * n_strata + strata, True, True),
            (base * n_strata, True, False),
            (any_topic * n_strata + strata, False, True),
            (any_topic * n_strata, False, False),
        )
        for keys, by_topic, by_stratum in granularities:
            # A stable sort of rows already in id order keeps every cell in id order.
            order = np.argsort(keys, kind="stable").astype(np.intp)
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            ends = np.r_[starts[1:], sorted_keys.size]
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                key = int(sorted_keys[start])
                rest, stratum_code = divmod(key, n_strata)
                section_code, topic_code = divmod(rest, n_topics)
                if by_stratum and stratum_code == 0:
                    continue  # items without a stratum fill no stratum's cell
                cell: CellKey = (
                    self.section_codes[section_code],
                    self.topic_names[topic_code] if by_topic else None,
                    STRATA[stratum_code - 1] if by_stratum else None,
                )
                rows = order[start:end]
                rows.setflags(write=False)
                index[cell] = rows
        return index

    def _digest(self) -> str:
        digest = hashlib.sha256(b"ujian-bank-snapshot/1\n")
        digest.update(
            json.dumps(
                {
                    "sections": self.section_codes,
                    "topics": self.topic_names,
                    "bands": [self.bands.easy_min_p, self.bands.hard_below_p],
                },
                ensure_ascii=False,
            ).encode("utf-8")
        )
        for array, dtype in (
            (self.ids, "<i8"),
            (self.sections, "<i4"),
            (self.topics, "<i4"),
            (self.n_options, "i1"),
            (self.strata, "i1"),
        ):
            digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
        return digest.hexdigest()


def _strata_of(
    p_values: NDArray[np.float64], levels: NDArray[np.int8], bands: DifficultyBands
) -> NDArray[np.int8]:
    """Stratum codes: the level where given, else the p-value's band, else :data:`NO_STRATUM`."""
    by_p = np.where(
        p_values >= bands.easy_min_p,
        _STRATUM_CODE[DifficultyLevel.EASY],
        np.where(
            p_values < bands.hard_below_p,
            _STRATUM_CODE[DifficultyLevel.HARD],
            _STRATUM_CODE[DifficultyLevel.MEDIUM],
        ),
    )
    by_p = np.where(np.isnan(p_values), NO_STRATUM, by_p)
    return np.where(levels != NO_STRATUM, levels, by_p).astype(np.int8)


def check_blueprint(spec: ExamSpec, snapshot: BankSnapshot) -> list[Shortfall]:
    """Every blueprint cell of ``spec`` the bank cannot fill: what publishing checks.

    A cell falls short when fewer items match it (its section; its topic if the blueprint names
    topics; its stratum, under the spec's difficulty bands, if it names strata) than it asks
    for. Items with neither a level nor a p-value count only for cells that ask for no stratum.

    Parameters
    ----------
    spec
        The exam whose blueprints are checked.
    snapshot
        The active items of the bank.

    Returns
    -------
    list of Shortfall
        One per cell that falls short, in spec order; empty when the bank serves the spec.
    """
    banded = snapshot.with_bands(spec.difficulty_bands)
    shortfalls: list[Shortfall] = []
    for section in spec.sections:
        for cell in section.blueprint.cells:
            available = banded.available(section.code, cell.topic, cell.stratum)
            if available < cell.count:
                shortfalls.append(
                    Shortfall(
                        section=section.code,
                        topic=cell.topic,
                        stratum=None if cell.stratum is None else str(cell.stratum),
                        needed=cell.count,
                        available=available,
                    )
                )
    return shortfalls
