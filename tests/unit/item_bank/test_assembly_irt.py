"""IRT-matched forms and adaptive-section banks: blueprint kept, replay, closer to target."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from item_bank.assembly import FormSeed, draw_form, draw_forms
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.exam_spec import Blueprint, ExamSpec, SectionSpec
from item_bank.irt_forms import (
    MatchCurve,
    MatchSettings,
    adaptive_section,
    draw_matched_form,
    draw_matched_forms,
    form_curves,
    section_targets,
)
from item_bank.models import DifficultyLevel, IRTParams
from scoring.cat import next_item, start
from scoring.rules import SectionScoring, SectionScoringKind

EASY, MEDIUM, HARD = DifficultyLevel.EASY, DifficultyLevel.MEDIUM, DifficultyLevel.HARD
B_RANGE = {EASY: (-2.5, -0.8), MEDIUM: (-0.7, 0.7), HARD: (0.8, 2.5)}
FIVE = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)
WEIGHTED = SectionScoring(SectionScoringKind.WEIGHTED)
THETA = (-1.5, 0.0, 1.5)


def make_spec(*, shuffle_items: bool = True) -> ExamSpec:
    twk = Blueprint.by_stratum({EASY: 4, MEDIUM: 6, HARD: 4})
    tiu = Blueprint.by_cell(
        {"verbal": {EASY: 2, MEDIUM: 3, HARD: 2}, "numerik": {EASY: 2, MEDIUM: 3, HARD: 2}}
    )
    tkp = Blueprint.by_topic({"pelayanan": 3, "jejaring": 3})
    return ExamSpec(
        code="T",
        title="Test",
        sections=(
            SectionSpec("TWK", "TWK", 14, FIVE, twk),
            SectionSpec("TIU", "TIU", 14, FIVE, tiu),
            SectionSpec("TKP", "TKP", 6, WEIGHTED, tkp),
        ),
        duration_minutes=60,
        shuffle_items=shuffle_items,
    )


def make_bank(seed: int = 3, per_cell: int = 40) -> BankSnapshot:
    rng = np.random.default_rng(seed)
    entries = []

    def add(section: str, topic: str, level: DifficultyLevel | None, irt: bool) -> None:
        low, high = B_RANGE[level or MEDIUM]
        params = IRTParams(
            float(rng.lognormal(0.0, 0.3)),
            float(rng.uniform(low, high)),
            float(rng.uniform(0.1, 0.25)),
        )
        entries.append(
            BankEntry(
                id=len(entries) + 1,
                section=section,
                topic=topic,
                n_options=int(rng.choice([4, 5])),
                level=level,
                irt=params if irt else None,
            )
        )

    for level in (EASY, MEDIUM, HARD):
        for _ in range(per_cell):
            add("TWK", "pancasila", level, irt=True)
            add("TIU", "verbal", level, irt=True)
            add("TIU", "numerik", level, irt=True)
    for topic in ("pelayanan", "jejaring"):
        for _ in range(per_cell):
            add("TKP", topic, None, irt=False)
    return BankSnapshot.from_entries(entries)


@pytest.fixture(scope="module")
def spec() -> ExamSpec:
    return make_spec()


@pytest.fixture(scope="module")
def snapshot() -> BankSnapshot:
    return make_bank()


@pytest.fixture(scope="module")
def settings() -> MatchSettings:
    return MatchSettings(theta_points=THETA)


def cell_counts(form, snapshot, spec):  # type: ignore[no-untyped-def]
    rows = np.searchsorted(snapshot.ids, np.asarray(form.entry_ids))
    return Counter(
        (item.section, snapshot.topic_names[snapshot.topics[row]], snapshot.stratum_of(row))
        for item, row in zip(form.items, rows.tolist(), strict=True)
    )


def test_matched_forms_keep_the_blueprint_and_hold_no_item_twice(spec, snapshot, settings):
    for matched in draw_matched_forms(spec, snapshot, 77, 40, settings=settings):
        base = draw_form(spec, snapshot, matched.form.seed)
        assert cell_counts(matched.form, snapshot, spec) == cell_counts(base, snapshot, spec)
        assert len(set(matched.form.entry_ids)) == len(matched.form)
        assert [i.section for i in matched.form] == [i.section for i in base]
        for item in matched.form:
            row = int(np.searchsorted(snapshot.ids, item.entry_id))
            assert sorted(item.option_order) == list(range(snapshot.n_options[row]))


def test_a_matched_form_replays_from_its_seed(spec, snapshot, settings):
    batch = draw_matched_forms(spec, snapshot, 77, 12, first_slot=30, settings=settings)
    again = draw_matched_form(spec, snapshot, FormSeed(77, 41), settings=settings)
    assert again == batch[11]
    assert again.form.seed == FormSeed(77, 41)
    assert again.form.bank_digest == snapshot.digest


def test_matching_brings_forms_closer_to_the_target_than_stratified_drawing(
    spec, snapshot, settings
):
    matched = [m.form for m in draw_matched_forms(spec, snapshot, 5, 150, settings=settings)]
    plain = draw_forms(spec, snapshot, 5, 150)
    target = section_targets(spec, snapshot, settings)["TIU"]

    def worst_gap(forms):  # type: ignore[no-untyped-def]
        curves = [form_curves(f, snapshot, "TIU", THETA).expected_score for f in forms]
        return np.abs(np.asarray(curves) - target.expected_score).max(axis=1)

    assert np.mean(worst_gap(matched)) < 0.4 * np.mean(worst_gap(plain))


def test_reports_say_how_far_each_section_moved(spec, snapshot, settings):
    batch = draw_matched_forms(spec, snapshot, 9, 30, settings=settings)
    assert all([s.section for s in m.sections] == ["TWK", "TIU"] for m in batch)  # TKP: no IRT
    for index in range(2):
        reports = [m.sections[index] for m in batch]
        assert all(0 <= r.swaps <= settings.max_swaps for r in reports)
        score = np.mean([[r.score_before, r.score_after] for r in reports], axis=0)
        info = np.mean([[r.information_before, r.information_after] for r in reports], axis=0)
        assert score[1] < 0.5 * score[0]
        assert info[1] < 0.5 * info[0]


def test_sections_without_parameters_are_left_as_drawn(spec, snapshot, settings):
    matched = draw_matched_form(spec, snapshot, FormSeed(9, 4), settings=settings)
    base = draw_form(spec, snapshot, FormSeed(9, 4))
    assert matched.form.section_items("TKP") == base.section_items("TKP")


def test_unshuffled_sections_stay_in_blueprint_order(snapshot, settings):
    spec = make_spec(shuffle_items=False)
    matched = draw_matched_form(spec, snapshot, FormSeed(4, 0), settings=settings)
    assert any(s.swaps for s in matched.sections)
    rows = np.searchsorted(snapshot.ids, [i.entry_id for i in matched.form.section_items("TWK")])
    strata = [snapshot.stratum_of(int(r)) for r in rows]
    assert strata == sorted(strata, key=[EASY, MEDIUM, HARD].index)
    for level in (EASY, MEDIUM, HARD):
        ids = [snapshot.ids[r] for r, s in zip(rows, strata, strict=True) if s is level]
        assert ids == sorted(ids)


def test_a_reference_form_can_be_the_target(spec, snapshot, settings):
    reference = draw_form(spec, snapshot, FormSeed(1, 0))
    targets = {"TIU": form_curves(reference, snapshot, "TIU", THETA)}
    only_tiu = MatchSettings(theta_points=THETA, curve=MatchCurve.SCORE, sections=("TIU",))
    matched = draw_matched_form(spec, snapshot, FormSeed(1, 9), targets=targets, settings=only_tiu)
    assert [s.section for s in matched.sections] == ["TIU"]
    assert matched.sections[0].score_after < 0.01


def test_matching_a_section_without_parameters_is_refused(spec, snapshot):
    with pytest.raises(ValueError, match="TKP has items without IRT"):
        draw_matched_form(spec, snapshot, FormSeed(1, 1), settings=MatchSettings(sections=("TKP",)))


def test_adaptive_section_serves_the_section_items_under_its_topic_quotas(spec, snapshot):
    section = adaptive_section(spec, snapshot, "TIU")
    assert section.topic_names == ("verbal", "numerik")
    assert section.quotas == (7, 7)
    assert len(section.bank) == 240
    rules = section.rules(se_target=0.4, min_items=6)
    assert rules.max_items == 14
    assert rules.topic_quotas == (7, 7)
    choice = next_item(start(section.bank), section.bank, rules, 99)
    assert choice is not None
    row = section.rows[choice.item]
    assert snapshot.ids[row] == section.ids[choice.item]
    assert snapshot.section_codes[snapshot.sections[row]] == "TIU"
    assert (
        snapshot.topic_names[snapshot.topics[row]]
        == section.topic_names[section.bank.topics[choice.item]]
    )
    with pytest.raises(ValueError, match="no item of section TKP"):
        adaptive_section(spec, snapshot, "TKP")
