"""Combined stages: one final ranking from several exams' weighted totals (SKD 40 % + SKB 60 %)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError
from scoring.ranking import RankInput, TieBreakKey, key_column

#: Combined scores are rounded to this many decimals. Weighted sums that are equal on paper
#: (SKD 400 + SKB 300 and SKD 433 + SKB 280 both give 71.090909...) can differ in the last
#: bit of a float; rounding makes them equal so the tie-breaks decide, as the rules say.
COMBINED_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class Stage:
    """One exam in a combined selection: its share ``weight`` (percent) of a ``max_score``.

    A candidate's part is ``total / max_score x weight`` (SKD: ``score / 550 x 40``). A
    candidate absent from a ``required`` stage is TH in the final ranking; an optional stage
    adds 0 for them.
    """

    code: str
    weight: float
    max_score: float
    required: bool = True

    def __post_init__(self) -> None:
        if self.max_score <= 0 or self.weight < 0:
            raise ScoringError(f"stage {self.code}: weight must be >= 0 and max score > 0")


@dataclass(frozen=True, slots=True, eq=False)
class StageResults:
    """One stage's results, one entry per candidate who has one.

    ``passed`` is that stage's threshold outcome (``None``: no thresholds, all passed);
    ``sat`` false marks a registered candidate who never started (``None``: all sat).
    """

    stage: str
    keys: NDArray[Any]
    total: NDArray[np.float64]
    section_codes: tuple[str, ...] = ()
    section_scores: NDArray[np.float64] | None = None
    passed: NDArray[np.bool_] | None = None
    sat: NDArray[np.bool_] | None = None


def stage_column(stage: str, section: str | None = None) -> str:
    """Name of a stage's total (``"SKD"``) or section (``"SKD.TKP"``) in the combined input."""
    return stage if section is None else f"{stage}.{section}"


#: Final SKD + SKB tie-breaks: SKD total, TKP, TIU, TWK, grade average, older first.
SKD_SKB_FINAL_TIE_BREAKS = (
    TieBreakKey((stage_column("SKD"),)),
    TieBreakKey((stage_column("SKD", "TKP"),)),
    TieBreakKey((stage_column("SKD", "TIU"),)),
    TieBreakKey((stage_column("SKD", "TWK"),)),
    TieBreakKey.by_column("grade_average"),
    TieBreakKey.by_column("birth_date", descending=False),
)


def combine_stages(
    stages: Sequence[Stage],
    results: Sequence[StageResults],
    keys: ArrayLike,
    roster: Mapping[str, ArrayLike] | None = None,
    display_key: ArrayLike | None = None,
) -> RankInput:
    """Ranking input for the final selection of the candidates ``keys``.

    ``combined_i = round(sum_k total_ik / max_k x weight_k, COMBINED_DECIMALS)`` over the
    stages candidate ``i`` has a result in. The returned input's sections are each stage's
    total (``"SKD"``) and sections (``"SKD.TKP"``), so tie-breaks can name them; its columns are
    the ``roster`` fields (aligned with ``keys``; dates as ``datetime64``, missing as NaN/NaT).
    A candidate passes when they passed every stage they have; they sat when they sat every
    required stage, and are TH otherwise. Results of candidates not in ``keys`` are ignored.

    Raises
    ------
    ScoringError
        Results of an unknown or repeated stage, a stage without results, a candidate listed
        twice in one stage, or misaligned arrays.
    """
    key_arr = np.asarray(keys)
    n = key_arr.shape[0]
    by_stage = {r.stage: r for r in results}
    if len(by_stage) != len(results):
        raise ScoringError("two result sets for one stage")
    codes = [s.code for s in stages]
    unknown = set(by_stage) - set(codes)
    if unknown or len(set(codes)) != len(codes):
        raise ScoringError(f"stages {codes} do not match the results of {sorted(by_stage)}")

    combined = np.zeros(n)
    passed = np.ones(n, dtype=np.bool_)
    sat = np.ones(n, dtype=np.bool_)
    section_codes: list[str] = []
    columns: list[NDArray[np.float64]] = []
    for stage in stages:
        if stage.code not in by_stage:
            raise ScoringError(f"no results for stage {stage.code}")
        result = by_stage[stage.code]
        found, row = _match(result, key_arr)
        stage_sat = found.copy()
        if result.sat is not None:
            stage_sat &= _gather(result.sat, row, found, fill=False)
        total = _gather(result.total, row, stage_sat, fill=np.nan)
        combined += np.where(stage_sat, total / stage.max_score * stage.weight, 0.0)
        if result.passed is not None:
            passed &= _gather(result.passed, row, stage_sat, fill=True)
        if stage.required:
            sat &= stage_sat
        section_codes.append(stage_column(stage.code))
        columns.append(total)
        scores = _section_scores(result)
        for s, section in enumerate(result.section_codes):
            section_codes.append(stage_column(stage.code, section))
            columns.append(_gather(scores[:, s], row, stage_sat, fill=np.nan))

    roster_columns = {name: key_column(values) for name, values in (roster or {}).items()}
    return RankInput(
        keys=key_arr,
        section_codes=tuple(section_codes),
        section_scores=np.stack(columns, axis=1) if columns else np.zeros((n, 0)),
        total=np.round(combined, COMBINED_DECIMALS),
        passed=passed,
        sat=sat,
        columns=roster_columns,
        display_key=None if display_key is None else np.asarray(display_key),
    )


def _gather(
    values: NDArray[Any], row: NDArray[np.intp], present: NDArray[np.bool_], fill: Any
) -> NDArray[Any]:
    """``values[row]`` where ``present``, ``fill`` elsewhere (also when ``values`` is empty)."""
    if values.shape[0] == 0:
        return np.full(row.shape[0], fill, dtype=np.result_type(values.dtype, type(fill)))
    return np.where(present, values.take(row), fill)


def _section_scores(result: StageResults) -> NDArray[np.float64]:
    n = result.keys.shape[0]
    if result.section_scores is None:
        if result.section_codes:
            raise ScoringError(f"stage {result.stage} names sections but has no section scores")
        return np.zeros((n, 0))
    if result.section_scores.shape != (n, len(result.section_codes)):
        raise ScoringError(f"stage {result.stage}: section scores do not match its sections")
    return result.section_scores


def _match(result: StageResults, keys: NDArray[Any]) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For each of ``keys``: is it in the stage's results, and at which row."""
    stage_keys = np.asarray(result.keys)
    m = stage_keys.shape[0]
    for name, values in (("total", result.total), ("passed", result.passed), ("sat", result.sat)):
        if values is not None and values.shape != (m,):
            raise ScoringError(f"stage {result.stage}: {name} does not match its keys")
    if m == 0:
        return np.zeros(keys.shape[0], dtype=np.bool_), np.zeros(keys.shape[0], dtype=np.intp)
    sorter = np.argsort(stage_keys, kind="stable")
    ordered = stage_keys[sorter]
    if (ordered[1:] == ordered[:-1]).any():
        raise ScoringError(f"stage {result.stage} lists a candidate twice")
    position = np.minimum(np.searchsorted(ordered, keys), m - 1)
    found: NDArray[np.bool_] = ordered[position] == keys
    return found, sorter[position]
