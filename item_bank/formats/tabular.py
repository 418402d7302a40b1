"""Read item banks from spreadsheets, CSV and XLSX, one row per item, streamed row by row."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import BinaryIO

from item_bank.errors import Problem
from item_bank.formats.base import (
    FileRefused,
    LimitedReader,
    Limits,
    ParsedItem,
    finish,
)
from item_bank.formats.safezip import SafeZip
from item_bank.formats.xlsx import sheet_rows
from item_bank.models import OPTION_LABELS
from item_bank.validation import MediaResolver, RawItem, RawOption, RawStimulus, Rules

#: Option columns, ``option_a`` ... ``option_f``, and their points, ``points_a`` ... ``points_f``.
OPTION_COLUMNS = tuple(f"option_{label.lower()}" for label in OPTION_LABELS)
POINTS_COLUMNS = tuple(f"points_{label.lower()}" for label in OPTION_LABELS)

#: The template's columns, in the order the template and the synthetic writers use.
COLUMNS: tuple[str, ...] = (
    "code",
    "section",
    "topic",
    "stem",
    "scoring",
    "key",
    *OPTION_COLUMNS,
    *POINTS_COLUMNS,
    "p_value",
    "level",
    "irt_a",
    "irt_b",
    "irt_c",
    "status",
    "media",
)
#: Columns of an item's option order, read when present: ``shuffle`` (yes/no; blank is yes)
#: and ``fixed`` (labels of the options that keep their place, such as ``E`` or ``C,D``).
ORDER_COLUMNS: tuple[str, ...] = ("shuffle", "fixed")
#: Columns of an item's passage: ``stimulus`` (its code) and ``stimulus_text`` (its HTML, which
#: later rows of the same passage may leave empty).
STIMULUS_COLUMNS: tuple[str, ...] = ("stimulus", "stimulus_text")
#: The item's *pembahasan* (explanation shown on a practice exam's review), when present.
EXPLANATION_COLUMNS: tuple[str, ...] = ("explanation",)
#: Every column a bank file may have.
ALL_COLUMNS: tuple[str, ...] = (
    *COLUMNS,
    *ORDER_COLUMNS,
    *STIMULUS_COLUMNS,
    *EXPLANATION_COLUMNS,
)
#: Columns a bank file must have; the others may be left out.
REQUIRED_COLUMNS: tuple[str, ...] = ("code", "section", "topic", "stem", "option_a", "option_b")

_KNOWN = frozenset(ALL_COLUMNS)
_DELIMITERS = (",", ";", "\t")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _column_name(value: object) -> str:
    # "Option A", "OPTION_A" and " option_a " all name the same column.
    return "_".join(str(value or "").strip().lower().split())


class _Header:
    """The header row: which column index holds which template column."""

    def __init__(self, cells: Sequence[object], file: str) -> None:
        self.index: dict[str, int] = {}
        self.width = len(cells)
        self.problems: list[Problem] = []
        unknown: list[str] = []
        for position, cell in enumerate(cells):
            name = _column_name(cell)
            if not name:
                continue
            if name not in _KNOWN:
                unknown.append(str(cell).strip())
            elif name in self.index:
                self.problems.append(Problem(file, "row 1", name, "column appears twice"))
            else:
                self.index[name] = position
        if unknown:
            listed = ", ".join(repr(u[:40]) for u in unknown[:10])
            if len(unknown) > 10:
                listed += f" and {len(unknown) - 10} more"
            self.problems.append(
                Problem(
                    file,
                    "row 1",
                    "header",
                    f"unknown column(s) {listed}; the template's columns are:"
                    f" {', '.join(ALL_COLUMNS)}",
                )
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in self.index]
        if missing:
            self.problems.append(
                Problem(file, "row 1", "header", f"missing column(s): {', '.join(missing)}")
            )
        self.usable = not missing
        self._options = [
            (label, self.index.get(text), self.index.get(points), text, points)
            for label, text, points in zip(
                OPTION_LABELS, OPTION_COLUMNS, POINTS_COLUMNS, strict=True
            )
        ]
        self._plain = [
            (name, self.index[name])
            for name in ALL_COLUMNS
            if name in self.index
            and name not in OPTION_COLUMNS
            and name not in POINTS_COLUMNS
            and name not in STIMULUS_COLUMNS
        ]
        self._passages: dict[str, object] = {}  # passage code -> its text, from its first row

    def item(self, cells: Sequence[object], location: str) -> RawItem:
        """One data row as a raw item."""
        if len(cells) < self.width:
            cells = [*cells, *([None] * (self.width - len(cells)))]
        values = [None if value == "" else value for value in cells]
        raw = RawItem(location=location)
        for name, at in self._plain:
            setattr(raw, name, values[at])
        raw.stimulus = self._stimulus(values, location)
        gap: str | None = None
        for label, text_at, points_at, column, points_column in self._options:
            text = None if text_at is None else values[text_at]
            points = None if points_at is None else values[points_at]
            if _blank(text) and _blank(points):
                gap = gap or column
                continue
            if gap is not None:
                # A hole before a filled option: report the empty one rather than relabel.
                raw.options.append(RawOption(label=gap[-1].upper(), text=None, text_field=gap))
                gap = None
            raw.options.append(
                RawOption(
                    label=label,
                    text=text,
                    points=points,
                    label_field=column,
                    text_field=column,
                    points_field=points_column,
                )
            )
        return raw

    def _stimulus(self, values: Sequence[object], location: str) -> RawStimulus | None:
        code_at, text_at = (self.index.get(name) for name in STIMULUS_COLUMNS)
        code = None if code_at is None else values[code_at]
        text = None if text_at is None else values[text_at]
        if _blank(code) and _blank(text):
            return None
        key = str(code).strip() if not _blank(code) else ""
        if _blank(text) and key in self._passages:
            text = self._passages[key]  # the passage was written out on an earlier row
        elif key and not _blank(text):
            self._passages.setdefault(key, text)
        return RawStimulus(
            code=code,
            content=text,
            location=location,
            code_field="stimulus",
            content_field="stimulus_text",
        )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_empty_row(cells: Sequence[object]) -> bool:
    return all(_blank(c) for c in cells)


def _rows_to_records(
    rows: Iterable[tuple[int, Sequence[object]]],
    *,
    file: str,
    rules: Rules,
    resolve_media: MediaResolver | None,
) -> Iterator[ParsedItem | Problem]:
    header: _Header | None = None
    for number, cells in rows:
        if header is None:
            if _is_empty_row(cells):
                continue
            if number != 1:
                yield Problem(file, f"row {number}", "header", "the header must be row 1")
            header = _Header(cells, file)
            yield from header.problems
            if not header.usable:
                return
            continue
        if _is_empty_row(cells):
            continue
        location = f"row {number}"
        extra = [c for c in cells[header.width :] if not _blank(c)]
        if extra:
            yield Problem(
                file,
                location,
                "",
                f"row has {len(cells)} cells but the header names {header.width} columns",
            )
            continue
        yield from finish(
            header.item(cells, location), file=file, rules=rules, resolve_media=resolve_media
        )
    if header is None:
        yield Problem(file, "row 1", "header", "the file is empty: expected a header row")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header line: ``;`` (Indonesian-locale spreadsheets), ``,`` or tab.

    Counts each candidate outside quoted text and takes the most frequent; ``,`` on a tie.
    """
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv(
    stream: BinaryIO,
    *,
    file: str,
    rules: Rules,
    limits: Limits,
    resolve_media: MediaResolver | None,
) -> Iterator[ParsedItem | Problem]:
    """Stream the items of a CSV bank file.

    UTF-8 with or without a byte-order mark; ``,``, ``;`` or tab as delimiter (sniffed from
    the header); CRLF or LF; quoted fields may hold line breaks. With ``;`` a decimal comma
    (``0,62``) is read as a decimal point. Locations are spreadsheet rows (the header is row 1).
    Memory stays flat: one row at a time.
    """
    # Undecodable bytes become lone surrogates, so the row holding them can be named exactly.
    text = io.TextIOWrapper(
        io.BufferedReader(LimitedReader(stream, limits.max_file_bytes, "the file")),
        encoding="utf-8-sig",
        errors="surrogateescape",
        newline="",
    )
    last_row = 0

    def numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        nonlocal last_row
        for row in reader:
            last_row += 1
            if _NOT_UTF8.search("".join(row)):
                raise FileRefused(
                    "the file is not UTF-8 text: save it from the spreadsheet as 'CSV UTF-8'",
                    location=f"row {last_row}",
                )
            yield last_row, row

    try:
        header_line = text.readline()
        delimiter = sniff_delimiter(header_line)
        if delimiter == ";":
            rules = replace(rules, decimal_comma=True)
        reader = csv.reader(itertools.chain([header_line], text), delimiter=delimiter)
        yield from _rows_to_records(
            numbered(reader), file=file, rules=rules, resolve_media=resolve_media
        )
    except csv.Error as error:
        raise FileRefused(f"unreadable CSV ({error})", location=f"row {last_row + 1}") from None


def read_xlsx(
    archive: SafeZip,
    *,
    file: str,
    rules: Rules,
    limits: Limits,
    resolve_media: MediaResolver | None,
) -> Iterator[ParsedItem | Problem]:
    """Stream the items of an XLSX workbook (checked as a ZIP by the caller).

    Reads the sheet named ``items`` or else the first sheet, with the CSV template's columns;
    cells may be typed (numbers stay numbers; a number in a text column is read as text, and a
    decimal comma in a text cell is accepted).
    """
    rules = replace(rules, decimal_comma=True, numbers_as_text=True)
    yield from _rows_to_records(
        sheet_rows(archive, limits), file=file, rules=rules, resolve_media=resolve_media
    )
