"""Rankings per formation: order by total and tie-breaks, the cut, and status codes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError
from scoring.rules import section_index
from scoring.thresholds import format_score

#: A candidate's identity in a ranking: whatever the caller uses (an id, a nomor peserta).
CandidateKey = str | int


class RankStatus(StrEnum):
    """Published status codes.

    ``P/L``: met the thresholds and inside the cut; ``P``: met them, outside the cut;
    ``T/L``: did not meet them; ``TH``: registered but never started (absent).
    """

    INSIDE_CUT = "P/L"
    PASSED = "P"
    FAILED = "T/L"
    ABSENT = "TH"


@dataclass(frozen=True, slots=True)
class TieBreakKey:
    """One tie-break: the sum of ``sections`` (empty = total), higher first unless ascending.

    With ``column`` set the key is a column of :attr:`RankInput.columns` instead (a roster
    field such as ``grade_average``, or ``birth_date`` ascending so the older comes first);
    a missing value (NaN, NaT) sorts after every present one whatever the direction.
    """

    sections: tuple[str, ...]
    descending: bool = True
    column: str | None = None

    def __post_init__(self) -> None:
        if self.column is not None and self.sections:
            raise ScoringError("a tie-break uses sections or a column, not both")

    @classmethod
    def by_column(cls, column: str, *, descending: bool = True) -> TieBreakKey:
        """A tie-break on a roster column; ``birth_date`` with ``descending=False``: older first."""
        return cls((), descending, column)

    @property
    def label(self) -> str:
        """``"TKP"``, ``"total"``, ``"grade_average"``..."""
        if self.column is not None:
            return self.column
        return "+".join(self.sections) if self.sections else "total"


#: SKD's order after the total: TKP, then TIU, then TWK, each higher first.
SKD_TIE_BREAKS = (TieBreakKey(("TKP",)), TieBreakKey(("TIU",)), TieBreakKey(("TWK",)))


@dataclass(frozen=True, slots=True)
class Formation:
    """A position at an agency with ``openings``; up to ``cut_multiplier`` x openings advance."""

    code: str
    agency: str
    position: str
    openings: int
    cut_multiplier: int = 3

    @property
    def cut(self) -> int:
        """How many ranks advance before ties at the cut are added."""
        return self.openings * self.cut_multiplier


@dataclass(frozen=True, slots=True, eq=False)
class RankInput:
    """Candidates to rank, as columns (one entry per candidate).

    ``keys`` identify candidates (unique within a formation). ``passed`` is the threshold
    outcome; ``sat`` is false for a candidate who never started (``TH``), whose scores are then
    ignored. ``columns`` hold extra tie-break values by name: numbers, or ``datetime64`` for
    dates; NaN/NaT is a missing value. ``display_key``, when given, orders candidates of equal
    rank for display (a pseudonym, say); without it they keep their order in these arrays.
    """

    keys: NDArray[Any]
    section_codes: tuple[str, ...]
    section_scores: NDArray[np.float64]
    total: NDArray[np.float64]
    passed: NDArray[np.bool_]
    sat: NDArray[np.bool_]
    columns: Mapping[str, NDArray[Any]] = field(default_factory=dict)
    display_key: NDArray[Any] | None = None

    def __post_init__(self) -> None:
        n = self.keys.shape[0]
        shapes = {
            "keys": self.keys.shape,
            "total": self.total.shape,
            "passed": self.passed.shape,
            "sat": self.sat.shape,
        }
        if self.display_key is not None:
            shapes["display_key"] = self.display_key.shape
        for name, values in self.columns.items():
            shapes[f"column {name}"] = values.shape
        if any(shape != (n,) for shape in shapes.values()) or self.section_scores.shape != (
            n,
            len(self.section_codes),
        ):
            raise ScoringError(f"rank input columns disagree in length: {shapes}")

    def __len__(self) -> int:
        return int(self.keys.shape[0])


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One published row. ``rank`` is ``None`` for T/L and TH; TH rows carry no scores."""

    rank: int | None
    key: CandidateKey
    status: str
    total: float | None
    section_scores: dict[str, float]


@dataclass(frozen=True, slots=True, eq=False)
class Ranking:
    """One formation's ranking, as columns in display order.

    Rows come ranked first (``rank`` ascending, equal ranks in display order), then T/L rows
    (by the same keys, unranked), then TH rows. ``rank`` is 0 where there is none. Ranks are
    competition ranks: candidates equal on the total and on every tie-break share a rank and
    the next rank skips (1, 2, 2, 4).
    """

    formation: Formation
    section_codes: tuple[str, ...]
    keys: NDArray[Any]
    rank: NDArray[np.int64]
    status: NDArray[np.str_]
    total: NDArray[np.float64]
    section_scores: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def inside_cut(self) -> int:
        """How many candidates are P/L: the cut plus everyone tied with the last one in it."""
        return int((self.status == RankStatus.INSIDE_CUT.value).sum())

    def rows(self) -> list[RankingRow]:
        """The rows as values, for publication (the caller swaps keys for pseudonyms)."""
        keys = self.keys.tolist()
        ranks = self.rank.tolist()
        statuses = self.status.tolist()
        totals = self.total.tolist()
        sections = self.section_scores.tolist()
        out = []
        for i, key in enumerate(keys):
            absent = statuses[i] == RankStatus.ABSENT.value
            out.append(
                RankingRow(
                    rank=ranks[i] or None,
                    key=key,
                    status=statuses[i],
                    total=None if absent else totals[i],
                    section_scores={}
                    if absent
                    else dict(zip(self.section_codes, sections[i], strict=True)),
                )
            )
        return out


def rank_formation(
    candidates: RankInput, formation: Formation, tie_breaks: tuple[TieBreakKey, ...]
) -> Ranking:
    """Rank the candidates of one formation; see :func:`rank_formations` for the rules."""
    index = np.zeros(len(candidates), dtype=np.intp)
    return rank_formations(candidates, index, (formation,), tie_breaks)[formation.code]


def rank_formations(
    candidates: RankInput,
    formation_of: ArrayLike,
    formations: Sequence[Formation],
    tie_breaks: tuple[TieBreakKey, ...],
) -> dict[str, Ranking]:
    """Rank every formation at once: one sort of all candidates, grouped by formation.

    Within a formation, candidates who sat and passed are ranked by the key tuple
    ``(total, t_1, ..., t_k)``, each higher first unless the tie-break says otherwise. Equal
    tuples share the competition rank ``1 + #{candidates with a better tuple}``. With
    ``cut = openings x cut_multiplier``, the status is P/L when ``rank <= cut`` (this takes in
    every candidate tied with the one at position ``cut``) and P otherwise. Candidates who sat
    and failed are T/L, those who never started TH; neither is ranked.

    Parameters
    ----------
    candidates
        Everyone to rank, across formations.
    formation_of
        Each candidate's formation: codes (strings) or integer indices into ``formations``.
    formations
        The formations; the result has one ranking per formation, in this order, even if empty.
    tie_breaks
        Keys after the total, in order (SKD: :data:`SKD_TIE_BREAKS`).

    Raises
    ------
    ScoringError
        An unknown formation, section or column; a ranked candidate without a total.
    """
    n = len(candidates)
    forms = tuple(formations)
    codes = [f.code for f in forms]
    if len(set(codes)) != len(codes):
        raise ScoringError(f"formation codes repeat: {', '.join(codes)}")
    which = _formation_index(np.asarray(formation_of), forms, n)
    absent = ~candidates.sat
    failed = candidates.sat & ~candidates.passed
    group = np.where(absent, np.int8(2), np.where(failed, np.int8(1), np.int8(0)))
    ranked = group == 0
    if np.isnan(candidates.total[ranked]).any():
        raise ScoringError("a candidate who passed has no total")

    # Sort keys, primary first, all ascending. Absent candidates get zeros so that only the
    # display order places them; a missing tie-break value gets a flag key that puts it last.
    rank_keys: list[NDArray[Any]] = []
    values = [(candidates.total, True)] + [
        (_tie_break_values(candidates, tb), tb.descending) for tb in tie_breaks
    ]
    for raw, descending in values:
        value = np.where(absent, 0.0, raw)
        missing = np.isnan(value)
        if missing.any():
            rank_keys.append(missing.astype(np.int8))
            value = np.where(missing, 0.0, value)
        rank_keys.append(-value if descending else value)
    order, new_tie = _sorted_runs([which, group, *rank_keys], candidates.display_key)
    # ``take`` rather than fancy indexing: same result, several times faster on rows of 2-D.
    sorted_which = which.take(order)
    sorted_group = group.take(order)
    positions = np.arange(n)
    new_formation = np.ones(n, dtype=np.bool_)
    new_formation[1:] = sorted_which[1:] != sorted_which[:-1]
    tie_start = np.maximum.accumulate(np.where(new_tie, positions, 0))
    formation_start = np.maximum.accumulate(np.where(new_formation, positions, 0))
    rank = (tie_start - formation_start + 1).astype(np.int64)
    rank[sorted_group != 0] = 0

    cuts = np.array([f.cut for f in forms], dtype=np.int64)
    status_code = np.where(
        sorted_group == 0,
        np.where(rank <= cuts[sorted_which], 0, 1),
        sorted_group + 1,
    )
    status = np.array([s.value for s in RankStatus])[status_code]
    sorted_absent = sorted_group == 2
    total = np.where(sorted_absent, np.nan, candidates.total.take(order))
    section_scores = candidates.section_scores.take(order, axis=0)
    section_scores[sorted_absent] = np.nan
    sorted_keys = candidates.keys.take(order)
    for column in (sorted_keys, rank, status, total, section_scores):
        column.setflags(write=False)  # rankings are snapshots; their slices share these

    bounds = np.concatenate(([0], np.cumsum(np.bincount(sorted_which, minlength=len(forms)))))
    out: dict[str, Ranking] = {}
    for k, formation in enumerate(forms):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        out[formation.code] = Ranking(
            formation,
            candidates.section_codes,
            sorted_keys[lo:hi],
            rank[lo:hi],
            status[lo:hi],
            total[lo:hi],
            section_scores[lo:hi],
        )
    return out


def sort_order(
    keys: Sequence[NDArray[Any]], display_key: NDArray[Any] | None = None
) -> NDArray[np.intp]:
    """Stable ascending order by ``keys[0]``, then ``keys[1]``, ..., then ``display_key``.

    Same result as ``numpy.lexsort`` of the reversed keys. When every key holds integral
    values whose ranges multiply to under 2**62 (SKD scores do: 551 x 226 x 176 x 151 values
    with room for thousands of formations), the keys are packed into one int64,
    ``p = (...((k_0 - min_0) * span_1 + (k_1 - min_1)) * span_2 ...)``, and sorted once: about
    4x faster than lexsort on a million candidates. Otherwise it falls back to lexsort.
    """
    if not keys:
        if display_key is None:
            return np.arange(0, dtype=np.intp)
        return np.argsort(display_key, kind="stable")
    return _sorted_runs(keys, display_key)[0]


def _sorted_runs(
    keys: Sequence[NDArray[Any]], display_key: NDArray[Any] | None
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """:func:`sort_order`, plus a mask marking each sorted row that starts a new run.

    A run is a stretch of rows equal on every key (the display key does not count).
    """
    n = int(keys[0].shape[0])
    packed = _pack(keys)
    first: NDArray[np.intp] | None = None
    if display_key is not None:
        # Sort by the display key first: a stable sort by the other keys then keeps it as the
        # last tie-break.
        first = np.argsort(display_key, kind="stable")
    if packed is not None:
        order = np.argsort(packed if first is None else packed[first], kind="stable")
    else:
        shuffled = keys if first is None else [k[first] for k in keys]
        order = np.lexsort(tuple(reversed(shuffled)))
    if first is not None:
        order = first[order]
    new_run = np.ones(n, dtype=np.bool_)
    if n:
        new_run[1:] = False
        # The packed key equals on two rows exactly when every key does.
        for key in [packed] if packed is not None else keys:
            in_order = key.take(order)
            new_run[1:] |= in_order[1:] != in_order[:-1]
    return order, new_run


_PACK_LIMIT = 2**62
_EXACT_FLOAT = 2**52


def _pack(keys: Sequence[NDArray[Any]]) -> NDArray[np.int64] | None:
    n = keys[0].shape[0]
    packed = np.zeros(n, dtype=np.int64)
    if n == 0:
        return packed
    capacity = 1
    for key in keys:
        if key.dtype == np.bool_:
            key = key.astype(np.int8)  # noqa: PLW2901 - same values, a type max() accepts
        if np.issubdtype(key.dtype, np.integer):
            lo, hi = int(key.min()), int(key.max())
        elif np.issubdtype(key.dtype, np.floating):
            lo_f, hi_f = float(key.min()), float(key.max())
            if not (math.isfinite(lo_f) and math.isfinite(hi_f)):
                return None
            if max(abs(lo_f), abs(hi_f)) > _EXACT_FLOAT or not (key == np.trunc(key)).all():
                return None
            lo, hi = int(lo_f), int(hi_f)
        else:
            return None
        span = hi - lo + 1
        capacity *= span
        if capacity > _PACK_LIMIT:
            return None
        packed *= span
        packed += (key - lo).astype(np.int64)
    return packed


def _formation_index(
    formation_of: NDArray[Any], formations: tuple[Formation, ...], n: int
) -> NDArray[np.intp]:
    if formation_of.shape != (n,):
        raise ScoringError(f"formation_of has shape {formation_of.shape}, expected ({n},)")
    if np.issubdtype(formation_of.dtype, np.integer):
        if n and (formation_of.min() < 0 or formation_of.max() >= len(formations)):
            raise ScoringError(f"formation index outside 0-{len(formations) - 1}")
        return formation_of.astype(np.intp)
    codes = np.array([f.code for f in formations])
    sorter = np.argsort(codes)
    found = np.searchsorted(codes, formation_of, sorter=sorter)
    found = np.minimum(found, len(codes) - 1) if len(codes) else found
    index = sorter[found] if len(codes) else found
    unknown = codes[index] != formation_of if len(codes) else np.ones(n, dtype=np.bool_)
    if n and unknown.any():
        raise ScoringError(f"unknown formation {formation_of[np.argmax(unknown)]!s}")
    return index.astype(np.intp)


def _tie_break_values(candidates: RankInput, tie_break: TieBreakKey) -> NDArray[np.float64]:
    if tie_break.column is not None:
        if tie_break.column not in candidates.columns:
            known = ", ".join(candidates.columns) or "none"
            raise ScoringError(f"unknown tie-break column {tie_break.column!r} (known: {known})")
        return key_column(candidates.columns[tie_break.column])
    if not tie_break.sections:
        return candidates.total
    columns = [section_index(candidates.section_codes, code) for code in tie_break.sections]
    result: NDArray[np.float64] = candidates.section_scores[:, columns].sum(axis=1)
    return result


def key_column(values: ArrayLike) -> NDArray[np.float64]:
    """A tie-break column as floats: dates become days since 1970-01-01; NaT and None, NaN.

    Accepts numbers, ``datetime64`` arrays, and sequences of ``datetime.date`` or ``None``.
    """
    array = np.asarray(values)
    if array.dtype == object and any(isinstance(v, date) for v in array.tolist()):
        array = np.array(array.tolist(), dtype="datetime64[D]")
    if np.issubdtype(array.dtype, np.datetime64):
        days = array.astype("datetime64[D]")
        out = days.astype(np.int64).astype(np.float64)
        out[np.isnat(days)] = np.nan
        return out
    if array.dtype == object:
        array = np.array([np.nan if v is None else v for v in array.tolist()])
    return array.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Differences between two snapshots of one formation's ranking.


@dataclass(frozen=True, slots=True)
class RankChange:
    """One candidate whose rank, status or scores differ between two snapshots.

    ``None`` stands for "not in that snapshot" (status) or "unranked" (rank) or "no score"
    (total). ``reasons`` say it in words: ``"total 380 → 385 after key correction"``,
    ``"status P → P/L (moved inside the cut)"``, ``"rank 14 → 12"``.
    """

    key: CandidateKey
    old_rank: int | None
    new_rank: int | None
    old_status: str | None
    new_status: str | None
    old_total: float | None
    new_total: float | None
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """All reasons in one line."""
        return "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class RankingDiff:
    """What changed from one snapshot of a formation's ranking to the next, and why."""

    formation_code: str
    cause: str
    changes: tuple[RankChange, ...]

    def __len__(self) -> int:
        return len(self.changes)

    def for_key(self, key: CandidateKey) -> RankChange | None:
        """The change of candidate ``key``, if any."""
        return next((c for c in self.changes if c.key == key), None)


_STATUS_NOTES = {
    ("P", "P/L"): "moved inside the cut",
    ("P/L", "P"): "moved outside the cut",
    ("T/L", "P/L"): "now meets the thresholds",
    ("T/L", "P"): "now meets the thresholds",
    ("P/L", "T/L"): "no longer meets the thresholds",
    ("P", "T/L"): "no longer meets the thresholds",
}


def diff_rankings(old: Ranking, new: Ranking, cause: str = "") -> RankingDiff:
    """Every candidate whose rank, status, total or section scores changed, with reasons.

    ``cause`` is the caller's label for what happened (``"key correction"``); it ends the
    reason for a changed total. A candidate whose own scores stayed but whose rank moved gets
    ``"(others' scores changed)"``. Changes are listed in the new ranking's order, then the
    candidates who left it.
    """
    if old.formation.code != new.formation.code:
        raise ScoringError(
            f"cannot compare rankings of {old.formation.code} and {new.formation.code}"
        )
    if old.section_codes != new.section_codes:
        raise ScoringError("the two rankings have different sections")
    old_keys = old.keys.tolist()
    new_keys = new.keys.tolist()
    old_at = _positions(old_keys)
    _positions(new_keys)
    old_index = np.array([old_at.get(k, -1) for k in new_keys], dtype=np.intp)
    present = old_index >= 0
    safe = np.where(present, old_index, 0)
    same_total = _same(old.total[safe], new.total)
    same_sections = _same(old.section_scores[safe], new.section_scores).all(axis=1)
    same = (
        present
        & same_total
        & same_sections
        & (old.rank[safe] == new.rank)
        & (old.status[safe] == new.status)
    )
    changes = [
        _change(old, new, int(old_index[i]), i, cause) for i in np.flatnonzero(~same).tolist()
    ]
    new_at = set(new_keys)
    changes += [_change(old, new, i, -1, cause) for i, k in enumerate(old_keys) if k not in new_at]
    return RankingDiff(new.formation.code, cause, tuple(changes))


def _positions(keys: list[Any]) -> dict[Any, int]:
    at = {k: i for i, k in enumerate(keys)}
    if len(at) != len(keys):
        raise ScoringError("a ranking lists a candidate twice")
    return at


def _same(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    result: NDArray[np.bool_] = (a == b) | (np.isnan(a) & np.isnan(b))
    return result


def _change(old: Ranking, new: Ranking, i_old: int, i_new: int, cause: str) -> RankChange:
    def side(r: Ranking, i: int) -> tuple[int | None, str | None, float | None]:
        if i < 0:
            return None, None, None
        total = float(r.total[i])
        return (int(r.rank[i]) or None, str(r.status[i]), None if math.isnan(total) else total)

    key = (new.keys[i_new : i_new + 1] if i_new >= 0 else old.keys[i_old : i_old + 1]).tolist()[0]
    old_rank, old_status, old_total = side(old, i_old)
    new_rank, new_status, new_total = side(new, i_new)
    reasons: list[str] = []
    if i_old < 0:
        reasons.append("added to the ranking")
    elif i_new < 0:
        reasons.append("removed from the ranking")
    else:
        own_change = False
        if old_total != new_total:
            own_change = True
            after = f" after {cause}" if cause else ""
            reasons.append(f"total {_fmt(old_total)} → {_fmt(new_total)}{after}")
        for s, code in enumerate(new.section_codes):
            a, b = float(old.section_scores[i_old, s]), float(new.section_scores[i_new, s])
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                own_change = True
                reasons.append(f"{code} {_fmt(a)} → {_fmt(b)}")
        if old_rank is not None and new_rank is not None and old_rank != new_rank:
            others = "" if own_change else " (others' scores changed)"
            reasons.append(f"rank {old_rank} → {new_rank}{others}")
        if old_status != new_status:
            note = _STATUS_NOTES.get((str(old_status), str(new_status)))
            reasons.append(f"status {old_status} → {new_status}" + (f" ({note})" if note else ""))
    return RankChange(
        key, old_rank, new_rank, old_status, new_status, old_total, new_total, tuple(reasons)
    )


def _fmt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else format_score(value)
