"""The native bank format: JSON (``ujian-bank/1``) read as a stream, written one item per line.

The document is ``{"format": "ujian-bank/1", "items": [ ... ]}`` (schema: docs/item.schema.json).
The reader never holds more than one item plus a read-ahead chunk, and knows the line each item
starts on, so problems are reported as ``items[3] (line 40)``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, BinaryIO, TextIO

from item_bank.errors import Problem
from item_bank.formats.base import (
    FileRefused,
    LimitedReader,
    Limits,
    MediaLayout,
    ParsedItem,
    finish,
)
from item_bank.models import Item, Media, ScoringKind, Stimulus
from item_bank.validation import MediaResolver, RawItem, RawOption, RawStimulus, Rules

FORMAT = "ujian-bank/1"
#: Name of the bank document inside a native package ZIP.
PACKAGE_BANK = "bank.json"

ITEM_FIELDS = (
    "code", "section", "topic", "stem", "scoring", "key", "options", "p_value", "level", "irt",
    "status", "media", "source", "shuffle", "stimulus", "explanation",
)  # fmt: skip
STIMULUS_FIELDS = ("code", "content", "title")
OPTION_FIELDS = ("label", "text", "points", "fixed")
IRT_FIELDS = ("a", "b", "c")
TOP_FIELDS = ("format", "items", "title", "description")

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_CHUNK = 1 << 16


class _Scanner:
    """Walks a JSON text in chunks, decoding one value at a time and counting lines."""

    def __init__(self, text: TextIO, max_value_chars: int) -> None:
        self._text = text
        self.max_size = max_value_chars
        self.last_size = 0
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # the line number at buffer index _line_pos
        self._line_pos = 0

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._text.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        if self._pos:
            self._line += self._buf.count("\n", self._line_pos, self._pos)
            self._buf = self._buf[self._pos :]
            self._pos = self._line_pos = 0
        self._buf += chunk
        return True

    def line(self, pos: int | None = None) -> int:
        """Line number (1-based) of ``pos`` (default: the current position)."""
        pos = self._pos if pos is None else pos
        if pos >= self._line_pos:
            self._line += self._buf.count("\n", self._line_pos, pos)
            self._line_pos = pos
            return self._line
        return self._line - self._buf.count("\n", pos, self._line_pos)

    def where(self, pos: int | None = None) -> str:
        pos = self._pos if pos is None else pos
        column = pos - self._buf.rfind("\n", 0, pos)
        return f"line {self.line(pos)}, column {column}"

    def peek(self) -> str:
        while True:
            spaces = _WHITESPACE.match(self._buf, self._pos)
            assert spaces is not None  # the pattern matches the empty string
            self._pos = spaces.end()
            if self._pos < len(self._buf) or not self._fill():
                break
        return self._buf[self._pos] if self._pos < len(self._buf) else ""

    def expect(self, allowed: str, what: str) -> str:
        found = self.peek()
        if not found or found not in allowed:
            shown = repr(found) if found else "the end of the file"
            raise FileRefused(
                f"invalid JSON: expected {what}, found {shown}", location=self.where()
            )
        self._pos += 1
        return found

    def value(self) -> object:
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as error:
                # Most often the value just goes on in the next chunk; past the size limit it is
                # a real syntax error (or an item nobody should upload).
                if len(self._buf) - self._pos <= self.max_size and self._fill():
                    continue
                raise FileRefused(
                    f"invalid JSON: {error.msg}", location=self.where(error.pos)
                ) from None
            except RecursionError:
                raise FileRefused(
                    "invalid JSON: nested too deeply", location=self.where()
                ) from None
            if end == len(self._buf) and self._fill():
                continue  # a number at the chunk's end may go on
            self.last_size = end - self._pos
            self._pos = end
            return value

    def at_end(self) -> bool:
        return self.peek() == ""


def _raw_item(value: object, location: str, file: str) -> tuple[RawItem | None, list[Problem]]:
    if not isinstance(value, dict):
        return None, [Problem(file, location, "", "expected an item object")]
    problems = [
        Problem(file, location, name, f"unknown field; an item has: {', '.join(ITEM_FIELDS)}")
        for name in value
        if name not in ITEM_FIELDS
    ]
    raw = RawItem(
        location=location,
        code=value.get("code"),
        section=value.get("section"),
        topic=value.get("topic"),
        stem=value.get("stem"),
        scoring=value.get("scoring"),
        key=value.get("key"),
        p_value=value.get("p_value"),
        level=value.get("level"),
        status=value.get("status"),
        media=value.get("media"),
        source=value.get("source"),
        shuffle=value.get("shuffle"),
        explanation=value.get("explanation"),
        fields={"irt_a": "irt.a", "irt_b": "irt.b", "irt_c": "irt.c"},
    )
    irt = value.get("irt")
    if isinstance(irt, dict):
        raw.irt_a, raw.irt_b, raw.irt_c = irt.get("a"), irt.get("b"), irt.get("c")
        problems += [
            Problem(file, location, f"irt.{name}", "unknown field; irt has: a, b, c")
            for name in irt
            if name not in IRT_FIELDS
        ]
    elif irt is not None:
        problems.append(Problem(file, location, "irt", 'expected an object {"a", "b", "c"}'))
    stimulus = value.get("stimulus")
    if isinstance(stimulus, dict):
        raw.stimulus = RawStimulus(
            code=stimulus.get("code"),
            content=stimulus.get("content"),
            title=stimulus.get("title"),
            location=location,
        )
        problems += [
            Problem(
                file,
                location,
                f"stimulus.{name}",
                f"unknown field; a passage has: {', '.join(STIMULUS_FIELDS)}",
            )
            for name in stimulus
            if name not in STIMULUS_FIELDS
        ]
    elif stimulus is not None:
        problems.append(
            Problem(file, location, "stimulus", 'expected an object {"code", "content"}')
        )
    options = value.get("options")
    if isinstance(options, list):
        for position, option in enumerate(options):
            field = f"options[{position}]"
            if not isinstance(option, dict):
                problems.append(Problem(file, location, field, "expected an option object"))
                continue
            problems += [
                Problem(
                    file,
                    location,
                    f"{field}.{name}",
                    f"unknown field; an option has: {', '.join(OPTION_FIELDS)}",
                )
                for name in option
                if name not in OPTION_FIELDS
            ]
            raw.options.append(
                RawOption(
                    label=option.get("label"),
                    text=option.get("text"),
                    points=option.get("points"),
                    label_field=f"{field}.label",
                    text_field=f"{field}.text",
                    points_field=f"{field}.points",
                    fixed=option.get("fixed"),
                    fixed_field=f"{field}.fixed",
                )
            )
    elif options is not None:
        problems.append(Problem(file, location, "options", "expected a list of options"))
    return raw, problems


def read_json(
    stream: BinaryIO,
    *,
    file: str,
    rules: Rules,
    limits: Limits,
    resolve_media: MediaResolver | None,
) -> Iterator[ParsedItem | Problem]:
    """Stream the items of a native JSON bank file.

    Parameters
    ----------
    stream
        The file's bytes (UTF-8, a byte-order mark is allowed).
    file
        Its name, for reports.
    rules
        Validation rules of the upload.
    limits
        ``max_file_bytes`` and ``max_json_item_bytes`` apply.
    resolve_media
        Finds the images items refer to.

    Yields
    ------
    ParsedItem | Problem
        Each item in order, or its problems located as ``items[3] (line 40)``.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(LimitedReader(stream, limits.max_file_bytes, "the file")),
        encoding="utf-8-sig",
    )
    scanner = _Scanner(text, limits.max_json_item_bytes)
    top: dict[str, object] = {}
    try:
        if scanner.peek() != "{":
            raise FileRefused(
                f'expected a JSON object {{"format": "{FORMAT}", "items": [...]}}',
                location=scanner.where(),
            )
        scanner.expect("{", "'{'")
        while scanner.peek() != "}":
            if top:
                scanner.expect(",", "',' or '}'")
            key_line = scanner.where()
            key = scanner.value()
            if not isinstance(key, str):
                raise FileRefused("invalid JSON: expected a field name", location=key_line)
            scanner.expect(":", "':'")
            if key == "items" and scanner.peek() == "[":
                top[key] = True
                yield from _items(scanner, file=file, rules=rules, resolve_media=resolve_media)
            else:
                top[key] = scanner.value()
        scanner.expect("}", "'}'")
        if not scanner.at_end():
            raise FileRefused(
                "invalid JSON: text after the end of the document", location=scanner.where()
            )
    except UnicodeDecodeError:
        raise FileRefused("the file is not UTF-8 text", location=scanner.where()) from None
    yield from _top_problems(top, file)


def _items(
    scanner: _Scanner, *, file: str, rules: Rules, resolve_media: MediaResolver | None
) -> Iterator[ParsedItem | Problem]:
    scanner.expect("[", "'['")
    index = 0
    while scanner.peek() != "]":
        if index:
            scanner.expect(",", "',' or ']'")
            scanner.peek()
        location = f"items[{index}] (line {scanner.line()})"
        value = scanner.value()
        index += 1
        if scanner.last_size > scanner.max_size:
            yield Problem(
                file, location, "", f"the item is larger than {scanner.max_size} characters"
            )
            continue
        raw, problems = _raw_item(value, location, file)
        if raw is not None:
            for record in finish(raw, file=file, rules=rules, resolve_media=resolve_media):
                # Structural problems (unknown fields) refuse an item that is otherwise valid.
                if isinstance(record, Problem) or not problems:
                    yield record
        yield from problems
    scanner.expect("]", "']'")


def _top_problems(top: Mapping[str, object], file: str) -> Iterator[Problem]:
    if top.get("format") != FORMAT:
        found = top.get("format")
        shown = "missing" if found is None else f"{found!r} is not supported"
        yield Problem(file, "", "format", f'{shown}: a bank file says "format": "{FORMAT}"')
    if "items" not in top:
        yield Problem(file, "", "items", "missing: the bank's items go in a list named items")
    elif top["items"] is not True:
        yield Problem(file, "", "items", "expected a list of items")
    for name in top:
        if name not in TOP_FIELDS:
            yield Problem(
                file, "", name, f"unknown field; a bank file has: {', '.join(TOP_FIELDS)}"
            )


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def item_to_json(item: Item, stimuli: Mapping[str, Stimulus] | None = None) -> dict[str, object]:
    """The native JSON object of one item (only the fields that are set).

    ``stimuli`` holds the passages items refer to, by code; an item's passage is written
    inside it (``KeyError`` when it is missing).
    """
    data: dict[str, object] = {
        "code": item.code,
        "section": item.section,
        "topic": item.topic,
        "stem": item.stem,
        "scoring": str(item.scoring),
    }
    if item.scoring is ScoringKind.SINGLE:
        data["key"] = item.key
    options: list[dict[str, object]] = []
    for o in item.options:
        option: dict[str, object] = {"label": o.label, "text": o.text}
        if o.points is not None:
            option["points"] = _number(o.points)
        if o.fixed:
            option["fixed"] = True
        options.append(option)
    data["options"] = options
    if not item.shuffle:
        data["shuffle"] = False
    if item.p_value is not None:
        data["p_value"] = item.p_value
    if item.level is not None:
        data["level"] = str(item.level)
    if item.irt is not None:
        data["irt"] = {"a": item.irt.a, "b": item.irt.b, "c": item.irt.c}
    data["status"] = str(item.status)
    if item.media:
        data["media"] = [m.name for m in item.media]
    if item.source:
        data["source"] = dict(item.source)
    if item.stimulus_ref is not None:
        stimulus = (stimuli or {})[item.stimulus_ref]
        passage: dict[str, object] = {"code": stimulus.code, "content": stimulus.content}
        if stimulus.title:
            passage["title"] = stimulus.title
        data["stimulus"] = passage
    if item.explanation is not None:
        data["explanation"] = item.explanation
    return data


def write_json(
    items: Iterable[Item], out: IO[bytes], stimuli: Mapping[str, Stimulus] | None = None
) -> None:
    """Write items as a native JSON bank file, one item per line (UTF-8).

    Parameters
    ----------
    items
        The items; consumed once, never held together.
    out
        A binary stream to write to.
    stimuli
        The passages items refer to, by code (each is written inside its items).
    """
    out.write(f'{{"format": "{FORMAT}", "items": [\n'.encode())
    first = True
    for item in items:
        line = json.dumps(item_to_json(item, stimuli), ensure_ascii=False)
        out.write((("" if first else ",\n") + line).encode("utf-8"))
        first = False
    out.write(b"\n]}\n")


def write_json_package(
    items: Iterable[Item],
    media: Mapping[str, bytes],
    out: IO[bytes],
    stimuli: Mapping[str, Stimulus] | None = None,
) -> int:
    """Write a native package: a ZIP with ``bank.json`` and the items' images beside it.

    Parameters
    ----------
    items
        The items.
    media
        Image bytes by SHA-256 (hex), for every image the items use.
    out
        A binary stream for the ZIP (seekable or not).
    stimuli
        The passages items refer to, by code; their images are placed with the item's.

    Returns
    -------
    int
        How many image files the package holds.

    Raises
    ------
    KeyError
        When ``media`` lacks the bytes of an image an item uses.

    Notes
    -----
    Images are stored under the names the items use. An item whose image name is already
    taken by a different image goes to its own folder, ``<code>/bank.json``, with its images.
    """
    layout = MediaLayout()
    deferred: list[tuple[str, Item]] = []
    passages = stimuli or {}

    def passage_media(item: Item) -> tuple[Media, ...]:
        return () if item.stimulus_ref is None else passages[item.stimulus_ref].media

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(PACKAGE_BANK, "w") as bank:
            write_json(
                layout.place(
                    items,
                    deferred,
                    folder_of=lambda item: f"{item.code}/",
                    extra_of=passage_media,
                ),
                bank,
                passages,
            )
        folders: dict[str, list[Item]] = {}
        for folder, item in deferred:
            folders.setdefault(folder, []).append(item)
        for folder, grouped in folders.items():
            with archive.open(folder + PACKAGE_BANK, "w") as bank:
                write_json(grouped, bank, passages)
        return layout.write_media(archive, media)
