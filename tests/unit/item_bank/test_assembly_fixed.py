"""Forms honour an item's option layout (kept order, fixed options) and keep a passage's items
together when the spec asks, without changing how any other item draws."""

from __future__ import annotations

from dataclasses import replace

import pytest

from item_bank.assembly import (
    FormExtras,
    FormSeed,
    OptionLayout,
    draw_form,
    draw_forms,
    honour_layout,
)
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.errors import InvalidInput
from item_bank.exam_spec import (
    Blueprint,
    ExamSpec,
    SectionSpec,
    parse_exam_spec,
    spec_from_dict,
    spec_to_dict,
)
from item_bank.models import Item, Option, ScoringKind
from scoring.rules import SectionScoring, SectionScoringKind

FIVE = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)
SEED = 8_675_309


def spec(count: int = 10, *, together: bool = False) -> ExamSpec:
    section = SectionSpec(
        "TIU", "TIU", count, FIVE, Blueprint.any_item(count), keep_stimulus_items_together=together
    )
    return ExamSpec(
        code="T",
        title="Test",
        sections=(section,),
        duration_minutes=60,
        shuffle_items=True,
        shuffle_options=True,
    )


def bank(n: int = 40, options: int = 5) -> BankSnapshot:
    return BankSnapshot.from_entries(BankEntry(i, "TIU", "umum", options) for i in range(1, n + 1))


def test_honour_layout_keeps_fixed_positions_and_the_rest_in_drawn_order():
    assert honour_layout((3, 0, 4, 1, 2), OptionLayout()) == (3, 0, 4, 1, 2)
    assert honour_layout((3, 0, 4, 1, 2), OptionLayout(shuffle=False)) == (0, 1, 2, 3, 4)
    # "None of the above" (index 4) stays last; the others keep the order drawn for them.
    assert honour_layout((3, 0, 4, 1, 2), OptionLayout(fixed=frozenset({4}))) == (3, 0, 1, 2, 4)
    assert honour_layout((4, 3, 2, 1, 0), OptionLayout(fixed=frozenset({0, 4}))) == (
        0,
        3,
        2,
        1,
        4,
    )
    # A kept order wins over fixed marks.
    assert honour_layout((2, 1, 0), OptionLayout(shuffle=False, fixed=frozenset({1}))) == (0, 1, 2)


def test_layout_of_an_item():
    item = Item(
        code="X",
        section="TIU",
        topic="umum",
        stem="s",
        options=(Option("A", "a"), Option("B", "b"), Option("C", "Tidak ada", fixed=True)),
        scoring=ScoringKind.SINGLE,
        key="A",
    )
    assert OptionLayout.of(item) == OptionLayout(True, frozenset({2}))
    assert OptionLayout.of(replace(item, shuffle=False)).shuffle is False
    plain = replace(item, options=(Option("A", "a"), Option("B", "b")))
    assert OptionLayout.of(plain).is_default
    extras = FormExtras.of({7: item, 8: plain, 9: replace(plain, stimulus_ref="BACAAN")})
    assert set(extras.layouts) == {7}
    assert dict(extras.stimuli) == {9: "BACAAN"}


def test_fixed_and_kept_orders_hold_on_every_form_and_other_items_draw_as_before():
    snapshot = bank()
    extras = FormExtras(
        layouts={
            1: OptionLayout(fixed=frozenset({4})),
            2: OptionLayout(shuffle=False),
            3: OptionLayout(fixed=frozenset({0, 4})),
        }
    )
    plain = draw_forms(spec(), snapshot, SEED, 60)
    laid = draw_forms(spec(), snapshot, SEED, 60, extras=extras)
    seen: dict[int, set[tuple[int, ...]]] = {1: set(), 2: set(), 3: set()}
    for before, after in zip(plain, laid, strict=True):
        assert before.entry_ids == after.entry_ids  # layouts never change which items or where
        for old, new in zip(before.items, after.items, strict=True):
            if new.entry_id not in extras.layouts:
                assert new.option_order == old.option_order
                continue
            seen[new.entry_id].add(new.option_order)
            assert sorted(new.option_order) == [0, 1, 2, 3, 4]
            if new.entry_id == 1:
                assert new.option_order[4] == 4
            elif new.entry_id == 2:
                assert new.option_order == (0, 1, 2, 3, 4)
            else:
                assert (new.option_order[0], new.option_order[4]) == (0, 4)
    # The options that may move still do.
    assert len(seen[1]) > 3
    assert len(seen[3]) > 2
    assert seen[2] == {(0, 1, 2, 3, 4)}


def test_draw_form_and_draw_forms_agree_with_layouts():
    snapshot = bank()
    extras = FormExtras(layouts={i: OptionLayout(fixed=frozenset({0})) for i in range(1, 41)})
    forms = draw_forms(spec(), snapshot, SEED, 5, extras=extras)
    for slot, form in enumerate(forms):
        assert draw_form(spec(), snapshot, FormSeed(SEED, slot), extras) == form
        assert all(item.option_order[0] == 0 for item in form)


def test_a_passages_items_are_shown_as_one_block_when_the_spec_asks():
    snapshot = bank(12)
    # Three passages of three items each, three items without one; the section draws all 12.
    stimuli = {i: f"P{(i - 1) // 3}" for i in range(1, 10)}
    extras = FormExtras(stimuli=stimuli)
    for slot in range(20):
        apart = draw_form(spec(12), snapshot, FormSeed(SEED, slot), extras)
        together = draw_form(spec(12, together=True), snapshot, FormSeed(SEED, slot), extras)
        assert sorted(together.entry_ids) == sorted(apart.entry_ids)
        codes = [stimuli.get(i) for i in together.entry_ids]
        for code in ("P0", "P1", "P2"):
            where = [k for k, c in enumerate(codes) if c == code]
            assert where == list(range(where[0], where[0] + 3)), (slot, codes)
        # Options of each item are what they were apart.
        orders = {item.entry_id: item.option_order for item in apart}
        assert all(orders[item.entry_id] == item.option_order for item in together)
    # Without the option, shuffled items do get separated on some form.
    scattered = 0
    for slot in range(20):
        ids = draw_form(spec(12), snapshot, FormSeed(SEED, slot), extras).entry_ids
        codes = [stimuli.get(i) for i in ids]
        where = [k for k, c in enumerate(codes) if c == "P0"]
        scattered += where != list(range(where[0], where[0] + 3))
    assert scattered > 0


SPEC_YAML = """
code: BACA
title: Bacaan
duration_minutes: 30
sections:
  - code: TIU
    name: Tes Intelegensia Umum
    item_count: 5
    scoring: {kind: dichotomous, correct: 5, wrong: 0, blank: 0}
    keep_stimulus_items_together: %s
"""


def test_the_spec_option_reads_writes_and_refuses_a_bad_value_where_it_stands():
    parsed = parse_exam_spec(SPEC_YAML % "true", "baca.yaml")
    assert parsed.sections[0].keep_stimulus_items_together is True
    stored = spec_to_dict(parsed)
    assert stored["sections"][0]["keep_stimulus_items_together"] is True
    assert spec_from_dict(stored).sections[0].keep_stimulus_items_together is True
    off = spec_to_dict(parse_exam_spec(SPEC_YAML % "false", "baca.yaml"))
    assert "keep_stimulus_items_together" not in off["sections"][0]  # old digests stay
    with pytest.raises(InvalidInput) as refused:
        parse_exam_spec(SPEC_YAML % "kadang", "baca.yaml")
    problems = refused.value.problems
    assert [(p.field, p.location) for p in problems] == [
        ("keep_stimulus_items_together", "line 10 (sections[0].keep_stimulus_items_together)")
    ]
    assert "true or false" in problems[0].message
