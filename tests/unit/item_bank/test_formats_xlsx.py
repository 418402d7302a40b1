"""XLSX bank files: the template's columns in a workbook, typed cells, hostile workbooks refused."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

from item_bank.errors import Problem
from item_bank.formats import ParsedItem, open_bank_file
from item_bank.synthetic import synthetic_items, write_xlsx


def read(data: bytes, name: str = "bank.xlsx") -> tuple[list[ParsedItem], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data))
    assert bank.format == "xlsx"
    records = list(bank.records())
    return (
        [r for r in records if isinstance(r, ParsedItem)],
        [r for r in records if isinstance(r, Problem)],
    )


def workbook_bytes(rows: list[list[object]], *, sheets: tuple[str, ...] = ("items",)) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = sheets[0]
    for extra in sheets[1:]:
        book.create_sheet(extra)
    target = book[next((s for s in sheets if s.lower() == "items"), sheets[0])]
    for row in rows:
        target.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_synthetic_bank_reads_back_identically() -> None:
    items = list(synthetic_items(60, seed=11, irt=True))
    out = io.BytesIO()
    assert write_xlsx(items, out) == 60
    parsed, problems = read(out.getvalue())
    assert problems == []
    assert [p.item for p in parsed] == items
    assert parsed[0].location == "row 2"


def test_typed_cells_and_the_items_sheet() -> None:
    rows: list[list[object]] = [
        ["Code", "Section", "Topic", "Stem", "Key", "Option_A", "Option_B", "P_Value", "Level"],
        ["TIU-1", "TIU", 2024, "12 x 12 = ?", "B", 124, 144, 0.8, "mudah"],
        [None, None, None, None, None, None, None, None, None],
        ["TIU-2", "TIU", "aritmetika", "2,5 + 2,5 = ?", "a", 5, 2.5, "0,4", None],
    ]
    parsed, problems = read(workbook_bytes(rows, sheets=("petunjuk", "Items")))
    assert problems == []
    assert [(p.location, p.item.code) for p in parsed] == [("row 2", "TIU-1"), ("row 4", "TIU-2")]
    first, second = (p.item for p in parsed)
    assert first.topic == "2024"
    assert [o.text for o in first.options] == ["124", "144"]
    assert first.p_value == 0.8
    assert [o.text for o in second.options] == ["5", "2.5"]
    assert second.p_value == 0.4


def test_problems_are_located_by_row() -> None:
    rows: list[list[object]] = [
        ["code", "section", "topic", "stem", "key", "option_a", "option_b", "colour"],
        ["T-1", "TWK", "t", "soal", "C", "a", "b", "merah"],
    ]
    _, problems = read(workbook_bytes(rows))
    assert [(p.location, p.field) for p in problems] == [("row 1", "header"), ("row 2", "key")]


def test_a_workbook_with_a_dtd_is_refused() -> None:
    clean = workbook_bytes([["code", "section", "topic", "stem", "key", "option_a", "option_b"]])
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(clean)) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet",
                    b'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet',
                    1,
                )
            target.writestr(info, data)
    _, problems = read(hostile.getvalue())
    assert [p.message for p in problems] == ["the workbook contains XML with a DTD or entities"]


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def excel_workbook(sheet_data: str, shared: list[str]) -> bytes:
    """A workbook as Excel writes it: shared strings, a second sheet first in the file."""
    strings = "".join(f"<si>{s}</si>" for s in shared)
    parts = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Petunjuk" sheetId="1" r:id="rId1"/>'
            '<sheet name="ITEMS" sheetId="2" r:id="rId2"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Target="worksheets/sheet2.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}" count="{len(shared)}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>',
        "xl/worksheets/sheet2.xml": (
            f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>'
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_workbook_as_excel_writes_it() -> None:
    shared = [
        "<t>code</t>", "<t>section</t>", "<t>topic</t>", "<t>stem</t>", "<t>key</t>",
        "<t>option_a</t>", "<t>option_b</t>", "<t>p_value</t>", "<t>TWK-7</t>", "<t>TWK</t>",
        "<t>pancasila</t>",
        # Rich text with a phonetic guide that is not part of the value.
        '<r><t>Sila </t></r><r><rPr><b/></rPr><t xml:space="preserve">pertama </t></r>'
        "<rPh><t>x</t></rPh><r><t>adalah ...</t></r>",
        "<t>Bintang</t>",
    ]  # fmt: skip
    header = "".join(
        f'<c r="{column}1" t="s"><v>{index}</v></c>' for index, column in enumerate("ABCDEFGH")
    )
    data = (
        f'<row r="1">{header}</row>'
        '<row r="3"><c r="A3" t="s"><v>8</v></c><c r="B3" t="s"><v>9</v></c>'
        '<c r="C3" t="s"><v>10</v></c><c r="D3" t="s"><v>11</v></c>'
        '<c r="E3" t="str"><f>CHAR(65)</f><v>A</v></c><c r="F3" t="s"><v>12</v></c>'
        '<c r="G3" t="inlineStr"><is><t>Rantai</t></is></c><c r="H3"><v>0.625</v></c></row>'
    )
    parsed, problems = read(excel_workbook(data, shared))
    assert problems == []
    assert len(parsed) == 1
    item = parsed[0].item
    assert parsed[0].location == "row 3"
    assert (item.code, item.section, item.topic, item.key) == ("TWK-7", "TWK", "pancasila", "A")
    assert item.stem == "Sila pertama adalah ..."
    assert [o.text for o in item.options] == ["Bintang", "Rantai"]
    assert item.p_value == 0.625


def test_a_cell_far_beyond_the_template_is_refused() -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c><c r="XFD1"><v>1</v></c></row>'
    )
    _, problems = read(excel_workbook(data, []))
    assert problems == [Problem("bank.xlsx", "row 1", "", "a cell lies beyond column 256")]


def test_a_zip_that_is_not_a_workbook_named_xlsx() -> None:
    bank = open_bank_file("bank.xlsx", io.BytesIO(b"code,section\n"))
    assert [p.message for p in bank.records()] == ["not a XLSX file (not a ZIP)"]
