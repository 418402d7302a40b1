"""Bank files in and out: open any supported upload, stream its items, check an upload whole.

Formats read (chosen by content first, then by extension):

============  ==============================================================================
``.json``     native bank, ``{"format": "ujian-bank/1", "items": [...]}`` (docs/item.schema.json)
``.csv``      the template's columns, one row per item; ``,`` or ``;``; UTF-8 with or without BOM
``.xlsx``     the same columns, sheet ``items`` or the first sheet
``.xml``      one QTI 2.1 / 2.2 / 3.0 choice item
``.zip``      a QTI content package (``imsmanifest.xml``), or a native package: ``.json`` /
              ``.csv`` bank files with their images beside them
============  ==============================================================================

Formats written: native JSON (`write_json`, `write_json_package`) and QTI 3.0 packages
(`write_qti_package`); each reads back to the same content hashes. `write_export` picks the
container a format and its images need and refuses a file name that says otherwise.

Nothing here touches the file system or the network: readers take the bytes handed to them, and
images outside a package come through the caller's ``media_resolver``.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, BinaryIO

from item_bank.errors import Problem
from item_bank.formats.base import (
    DEFAULT_LIMITS,
    BankFile,
    FileRefused,
    Limits,
    MediaFile,
    ParsedItem,
    guarded,
    read_bounded,
)
from item_bank.formats.export import ExportRefused, ExportSummary, export_container, write_export
from item_bank.formats.media import MediaStore
from item_bank.formats.native_json import read_json, write_json, write_json_package
from item_bank.formats.qti import (
    MANIFEST,
    QtiDefaults,
    read_qti_item,
    read_qti_package,
    write_qti_package,
)
from item_bank.formats.safezip import SafeZip
from item_bank.formats.tabular import COLUMNS, read_csv, read_xlsx
from item_bank.validation import Rules

__all__ = [
    "COLUMNS",
    "DEFAULT_LIMITS",
    "BankFile",
    "ExportRefused",
    "ExportSummary",
    "Limits",
    "MediaFile",
    "MediaResolverBytes",
    "ParsedItem",
    "check_upload",
    "export_container",
    "open_bank_file",
    "write_export",
    "write_json",
    "write_json_package",
    "write_qti_package",
]

#: Finds the bytes of an image named relative to a bank file, or ``None`` when there is none.
MediaResolverBytes = Callable[[str], bytes | None]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_TEXT_BANKS = (".json", ".csv")


class _Bank:
    """A `BankFile` whose records come from a reader started on first iteration."""

    def __init__(
        self,
        name: str,
        format: str,
        produce: Callable[[], Iterator[ParsedItem | Problem]],
        store: MediaStore | None = None,
    ) -> None:
        self.name = name
        self.format = format
        self._produce = produce
        self._store = store

    def records(self) -> Iterator[ParsedItem | Problem]:
        """Every item of the file or a located problem, in file order; iterate once."""
        return guarded(self.name, self._produce())

    def media(self) -> Mapping[str, MediaFile]:
        """Images the file's items use, by path in the upload (complete after records())."""
        return self._store.used() if self._store is not None else {}


def _refused(name: str, format: str, message: str, location: str = "") -> _Bank:
    problem = Problem(name, location, "", message)
    return _Bank(name, format, lambda: iter([problem]))


class _Prefixed(io.RawIOBase):
    """A non-seekable stream with the bytes already peeked at put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _peek(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    if stream.seekable():
        start = stream.tell()
        head = stream.read(64)
        stream.seek(start)
        return head, stream
    head = stream.read(64)
    return head, io.BufferedReader(_Prefixed(head, stream))


def open_bank_file(
    name: str,
    stream: BinaryIO,
    *,
    known_sections: frozenset[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    media_resolver: MediaResolverBytes | None = None,
    default_section: str | None = None,
    default_topic: str | None = None,
    allow_missing_media: bool = False,
    accept_stimuli: bool = False,
) -> BankFile:
    """Open one uploaded bank file; its items stream from ``records()``.

    Parameters
    ----------
    name
        The file name the user gave (for reports and, when the content does not say, the
        format: ``.json``, ``.csv``, ``.xlsx``, ``.xml``, ``.zip``).
    stream
        The file's bytes; read lazily, once. ZIP-based files (XLSX, packages) need a seekable
        stream or are read into memory up to ``limits.max_file_bytes``.
    known_sections
        Section codes the bank knows; an item of another section is a located problem.
    limits
        Size, archive and points bounds (see `Limits`).
    media_resolver
        For files outside a package (a JSON bank and its ``media/`` folder): the bytes of an
        image named relative to the file, or ``None``. Packages carry their own images.
    default_section, default_topic
        Section and topic for QTI items whose metadata gives none.
    allow_missing_media
        Import items whose images are missing, without those images, instead of refusing them.
    accept_stimuli
        Read shared passages: each item that refers to one carries it as
        ``ParsedItem.stimulus``. Leave it off until the caller stores passages and shows them
        beside their items; off, such items are refused with the passage named.

    Returns
    -------
    BankFile
        ``format`` is ``json``, ``csv``, ``xlsx``, ``qti-xml``, ``qti-package``,
        ``json-package`` or ``unknown``. A file that cannot be opened at all yields its one
        problem from ``records()``.
    """
    rules = Rules(
        points_range=limits.points_range,
        known_sections=known_sections,
        allow_missing_media=allow_missing_media,
        accept_stimuli=accept_stimuli,
    )
    defaults = QtiDefaults(section=default_section, topic=default_topic)
    head, stream = _peek(stream)
    extension = posixpath.splitext(name.lower())[1]
    if head.startswith(_ZIP_MAGIC):
        return _open_zip(name, stream, rules=rules, limits=limits, defaults=defaults)
    if extension in {".xlsx", ".zip"}:
        return _refused(name, extension[1:], f"not a {extension[1:].upper()} file (not a ZIP)")

    store = MediaStore(
        (lambda path, _cap: media_resolver(path)) if media_resolver is not None else None, limits
    )
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if extension == ".json" or (extension not in {".csv", ".xml"} and text_head[:1] == b"{"):
        return _Bank(
            name,
            "json",
            lambda: read_json(
                stream, file=name, rules=rules, limits=limits, resolve_media=store.resolver()
            ),
            store,
        )
    if extension == ".xml" or (extension != ".csv" and text_head[:1] == b"<"):

        def qti_xml() -> Iterator[ParsedItem | Problem]:
            data = read_bounded(stream, limits.max_xml_bytes, "the XML file")
            yield from read_qti_item(
                data, file=name, rules=rules, resolve_media=store.resolver(), defaults=defaults
            )

        return _Bank(name, "qti-xml", qti_xml, store)
    if extension in {".csv", ".txt", ".tsv"}:
        return _Bank(
            name,
            "csv",
            lambda: read_csv(
                stream, file=name, rules=rules, limits=limits, resolve_media=store.resolver()
            ),
            store,
        )
    return _refused(
        name, "unknown", "unsupported file type: expected .json, .csv, .xlsx, .xml or .zip"
    )


def _open_zip(
    name: str, stream: BinaryIO, *, rules: Rules, limits: Limits, defaults: QtiDefaults
) -> BankFile:
    try:
        archive = SafeZip(stream, limits)
    except FileRefused as refused:
        return _refused(name, "zip", refused.message, refused.location)
    names = archive.names
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        # A spreadsheet carries no images: media referenced from its rows are missing.
        return _Bank(
            name,
            "xlsx",
            lambda: read_xlsx(archive, file=name, rules=rules, limits=limits, resolve_media=None),
        )

    def lookup(path: str, cap: int) -> bytes | None:
        if path not in archive.names:
            return None
        with archive.open(path) as entry:
            return entry.read(cap + 1)

    store = MediaStore(lookup, limits)
    if MANIFEST in names:
        return _Bank(
            name,
            "qti-package",
            lambda: read_qti_package(
                archive,
                file=name,
                rules=rules,
                limits=limits,
                resolver_for=store.resolver,
                defaults=defaults,
            ),
            store,
        )
    # Shallow files first: write_json_package puts the odd item with a clashing image name in
    # a folder of its own, after the main bank.json.
    banks = sorted(
        (
            n
            for n in names
            if n.lower().endswith(_TEXT_BANKS)
            and not any(part.startswith((".", "__MACOSX")) for part in n.split("/"))
        ),
        key=lambda n: (n.count("/"), n),
    )
    if not banks:
        return _refused(
            name,
            "zip",
            "the ZIP holds neither imsmanifest.xml (a QTI package) nor a .json or .csv bank file",
        )

    def package() -> Iterator[ParsedItem | Problem]:
        for entry in banks:
            file = f"{name}:{entry}"
            resolve = store.resolver(posixpath.dirname(entry))
            with archive.open(entry) as data:
                reader = read_json if entry.lower().endswith(".json") else read_csv
                yield from guarded(
                    file,
                    reader(data, file=file, rules=rules, limits=limits, resolve_media=resolve),
                )

    return _Bank(name, "json-package", package, store)


def check_upload(files: Sequence[BankFile]) -> Iterator[ParsedItem | Problem]:
    """Stream every record of every file of one upload, plus checks across records.

    Parameters
    ----------
    files
        The opened files of one upload.

    Yields
    ------
    ParsedItem | Problem
        Each file's items and problems in order (including, per file, images referenced but
        missing from the package), a problem for every code that appears a second time in the
        upload, naming where it first appeared, and one for a passage code that names two
        different passages.

    Notes
    -----
    The caller stores nothing unless the whole stream had no `Problem` (all-or-nothing).
    Memory grows only with the set of codes seen (tens of bytes per item).
    """
    first_seen: dict[str, str] = {}
    passages: dict[str, tuple[str, str]] = {}  # code -> (content hash, where first seen)
    for bank in files:
        for record in bank.records():
            stimulus = record.stimulus if isinstance(record, ParsedItem) else None
            if stimulus is not None:
                here = f"{record.file}, {record.location}"
                digest, first = passages.setdefault(stimulus.code, (stimulus.content_hash(), here))
                if digest != stimulus.content_hash():
                    # Two different texts under one passage code: which one the items mean
                    # cannot be told.
                    yield Problem(
                        record.file,
                        record.location,
                        "stimulus",
                        f"passage {stimulus.code!r} differs from the passage of that code at"
                        f" {first}",
                    )
                    continue
            if isinstance(record, ParsedItem):
                code = record.item.code
                earlier = first_seen.get(code)
                if earlier is not None:
                    yield Problem(
                        record.file,
                        record.location,
                        "code",
                        f"duplicate code {code!r} in this upload (first at {earlier})",
                    )
                    continue
                first_seen[code] = f"{record.file}, {record.location}"
            yield record
