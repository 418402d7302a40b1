"""Pseudonyms: stable printed codes, mistyped searches detected, confusable letters forgiven."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError
from scoring.pseudonym import (
    ALPHABET,
    check_symbol,
    is_valid_pseudonym,
    normalize_pseudonym,
    pseudonym,
    pseudonyms,
)

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)
KEY = bytes(range(32))
SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]$")


def test_a_printed_slip_keeps_finding_its_row() -> None:
    # Slips already printed carry this code: the scheme must never change under them.
    assert pseudonym(KEY, "SKD-2024", "24100110000123") == "NHSK8-X78GA-9"


def test_codes_are_short_grouped_and_unambiguous() -> None:
    code = pseudonym(KEY, "SKD-2024", "24100110000123")
    assert SHAPE.match(code)
    assert not set(code) & set("ILOU")


def test_codes_depend_on_key_exam_and_candidate() -> None:
    base = pseudonym(KEY, "SKD-2024", "0001")
    assert pseudonym(KEY, "SKD-2024", "0001") == base
    assert pseudonym(bytes(32), "SKD-2024", "0001") != base
    assert pseudonym(KEY, "SKB-2024", "0001") != base
    assert pseudonym(KEY, "SKD-2024", "0002") != base
    # The separator keeps ("SKD-2024", "10001") apart from ("SKD-20241", "0001").
    assert pseudonym(KEY, "SKD-20241", "0001") != pseudonym(KEY, "SKD-2024", "10001")


def test_a_hundred_thousand_candidates_get_distinct_codes() -> None:
    codes = pseudonyms(KEY, "SKD-2024", (f"2410{i:010d}" for i in range(100_000)))
    assert len(set(codes)) == 100_000
    assert codes[:2] == [pseudonym(KEY, "SKD-2024", "24100000000000"), codes[1]]


def test_what_people_type_is_normalized() -> None:
    code = pseudonym(KEY, "SKD-2024", "24100110000123")
    typed = code.lower().replace("-", " ")
    assert normalize_pseudonym(typed) == code
    assert is_valid_pseudonym(typed)
    assert normalize_pseudonym("o1ilL-abcde-f") == "01111-ABCDE-F"


@pytest.mark.parametrize(
    "text", ["", "NHSK8-X78GA", "NHSK8-X78GA-99", "NHSK8-X78GA-U", "NHSK8/X78GA/9"]
)
def test_malformed_text_is_not_a_pseudonym(text: str) -> None:
    assert not is_valid_pseudonym(text)
    with pytest.raises(ScoringError, match="is not a pseudonym"):
        normalize_pseudonym(text)


@PROPERTY
@given(st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s), st.data())
def test_every_single_typo_and_neighbour_swap_is_detected(nomor: str, data: st.DataObject) -> None:
    code = pseudonym(KEY, "SKD-2024", nomor).replace("-", "")
    assert is_valid_pseudonym(code)
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in ALPHABET if c != code[position]]))
    assert not is_valid_pseudonym(code[:position] + wrong + code[position + 1 :])
    swap = data.draw(st.integers(0, len(code) - 2))
    if code[swap] != code[swap + 1]:
        swapped = code[:swap] + code[swap + 1] + code[swap] + code[swap + 2 :]
        assert not is_valid_pseudonym(swapped)


def test_check_symbol_detects_every_single_error_exhaustively_on_one_code() -> None:
    data = "K7QX3M9TP2"
    code = data + check_symbol(data)
    typos = [
        code[:i] + c + code[i + 1 :] for i in range(len(code)) for c in ALPHABET if c != code[i]
    ]
    assert is_valid_pseudonym(code)
    assert not any(is_valid_pseudonym(t) for t in typos)


def test_weak_keys_and_empty_fields_are_refused() -> None:
    with pytest.raises(ScoringError, match="at least 16 bytes"):
        pseudonym(b"short", "SKD-2024", "0001")
    with pytest.raises(ScoringError, match="nomor peserta"):
        pseudonym(KEY, "SKD-2024", "")
    with pytest.raises(ScoringError, match="exam code"):
        pseudonym(KEY, "SKD\x002024", "0001")
