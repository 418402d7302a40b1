"""Native JSON bank files: the demo bank's shape, line-located problems, media beside the file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from item_bank.errors import Problem
from item_bank.formats import Limits, ParsedItem, open_bank_file, write_json
from item_bank.models import ScoringKind
from item_bank.synthetic import synthetic_items

BANKS = Path(__file__).parents[2] / "fixtures" / "banks"
SKD = frozenset({"TWK", "TIU", "TKP"})


def beside(path: Path):  # type: ignore[no-untyped-def]
    """The resolver an application gives for a bank file whose media sit beside it."""

    def resolve(name: str) -> bytes | None:
        target = path.parent / name
        return target.read_bytes() if target.is_file() else None

    return resolve


def read(data: bytes, **options: object) -> tuple[list[ParsedItem], list[Problem]]:
    bank = open_bank_file("bank.json", io.BytesIO(data), **options)  # type: ignore[arg-type]
    assert bank.format == "json"
    records = list(bank.records())
    return (
        [r for r in records if isinstance(r, ParsedItem)],
        [r for r in records if isinstance(r, Problem)],
    )


def test_demo_shaped_bank_with_media_beside_it() -> None:
    path = BANKS / "demo" / "bank.json"
    bank = open_bank_file(
        "bank.json", path.open("rb"), known_sections=SKD, media_resolver=beside(path)
    )
    records = list(bank.records())
    assert all(isinstance(r, ParsedItem) for r in records), records
    twk, tkp, tiu = (r.item for r in records if isinstance(r, ParsedItem))
    assert (twk.code, twk.key, twk.p_value) == ("TWK-PANC-001", "C", 0.62)
    assert tkp.scoring is ScoringKind.WEIGHTED
    assert sorted(o.points or 0 for o in tkp.options) == [1, 2, 3, 4, 5]
    assert tkp.irt is not None
    assert tkp.irt.a == 1.1
    assert [m.name for m in tiu.media] == ["media/tiu-fig-001.svg"]
    assert tiu.media[0].content_type == "image/svg+xml"
    assert dict(tiu.source) == {"author": "Tim Soal", "year": "2024"}
    carried = bank.media()
    assert list(carried) == ["media/tiu-fig-001.svg"]
    assert carried["media/tiu-fig-001.svg"].sha256 == tiu.media[0].sha256


def test_locations_give_the_item_index_and_its_first_line() -> None:
    path = BANKS / "demo" / "bank.json"
    records = list(open_bank_file("bank.json", path.open("rb")).records())
    # Without a media resolver the figural item's image is missing: located at its item.
    problems = [r for r in records if isinstance(r, Problem)]
    assert problems == [
        Problem(
            "bank.json",
            "items[2] (line 18)",
            "media",
            "referenced image missing from the package: media/tiu-fig-001.svg",
        )
    ]
    lines = path.read_text().splitlines()
    assert '"code": "TIU-FIG-001"' in lines[17]


def test_item_problems_name_the_json_field() -> None:
    document = {
        "format": "ujian-bank/1",
        "items": [
            {
                "code": "TKP-1",
                "section": "TKP",
                "topic": "t",
                "stem": "s",
                "scoring": "weighted",
                "optoins": [],
                "options": [
                    {"label": "A", "text": "a", "points": 5},
                    {"label": "A", "text": "b", "points": "lima"},
                ],
                "irt": {"a": 1, "b": 0, "d": 1},
            }
        ],
    }
    _, problems = read(json.dumps(document, indent=1).encode())
    assert {(p.field, p.message) for p in problems} == {
        (
            "optoins",
            "unknown field; an item has: "
            + ", ".join(
                [
                    "code",
                    "section",
                    "topic",
                    "stem",
                    "scoring",
                    "key",
                    "options",
                    "p_value",
                    "level",
                    "irt",
                    "status",
                    "media",
                    "source",
                    "shuffle",
                    "stimulus",
                    "explanation",
                ]
            ),
        ),
        ("irt.d", "unknown field; irt has: a, b, c"),
        ("options[1].label", "duplicate option label 'A'"),
        ("options[1].points", "expected a number, got 'lima'"),
    }
    assert {p.location for p in problems} == {"items[0] (line 4)"}


def test_syntax_errors_are_located_by_line_and_column() -> None:
    data = b'{"format": "ujian-bank/1", "items": [\n{"code": "A"},\n{"code": "B" "section": 1}\n]}'
    items, problems = read(data)
    assert items == []
    assert problems[-1] == Problem(
        "bank.json", "line 3, column 14", "", "invalid JSON: Expecting ',' delimiter"
    )


def test_format_and_items_are_required() -> None:
    _, problems = read(b'{"items": [], "title": "Bank 2025", "colour": 1}')
    assert [(p.field, p.message) for p in problems] == [
        ("format", 'missing: a bank file says "format": "ujian-bank/1"'),
        ("colour", "unknown field; a bank file has: format, items, title, description"),
    ]
    _, problems = read(b'{"format": "ujian-bank/9", "items": {}}')
    assert [p.field for p in problems] == ["format", "items"]


def test_a_bare_list_is_refused() -> None:
    _, problems = read(b'[{"code": "A"}]')
    assert problems[0].message.startswith("expected a JSON object")


def test_an_item_over_the_size_limit_is_refused() -> None:
    stem = "x" * 5000
    data = json.dumps({"format": "ujian-bank/1", "items": [{"stem": stem}]}).encode()
    _, problems = read(data, limits=Limits(max_json_item_bytes=1000))
    assert problems == [
        Problem("bank.json", "items[0] (line 1)", "", "the item is larger than 1000 characters")
    ]


@pytest.mark.parametrize("chunked_at", [1, 7, 64])
def test_big_files_stream_in_chunks_with_exact_line_numbers(chunked_at: int) -> None:
    items = list(synthetic_items(900 + chunked_at, seed=chunked_at))
    out = io.BytesIO()
    write_json(items, out)
    parsed, problems = read(out.getvalue())
    assert problems == []
    assert [p.item for p in parsed] == items
    assert parsed[-1].location == f"items[{len(items) - 1}] (line {len(items) + 1})"


def test_utf8_bom_and_non_ascii_text() -> None:
    document = {
        "format": "ujian-bank/1",
        "items": [
            {
                "code": "TWK-1",
                "section": "TWK",
                "topic": "bahasa",
                "stem": "Kata baku dari “aktifitas” adalah …",
                "key": "B",
                "options": [
                    {"label": "A", "text": "aktifitas"},
                    {"label": "B", "text": "aktivitas"},
                ],
            }
        ],
    }
    data = b"\xef\xbb\xbf" + json.dumps(document, ensure_ascii=False).encode()
    parsed, problems = read(data)
    assert problems == []
    assert parsed[0].item.stem == "Kata baku dari “aktifitas” adalah …"


def test_absurdly_deep_nesting_is_refused() -> None:
    data = b'{"format": "ujian-bank/1", "items": [{"stem": ' + b"[" * 100_000 + b"]" * 100_000
    _, problems = read(data + b"}]}")
    assert problems[0] == Problem(
        "bank.json", "line 1, column 38", "", "invalid JSON: nested too deeply"
    )
