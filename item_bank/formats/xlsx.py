"""Stream the rows of one sheet of an XLSX workbook, straight from its XML parts.

A bank workbook needs cell values only, so this reads just the workbook's sheet list, the
shared-string table and the chosen sheet, row by row, through defusedxml (no DTDs, no
entities). It is several times faster than a general spreadsheet library and never holds more
than one row of the sheet; the shared-string table (every distinct text of the workbook) is
held whole, as the format requires.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from xml.etree.ElementTree import Element

from item_bank.formats.base import FileRefused, Limits, parse_xml, xml_events
from item_bank.formats.safezip import SafeZip

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
SHARED_STRINGS = "xl/sharedStrings.xml"
#: Columns read; a bank template has 25. A cell further right refuses the row.
MAX_COLUMNS = 256
DTD_IN_WORKBOOK = "the workbook contains XML with a DTD or entities"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column(reference: str) -> int:
    """0-based column of a cell reference such as ``AB12``."""
    index = 0
    for ch in reference:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        else:
            break
    return index - 1


def _rich_text(element: Element, ns: str) -> str:
    # Plain (<t>) or rich (<r><t>) text; phonetic guides (<rPh>) are not part of the value.
    parts: list[str] = []
    for child in element:
        if child.tag == ns + "t":
            parts.append(child.text or "")
        elif child.tag == ns + "r":
            parts.extend(t.text or "" for t in child if t.tag == ns + "t")
    return "".join(parts)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _events(archive: SafeZip, path: str) -> Iterator[tuple[str, Element]]:
    with archive.open(path) as stream:
        yield from xml_events(stream, what=path, refusal=DTD_IN_WORKBOOK)


def _shared_strings(archive: SafeZip) -> list[str]:
    strings: list[str] = []
    if SHARED_STRINGS not in archive.names:
        return strings
    events = _events(archive, SHARED_STRINGS)
    for _, table in events:
        ns = table.tag[: table.tag.find("}") + 1]
        for event, element in events:
            if event == "end" and element.tag == ns + "si":
                strings.append(_rich_text(element, ns))
                table.clear()  # each string is kept as text; its elements may go
        break
    return strings


def _sheet_path(archive: SafeZip, limits: Limits, wanted: str) -> str:
    if WORKBOOK not in archive.names or WORKBOOK_RELS not in archive.names:
        raise FileRefused("not a readable XLSX workbook (it has no xl/workbook.xml)")
    try:
        workbook = parse_xml(archive.read(WORKBOOK, limits.max_xml_bytes))
        relations = parse_xml(archive.read(WORKBOOK_RELS, limits.max_xml_bytes))
    except FileRefused as refused:
        if "DTD" in refused.message:
            raise FileRefused(DTD_IN_WORKBOOK) from None
        raise
    sheets: list[tuple[str, str]] = []
    for element in workbook.iter():
        if _local(element.tag) == "sheet":
            relation = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
            sheets.append((element.get("name") or "", relation))
    if not sheets:
        raise FileRefused("the workbook has no sheets")
    chosen = next((s for s in sheets if s[0].strip().lower() == wanted), sheets[0])
    targets = {r.get("Id"): r.get("Target") or "" for r in relations}
    target = targets.get(chosen[1], "")
    path = target[1:] if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    if path not in archive.names:
        raise FileRefused(f"not a readable XLSX workbook (sheet {chosen[0]!r} is missing)")
    return path


def sheet_rows(
    archive: SafeZip, limits: Limits, *, sheet: str = "items"
) -> Iterator[tuple[int, list[object]]]:
    """The non-empty rows of the sheet named ``sheet`` (any case), else of the first sheet.

    Parameters
    ----------
    archive
        The workbook, already checked as a ZIP.
    limits
        ``max_xml_bytes`` bounds the workbook's sheet list.
    sheet
        Name of the sheet to read, compared without case.

    Yields
    ------
    tuple[int, list[object]]
        The spreadsheet row number (1-based) and its cell values by column: ``str`` for text,
        ``int``/``float`` for numbers, ``bool``, or ``None`` for an empty cell.

    Raises
    ------
    FileRefused
        For a workbook that is damaged, declares a DTD, or has a cell beyond `MAX_COLUMNS`.
    """
    path = _sheet_path(archive, limits, sheet.lower())
    strings = _shared_strings(archive)
    ns = ""
    sheet_data: Element | None = None
    number = 0
    for event, element in _events(archive, path):
        tag = element.tag
        if event == "start":
            if not ns:
                ns = tag[: tag.find("}") + 1]
            elif tag == ns + "sheetData":
                sheet_data = element
            continue
        if tag != ns + "row":
            continue
        number = int(element.get("r") or number + 1)
        cells: dict[int, object] = {}
        position = -1
        for cell in element:
            reference = cell.get("r")
            position = _column(reference) if reference else position + 1
            if position >= MAX_COLUMNS:
                raise FileRefused(
                    f"a cell lies beyond column {MAX_COLUMNS}", location=f"row {number}"
                )
            cells[position] = _value(cell, ns, strings)
        if sheet_data is not None:
            sheet_data.clear()  # the row is read: let it go
        if any(value is not None and value != "" for value in cells.values()):
            row: list[object] = [None] * (max(cells) + 1)
            for position, value in cells.items():
                row[position] = value
            yield number, row


def _value(cell: Element, ns: str, strings: list[str]) -> object:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = cell.find(ns + "is")
        return _rich_text(inline, ns) if inline is not None else ""
    found = cell.find(ns + "v")
    text = found.text if found is not None else None
    if text is None:
        return None
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            raise FileRefused(
                f"not a readable XLSX workbook (bad shared string {text!r})"
            ) from None
    if kind == "b":
        return text.strip() == "1"
    if kind in {"str", "e", "d"}:
        return text
    try:
        return _number(text)
    except ValueError:
        return text
