"""Rankings per formation: order, ties, the cut, status codes, many formations, diffs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.ranking import (
    SKD_TIE_BREAKS,
    Formation,
    RankingRow,
    RankInput,
    TieBreakKey,
    diff_rankings,
    rank_formation,
    rank_formations,
    sort_order,
)
from scoring.thresholds import Minimum, ThresholdRuleSet, evaluate_thresholds

PROPERTY = settings(max_examples=80, deadline=None, derandomize=True)
SKD = ("TWK", "TIU", "TKP")
#: One opening, so the cut is 3.
FORMATION = Formation("F-001", "Kementerian Contoh", "Analis Kebijakan", openings=1)

Candidate = tuple[str, float, float, float, bool, bool]  # key, TWK, TIU, TKP, passed, sat


def rank_input(candidates: Sequence[Candidate], **extra: Any) -> RankInput:
    """Columns of SKD candidates given as rows."""
    scores = np.array([c[1:4] for c in candidates], dtype=np.float64).reshape(-1, 3)
    return RankInput(
        keys=np.array([c[0] for c in candidates]),
        section_codes=SKD,
        section_scores=scores,
        total=scores.sum(axis=1),
        passed=np.array([c[4] for c in candidates], dtype=np.bool_),
        sat=np.array([c[5] for c in candidates], dtype=np.bool_),
        **extra,
    )


HAND = (
    ("A", 100, 120, 200, True, True),  # 420
    ("B", 90, 130, 200, True, True),  # 420, same TKP, better TIU than A
    ("C", 95, 125, 190, True, True),  # 410, worst TKP of the 410s
    ("D", 100, 115, 195, True, True),  # 410, TKP 195, TIU 115
    ("E", 105, 110, 195, True, True),  # 410, TKP 195, TIU 110
    ("F", 100, 115, 195, True, True),  # 410, equal to D on everything
    ("G", 80, 100, 150, True, True),  # 330
    ("H", 150, 150, 200, False, True),  # 500 but below a threshold: T/L
    ("I", 0, 0, 0, False, False),  # never started: TH
)


def test_skd_order_ties_and_cut_by_hand() -> None:
    ranking = rank_formation(rank_input(HAND), FORMATION, SKD_TIE_BREAKS)
    table = [(r.key, r.rank, r.status, r.total) for r in ranking.rows()]
    assert table == [
        ("B", 1, "P/L", 420),
        ("A", 2, "P/L", 420),
        ("D", 3, "P/L", 410),  # D and F are tied at the cut (3): both inside
        ("F", 3, "P/L", 410),
        ("E", 5, "P", 410),
        ("C", 6, "P", 410),
        ("G", 7, "P", 330),
        ("H", None, "T/L", 500),
        ("I", None, "TH", None),
    ]
    assert ranking.inside_cut == 4
    assert ranking.rows()[-1] == RankingRow(None, "I", "TH", None, {})
    assert ranking.rows()[0].section_scores == {"TWK": 90, "TIU": 130, "TKP": 200}


def test_display_key_orders_equal_ranks_but_never_changes_them() -> None:
    # F's pseudonym sorts before D's: F is listed first, both keep rank 3.
    pseudonyms = np.array(["K9", "K2", "K7", "M4", "K5", "B1", "K8", "K3", "K6"])
    ranking = rank_formation(rank_input(HAND, display_key=pseudonyms), FORMATION, SKD_TIE_BREAKS)
    assert [(r.key, r.rank) for r in ranking.rows()[2:4]] == [("F", 3), ("D", 3)]


def test_no_openings_means_nobody_inside_the_cut() -> None:
    closed = Formation("F-002", "Kementerian Contoh", "Arsiparis", openings=0)
    ranking = rank_formation(rank_input(HAND), closed, SKD_TIE_BREAKS)
    assert ranking.inside_cut == 0
    assert ranking.rank.tolist()[:7] == [1, 2, 3, 3, 5, 6, 7]


def test_everyone_tied_at_the_cut_advances_however_many() -> None:
    ten_tied = [(f"K{i}", 100.0, 100.0, 150.0, True, True) for i in range(10)]
    ranking = rank_formation(rank_input(ten_tied), FORMATION, SKD_TIE_BREAKS)
    assert ranking.rank.tolist() == [1] * 10
    assert ranking.inside_cut == 10


def test_missing_roster_values_sort_last_in_either_direction() -> None:
    # Equal on all scores; grade average descending, then birth date ascending (older first).
    same = [(k, 100.0, 100.0, 150.0, True, True) for k in "PQRST"]
    columns = {
        "grade_average": np.array([3.5, np.nan, 3.9, 3.5, 3.5]),
        "birth_date": np.array(
            ["1998-01-02", "1990-01-01", "2000-05-05", "NaT", "1995-03-04"], dtype="datetime64[D]"
        ),
    }
    tie_breaks = (
        *SKD_TIE_BREAKS,
        TieBreakKey.by_column("grade_average"),
        TieBreakKey.by_column("birth_date", descending=False),
    )
    ranking = rank_formation(rank_input(same, columns=columns), FORMATION, tie_breaks)
    assert [(r.key, r.rank) for r in ranking.rows()] == [
        ("R", 1),  # 3.9
        ("T", 2),  # 3.5, born 1995
        ("P", 3),  # 3.5, born 1998
        ("S", 4),  # 3.5, birth date missing
        ("Q", 5),  # grade average missing
    ]


def test_unknown_tie_break_columns_and_sections_are_named() -> None:
    with pytest.raises(ScoringError, match="unknown tie-break column 'ipk'"):
        rank_formation(rank_input(HAND), FORMATION, (TieBreakKey.by_column("ipk"),))
    with pytest.raises(ScoringError, match="unknown section 'TPA'"):
        rank_formation(rank_input(HAND), FORMATION, (TieBreakKey(("TPA",)),))
    with pytest.raises(ScoringError, match="sections or a column"):
        TieBreakKey(("TKP",), column="ipk")


def test_formations_named_by_code_and_unknown_codes_refused() -> None:
    other = Formation("F-009", "Pemerintah Kota Contoh", "Guru", openings=2)
    codes = np.array(["F-009", "F-001"] * 4 + ["F-009"])
    rankings = rank_formations(rank_input(HAND), codes, (FORMATION, other), SKD_TIE_BREAKS)
    assert list(rankings) == ["F-001", "F-009"]
    assert rankings["F-001"].keys.tolist() == ["B", "D", "F", "H"]
    assert rankings["F-009"].keys.tolist() == ["A", "E", "C", "G", "I"]
    with pytest.raises(ScoringError, match="unknown formation F-404"):
        rank_formations(rank_input(HAND), np.array(["F-404"] * 9), (FORMATION,), SKD_TIE_BREAKS)


# ---- properties -----------------------------------------------------------------------------

candidates_strategy = st.lists(
    st.tuples(
        st.sampled_from([0.0, 5.0, 10.0]),
        st.sampled_from([0.0, 5.0, 10.0]),
        st.sampled_from([45.0, 46.0, 47.0]),
        st.booleans(),
        st.integers(0, 9).map(lambda k: k > 0),
        st.integers(0, 2),
    ),
    max_size=60,
)


def build(raw: list[tuple[float, float, float, bool, bool, int]]) -> tuple[RankInput, np.ndarray]:
    """Rank input with keys 0..n-1 and each candidate's formation index."""
    candidates = [(str(i), *c[:5]) for i, c in enumerate(raw)]
    return rank_input(candidates), np.array([c[5] for c in raw], dtype=np.int64)


def skd_key(ranking: Any, i: int) -> tuple[float, ...]:
    twk, tiu, tkp = ranking.section_scores[i].tolist()
    return (float(ranking.total[i]), tkp, tiu, twk)


FORMATIONS = (
    Formation("A", "x", "x", openings=1),
    Formation("B", "x", "x", openings=2, cut_multiplier=2),
    Formation("C", "x", "x", openings=0),
)


@PROPERTY
@given(candidates_strategy)
def test_ranking_properties(raw: list[tuple[float, float, float, bool, bool, int]]) -> None:
    candidates, formation_of = build(raw)
    rankings = rank_formations(candidates, formation_of, FORMATIONS, SKD_TIE_BREAKS)
    seen: list[str] = []
    for code, ranking in rankings.items():
        formation = next(f for f in FORMATIONS if f.code == code)
        members = [i for i, c in enumerate(raw) if c[5] == FORMATIONS.index(formation)]
        seen += ranking.keys.tolist()
        statuses = ranking.status.tolist()
        ranked = [i for i, s in enumerate(statuses) if s in ("P/L", "P")]
        # A candidate below a threshold, or absent, is never ranked; listed after the ranked.
        assert {int(k) for k in ranking.keys[ranked]} == {
            i for i in members if raw[i][3] and raw[i][4]
        }
        assert ranked == list(range(len(ranked)))
        expected_tail = ["T/L"] * sum(1 for i in members if raw[i][4] and not raw[i][3])
        expected_tail += ["TH"] * sum(1 for i in members if not raw[i][4])
        assert statuses[len(ranked) :] == expected_tail
        assert (ranking.rank[len(ranked) :] == 0).all()
        # Total order consistent with the tie-break rule, competition ranks.
        keys = [skd_key(ranking, i) for i in ranked]
        for i in ranked:
            assert ranking.rank[i] == 1 + sum(1 for k in keys if k > keys[i])
            if i:
                assert keys[i - 1] >= keys[i]
                assert (ranking.rank[i - 1] == ranking.rank[i]) == (keys[i - 1] == keys[i])
        # The cut: P/L exactly when the rank is within it, so ties at the cut are all in.
        inside = [i for i in ranked if statuses[i] == "P/L"]
        assert inside == [i for i in ranked if ranking.rank[i] <= formation.cut]
        assert len(inside) >= min(formation.cut, len(ranked))
        if len(ranked) > formation.cut > 0:
            at_cut = keys[formation.cut - 1]
            assert all(statuses[i] == "P/L" for i in ranked if keys[i] == at_cut)
            assert all(keys[i] < at_cut for i in ranked if statuses[i] == "P")
    assert sorted(seen) == sorted(str(i) for i in range(len(raw)))


@PROPERTY
@given(candidates_strategy)
def test_ranking_many_formations_at_once_equals_one_at_a_time(
    raw: list[tuple[float, float, float, bool, bool, int]],
) -> None:
    candidates, formation_of = build(raw)
    together = rank_formations(candidates, formation_of, FORMATIONS, SKD_TIE_BREAKS)
    for k, formation in enumerate(FORMATIONS):
        alone = rank_formation(
            rank_input([(str(i), *c[:5]) for i, c in enumerate(raw) if c[5] == k]),
            formation,
            SKD_TIE_BREAKS,
        )
        assert together[formation.code].rows() == alone.rows()


SKD_RULES = (
    ThresholdRuleSet(
        "umum", (Minimum(("TWK",), 65), Minimum(("TIU",), 80), Minimum(("TKP",), 166))
    ),
    ThresholdRuleSet("cumlaude", (Minimum((), 311), Minimum(("TIU",), 85))),
    ThresholdRuleSet("papua", (Minimum((), 286), Minimum(("TIU",), 60))),
)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(8, 30).map(lambda k: 5.0 * k),
            st.integers(8, 35).map(lambda k: 5.0 * k),
            st.integers(120, 225).map(float),
            st.sampled_from(["umum", "cumlaude", "papua"]),
        ),
        max_size=50,
    )
)
def test_a_candidate_below_any_threshold_is_never_ranked(
    raw: list[tuple[float, float, float, str]],
) -> None:
    scores = np.array([r[:3] for r in raw]).reshape(len(raw), 3)
    outcome = evaluate_thresholds(
        SKD, scores, scores.sum(axis=1), SKD_RULES, np.array([r[3] for r in raw], dtype=str)
    )
    candidates = RankInput(
        np.arange(len(raw)),
        SKD,
        scores,
        scores.sum(axis=1),
        outcome.passed,
        np.ones(len(raw), dtype=np.bool_),
    )
    ranking = rank_formation(candidates, FORMATION, SKD_TIE_BREAKS)
    below = {i for i in range(len(raw)) if outcome.failed[i].any()}
    for key, rank, status in zip(
        ranking.keys.tolist(), ranking.rank.tolist(), ranking.status.tolist(), strict=True
    ):
        assert (key in below) == (status == "T/L")
        assert (rank == 0) == (key in below)


keys_strategy = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.tuples(
            *[
                st.one_of(
                    st.integers(-3, 3).map(float),
                    st.sampled_from([0.5, -1.25, 1e300, -1e300]),
                )
                for _ in range(width)
            ]
        ),
        max_size=30,
    )
)


@PROPERTY
@given(keys_strategy, st.booleans())
def test_sort_order_equals_lexsort(rows: list[tuple[float, ...]], as_int: bool) -> None:
    if not rows:
        return
    columns = [np.array(c) for c in zip(*rows, strict=True)]
    if as_int and all((c == np.trunc(c)).all() and abs(c).max() < 1e9 for c in columns):
        columns = [c.astype(np.int64) for c in columns]
    assert sort_order(columns).tolist() == np.lexsort(columns[::-1]).tolist()


def test_sort_order_with_key_ranges_too_wide_to_pack_equals_lexsort() -> None:
    # Four keys of a million values each cannot share one int64.
    rng = np.random.default_rng(3)
    columns = [rng.integers(-(10**6), 10**6, 5000) for _ in range(4)]
    columns[0] //= 10**5  # few distinct leading values, so later keys matter
    assert sort_order(columns).tolist() == np.lexsort(columns[::-1]).tolist()


# ---- differences between snapshots ----------------------------------------------------------


def test_diff_says_who_moved_and_why() -> None:
    old = rank_formation(rank_input(HAND), FORMATION, SKD_TIE_BREAKS)
    # A key correction gives E 5 more TIU points (410 → 415) and drops H below... nothing else.
    corrected = [("E", 105, 115, 195, True, True) if c[0] == "E" else c for c in HAND]
    new = rank_formation(rank_input(corrected), FORMATION, SKD_TIE_BREAKS)
    diff = diff_rankings(old, new, cause="key correction")
    assert [c.key for c in diff.changes] == ["E", "D", "F"]
    e_change = diff.for_key("E")
    assert e_change is not None
    assert e_change.reasons == (
        "total 410 → 415 after key correction",
        "TIU 110 → 115",
        "rank 5 → 3",
        "status P → P/L (moved inside the cut)",
    )
    d_change = diff.for_key("D")
    assert d_change is not None
    assert (
        d_change.reason
        == "rank 3 → 4 (others' scores changed); status P/L → P (moved outside the cut)"
    )
    assert diff.for_key("A") is None  # unchanged candidates are not listed


def test_diff_lists_arrivals_departures_and_threshold_changes() -> None:
    old = rank_formation(rank_input(HAND[:8]), FORMATION, SKD_TIE_BREAKS)
    changed = [("H", 150, 150, 200, True, True) if c[0] == "H" else c for c in HAND]
    new = rank_formation(rank_input(changed[1:]), FORMATION, SKD_TIE_BREAKS)
    diff = diff_rankings(old, new)
    reasons = {c.key: c.reason for c in diff.changes}
    assert reasons["H"] == "status T/L → P/L (now meets the thresholds)"
    assert reasons["I"] == "added to the ranking"
    assert reasons["A"] == "removed from the ranking"
    with pytest.raises(ScoringError, match="cannot compare rankings"):
        diff_rankings(old, rank_formation(rank_input(HAND), FORMATIONS[0], SKD_TIE_BREAKS))
