"""Scoring rules: dichotomous and weighted items, section scores, totals, invalid responses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import InvalidResponse, ScoringError
from scoring.rules import (
    BLANK,
    BLANK_COLUMN,
    ItemScoringRow,
    SectionRule,
    SectionScoring,
    SectionScoringKind,
    afirmasi_percent,
    apply_afirmasi,
    build_points_table,
    score_attempts,
    section_max_scores,
    section_slices,
)

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)

FIVE_ZERO = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5, wrong=0, blank=0)
WEIGHTED = SectionScoring(SectionScoringKind.WEIGHTED, blank=0)
SKD = (
    SectionRule("TWK", "Tes Wawasan Kebangsaan", 30, FIVE_ZERO),
    SectionRule("TIU", "Tes Intelegensia Umum", 35, FIVE_ZERO),
    SectionRule("TKP", "Tes Karakteristik Pribadi", 45, WEIGHTED),
)
#: TKP item k scores its options (1, 2, 3, 4, 5) rotated by k, so option (p - 1 - k) % 5 is
#: worth p points.
TKP_POINTS = [tuple(float((o + k) % 5 + 1) for o in range(5)) for k in range(45)]


def skd_rows() -> list[ItemScoringRow]:
    """110 SKD items in form order; dichotomous item i has key i % 5."""
    rows = [ItemScoringRow(FIVE_ZERO, 5, i % 5, None) for i in range(65)]
    rows += [ItemScoringRow(WEIGHTED, 5, None, points) for points in TKP_POINTS]
    return rows


def skd_responses(correct_twk: int, correct_tiu: int, tkp_points: list[int]) -> list[int]:
    """A response row: the first items of TWK/TIU right, the next wrong, the rest blank."""
    row = []
    for start, count, right in ((0, 30, correct_twk), (30, 35, correct_tiu)):
        for i in range(count):
            key = (start + i) % 5
            if i < right:
                row.append(key)
            elif i < right + 5:
                row.append((key + 1) % 5)
            else:
                row.append(BLANK)
    for k, points in enumerate(tkp_points):
        row.append(BLANK if points == 0 else (points - 1 - k) % 5)
    return row


def test_skd_attempt_scores_by_hand() -> None:
    # TWK 13 right (65), TIU 16 right (80), TKP 31 fours and 14 threes (124 + 42 = 166).
    table = build_points_table(skd_rows())
    responses = skd_responses(13, 16, [4] * 31 + [3] * 14)
    scores = score_attempts(table, [list(range(110))], [responses], SKD)
    assert scores.section_codes == ("TWK", "TIU", "TKP")
    assert scores.section_scores.tolist() == [[65.0, 80.0, 166.0]]
    assert scores.total.tolist() == [311.0]


def test_blank_and_wrong_earn_nothing_in_skd_but_tkp_blank_is_zero_not_one() -> None:
    table = build_points_table(skd_rows())
    all_blank = [BLANK] * 110
    all_wrong = skd_responses(0, 0, [1] * 45)
    scores = score_attempts(table, [list(range(110))] * 2, [all_blank, all_wrong], SKD)
    assert scores.section_scores.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 45.0]]


def test_negative_marking_by_hand() -> None:
    # +4 right, -1 wrong, 0 blank: 3 right, 2 wrong, 1 blank = 12 - 2 = 10.
    scoring = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=4, wrong=-1, blank=0)
    section = SectionRule("MAT", "Matematika", 6, scoring)
    table = build_points_table([ItemScoringRow(scoring, 4, 0, None)] * 6)
    responses = [[0, 0, 0, 1, 3, BLANK]]
    scores = score_attempts(table, [[0, 1, 2, 3, 4, 5]], responses, [section])
    assert scores.total.tolist() == [10.0]


def test_weighted_blank_points_come_from_the_section() -> None:
    scoring = SectionScoring(SectionScoringKind.WEIGHTED, blank=1)
    table = build_points_table([ItemScoringRow(scoring, 4, None, (4, 3, 2, 1))])
    assert table.points[0, BLANK_COLUMN] == 1
    scores = score_attempts(
        table, [[0], [0]], [[BLANK], [0]], [SectionRule("M", "Manajerial", 1, scoring)]
    )
    assert scores.total.tolist() == [1.0, 4.0]


def test_points_table_marks_missing_options_and_maxima() -> None:
    table = build_points_table(
        [ItemScoringRow(FIVE_ZERO, 4, 2, None), ItemScoringRow(WEIGHTED, 5, None, (1, 5, 2, 3, 4))]
    )
    assert table.points[0, :4].tolist() == [0, 0, 5, 0]
    assert np.isnan(table.points[0, 4:BLANK_COLUMN]).all()
    assert table.max_points.tolist() == [5.0, 5.0]
    with pytest.raises(ValueError, match="read-only"):
        table.points[0, 0] = 5


def test_section_slices_follow_the_spec_order() -> None:
    assert section_slices(SKD) == (slice(0, 30), slice(30, 65), slice(65, 110))


def test_section_maxima_of_skd_are_150_175_225() -> None:
    table = build_points_table(skd_rows())
    assert section_max_scores(table, [list(range(110))], SKD).tolist() == [[150, 175, 225]]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (4, "response 4 is not an option of item row 1, which has 4 options"),
        (-2, "response -2 is neither an option index"),
        (6, "response 6 is neither an option index"),
    ],
)
def test_a_response_no_item_can_score_names_attempt_and_position(
    response: int, message: str
) -> None:
    table = build_points_table(
        [ItemScoringRow(FIVE_ZERO, 5, 0, None), ItemScoringRow(FIVE_ZERO, 4, 0, None)]
    )
    section = SectionRule("TWK", "TWK", 2, FIVE_ZERO)
    forms = np.array([[0, 1], [0, 1], [0, 1]], dtype=np.int32)
    responses = np.array([[0, 0], [0, 0], [BLANK, response]], dtype=np.int8)
    with pytest.raises(InvalidResponse, match=message) as raised:
        score_attempts(table, forms, responses, [section], chunk_size=2)
    assert (raised.value.attempt_row, raised.value.position) == (2, 1)


def test_a_form_naming_a_row_outside_the_table_is_refused() -> None:
    table = build_points_table([ItemScoringRow(FIVE_ZERO, 5, 0, None)])
    with pytest.raises(InvalidResponse, match="item row 7 is not in the points table") as raised:
        score_attempts(table, [[0, 7]], [[0, 0]], [SectionRule("A", "A", 2, FIVE_ZERO)])
    assert raised.value.position == 1


def test_forms_must_match_the_sections() -> None:
    table = build_points_table(skd_rows())
    with pytest.raises(ScoringError, match="109 positions but the sections hold 110"):
        score_attempts(table, [list(range(109))], [[BLANK] * 109], SKD)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (ItemScoringRow(FIVE_ZERO, 5, 5, None), "key index 5 is not one of its 5 options"),
        (ItemScoringRow(FIVE_ZERO, 5, None, None), "key index None"),
        (ItemScoringRow(WEIGHTED, 5, None, None), "a weighted item needs points for each option"),
        (ItemScoringRow(WEIGHTED, 5, None, (1, 2, 3)), "3 option points for 5 options"),
        (ItemScoringRow(WEIGHTED, 7, None, (1,) * 7), "7 options"),
        (ItemScoringRow(WEIGHTED, 2, None, (1, float("nan"))), "option points must be finite"),
    ],
)
def test_rows_that_cannot_be_scored_are_named(row: ItemScoringRow, message: str) -> None:
    with pytest.raises(ScoringError, match=f"item row 1: {message}"):
        build_points_table([ItemScoringRow(FIVE_ZERO, 5, 0, None), row])


@st.composite
def exams(
    draw: st.DrawFn,
) -> tuple[list[ItemScoringRow], list[SectionRule], np.ndarray, np.ndarray]:
    """A random exam: sections of either kind, points in quarters, random forms and answers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    quarters = st.integers(-8, 24).map(lambda q: q / 4)
    sections = []
    rows: list[ItemScoringRow] = []
    section_rows = []
    for k in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            scoring = SectionScoring(
                SectionScoringKind.DICHOTOMOUS, draw(quarters), draw(quarters), draw(quarters)
            )
        else:
            scoring = SectionScoring(SectionScoringKind.WEIGHTED, blank=draw(quarters))
        sections.append(SectionRule(f"S{k}", f"Section {k}", draw(st.integers(1, 6)), scoring))
        first = len(rows)
        for _ in range(draw(st.integers(1, 8))):
            n_options = int(rng.integers(2, 7))
            if scoring.kind is SectionScoringKind.WEIGHTED or rng.random() < 0.2:
                points = tuple(float(p) for p in rng.integers(-4, 21, n_options) / 4)
                rows.append(ItemScoringRow(scoring, n_options, None, points))
            else:
                rows.append(ItemScoringRow(scoring, n_options, int(rng.integers(n_options)), None))
        section_rows.append(range(first, len(rows)))
    n_attempts = draw(st.integers(0, 40))
    forms = np.concatenate(
        [
            rng.choice(np.array(r), size=(n_attempts, s.item_count))
            for r, s in zip(section_rows, sections, strict=True)
        ],
        axis=1,
    ).astype(np.int32)
    n_options = np.array([r.n_options for r in rows])[forms]
    responses = (np.floor(rng.random(forms.shape) * (n_options + 1)) - 1).astype(np.int8)
    return rows, sections, forms, responses


def reference_points(row: ItemScoringRow, response: int) -> float:
    """What the rules say an item earns, computed without the points table."""
    if response == BLANK:
        return row.section_scoring.blank
    if row.option_points is not None:
        return row.option_points[response]
    scoring = row.section_scoring
    return scoring.correct if response == row.key_index else scoring.wrong


@PROPERTY
@given(exams(), st.integers(1, 17))
def test_scores_follow_the_rules_and_totals_are_sums_of_item_points(
    exam: tuple[list[ItemScoringRow], list[SectionRule], np.ndarray, np.ndarray],
    chunk_size: int,
) -> None:
    rows, sections, forms, responses = exam
    table = build_points_table(rows)
    scores = score_attempts(
        table, forms, responses, sections, keep_item_points=True, chunk_size=chunk_size
    )
    assert scores.item_points is not None
    expected = [
        [reference_points(rows[f], int(r)) for f, r in zip(form, answer, strict=True)]
        for form, answer in zip(forms.tolist(), responses.tolist(), strict=True)
    ]
    assert scores.item_points.tolist() == expected
    for s, positions in enumerate(section_slices(sections)):
        assert scores.section_scores[:, s].tolist() == [sum(e[positions]) for e in expected]
    # Quarter points add up exactly, so equality is exact.
    assert scores.total.tolist() == [sum(e) for e in expected]
    assert scores.total.tolist() == scores.item_points.sum(axis=1).tolist()


def test_afirmasi_adds_a_share_of_the_maximum_and_stops_at_it() -> None:
    # Teknis max 500: +10 % is 50 points; 480 + 50 stops at 500; 480 + 0 % stays 480.
    scores = apply_afirmasi([300, 480, 480, 500], 500, [10, 10, 0, 25])
    assert scores.tolist() == [350, 500, 480, 500]


def test_afirmasi_percentages_add_up_per_distinct_condition() -> None:
    table = {"disabilitas": 10.0, "usia_35": 15.0, "honorer_5_tahun": 100.0}
    assert afirmasi_percent(["disabilitas", "usia_35", "disabilitas"], table) == 25.0
    assert apply_afirmasi([100.0], 500.0, [afirmasi_percent(table, table)]).tolist() == [500.0]
    with pytest.raises(ScoringError, match="unknown afirmasi condition 'veteran'"):
        afirmasi_percent(["veteran"], table)
