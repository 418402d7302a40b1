"""The frozen form's one codec reads every stored shape and writes it back byte for byte."""

from __future__ import annotations

import json

import pytest

from exam_day import (
    OPTION_LETTERS,
    AdaptiveLocked,
    FormEntry,
    FrozenForm,
    InvalidForm,
    NoSuchPosition,
    UnknownOption,
    letter_of,
    original_of,
)

# The shapes stored in attempts.form today, as the database hands them back.
FIXED = [[101, [2, 0, 3, 1, 4]], [102, [0, 1, 2, 3]], [7, [1, 0]]]
ADAPTIVE_PENDING = [[101, [2, 0, 3, 1, 4]], [55, [3, 1, 0, 2], "adaptive"], None, None]
ADAPTIVE_GIVEN = [[55, [3, 1, 0, 2], "adaptive"], [56, [0, 1, 2, 3], "adaptive"], [9, [0, 1]]]


@pytest.mark.parametrize("stored", [FIXED, ADAPTIVE_PENDING, ADAPTIVE_GIVEN, []])
def test_every_stored_shape_round_trips_to_the_same_bytes(stored):
    text = json.dumps(stored)
    form = FrozenForm.decode(json.loads(text))
    assert json.dumps(form.encode()) == text
    assert form.encode() == stored


def test_entries_read_by_name():
    form = FrozenForm.decode(ADAPTIVE_PENDING)
    assert len(form) == 4
    assert form.item_ids() == [101, 55, 0, 0]
    assert form.given_item_ids() == [101, 55]
    assert form.at(2) == FormEntry(55, (3, 1, 0, 2), adaptive=True)
    assert form.at(3) is None
    assert form.option_order(1) == (2, 0, 3, 1, 4)
    assert form.fixed_orders() == ((2, 0, 3, 1, 4), (), (), ())


def test_positions_outside_or_not_given_are_refused():
    form = FrozenForm.decode(ADAPTIVE_PENDING)
    with pytest.raises(NoSuchPosition, match=r"there is no item 5 \(1-4\)"):
        form.at(5)
    with pytest.raises(NoSuchPosition):
        form.at(0)
    with pytest.raises(AdaptiveLocked, match="item 3 has not been given yet"):
        form.given(3)


def test_with_entry_gives_the_next_adaptive_item():
    form = FrozenForm.decode(ADAPTIVE_PENDING)
    grown = form.with_entry(3, FormEntry(57, (1, 0, 2, 3), adaptive=True))
    assert grown.encode()[2] == [57, [1, 0, 2, 3], "adaptive"]
    assert form.at(3) is None  # the original is unchanged


def test_letters_map_onto_original_options_through_the_order():
    order = (2, 0, 3, 1)
    assert [original_of(order, letter) for letter in "ABCD"] == [2, 0, 3, 1]
    assert [letter_of(order, original) for original in (2, 0, 3, 1)] == list("ABCD")
    assert OPTION_LETTERS == "ABCDEF"
    with pytest.raises(UnknownOption, match="option must be one of A, B, C, D or null"):
        original_of(order, "E")
    with pytest.raises(UnknownOption, match=r"option must be one of A, B, C, D$"):
        original_of(order, "Z", blank_allowed=False)
    entry = FormEntry(1, order)
    assert entry.original_of("C") == 3
    assert entry.letter_of(1) == "D"


def test_of_builds_a_fixed_form_from_a_draw():
    form = FrozenForm.of([(101, (2, 0, 3, 1, 4)), (102, [0, 1, 2, 3]), (7, (1, 0))])
    assert form.encode() == FIXED


@pytest.mark.parametrize(
    ("stored", "where"),
    [
        ({"items": []}, "a form must be a list"),
        ([[101, [0, 1]], "x"], "form position 2"),
        ([[101]], "form position 1"),
        ([["101", [0, 1]]], "form position 1 item id"),
        ([[True, [0, 1]]], "form position 1 item id"),
        ([[101, "0,1"]], "form position 1: the option order must be a list"),
        ([[101, [0, 1.5]]], "form position 1 option order"),
        ([[101, [0, True]]], "form position 1 option order"),
        ([None, [101, [0, 1], "fixed"]], "form position 2: the third element"),
    ],
)
def test_damaged_forms_are_refused_naming_where(stored, where):
    with pytest.raises(InvalidForm, match=where):
        FrozenForm.decode(stored)
