"""CSV bank files as spreadsheets really save them, read as a stream with row-located problems."""

from __future__ import annotations

import io
from pathlib import Path

from item_bank.errors import Problem
from item_bank.formats import Limits, ParsedItem, check_upload, open_bank_file
from item_bank.models import ScoringKind
from item_bank.synthetic import synthetic_items, write_csv

BANKS = Path(__file__).parents[2] / "fixtures" / "banks"
SKD = frozenset({"TWK", "TIU", "TKP"})
HEADER = "code,section,topic,stem,key,option_a,option_b,option_c"


def read(name: str, data: bytes, **options: object) -> tuple[list[ParsedItem], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data), **options)  # type: ignore[arg-type]
    records = list(check_upload([bank]))
    return (
        [r for r in records if isinstance(r, ParsedItem)],
        [r for r in records if isinstance(r, Problem)],
    )


def test_indonesian_locale_file_bom_semicolons_crlf_decimal_comma() -> None:
    data = (BANKS / "indonesian-locale.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    items, problems = read("soal.csv", data, known_sections=SKD)
    assert problems == []
    assert [(p.location, p.item.code) for p in items] == [
        ("row 2", "TWK-NKRI-001"),
        ("row 3", "TIU-ARI-002"),
        ("row 4", "TKP-SOS-003"),
    ]
    nkri, arith, social = (p.item for p in items)
    # A line break typed in a cell is shown as one (HTML alone would fold it into a space).
    assert nkri.stem == "Wilayah NKRI berbentuk ...<br>(pilih satu)"
    assert nkri.p_value == 0.55
    assert arith.key == "A"
    assert arith.stem == "Jika x &lt; y &amp; y &lt; 10, manakah yang pasti benar?"
    assert [o.text for o in arith.options] == ["x &lt; 10", "x &gt; 10", "x = 10", "y = x"]
    assert social.scoring is ScoringKind.WEIGHTED
    assert [o.points for o in social.options] == [5.0, 2.0, 1.0, 3.0, 4.0]


def test_every_problem_of_the_file_is_reported_with_its_row() -> None:
    items, problems = read("errors.csv", (BANKS / "errors.csv").read_bytes(), known_sections=SKD)
    assert [p.item.code for p in items] == ["TWK-OK-001"]
    located = [(p.location, p.field) for p in problems]
    assert located == [
        ("row 1", "header"),
        ("row 3", "section"),
        ("row 3", "stem"),
        ("row 3", "key"),
        ("row 3", "p_value"),
        ("row 3", "level"),
        ("row 4", "key"),
        ("row 4", "points_b"),
        ("row 4", "points_c"),
        ("row 4", "p_value"),
        ("row 5", "code"),
        ("row 6", "code"),
        ("row 6", "key"),
    ]
    assert "'optoin_d'" in problems[0].message
    assert problems[10].message == (
        "duplicate code 'TWK-OK-001' in this upload (first at errors.csv, row 2)"
    )
    assert all(p.file == "errors.csv" for p in problems)


def test_rows_are_spreadsheet_rows_even_with_line_breaks_in_cells() -> None:
    data = (
        HEADER + "\n"
        'A-1,TWK,t,"baris satu\nbaris dua\nbaris tiga",A,x,y,z\n'
        "\n"
        "A-2,TWK,t,soal,Q,x,y,z\n"
    ).encode()
    _, problems = read("bank.csv", data)
    assert [(p.location, p.field) for p in problems] == [("row 4", "key")]


def test_header_is_case_and_space_insensitive() -> None:
    data = b"Code,SECTION,Topic,Stem,Key,Option A,option_B\nX-1,TIU,t,s,b,1,2\n"
    items, problems = read("bank.csv", data)
    assert problems == []
    assert items[0].item.key == "B"


def test_missing_required_columns_stop_the_file() -> None:
    _, problems = read("bank.csv", b"code,section,stem\nX-1,TIU,s\n")
    assert problems == [
        Problem("bank.csv", "row 1", "header", "missing column(s): topic, option_a, option_b")
    ]


def test_a_hole_between_options_is_named() -> None:
    data = (HEADER + ",option_d\nX-1,TIU,t,s,A,1,,3,4\n").encode()
    _, problems = read("bank.csv", data)
    assert [(p.field, p.message) for p in problems] == [("option_b", "option B is empty")]


def test_extra_cells_beyond_the_header() -> None:
    _, problems = read("bank.csv", (HEADER + "\nX-1,TIU,t,s,A,1,2,3,surplus\n").encode())
    assert problems[0].location == "row 2"
    assert "9 cells" in problems[0].message


def test_decimal_comma_only_in_semicolon_files() -> None:
    data = b'code,section,topic,stem,key,option_a,option_b,p_value\nX-1,TIU,t,s,A,1,2,"0,5"\n'
    _, problems = read("bank.csv", data)
    assert [p.message for p in problems] == ["expected a number, got '0,5'"]


def test_tab_separated_files_are_read() -> None:
    data = b"code\tsection\ttopic\tstem\tkey\toption_a\toption_b\nX-1\tTIU\tt\ts\tA\t1\t2\n"
    items, problems = read("bank.txt", data)
    assert problems == []
    assert items[0].item.code == "X-1"


def test_not_utf8_is_refused_with_advice() -> None:
    data = (HEADER + "\nX-1,TIU,t,Caf\xe9,A,1,2,3\n").encode("cp1252")
    _, problems = read("bank.csv", data)
    assert problems == [
        Problem(
            "bank.csv",
            "row 2",
            "",
            "the file is not UTF-8 text: save it from the spreadsheet as 'CSV UTF-8'",
        )
    ]


def test_empty_file() -> None:
    _, problems = read("bank.csv", b"")
    assert [p.message for p in problems] == ["the file is empty: expected a header row"]


def test_oversized_upload_is_refused() -> None:
    data = (HEADER + "\n" + "X-1,TIU,t,s,A,1,2,3\n" * 100).encode()
    _, problems = read("bank.csv", data, limits=Limits(max_file_bytes=1000))
    assert problems[-1].message == "the file is larger than the limit of 1000 bytes"


class CountingStream(io.RawIOBase):
    """A stream that records how far it has been read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


def test_records_stream_without_reading_the_whole_file() -> None:
    text = io.StringIO()
    write_csv(synthetic_items(5000, seed=3), text)
    data = text.getvalue().encode()
    stream = CountingStream(data)
    records = open_bank_file("big.csv", stream).records()  # type: ignore[arg-type]
    first = next(records)
    assert isinstance(first, ParsedItem)
    assert stream.consumed < len(data) / 10
    assert sum(1 for _ in records) == 4999
