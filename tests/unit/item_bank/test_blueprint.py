"""Bank snapshots and the blueprint check publishing relies on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from item_bank.blueprint import BankEntry, BankSnapshot, check_blueprint
from item_bank.errors import Shortfall
from item_bank.exam_spec import Blueprint, DifficultyBands, ExamSpec, SectionSpec
from item_bank.models import DifficultyLevel, IRTParams, Item, Option, ScoringKind
from scoring.rules import SectionScoring, SectionScoringKind

EASY, MEDIUM, HARD = DifficultyLevel.EASY, DifficultyLevel.MEDIUM, DifficultyLevel.HARD
FIVE = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)


def exam(*sections: SectionSpec, bands: DifficultyBands | None = None) -> ExamSpec:
    return ExamSpec(
        code="T",
        title="Test",
        sections=sections,
        duration_minutes=60,
        difficulty_bands=bands or DifficultyBands(),
    )


def section(code: str, blueprint: Blueprint) -> SectionSpec:
    return SectionSpec(code, code, blueprint.item_count, FIVE, blueprint)


def entries(
    section: str,
    topic: str,
    n: int,
    start: int,
    p_value: float | None = None,
    level: DifficultyLevel | None = None,
) -> list[BankEntry]:
    return [BankEntry(start + i, section, topic, 4, p_value, level) for i in range(n)]


def test_stratum_comes_from_level_then_from_p_value_bands() -> None:
    snapshot = BankSnapshot.from_entries(
        [
            BankEntry(1, "TIU", "verbal", 5, p_value=0.70),
            BankEntry(2, "TIU", "verbal", 5, p_value=0.6999),
            BankEntry(3, "TIU", "verbal", 5, p_value=0.30),
            BankEntry(4, "TIU", "verbal", 5, p_value=0.2999),
            BankEntry(5, "TIU", "verbal", 5, p_value=0.95, level=HARD),
            BankEntry(6, "TIU", "verbal", 5),
        ]
    )

    assert [snapshot.stratum_of(row) for row in range(6)] == [
        EASY,
        MEDIUM,
        MEDIUM,
        HARD,
        HARD,
        None,
    ]


def test_bands_are_the_specs_own() -> None:
    strict = DifficultyBands(easy_min_p=0.85, hard_below_p=0.15)
    snapshot = BankSnapshot.from_entries(
        [BankEntry(i, "TIU", "verbal", 5, p_value=0.75) for i in range(3)]
    )
    wants_easy = section("TIU", Blueprint.by_stratum({EASY: 3}))

    assert check_blueprint(exam(wants_easy), snapshot) == []
    assert check_blueprint(exam(wants_easy, bands=strict), snapshot) == [
        Shortfall("TIU", None, "easy", 3, 0)
    ]
    assert snapshot.with_bands(strict).available("TIU", None, MEDIUM) == 3


def test_check_names_every_shortfall_in_spec_order() -> None:
    bank = (
        entries("TWK", "pancasila", 4, 100)
        + entries("TWK", "nkri", 1, 200)
        + entries("TIU", "verbal", 3, 300, level=EASY)
        + entries("TIU", "numerik", 2, 400, level=HARD)
        + entries("TIU", "figural", 5, 500)  # no difficulty: fills no stratum
    )
    spec = exam(
        section("TWK", Blueprint.by_topic({"pancasila": 3, "nkri": 2, "integritas": 1})),
        section("TIU", Blueprint.by_stratum({EASY: 2, MEDIUM: 4, HARD: 3})),
        section("TKP", Blueprint.any_item(45)),
    )

    shortfalls = check_blueprint(spec, BankSnapshot.from_entries(bank))

    assert shortfalls == [
        Shortfall("TWK", "nkri", None, 2, 1),
        Shortfall("TWK", "integritas", None, 1, 0),
        Shortfall("TIU", None, "medium", 4, 0),
        Shortfall("TIU", None, "hard", 3, 2),
        Shortfall("TKP", None, None, 45, 0),
    ]
    assert str(shortfalls[0]) == "TWK/nkri: needs 2, bank has 1"


def test_grid_cells_count_topic_and_stratum_together() -> None:
    bank = entries("TIU", "verbal", 4, 0, level=EASY) + entries("TIU", "numerik", 4, 10, level=HARD)
    grid = Blueprint.by_cell({"verbal": {EASY: 2, HARD: 1}, "numerik": {HARD: 3}})

    shortfalls = check_blueprint(exam(section("TIU", grid)), BankSnapshot.from_entries(bank))

    assert shortfalls == [Shortfall("TIU", "verbal", "hard", 1, 0)]


def test_a_bank_that_serves_the_blueprint_has_no_shortfall() -> None:
    bank = entries("TWK", "pancasila", 3, 0) + entries("TWK", "nkri", 2, 10)
    spec = exam(section("TWK", Blueprint.by_topic({"pancasila": 3, "nkri": 2})))

    assert check_blueprint(spec, BankSnapshot.from_entries(bank)) == []


def test_snapshot_does_not_depend_on_entry_order() -> None:
    bank = entries("TWK", "nkri", 20, 1, p_value=0.5) + entries("TIU", "verbal", 20, 50)
    shuffled = bank.copy()
    random.Random(7).shuffle(shuffled)

    a, b = BankSnapshot.from_entries(bank), BankSnapshot.from_entries(shuffled)

    assert a.digest == b.digest
    assert np.array_equal(a.ids, b.ids)
    assert list(a.ids) == sorted(e.id for e in bank)
    assert np.array_equal(a.rows("TWK", "nkri", MEDIUM), b.rows("TWK", "nkri", MEDIUM))


def test_digest_changes_with_what_a_draw_depends_on() -> None:
    bank = entries("TWK", "nkri", 5, 1, p_value=0.5)
    base = BankSnapshot.from_entries(bank).digest
    moved = [*bank[:-1], BankEntry(5, "TWK", "pancasila", 4, p_value=0.5)]
    harder = [*bank[:-1], BankEntry(5, "TWK", "nkri", 4, p_value=0.1)]
    recalibrated_within_band = [*bank[:-1], BankEntry(5, "TWK", "nkri", 4, p_value=0.6)]

    assert BankSnapshot.from_entries(moved).digest != base
    assert BankSnapshot.from_entries(harder).digest != base
    assert BankSnapshot.from_entries(recalibrated_within_band).digest == base


def test_rows_are_read_only_and_in_id_order() -> None:
    snapshot = BankSnapshot.from_entries(entries("TWK", "nkri", 5, 10)[::-1])
    rows = snapshot.rows("TWK", "nkri")

    assert list(snapshot.ids[rows]) == [10, 11, 12, 13, 14]
    with pytest.raises(ValueError, match="read-only"):
        rows[0] = 3
    assert snapshot.available("TWK", "absent") == 0


@pytest.mark.parametrize(
    "bad",
    [
        [BankEntry(1, "TWK", "nkri", 4), BankEntry(1, "TWK", "nkri", 4)],
        [BankEntry(1, "TWK", "nkri", 1)],
        [BankEntry(1, "TWK", "nkri", 7)],
    ],
    ids=["repeated-id", "one-option", "seven-options"],
)
def test_snapshot_refuses_inconsistent_entries(bad: list[BankEntry]) -> None:
    with pytest.raises(ValueError, match=r"repeat an id|options"):
        BankSnapshot.from_entries(bad)


def test_entry_from_item_keeps_what_assembly_needs() -> None:
    item = Item(
        code="TIU-001",
        section="TIU",
        topic="numerik",
        stem="2 + 2 = ?",
        options=tuple(Option(label, str(n)) for label, n in zip("ABCD", range(3, 7), strict=True)),
        scoring=ScoringKind.SINGLE,
        key="B",
        p_value=0.8,
        irt=IRTParams(1.2, -0.5),
    )

    entry = BankEntry.from_item(42, item)

    assert entry == BankEntry(42, "TIU", "numerik", 4, 0.8, None, IRTParams(1.2, -0.5))
