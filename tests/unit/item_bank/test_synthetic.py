"""Synthetic banks: reproducible by seed, shaped like SKD, valid in every format written to."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from item_bank.formats import ParsedItem, open_bank_file, write_json
from item_bank.models import ItemStatus, ScoringKind
from item_bank.synthetic import SKD_SECTIONS, SyntheticSection, synthetic_items, write_csv

ROOT = Path(__file__).parents[3]


def test_same_seed_same_bank_other_seed_other_bank() -> None:
    first = list(synthetic_items(50, seed=7))
    assert first == list(synthetic_items(50, seed=7))
    assert [i.content_hash() for i in first] != [
        i.content_hash() for i in synthetic_items(50, seed=8)
    ]


def test_shape_of_an_skd_bank() -> None:
    items = list(synthetic_items(600, seed=1, irt=True))
    assert len({i.code for i in items}) == 600
    by_section = {s.code: [i for i in items if i.section == s.code] for s in SKD_SECTIONS}
    assert {code: len(group) for code, group in by_section.items()} == {
        "TWK": 200,
        "TIU": 200,
        "TKP": 200,
    }
    for item in by_section["TKP"]:
        assert item.scoring is ScoringKind.WEIGHTED
        assert sorted(o.points or 0 for o in item.options) == [1, 2, 3, 4, 5]
    for item in by_section["TWK"] + by_section["TIU"]:
        assert item.scoring is ScoringKind.SINGLE
        assert item.key in {o.label for o in item.options}
    p_values = [i.p_value or 0 for i in items]
    assert 0.55 < sum(p_values) / len(p_values) < 0.70  # Beta(5, 3) has mean 0.625
    assert all(i.irt is not None and i.irt.a > 0 and 0 <= i.irt.c <= 0.25 for i in items)
    assert 0 < sum(i.status is ItemStatus.DRAFT for i in items) < 60
    assert len({i.topic for i in by_section["TWK"]}) >= 6


def test_custom_sections() -> None:
    teknis = SyntheticSection("TEKNIS", ScoringKind.SINGLE, ("hukum",), options=4)
    items = list(synthetic_items(5, seed=2, sections=[teknis], start=100))
    assert [i.code for i in items] == [f"TEKNIS-{n:06d}" for n in range(100, 105)]
    assert all(len(i.options) == 4 for i in items)


@pytest.mark.parametrize(("delimiter", "decimal_comma"), [(",", False), (";", True)])
def test_csv_writer_output_reads_back_identically(delimiter: str, decimal_comma: bool) -> None:
    items = list(synthetic_items(120, seed=4, irt=True))
    text = io.StringIO(newline="")
    assert write_csv(items, text, delimiter=delimiter, decimal_comma=decimal_comma) == 120
    data = text.getvalue().encode()
    assert data.splitlines()[0].count(delimiter.encode()) == 24
    assert b"\r\n" in data
    bank = open_bank_file("bank.csv", io.BytesIO(data))
    parsed = [r.item for r in bank.records() if isinstance(r, ParsedItem)]
    assert parsed == items


def test_published_json_schema_accepts_what_is_written() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = json.loads((ROOT / "docs" / "item.schema.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    out = io.BytesIO()
    write_json(synthetic_items(30, seed=9, irt=True), out)
    assert validator.is_valid(json.loads(out.getvalue()))
    demo = json.loads((ROOT / "tests" / "fixtures" / "banks" / "demo" / "bank.json").read_text())
    assert validator.is_valid(demo)
    broken = {"format": "ujian-bank/1", "items": [{"code": "X", "section": "TWK"}]}
    assert not validator.is_valid(broken)
