"""Replayed draws stay bit for bit what they were: forms, adaptive choices, hashed derivations.

Every vector below was recorded from the drawing code as it stood before its randomness moved
into ``scoring.prng``. A stored sitting seed or attempt seed must keep giving the same forms and
the same adaptive items for as long as an appeal can ask, so none of these may ever change
(a deliberate change of a draw changes ``ASSEMBLY_ALGORITHM``/``ADAPTIVE_ALGORITHM`` instead).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from item_bank.assembly import Form, FormSeed, draw_form, draw_forms
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.exam_spec import Blueprint, ExamSpec, SectionSpec
from item_bank.models import DifficultyLevel
from scoring import prng
from scoring.cat import AdaptiveBank, AdaptiveRules, draw_positions, replay, seed_key, seed_keys
from scoring.irt import ItemParams
from scoring.rules import SectionScoring, SectionScoringKind

EASY, MEDIUM, HARD = DifficultyLevel.EASY, DifficultyLevel.MEDIUM, DifficultyLevel.HARD
FIVE = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)
P_OF = {EASY: 0.85, MEDIUM: 0.5, HARD: 0.15}


def exam(shuffle_items: bool, shuffle_options: bool) -> ExamSpec:
    tiu = Blueprint.by_cell(
        {"verbal": {EASY: 2, MEDIUM: 2, HARD: 1}, "numerik": {MEDIUM: 3, HARD: 2}}
    )
    twk = Blueprint.by_cell({"pancasila": {EASY: 3, MEDIUM: 3}, "uud": {EASY: 1, HARD: 2}})
    return ExamSpec(
        code="T",
        title="T",
        sections=(
            SectionSpec("TIU", "TIU", tiu.item_count, FIVE, tiu),
            SectionSpec("TWK", "TWK", twk.item_count, FIVE, twk),
        ),
        duration_minutes=60,
        shuffle_items=shuffle_items,
        shuffle_options=shuffle_options,
    )


def bank_snapshot() -> BankSnapshot:
    """Seven items per topic and level, ids and option counts by arithmetic (no randomness)."""
    entries: list[BankEntry] = []
    for code, topics in (("TIU", ("verbal", "numerik")), ("TWK", ("pancasila", "uud"))):
        for topic in topics:
            for level in (EASY, MEDIUM, HARD):
                for _ in range(7):
                    n = len(entries)
                    entries.append(
                        BankEntry(1000 + 7 * n, code, topic, 3 + n % 3, P_OF[level], level)
                    )
    return BankSnapshot.from_entries(entries)


def digest(forms: list[Form]) -> str:
    data = [[(i.entry_id, i.section, list(i.option_order)) for i in f.items] for f in forms]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


FORM_VECTORS = [
    (
        True,
        True,
        "5262254fbbd4fe639f1032f4d1389e2fb4bc59b1f28048924d7d83bf885735fe",
        "3ba66c74d6584122ad9766273eb74d9153a4a2312a8310a6aa76b500b8ef0ab4",
    ),
    (
        False,
        True,
        "337173cd8a95ba2ad5a34a885a3f833754dffe46579a7c8f62e41729e950839d",
        "193e3e64e4ee3d61b627d8182e8e82b634033001fb946f444f42caf64a2854f9",
    ),
    (
        True,
        False,
        "9909343aa902c1eb3d166ab25e690cb9ecdbb660a1081463e32330d2546a3b76",
        "91b13bde5cbcc85f9d1d85dd58ef874b2b429cdd84f1a0b482f7e76c30ed7a45",
    ),
]


@pytest.mark.parametrize(("shuffle_items", "shuffle_options", "single", "batch"), FORM_VECTORS)
def test_forms_drawn_are_unchanged(
    shuffle_items: bool, shuffle_options: bool, single: str, batch: str
) -> None:
    spec, snapshot = exam(shuffle_items, shuffle_options), bank_snapshot()
    seeds = [FormSeed(0, 0), FormSeed(20_240_601, 17), FormSeed(2**63 - 1, 2**31 - 1)]
    assert digest([draw_form(spec, snapshot, seed) for seed in seeds]) == single
    assert digest(draw_forms(spec, snapshot, 987_654_321, 300, first_slot=5)) == batch


def test_a_recorded_form_reads_the_same() -> None:
    form = draw_form(exam(True, True), bank_snapshot(), FormSeed(20_240_601, 17))
    assert [(i.entry_id, i.section, i.option_order) for i in form.items][:6] == [
        (1210, "TIU", (0, 2, 1)),
        (1196, "TIU", (1, 0, 3, 2)),
        (1000, "TIU", (1, 2, 0)),
        (1028, "TIU", (1, 0, 3, 2)),
        (1133, "TIU", (2, 1, 0, 3)),
        (1273, "TIU", (0, 2, 1)),
    ]


def adaptive_bank() -> AdaptiveBank:
    n = 120
    a = 0.6 + (np.arange(n) * 37 % 50) / 40
    b = np.linspace(-2.5, 2.5, n)[np.arange(n) * 53 % n]
    return AdaptiveBank.build(ItemParams(a, b, np.full(n, 0.2)), topics=np.arange(n) % 3)


ADAPTIVE_VECTORS = [
    (
        AdaptiveRules(20, randomesque=5),
        0,
        [8, 89, 12, 112, 35, 1, 78, 85, 51, 62, 44, 105, 71, 17, 116, 28, 39, 82, 94, 98],
    ),
    (
        AdaptiveRules(20, randomesque=5),
        12345,
        [112, 12, 35, 78, 105, 1, 62, 55, 116, 85, 39, 8, 89, 51, 71, 21, 28, 5, 98, 48],
    ),
    (
        AdaptiveRules(20, randomesque=5),
        2**63 - 1,
        [8, 58, 31, 85, 101, 24, 78, 112, 35, 17, 74, 67, 94, 1, 40, 62, 117, 47, 44, 51],
    ),
    (
        AdaptiveRules(15, randomesque=8, topic_quotas=(5, 5, 5)),
        0,
        [24, 55, 71, 51, 28, 62, 60, 67, 101, 78, 82, 44, 33, 64, 98],
    ),
    (
        AdaptiveRules(15, randomesque=8, topic_quotas=(5, 5, 5)),
        12345,
        [12, 82, 116, 48, 64, 35, 105, 112, 8, 114, 85, 44, 78, 91, 98],
    ),
    (
        AdaptiveRules(15, randomesque=8, topic_quotas=(5, 5, 5)),
        2**63 - 1,
        [24, 112, 101, 51, 31, 74, 6, 67, 44, 33, 28, 83, 87, 40, 47],
    ),
]


@pytest.mark.parametrize(("rules", "seed", "items"), ADAPTIVE_VECTORS)
def test_adaptive_choices_are_unchanged(rules: AdaptiveRules, seed: int, items: list[int]) -> None:
    responses = [(k * 7 + seed) % 3 != 0 for k in range(rules.max_items)]
    assert [choice.item for choice in replay(adaptive_bank(), rules, seed, responses)] == items


def test_counter_draws_are_unchanged_and_agree_in_both_forms() -> None:
    seeds = np.array([0, 1, 2**63 - 1], dtype=np.uint64)
    keys = seed_keys(seeds)
    assert keys.tolist() == [1413624738593745366, 8180346115031834982, 8569301088935159324]
    assert seed_key(12345) == 2470199877080333739
    assert [prng.stream_key(int(s), prng.ADAPTIVE_CHOICE) for s in seeds] == keys.tolist()
    five = seed_keys(np.arange(5, dtype=np.uint64))
    steps = np.arange(5, dtype=np.uint64)
    sizes = np.array([1, 2, 5, 7, 2**32])
    assert draw_positions(five, steps, sizes).tolist() == [0, 1, 4, 3, 2148199991]
    words = prng.counter_words(five, steps)
    assert [prng.counter_word(int(k), int(s)) for k, s in zip(five, steps, strict=True)] == (
        words.tolist()
    )
    assert [prng.below_int(int(w), int(n)) for w, n in zip(words, sizes, strict=True)] == (
        prng.below(words, sizes).tolist()
    )


def test_hashed_derivations_of_adaptive_attempts_are_unchanged() -> None:
    # The seed stored with an adaptive attempt, and the shown order of its items' options.
    assert prng.hashed_seed("ujian-adaptive", 0, 0) == 3164764252687574475
    assert prng.hashed_seed("ujian-adaptive", 20_240_601, 17) == 7805148007840929427
    assert prng.hashed_seed("ujian-adaptive", 2**63 - 1, 2**31 - 1) == 8378958341707917524
    assert prng.hashed_shuffle(5, 123456789, 3) == [1, 4, 0, 2, 3]
    assert prng.hashed_shuffle(4, 0, 1) == [1, 0, 3, 2]
    assert prng.hashed_shuffle(6, 2**62, 40) == [2, 5, 0, 1, 4, 3]


def test_streams_are_separate_and_sequences_continue() -> None:
    selection = prng.raw_words(prng.FORM_SELECTION, 7)
    order = prng.raw_words(prng.FORM_ORDER, 7)
    first, second = selection(4), selection(4)
    assert first.tolist() != second.tolist()
    assert prng.raw_words(prng.FORM_SELECTION, 7)(8).tolist() == first.tolist() + second.tolist()
    assert order(4).tolist() != first.tolist()


def test_bad_seed_words_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="non-negative integers, got -1"):
        prng.raw_words(prng.FORM_ORDER, -1)
    with pytest.raises(ValueError, match="negative number of elements"):
        prng.hashed_shuffle(-2, 0, 0)
