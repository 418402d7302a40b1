"""What every bank format shares: limits, parsed records, media lookup and bounded reading."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Protocol
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring, iterparse

from item_bank.errors import Problem
from item_bank.models import Item, Media, Stimulus
from item_bank.validation import MediaResolver, RawItem, Rules, build_item, build_stimulus

MiB = 2**20
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One item read from a bank file: validated, sanitized, ``version`` 1.

    ``location`` is where it stands in the file: ``"row 12"``, ``"items[3] (line 40)"`` or an
    XML element path. The application assigns real versions when it stores the item.
    ``stimulus`` is the passage the item refers to (``item.stimulus_ref``), as this file gives
    it; several items of an upload may carry the same one.
    """

    item: Item
    file: str
    location: str
    stimulus: Stimulus | None = None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """An image carried by an upload, checked: a known image type, within the size limit."""

    name: str
    content_type: str
    data: bytes
    sha256: str

    def as_media(self, name: str | None = None) -> Media:
        """The item-side reference to this file, under ``name`` (default: the file's name)."""
        return Media(name=name or self.name, content_type=self.content_type, sha256=self.sha256)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what an upload may make the parser do; sized for a national bank.

    Parameters
    ----------
    max_file_bytes
        Largest upload file (200 MiB holds a 50,000-item CSV many times over).
    max_zip_entries
        Most entries in a ZIP. A QTI package holds one XML file per item plus its images, so
        the QTI export of a 50,000-item bank must fit; the central directory of 100,000
        entries takes some 30 MiB to hold.
    max_uncompressed_bytes
        Most bytes a ZIP may unpack to, by its declared sizes and by the bytes actually read.
    max_compression_ratio
        Largest uncompressed/compressed ratio of an entry over 1 MiB (text packs about 10:1;
        a zip bomb packs thousands to one).
    max_media_bytes
        Largest image.
    points_range
        Inclusive bounds of a weighted option's points (SKD's TKP: 1-5, blank 0).
    max_xml_bytes
        Largest single XML document (a QTI item, a manifest, an SVG is far smaller).
    max_json_item_bytes
        Largest single item object in a native JSON file.
    """

    max_file_bytes: int = 200 * MiB
    max_zip_entries: int = 100_000
    max_uncompressed_bytes: int = 1 * 2**30
    max_compression_ratio: float = 200.0
    max_media_bytes: int = 5 * MiB
    points_range: tuple[float, float] = (0.0, 5.0)
    max_xml_bytes: int = 16 * MiB
    max_json_item_bytes: int = 1 * MiB


DEFAULT_LIMITS = Limits()


class BankFile(Protocol):
    """One uploaded file, opened: its records stream, its media are at hand."""

    name: str
    format: str

    def records(self) -> Iterator[ParsedItem | Problem]:
        """Every item of the file or a located problem, in file order; iterate once."""
        ...

    def media(self) -> Mapping[str, MediaFile]:
        """Images the file's items use, by their path in the upload (complete after records())."""
        ...


class FileRefused(Exception):
    """A whole file (or the rest of it) cannot be read: too large, unsafe, or malformed."""

    def __init__(self, message: str, *, location: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.field = field

    def problem(self, file: str) -> Problem:
        """The refusal as a located problem of ``file``."""
        return Problem(file, self.location, self.field, self.message)


def describe_size(size: int) -> str:
    """``5 MiB``, ``200 KiB`` or ``12 bytes``: sizes as a person reads them."""
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MiB"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


class LimitedReader(io.RawIOBase):
    """Reads a binary stream and refuses it once more than ``limit`` bytes came through.

    Counting the bytes actually read (rather than trusting a declared size) is what stops a
    stream that lies about its length, such as a ZIP entry with a forged header.
    """

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        super().__init__()
        self._inner = inner
        self._limit = limit
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        size = len(data)
        self.count += size
        if self.count > self._limit:
            raise FileRefused(
                f"{self._what} is larger than the limit of {describe_size(self._limit)}"
            )
        buffer[:size] = data
        return size


def read_bounded(stream: IO[bytes], limit: int, what: str) -> bytes:
    """All bytes of ``stream``, refusing it (`FileRefused`) beyond ``limit`` bytes."""
    # In chunks: one read of ``limit + 1`` bytes would allocate the whole limit up front.
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise FileRefused(f"{what} is larger than the limit of {describe_size(limit)}")
    return b"".join(chunks)


DTD_REFUSED = "XML with a DTD or entity declarations is refused (entities are never resolved)"


def _not_well_formed(error: ParseError, what: str) -> FileRefused:
    line, column = error.position
    reason = str(error).split(":", 1)[0]
    prefix = f"{what} is not" if what else "not"
    return FileRefused(
        f"{prefix} well-formed XML ({reason})", location=f"line {line}, column {column}"
    )


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML: no DTD, no entities, nothing fetched.

    Raises
    ------
    FileRefused
        For a DTD or entity declaration (XXE, billion laughs) and for XML that is not
        well-formed (located by line and column).
    """
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise FileRefused(DTD_REFUSED) from None
    except ParseError as error:
        raise _not_well_formed(error, "") from None
    return root


def xml_events(
    stream: IO[bytes], *, what: str, refusal: str = DTD_REFUSED
) -> Iterator[tuple[str, Element]]:
    """``start`` and ``end`` events of untrusted XML read as a stream (rules of `parse_xml`).

    The caller clears what it has read, so that a large document (a spreadsheet's sheet, the
    manifest of a national bank) never stands whole in memory.
    """
    try:
        yield from iterparse(
            stream,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
    except DefusedXmlException:
        raise FileRefused(refusal) from None
    except ParseError as error:
        raise _not_well_formed(error, what) from None


def guarded(file: str, records: Iterator[ParsedItem | Problem]) -> Iterator[ParsedItem | Problem]:
    """Pass ``records`` through; a `FileRefused` on the way becomes the file's last problem."""
    try:
        yield from records
    except FileRefused as refused:
        yield refused.problem(file)


def finish(
    raw: RawItem, *, file: str, rules: Rules, resolve_media: MediaResolver | None
) -> Iterator[ParsedItem | Problem]:
    """Validate one raw item (and its passage): the parsed item, or each of its problems."""
    built = build_item(raw, file=file, rules=rules, resolve_media=resolve_media)
    stimulus: Stimulus | list[Problem] | None = None
    if raw.stimulus is not None:
        stimulus = build_stimulus(raw.stimulus, file=file, rules=rules, resolve_media=resolve_media)
    if isinstance(built, Item) and not isinstance(stimulus, list):
        yield ParsedItem(item=built, file=file, location=raw.location, stimulus=stimulus)
        return
    if isinstance(built, list):
        yield from built
    if isinstance(stimulus, list):
        yield from stimulus


class MediaLayout:
    """Decides where a package keeps each item's images so that names never collide."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}  # path in the package -> sha256

    def fits(self, folder: str, item: Item, extra: tuple[Media, ...] = ()) -> bool:
        """Whether ``item``'s images (and ``extra`` ones, its passage's) fit in ``folder``."""
        return self.fits_media(folder, (*item.media, *extra))

    def claim(self, folder: str, item: Item, extra: tuple[Media, ...] = ()) -> None:
        """Place ``item``'s images (and ``extra`` ones) in ``folder``."""
        self.claim_media(folder, (*item.media, *extra))

    def fits_media(self, folder: str, media: tuple[Media, ...]) -> bool:
        """Whether these images can live in ``folder`` next to those already placed."""
        return all(self.paths.get(folder + m.name, m.sha256) == m.sha256 for m in media)

    def claim_media(self, folder: str, media: tuple[Media, ...]) -> None:
        """Place these images in ``folder``."""
        for m in media:
            self.paths[folder + m.name] = m.sha256

    def place(
        self,
        items: Iterable[Item],
        deferred: list[tuple[str, Item]],
        *,
        folder_of: Callable[[Item], str],
        base: str = "",
        extra_of: Callable[[Item], tuple[Media, ...]] = lambda item: (),
    ) -> Iterator[Item]:
        """Yield the items that fit ``base``; collect the others with a folder of their own."""
        for item in items:
            extra = extra_of(item)
            if self.fits(base, item, extra):
                self.claim(base, item, extra)
                yield item
            else:
                folder = base + folder_of(item)
                self.claim(folder, item, extra)
                deferred.append((folder, item))

    def write_media(self, archive: zipfile.ZipFile, media: Mapping[str, bytes]) -> int:
        """Store every placed image in ``archive``; returns how many files that made."""
        for path, sha256 in self.paths.items():
            if sha256 not in media:
                raise KeyError(f"no bytes given for image {path} (sha256 {sha256})")
            archive.writestr(path, media[sha256])
        return len(self.paths)
