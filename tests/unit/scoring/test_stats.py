"""Item analysis: worked examples, reference values, sparse forms, flags and the miskey hunt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from scoring.rules import (
    ItemScoringRow,
    SectionRule,
    SectionScoring,
    SectionScoringKind,
    build_points_table,
)
from scoring.stats import (
    MIN_RESPONSES_FOR_FLAGS,
    FlagCode,
    ItemAnalysis,
    ItemAnalysisError,
    ItemSpec,
    analyse_items,
    group_membership,
)

DICHOTOMOUS = SectionScoring(SectionScoringKind.DICHOTOMOUS)
WEIGHTED = SectionScoring(SectionScoringKind.WEIGHTED)


def keyed_items(section: str, keys: Sequence[int], n_options: int = 5) -> list[ItemSpec]:
    return [
        ItemSpec(f"{section}-{i:03d}", section, n_options, key_index=int(k))
        for i, k in enumerate(keys)
    ]


def shuffle_within_sections(
    rng: np.random.Generator, n: int, sizes: Sequence[int], offsets: Sequence[int]
) -> NDArray[np.int64]:
    """Every candidate sees the section's items in their own order."""
    blocks = [
        offset + np.argsort(rng.random((n, size)), axis=1)
        for size, offset in zip(sizes, offsets, strict=True)
    ]
    return np.concatenate(blocks, axis=1)


def simulate_exam(
    seed: int,
    n_candidates: int = 500,
    sizes: Sequence[int] = (30, 35, 45),
    n_options: int = 5,
    miskey: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.int8], list[ItemSpec], list[SectionRule], int, int]:
    """A 3PL sitting with one item whose scoring key is a distractor.

    Candidates who miss an item pick a distractor with a nominal-model choice whose appeal
    falls with ability (low scorers like them more). The miskeyed item is honest in the data:
    able candidates choose its true key; only the scoring key names a distractor.

    Returns forms, responses, items, sections, the miskeyed item and its true key.
    """
    rng = np.random.default_rng(seed)
    k = sum(sizes)
    theta = rng.standard_normal(n_candidates)
    a = np.clip(rng.lognormal(0.0, 0.3, k), 0.4, 2.5)
    b = np.clip(rng.normal(0.0, 1.0, k), -2.5, 2.5)
    c = rng.uniform(0.1, 0.25, k)
    key = rng.integers(0, n_options, k)
    p = c + (1 - c) / (1 + np.exp(-1.7 * a * (theta[:, None] - b)))
    correct = rng.random((n_candidates, k)) < p
    intercept = rng.normal(0.0, 0.5, (k, n_options - 1))
    slope = rng.uniform(0.0, 1.0, (k, n_options - 1))
    appeal = np.exp(intercept[None] - slope[None] * theta[:, None, None])
    appeal /= appeal.sum(axis=2, keepdims=True)
    rank = (rng.random((n_candidates, k, 1)) > appeal.cumsum(axis=2)).sum(axis=2)
    rank = np.minimum(rank, n_options - 2)
    distractor = rank + (rank >= key)
    chosen = np.where(correct, key, distractor)
    chosen = np.where(rng.random((n_candidates, k)) < 0.01, -1, chosen)
    miskeyed = int(rng.integers(k))
    scoring_key = key.copy()
    if miskey:
        scoring_key[miskeyed] = (key[miskeyed] + rng.integers(1, n_options)) % n_options
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    forms = shuffle_within_sections(rng, n_candidates, sizes, offsets)
    responses = np.take_along_axis(chosen, forms, axis=1).astype(np.int8)
    codes = ["TWK", "TIU", "SKB", "X4", "X5"][: len(sizes)]
    sections = [
        SectionRule(code, code, size, DICHOTOMOUS) for code, size in zip(codes, sizes, strict=True)
    ]
    items = []
    for code, size, offset in zip(codes, sizes, offsets, strict=True):
        items += [
            ItemSpec(f"{code}-{offset + i:03d}", code, n_options, int(scoring_key[offset + i]))
            for i in range(size)
        ]
    return forms, responses, items, sections, miskeyed, int(key[miskeyed])


def assert_same_analysis(left: ItemAnalysis, right: ItemAnalysis) -> None:
    """Equal up to rounding in the last bits (sums taken in another order), NaN equal to NaN."""

    def scalars(value: object) -> list[object]:
        if isinstance(value, tuple):
            return [x for v in value for x in scalars(v)]
        return [value]

    a, b = scalars(astuple(left)), scalars(astuple(right))
    assert len(a) == len(b)
    numbers = [i for i, v in enumerate(a) if isinstance(v, float)]
    assert [v for v in a if not isinstance(v, float)] == [v for v in b if not isinstance(v, float)]
    np.testing.assert_allclose(
        [a[i] for i in numbers], [b[i] for i in numbers], rtol=1e-12, atol=1e-12
    )


def miskey_flagged(analysis: ItemAnalysis) -> set[int]:
    return {
        item.index
        for item in analysis.items
        if any(flag.code is FlagCode.LIKELY_MISKEY for flag in item.flags)
    }


# --- a worked example, every value computed by hand --------------------------------------------

# Six candidates, four items keyed A (option 0), 5 points each. Rows: candidates c1..c6.
HAND_RESPONSES = np.array(
    [
        [0, 0, 0, 0],  # c1: 4 correct
        [0, 0, 0, 2],  # c2: 3
        [0, 0, 1, 2],  # c3: 2
        [0, 3, 0, 3],  # c4: 2
        [1, 0, 1, 1],  # c5: 1
        [2, 1, 1, -1],  # c6: 0 (item 4 blank)
    ],
    dtype=np.int8,
)


def hand_analysis() -> ItemAnalysis:
    forms = np.tile(np.arange(4), (6, 1))
    items = keyed_items("TIU", [0, 0, 0, 0], n_options=4)
    return analyse_items(forms, HAND_RESPONSES, items, [SectionRule("TIU", "TIU", 4, DICHOTOMOUS)])


def test_worked_example_matches_hand_computation() -> None:
    analysis = hand_analysis()
    item4 = analysis.items[3]
    # p = share correct: 4/6, 4/6, 3/6, 1/6.
    assert [item.p_value for item in analysis.items] == pytest.approx(
        [4 / 6, 4 / 6, 3 / 6, 1 / 6], abs=1e-12
    )
    # Item 4 against the rest (3,3,2,2,1,0): cov 7/36, var(x) 5/36, var(rest) 41/36,
    # so r = 7 / sqrt(205).
    assert item4.r_item_rest == pytest.approx(7 / math.sqrt(205), abs=1e-12)
    # Totals 4,3,2,2,1,0 (x5 points): variance 5/3; sum pq = 5/6; KR-20 = 4/3 * (1 - 1/2).
    section = analysis.sections[0]
    assert section.reliability_method == "KR-20"
    assert section.reliability == pytest.approx(2 / 3, abs=1e-12)
    # SEM = SD * sqrt(1 - KR-20) = 5 sqrt(5/3) * sqrt(1/3) = 5 sqrt(5) / 3 points.
    assert section.sem == pytest.approx(5 * math.sqrt(5) / 3, abs=1e-12)
    # Kelley groups of 27 % of 6 = 1.62 candidates: top = c1 + 0.62 of c2, bottom = c6 + 0.62
    # of c5. Item 4: only c1 is right, so 1/1.62 of the top and none of the bottom.
    assert item4.options[0].share_top == pytest.approx(1 / 1.62, abs=1e-12)
    assert item4.options[0].share_bottom == 0
    assert item4.discrimination_index == pytest.approx(1 / 1.62, abs=1e-12)
    assert item4.n_top == pytest.approx(1.62)
    assert item4.n_bottom == pytest.approx(1.62)
    # Option C of item 4 is chosen by c2 (total 15) and c3 (total 10).
    option_c = item4.options[2]
    assert (option_c.n, option_c.share) == (2, pytest.approx(2 / 6))
    assert option_c.mean_total == pytest.approx(12.5)
    assert option_c.mean_rest == pytest.approx(12.5)
    # The key's choosers (c1) score 20 in all and 15 without the item.
    assert (item4.options[0].mean_total, item4.options[0].mean_rest) == (20.0, 15.0)
    assert (item4.blank.n, item4.blank.index, item4.blank.label) == (1, -1, "blank")


def test_scores_and_distribution_of_worked_example() -> None:
    analysis = hand_analysis()
    distribution = analysis.sections[0].distribution
    assert distribution.mean == pytest.approx(10.0)
    assert distribution.sd == pytest.approx(5 * math.sqrt(5 / 3))
    assert distribution.max_possible == 20.0
    assert sum(distribution.counts) == 6
    # Each score (0, 5, 10, 15, 20) lands in its own bin, the top score included.
    by_bin = dict(zip(distribution.bin_edges, distribution.counts, strict=False))
    assert [by_bin[edge] for edge in (0.0, 5.0, 10.0, 15.0, 20.0)] == [1, 1, 2, 1, 1]
    assert analysis.total.counts == distribution.counts


# --- reference values from girth ---------------------------------------------------------------


def girth_reference(data: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    girth = pytest.importorskip("girth")
    from girth.common import cronbach_alpha

    ctt = girth.classical_test_statistics(data.T)
    return ctt["Mean"], ctt["Item-Score Correlation"], cronbach_alpha(data.T)


def test_dichotomous_statistics_agree_with_girth() -> None:
    rng = np.random.default_rng(7)
    n, k = 400, 20
    theta = rng.standard_normal(n)
    b = rng.normal(0.0, 1.0, k)
    keys = rng.integers(0, 5, k)
    correct = rng.random((n, k)) < 1 / (1 + np.exp(-1.7 * (theta[:, None] - b)))
    chosen = np.where(correct, keys, (keys + rng.integers(1, 5, (n, k))) % 5)
    forms = shuffle_within_sections(rng, n, [k], [0])
    responses = np.take_along_axis(chosen, forms, axis=1).astype(np.int8)
    analysis = analyse_items(
        forms, responses, keyed_items("TIU", keys), [SectionRule("TIU", "TIU", k, DICHOTOMOUS)]
    )
    means, correlations, alpha = girth_reference(correct.astype(np.float64))
    np.testing.assert_allclose([i.p_value for i in analysis.items], means, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        [i.r_item_rest for i in analysis.items], correlations, rtol=0, atol=1e-9
    )
    assert analysis.sections[0].reliability == pytest.approx(alpha, abs=1e-9)


def test_weighted_statistics_agree_with_girth() -> None:
    rng = np.random.default_rng(11)
    n, k = 300, 12
    theta = rng.standard_normal(n)
    points = np.argsort(rng.random((k, 5)), axis=1) + 1.0
    logits = theta[:, None, None] * (points[None] - 3.0) / 2 + rng.gumbel(size=(n, k, 5))
    chosen = logits.argmax(axis=2)
    forms = shuffle_within_sections(rng, n, [k], [0])
    responses = np.take_along_axis(chosen, forms, axis=1).astype(np.int8)
    items = [
        ItemSpec(f"TKP-{i}", "TKP", 5, option_points=tuple(points[i].tolist())) for i in range(k)
    ]
    analysis = analyse_items(forms, responses, items, [SectionRule("TKP", "TKP", k, WEIGHTED)])
    earned = np.take_along_axis(points[None].repeat(n, 0), chosen[..., None], 2)[..., 0]
    _, correlations, alpha = girth_reference(earned)
    np.testing.assert_allclose(
        [i.r_item_rest for i in analysis.items], correlations, rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        [i.mean_points for i in analysis.items], earned.mean(axis=0), rtol=0, atol=1e-9
    )
    assert analysis.sections[0].reliability_method == "Cronbach's alpha"
    assert analysis.sections[0].reliability == pytest.approx(alpha, abs=1e-9)


# --- sparse forms against a plain loop ----------------------------------------------------------


def loop_reference(
    forms: NDArray[np.int64],
    responses: NDArray[np.int8],
    table: NDArray[np.float64],
    keys: Sequence[int | None],
    section_of_position: Sequence[int],
    n_sections: int,
) -> dict[int, dict[str, float]]:
    """Straightforward per-item computation over the candidates who saw each item."""
    n, n_positions = forms.shape
    points = np.zeros((n, n_positions))
    for c in range(n):
        for pos in range(n_positions):
            r = int(responses[c, pos])
            points[c, pos] = table[forms[c, pos], 6 if r < 0 else r]
    section_score = np.zeros((n, n_sections))
    for c in range(n):
        for pos in range(n_positions):
            section_score[c, section_of_position[pos]] += points[c, pos]
    out: dict[int, dict[str, float]] = {}
    for item in np.unique(forms):
        xs, rests, chose = [], [], []
        for c in range(n):
            for pos in range(n_positions):
                if forms[c, pos] == item:
                    key = keys[item]
                    earned = points[c, pos]
                    xs.append(float(responses[c, pos] == key) if key is not None else earned)
                    rests.append(section_score[c, section_of_position[pos]] - earned)
                    chose.append(int(responses[c, pos]))
        x, rest = np.array(xs), np.array(rests)
        out[int(item)] = {
            "n": len(xs),
            "p": x.mean(),
            "r": np.corrcoef(x, rest)[0, 1],
            "share_B": float(np.mean(np.array(chose) == 1)),
            "mean_rest_B": float(rest[np.array(chose) == 1].mean()),
        }
    return out


def sparse_exam(
    seed: int, n: int = 400
) -> tuple[NDArray[np.int64], NDArray[np.int8], list[ItemSpec], list[SectionRule]]:
    """Two sections drawing 8 of 24 keyed and 6 of 18 weighted items per candidate."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    keyed = keyed_items("TIU", rng.integers(0, 4, 24), n_options=4)
    points = np.argsort(rng.random((18, 4)), axis=1) + 1.0
    weighted = [
        ItemSpec(f"TKP-{i:03d}", "TKP", 4, option_points=tuple(points[i].tolist()))
        for i in range(18)
    ]
    forms = np.concatenate(
        [
            np.argsort(rng.random((n, 24)), axis=1)[:, :8],
            24 + np.argsort(rng.random((n, 18)), axis=1)[:, :6],
        ],
        axis=1,
    )
    b = rng.normal(0, 1, 24)
    keys = np.array([item.key_index for item in keyed])
    responses = np.empty(forms.shape, dtype=np.int8)
    for pos in range(8):
        item = forms[:, pos]
        right = rng.random(n) < 1 / (1 + np.exp(-(theta - b[item])))
        responses[:, pos] = np.where(right, keys[item], (keys[item] + rng.integers(1, 4, n)) % 4)
    for pos in range(8, 14):
        item = forms[:, pos] - 24
        logits = theta[:, None] * (points[item] - 2.5) + rng.gumbel(size=(n, 4))
        responses[:, pos] = logits.argmax(axis=1)
    responses[rng.random(forms.shape) < 0.03] = -1
    sections = [SectionRule("TIU", "TIU", 8, DICHOTOMOUS), SectionRule("TKP", "TKP", 6, WEIGHTED)]
    return forms, responses, keyed + weighted, sections


def test_sparse_forms_agree_with_a_plain_loop() -> None:
    forms, responses, items, sections = sparse_exam(3)
    analysis = analyse_items(forms, responses, items, sections)
    table = build_points_table(
        [
            ItemScoringRow(
                DICHOTOMOUS if i.key_index is not None else WEIGHTED,
                i.n_options,
                i.key_index,
                i.option_points or None,
            )
            for i in items
        ]
    ).points
    reference = loop_reference(
        forms, responses, table, [i.key_index for i in items], [0] * 8 + [1] * 6, 2
    )
    assert {item.index for item in analysis.items} == set(reference)
    for item in analysis.items:
        expected = reference[item.index]
        assert item.exposure_count == expected["n"]
        assert item.exposure_rate == expected["n"] / 400
        assert item.r_item_rest == pytest.approx(expected["r"], abs=1e-9)
        if item.kind is SectionScoringKind.DICHOTOMOUS:
            assert item.p_value == pytest.approx(expected["p"], abs=1e-12)
        else:
            assert item.mean_points == pytest.approx(expected["p"], abs=1e-12)
        assert item.options[1].share == pytest.approx(expected["share_B"], abs=1e-12)
        assert item.options[1].mean_rest == pytest.approx(expected["mean_rest_B"], abs=1e-9)
    tiu, tkp = analysis.sections
    assert (tiu.n_items_per_form, tiu.n_items_seen, tkp.n_items_per_form) == (8, 24, 6)
    # Different candidates drew forms of different difficulty.
    assert tiu.form_difficulty_sd > 0


def test_sparse_reliability_averages_item_variances_over_drawn_forms() -> None:
    forms, responses, items, sections = sparse_exam(5)
    analysis = analyse_items(forms, responses, items, sections)
    table = np.array(
        [
            [5.0 if o == i.key_index else 0.0 for o in range(4)] + [0.0]
            if i.key_index is not None
            else [*i.option_points, 0.0]
            for i in items
        ]
    )
    points = table[forms, np.where(responses < 0, 4, responses)]
    for s, (lo, hi) in enumerate([(0, 8), (8, 14)]):
        block, block_points = forms[:, lo:hi], points[:, lo:hi]
        variance = {i: block_points[block == i].var() for i in np.unique(block)}
        per_candidate = [sum(variance[i] for i in row) for row in block]
        k = hi - lo
        scores = block_points.sum(axis=1)
        expected = k / (k - 1) * (1 - np.mean(per_candidate) / scores.var())
        assert analysis.sections[s].reliability == pytest.approx(expected, abs=1e-12)


@settings(max_examples=15, deadline=None, database=None)
@given(st.integers(0, 2**32 - 1))
def test_statistics_do_not_depend_on_position_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    forms, responses, items, sections, _, _ = simulate_exam(
        seed % 1000, n_candidates=60, sizes=(6, 5)
    )
    # Reorder every candidate's positions within each section, carrying the responses along.
    order = shuffle_within_sections(rng, 60, [6, 5], [0, 6])
    moved = analyse_items(
        np.take_along_axis(forms, order, 1),
        np.take_along_axis(responses, order, 1),
        items,
        sections,
    )
    original = analyse_items(forms, responses, items, sections)
    assert_same_analysis(moved, original)


def test_results_do_not_depend_on_the_block_size() -> None:
    forms, responses, items, sections = sparse_exam(8, n=300)
    whole = analyse_items(forms, responses, items, sections)
    assert_same_analysis(analyse_items(forms, responses, items, sections, chunk_size=7), whole)
    assert_same_analysis(analyse_items(forms, responses, items, sections, chunk_size=300), whole)


def test_explicit_item_points_are_used_for_scores() -> None:
    # Negative marking: wrong -1, blank 0. The p-value counts only correct answers.
    forms = np.tile(np.arange(3), (4, 1))
    responses = np.array([[0, 0, 0], [1, 0, -1], [1, 1, 0], [-1, 1, 1]], dtype=np.int8)
    scoring = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=4.0, wrong=-1.0)
    sections = [SectionRule("SKB", "SKB", 3, scoring)]
    items = keyed_items("SKB", [0, 0, 0], n_options=3)
    computed = analyse_items(forms, responses, items, sections)
    points = np.where(responses == 0, 4.0, np.where(responses < 0, 0.0, -1.0))
    given_points = analyse_items(forms, responses, items, sections, item_points=points)
    assert_same_analysis(computed, given_points)
    assert computed.items[0].p_value == 0.25
    assert computed.sections[0].distribution.mean == pytest.approx(points.sum(axis=1).mean())
    assert computed.sections[0].distribution.minimum == -2.0


# --- group membership -----------------------------------------------------------------------


def test_tied_candidates_share_group_membership_equally() -> None:
    scores = np.array([1.0, 2.0, 2.0, 2.0, 3.0])
    weights = group_membership(scores, np.array([0.0, 0.5, 1.0]))
    # Ranks: 1 -> [0,1), the three 2s -> [1,4), 3 -> [4,5). Lower half [0, 2.5).
    np.testing.assert_allclose(weights[:, 0], [1.0, 0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(weights.sum(axis=0), [2.5, 2.5])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)


# --- flags --------------------------------------------------------------------------------------


def simple_exam(
    n: int, chosen_by_item: dict[int, NDArray[np.int64]], keys: Sequence[int], seed: int = 0
) -> ItemAnalysis:
    """``n`` candidates on one form; items not in ``chosen_by_item`` follow a Rasch model."""
    rng = np.random.default_rng(seed)
    k = len(keys)
    theta = np.sort(rng.standard_normal(n))
    b = np.linspace(-1.5, 1.5, k)
    right = rng.random((n, k)) < 1 / (1 + np.exp(-1.7 * (theta[:, None] - b)))
    key_array = np.array(keys)
    chosen = np.where(right, key_array, (key_array + rng.integers(1, 4, (n, k))) % 4)
    for item, column in chosen_by_item.items():
        chosen[:, item] = column
    forms = np.tile(np.arange(k), (n, 1))
    return analyse_items(
        forms,
        chosen.astype(np.int8),
        keyed_items("TIU", keys, n_options=4),
        [SectionRule("TIU", "TIU", k, DICHOTOMOUS)],
    )


def test_miskey_flag_names_the_distractor_and_suggests_it() -> None:
    forms, responses, items, sections, miskeyed, true_key = simulate_exam(42)
    analysis = analyse_items(forms, responses, items, sections)
    item = analysis.items[miskeyed]
    flag = next(f for f in item.flags if f.code is FlagCode.LIKELY_MISKEY)
    key_label = "ABCDE"[items[miskeyed].key_index or 0]
    assert flag.suggested_key == true_key
    assert item.suggested_key == true_key
    assert f"Option {'ABCDE'[true_key]} is chosen by" in flag.message
    assert "of the top 27 % against" in flag.message
    assert f"for the key {key_label}" in flag.message
    assert analysis.flagged[0] is item


def test_too_easy_too_hard_and_rare_options_are_flagged_in_words() -> None:
    n = 200
    easy = np.where(np.arange(n) < 196, 0, 1)  # 98 % choose the key A
    hard = np.where(np.arange(n) < 190, 1, 0)  # 5 % choose the key A, 0 choose D
    analysis = simple_exam(n, {0: easy, 1: hard}, keys=[0] * 12)
    easy = {f.code: f.message for f in analysis.items[0].flags}
    assert easy[FlagCode.TOO_EASY].startswith("98 % of the 200 candidates who saw it answer")
    codes = {f.code: f.message for f in analysis.items[1].flags}
    assert codes[FlagCode.TOO_HARD].startswith("Only 5 % of the 200 candidates")
    assert "Option C is never chosen; option D is never chosen" in codes[FlagCode.RARE_OPTION]
    # A sound item of the same exam raises nothing.
    assert analysis.items[6].flags == ()


def test_negative_discrimination_is_a_likely_miskey() -> None:
    n = 300
    # The weakest 60 % choose the key A, the strongest choose B: a reversed item.
    reversed_item = np.where(np.arange(n) < 180, 0, 1)
    analysis = simple_exam(n, {3: reversed_item}, keys=[0] * 12)
    item = analysis.items[3]
    assert item.r_item_rest < 0
    flag = item.flags[0]
    assert flag.code is FlagCode.LIKELY_MISKEY
    assert "Item-rest correlation is -" in flag.message
    assert flag.suggested_key == 1


def test_low_discrimination_is_flagged() -> None:
    n = 400
    rng = np.random.default_rng(9)
    noise = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 4, n))  # unrelated to ability
    analysis = simple_exam(n, {5: noise}, keys=[0] * 12)
    codes = [f.code for f in analysis.items[5].flags]
    assert codes == [FlagCode.LOW_DISCRIMINATION]
    assert "below 0.15" in analysis.items[5].flags[0].message


def test_few_responses_is_the_only_flag_and_not_a_review() -> None:
    n = MIN_RESPONSES_FOR_FLAGS - 1
    analysis = simple_exam(n, {0: np.full(n, 3)}, keys=[0] * 6)
    item = analysis.items[0]
    assert [f.code for f in item.flags] == [FlagCode.FEW_RESPONSES]
    assert not item.needs_review
    assert analysis.flagged == ()


def weighted_exam(reverse_item: bool) -> ItemAnalysis:
    rng = np.random.default_rng(4)
    n, k = 400, 10
    theta = rng.standard_normal(n)
    points = np.tile(np.arange(1.0, 6.0), (k, 1))
    chosen = (theta[:, None, None] * (points[None] - 3) / 1.5 + rng.gumbel(size=(n, k, 5))).argmax(
        2
    )
    if reverse_item:
        points[2] = points[2][::-1]  # option E (best choice of the able) now earns 1 point
    items = [
        ItemSpec(f"TKP-{i}", "TKP", 5, option_points=tuple(points[i].tolist())) for i in range(k)
    ]
    forms = np.tile(np.arange(k), (n, 1))
    return analyse_items(
        forms, chosen.astype(np.int8), items, [SectionRule("TKP", "TKP", k, WEIGHTED)]
    )


def test_weighted_item_whose_points_run_against_the_section_is_flagged() -> None:
    analysis = weighted_exam(reverse_item=True)
    item = analysis.items[2]
    flag = item.flags[0]
    assert flag.code is FlagCode.WEIGHTS_REVERSED
    assert "Choosers of option E (1 points)" in flag.message
    assert flag.suggested_key is None
    others = [i for i in analysis.items if i.index != 2]
    assert all(FlagCode.WEIGHTS_REVERSED not in {f.code for f in i.flags} for i in others)
    assert not weighted_exam(reverse_item=False).flagged


def test_an_item_only_weak_candidates_saw_has_no_top_group_shares() -> None:
    # 60 candidates see items 0 and 2 and get both wrong; 40 see items 1 and 2 and get both right.
    forms = np.array([[0, 2]] * 60 + [[1, 2]] * 40)
    responses = np.array([[1 + i % 3, 1] for i in range(60)] + [[0, 0]] * 40, dtype=np.int8)
    analysis = analyse_items(
        forms,
        responses,
        keyed_items("TIU", [0, 0, 0], n_options=4),
        [SectionRule("TIU", "TIU", 2, DICHOTOMOUS)],
    )
    weak = analysis.items[0]
    assert weak.n_top == 0
    assert math.isnan(weak.options[1].share_top)
    assert weak.options[1].share_bottom == pytest.approx(1 / 3, abs=0.02)
    assert FlagCode.TOO_HARD in {flag.code for flag in weak.flags}


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("duplicate", "same item more than once"),
        ("option", "option the item does not have"),
        ("sections", "sections hold"),
        ("wrong_section", "section other than its own"),
        ("unknown_item", "outside the item table"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(change: str, message: str) -> None:
    forms = np.tile(np.arange(4), (3, 1))
    responses = np.zeros((3, 4), dtype=np.int8)
    items = keyed_items("TWK", [0, 1]) + keyed_items("TIU", [0, 1])
    items[2:] = [ItemSpec(i.code.replace("TWK", "TIU"), "TIU", 5, i.key_index) for i in items[2:]]
    sections = [
        SectionRule("TWK", "TWK", 2, DICHOTOMOUS),
        SectionRule("TIU", "TIU", 2, DICHOTOMOUS),
    ]
    if change == "duplicate":
        forms[1, 1] = 0
    elif change == "option":
        responses[2, 3] = 5
    elif change == "sections":
        sections = sections[:1]
    elif change == "wrong_section":
        forms[0] = [2, 1, 0, 3]
    elif change == "unknown_item":
        forms[0, 0] = 9
    with pytest.raises(ItemAnalysisError, match=message) as refused:
        analyse_items(forms, responses, items, sections, chunk_size=2)
    if change in {"duplicate", "option"}:  # the candidate row is named, across blocks too
        assert f"candidate row {1 if change == 'duplicate' else 2}:" in str(refused.value)


def test_a_keyed_item_in_a_weighted_section_is_refused() -> None:
    forms = np.tile(np.arange(2), (3, 1))
    with pytest.raises(ItemAnalysisError, match="needs option points and no key"):
        analyse_items(
            forms,
            np.zeros((3, 2), dtype=np.int8),
            keyed_items("TKP", [0, 1]),
            [SectionRule("TKP", "TKP", 2, WEIGHTED)],
        )


# --- the miskey hunt ----------------------------------------------------------------------------


def test_a_miskeyed_item_is_caught_in_95_of_100_simulated_exams() -> None:
    caught_cleanly = 0
    suggested_right = 0
    false_alarms = []
    for seed in range(100):
        forms, responses, items, sections, miskeyed, true_key = simulate_exam(seed)
        analysis = analyse_items(forms, responses, items, sections)
        flagged = miskey_flagged(analysis)
        extra = len(flagged - {miskeyed})
        false_alarms.append(extra)
        caught_cleanly += miskeyed in flagged and extra <= 2
        suggested_right += analysis.items[miskeyed].suggested_key == true_key
    assert caught_cleanly >= 95, false_alarms
    assert suggested_right >= 95


def test_a_sound_exam_raises_few_miskey_alarms() -> None:
    alarms = [
        len(miskey_flagged(analyse_items(*simulate_exam(1000 + seed, miskey=False)[:4])))
        for seed in range(20)
    ]
    assert max(alarms) <= 2
    assert sum(alarms) <= 10
