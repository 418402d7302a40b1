"""Key corrections and annulments: a committee changes what items are worth, then rescores.

An action changes one row of a :class:`~scoring.rules.PointsTable` and yields a new table;
the old one is left as it was, so a dry run can compare both. :func:`rescore_impact` lists the
attempts whose forms hold a changed item with their old and new scores; thresholds and
:func:`scoring.ranking.diff_rankings` on the two score sets give the ranking changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError
from scoring.rules import (
    DEFAULT_CHUNK,
    AnnulMode,
    ItemScoringRow,
    PointsTable,
    ScoreMatrix,
    SectionRule,
    SectionScoringKind,
    row_points,
    score_attempts,
    section_max_scores,
)

__all__ = [
    "AnnulItem",
    "AnnulMode",
    "CorrectKey",
    "CorrectionAction",
    "Impact",
    "SetOptionPoints",
    "apply_corrections",
    "changed_rows",
    "rescore_impact",
]


@dataclass(frozen=True, slots=True)
class CorrectKey:
    """The key of dichotomous item row ``item_row`` becomes option ``new_key_index``."""

    item_row: int
    new_key_index: int


@dataclass(frozen=True, slots=True)
class SetOptionPoints:
    """Item row ``item_row`` scores each option by ``points`` (one per option).

    On a weighted item this corrects its option points; on a dichotomous one it replaces the
    key, e.g. ``(5, 0, 5, 0, 0)`` when the committee accepts both A and C.
    """

    item_row: int
    points: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AnnulItem:
    """Annul item row ``item_row``: ``"award_all"`` gives everyone its maximum, ``"drop"`` 0.

    With ``drop`` the item leaves every total and the maximum of every form holding it falls
    by the item's maximum; with ``award_all`` answered, wrong and blank all earn the maximum.
    """

    item_row: int
    mode: str = AnnulMode.AWARD_ALL.value

    def __post_init__(self) -> None:
        if self.mode not in {m.value for m in AnnulMode}:
            raise ScoringError(f"annulment mode {self.mode!r} is neither award_all nor drop")


CorrectionAction = CorrectKey | SetOptionPoints | AnnulItem


def apply_corrections(table: PointsTable, actions: Sequence[CorrectionAction]) -> PointsTable:
    """A new table with ``actions`` applied in order; ``table`` itself is unchanged.

    Raises
    ------
    ScoringError
        For an action on a row the table does not have, a key correction on a weighted item or
        to the current key, an action on an already annulled item, or points that do not fit.
    """
    rows = list(table.rows)
    points = table.points.copy()
    for action in actions:
        index = action.item_row
        if not 0 <= index < len(rows):
            raise ScoringError(f"item row {index} is not in the points table ({len(rows)} rows)")
        row = rows[index]
        if row.annulled is not None:
            raise ScoringError(f"item row {index} is already annulled ({row.annulled})")
        rows[index] = _corrected(row, action, index)
        points[index] = row_points(rows[index], row_index=index)
    return PointsTable(tuple(rows), points, np.nanmax(points, axis=1))


def _corrected(row: ItemScoringRow, action: CorrectionAction, index: int) -> ItemScoringRow:
    if isinstance(action, CorrectKey):
        if row.option_points is not None or (
            row.section_scoring.kind is not SectionScoringKind.DICHOTOMOUS
        ):
            raise ScoringError(
                f"item row {index} scores by option points; correct them with SetOptionPoints"
            )
        if action.new_key_index == row.key_index:
            raise ScoringError(f"option {action.new_key_index} is already item row {index}'s key")
        return replace(row, key_index=action.new_key_index)
    if isinstance(action, SetOptionPoints):
        return replace(row, option_points=tuple(float(p) for p in action.points))
    return replace(row, annulled=AnnulMode(action.mode))


def changed_rows(old: PointsTable, new: PointsTable) -> NDArray[np.intp]:
    """Item rows whose points differ between two tables of the same items."""
    if old.n_items != new.n_items:
        raise ScoringError(f"tables differ in size: {old.n_items} and {new.n_items} rows")
    same = (old.points == new.points) | (np.isnan(old.points) & np.isnan(new.points))
    return np.flatnonzero(~same.all(axis=1))


@dataclass(frozen=True, slots=True, eq=False)
class Impact:
    """What a correction does to the attempts, before (dry run) or when applying it.

    ``attempts`` are the rows (of the arrays given to :func:`rescore_impact`) whose forms hold
    a changed item; ``old``/``new`` their scores, ``old_max``/``new_max`` the best achievable
    per section under each table (attempts x sections).
    """

    changed_rows: NDArray[np.intp]
    attempts: NDArray[np.intp]
    old: ScoreMatrix
    new: ScoreMatrix
    old_max: NDArray[np.float64]
    new_max: NDArray[np.float64]

    @property
    def score_changed(self) -> NDArray[np.bool_]:
        """Per affected attempt: does any section score (hence maybe the total) change."""
        result: NDArray[np.bool_] = (self.old.section_scores != self.new.section_scores).any(axis=1)
        return result

    def apply_to(self, scores: ScoreMatrix) -> ScoreMatrix:
        """``scores`` of every attempt with the affected ones replaced by their new scores."""
        section_scores = scores.section_scores.copy()
        section_scores[self.attempts] = self.new.section_scores
        return ScoreMatrix(scores.section_codes, section_scores, section_scores.sum(axis=1))


def rescore_impact(
    old_table: PointsTable,
    new_table: PointsTable,
    forms: ArrayLike,
    responses: ArrayLike,
    sections: Sequence[SectionRule],
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> Impact:
    """Rescore every attempt whose form holds an item changed between the two tables.

    An attempt is affected when ``forms[i, j]`` is a changed row for some ``j``; only those
    are scored, under both tables, with :func:`scoring.rules.score_attempts`.
    """
    forms_arr = np.asarray(forms)
    responses_arr = np.asarray(responses)
    changed = changed_rows(old_table, new_table)
    if forms_arr.ndim != 2 or not np.issubdtype(forms_arr.dtype, np.integer):
        raise ScoringError("forms must be a 2-D integer array (attempts x positions)")
    if responses_arr.shape != forms_arr.shape:
        raise ScoringError(
            f"responses shape {responses_arr.shape} differs from forms shape {forms_arr.shape}"
        )
    is_changed = np.zeros(new_table.n_items, dtype=np.bool_)
    is_changed[changed] = True
    affected = np.zeros(forms_arr.shape[0], dtype=np.bool_)
    if changed.size:
        for lo in range(0, forms_arr.shape[0], chunk_size):
            block = forms_arr[lo : lo + chunk_size]
            # Out-of-range rows are reported by the scorer below, with their position.
            inside = np.clip(block, 0, new_table.n_items - 1)
            affected[lo : lo + chunk_size] = is_changed[inside].any(axis=1)
    attempts = np.flatnonzero(affected)
    some_forms = forms_arr[attempts]
    some_responses = responses_arr[attempts]
    return Impact(
        changed_rows=changed,
        attempts=attempts,
        old=score_attempts(old_table, some_forms, some_responses, sections, chunk_size=chunk_size),
        new=score_attempts(new_table, some_forms, some_responses, sections, chunk_size=chunk_size),
        old_max=section_max_scores(old_table, some_forms, sections, chunk_size=chunk_size),
        new_max=section_max_scores(new_table, some_forms, sections, chunk_size=chunk_size),
    )
