"""Combined stages: SKD 40 % + SKB 60 %, final tie-breaks with roster fields, absences."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from scoring.combined import (
    SKD_SKB_FINAL_TIE_BREAKS,
    Stage,
    StageResults,
    combine_stages,
)
from scoring.errors import ScoringError
from scoring.ranking import Formation, rank_formation

SKD_STAGE = Stage("SKD", weight=40, max_score=550)
SKB_STAGE = Stage("SKB", weight=60, max_score=500)
#: Final selection: two openings, no multiplier.
FINAL = Formation("F-001", "Kementerian Contoh", "Pranata Komputer", openings=2, cut_multiplier=1)

# key: (TWK, TIU, TKP)
SKD_SCORES = {
    "P1": (100, 140, 200),  # 440
    "P5": (100, 140, 200),
    "P6": (100, 140, 200),
    "Q1": (80, 90, 146),  # 316
    "Q2": (85, 95, 169),  # 349
    "R": (120, 130, 200),  # 450
    "S": (120, 160, 220),  # 500
    "X": (150, 175, 225),  # not in this formation's roster
}
SKB_SCORES = {"P1": 400, "P5": 400, "P6": 400, "Q1": 195, "Q2": 175, "S": 450, "X": 500}
ROSTER = ("P1", "P5", "P6", "Q1", "Q2", "R", "S", "T")
GRADE_AVERAGE = [3.2, 3.6, 3.6, 3.0, 3.0, 3.9, 3.9, np.nan]
BIRTH_DATE = [
    "1996-01-01",
    "1997-06-01",
    "1995-02-02",
    "1990-01-01",
    "1990-01-01",
    "NaT",
    "NaT",
    "NaT",
]


def stage_results() -> list[StageResults]:
    """SKD and SKB results, listed in an order unrelated to the roster."""
    skd_keys = sorted(SKD_SCORES, reverse=True)
    sections = np.array([SKD_SCORES[k] for k in skd_keys], dtype=np.float64)
    skb_keys = sorted(SKB_SCORES)
    return [
        StageResults(
            "SKD", np.array(skd_keys), sections.sum(axis=1), ("TWK", "TIU", "TKP"), sections
        ),
        StageResults(
            "SKB",
            np.array(skb_keys),
            np.array([SKB_SCORES[k] for k in skb_keys], dtype=np.float64),
            passed=np.array([k != "S" for k in skb_keys]),
        ),
    ]


def final_ranking() -> list[tuple[str, int | None, str, float | None]]:
    candidates = combine_stages(
        (SKD_STAGE, SKB_STAGE),
        stage_results(),
        np.array(ROSTER),
        roster={
            "grade_average": np.array(GRADE_AVERAGE),
            "birth_date": np.array(BIRTH_DATE, dtype="datetime64[D]"),
        },
    )
    ranking = rank_formation(candidates, FINAL, SKD_SKB_FINAL_TIE_BREAKS)
    return [(r.key, r.rank, r.status, r.total) for r in ranking.rows()]


def test_final_ranking_by_hand() -> None:
    assert final_ranking() == [
        # 440 / 550 x 40 + 400 / 500 x 60 = 32 + 48 = 80 for all three; same SKD sections;
        # P5 and P6 have the better grade average, P6 is older.
        ("P6", 1, "P/L", 80.0),
        ("P5", 2, "P/L", 80.0),
        ("P1", 3, "P", 80.0),
        # 349 / 550 x 40 + 175 / 500 x 60 = 316 / 550 x 40 + 195 / 500 x 60 = 46.381818...:
        # equal, so the SKD total decides (computed in floats, Q1's sum is one bit larger).
        ("Q2", 4, "P", 46.381818),
        ("Q1", 5, "P", 46.381818),
        # S did not meet SKB's thresholds; R missed SKB, T missed both.
        ("S", None, "T/L", round(500 / 550 * 40 + 450 / 500 * 60, 6)),
        ("R", None, "TH", None),
        ("T", None, "TH", None),
    ]


def test_roster_dates_may_come_as_python_dates_with_gaps() -> None:
    # As a database hands them over: date objects, None where unknown.
    births = [date(1996, 1, 1), date(1997, 6, 1), date(1995, 2, 2), None, None, None, None, None]
    candidates = combine_stages(
        (SKD_STAGE, SKB_STAGE),
        stage_results(),
        np.array(ROSTER),
        roster={"grade_average": np.array(GRADE_AVERAGE), "birth_date": births},
    )
    ranking = rank_formation(candidates, FINAL, SKD_SKB_FINAL_TIE_BREAKS)
    assert ranking.keys.tolist()[:3] == ["P6", "P5", "P1"]


def test_stage_columns_can_be_named_by_tie_breaks() -> None:
    candidates = combine_stages((SKD_STAGE, SKB_STAGE), stage_results(), np.array(["Q2", "T"]))
    assert candidates.section_codes == ("SKD", "SKD.TWK", "SKD.TIU", "SKD.TKP", "SKB")
    assert candidates.section_scores[0].tolist() == [349, 85, 95, 169, 175]
    assert np.isnan(candidates.section_scores[1]).all()
    assert candidates.sat.tolist() == [True, False]


def test_an_optional_stage_adds_nothing_for_those_without_it() -> None:
    optional_skb = Stage("SKB", weight=60, max_score=500, required=False)
    candidates = combine_stages((SKD_STAGE, optional_skb), stage_results(), np.array(["R", "P1"]))
    assert candidates.sat.tolist() == [True, True]
    assert candidates.total.tolist() == [round(450 / 550 * 40, 6), 80.0]


def test_a_stage_nobody_has_sat_yet_leaves_everyone_absent() -> None:
    empty_skb = StageResults("SKB", np.array([], dtype=str), np.array([]))
    candidates = combine_stages(
        (SKD_STAGE, SKB_STAGE), [stage_results()[0], empty_skb], np.array(["P1", "Q2"])
    )
    assert candidates.sat.tolist() == [False, False]
    assert candidates.total.tolist() == [32.0, round(349 / 550 * 40, 6)]


def test_inconsistent_stage_inputs_are_refused() -> None:
    results = stage_results()
    with pytest.raises(ScoringError, match="no results for stage SKB"):
        combine_stages((SKD_STAGE, SKB_STAGE), results[:1], np.array(ROSTER))
    with pytest.raises(ScoringError, match="do not match the results"):
        combine_stages((SKD_STAGE,), results, np.array(ROSTER))
    twice = StageResults("SKB", np.array(["P1", "P1"]), np.array([1.0, 2.0]))
    with pytest.raises(ScoringError, match="lists a candidate twice"):
        combine_stages((SKD_STAGE, SKB_STAGE), [results[0], twice], np.array(ROSTER))
    with pytest.raises(ScoringError, match="max score > 0"):
        Stage("SKD", weight=40, max_score=0)
