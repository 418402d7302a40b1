"""Open an uploaded ZIP only after checking every entry: no escaping paths, links, or bombs."""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from typing import IO, BinaryIO

from item_bank.formats.base import (
    FileRefused,
    LimitedReader,
    Limits,
    MiB,
    describe_size,
    read_bounded,
)

# A Windows drive ("C:") at the start of a name makes it absolute on extraction there.
_DRIVE = re.compile(r"^[A-Za-z]:")
# Entries this small cannot be bombs whatever their ratio (a page of repeated spaces packs 500:1).
_RATIO_FLOOR = 1 * MiB


_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"


def _declared_entries(stream: BinaryIO, start: int, size: int) -> int | None:
    """The entry count the end-of-central-directory record declares (ZIP64 too), or None."""
    tail_size = min(size, 22 + 65_535)  # the record, and a comment of at most 64 KiB
    stream.seek(start + size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(start)
    at = tail.rfind(_END)
    if at < 0 or at + 22 > len(tail):
        return None  # not a ZIP: zipfile says so in its own words
    count: int = struct.unpack_from("<H", tail, at + 10)[0]
    if count != 0xFFFF or at < 20 or tail[at - 20 : at - 16] != _END64_LOCATOR:
        return count
    record_at: int = struct.unpack_from("<Q", tail, at - 20 + 8)[0]
    stream.seek(start + record_at)
    record = stream.read(56)
    stream.seek(start)
    if len(record) < 40 or not record.startswith(_END64):
        return None
    total: int = struct.unpack_from("<Q", record, 32)[0]
    return total


class SafeZip:
    """A ZIP archive whose entries were all checked against `Limits` before any is read.

    Refuses (`FileRefused`, located at the entry) names with ``..`` segments, absolute paths,
    drive letters, backslashes or NUL; symbolic links; encrypted entries; duplicate names; more
    than ``max_zip_entries`` entries; more than ``max_uncompressed_bytes`` declared in total; an
    entry over 1 MiB packed tighter than ``max_compression_ratio``. Reading then counts the bytes
    that really come out, so an entry lying about its size is stopped too. Nothing is ever
    extracted to disk; nested archives are never opened.
    """

    def __init__(self, stream: BinaryIO, limits: Limits, what: str = "ZIP file") -> None:
        self.limits = limits
        self._read_so_far = 0
        if not stream.seekable():
            stream = io.BytesIO(read_bounded(stream, limits.max_file_bytes, "the upload"))
        #: The archive's (seekable) byte stream, for readers that open it themselves (openpyxl).
        self.stream = stream
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
        if size > limits.max_file_bytes:
            raise FileRefused(
                f"the upload is larger than the limit of {describe_size(limits.max_file_bytes)}"
            )
        declared = _declared_entries(stream, start, size)
        if declared is not None and declared > limits.max_zip_entries:
            # Refused before zipfile builds an object per entry of a huge central directory.
            raise FileRefused(
                f"the archive has {declared} entries; the limit is {limits.max_zip_entries}"
            )
        try:
            self._zip = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise FileRefused(f"not a readable {what} ({error})") from None
        infos = self._zip.infolist()
        if len(infos) > limits.max_zip_entries:
            raise FileRefused(
                f"the archive has {len(infos)} entries; the limit is {limits.max_zip_entries}"
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            self._check_name(name)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise FileRefused("symbolic links are not allowed in an upload", location=name)
            if info.flag_bits & 0x1:
                raise FileRefused("encrypted entries are not supported", location=name)
            if name in self._infos:
                raise FileRefused("the archive holds two entries with this name", location=name)
            if info.is_dir():
                continue
            total += info.file_size
            if (
                info.file_size > _RATIO_FLOOR
                and info.file_size > info.compress_size * limits.max_compression_ratio
            ):
                raise FileRefused(
                    f"entry unpacks to {describe_size(info.file_size)} from"
                    f" {describe_size(info.compress_size)}: compressed more than"
                    f" {limits.max_compression_ratio:g} to 1 (a zip bomb?)",
                    location=name,
                )
            self._infos[name] = info
        if total > limits.max_uncompressed_bytes:
            raise FileRefused(
                f"the archive unpacks to {describe_size(total)}; the limit is"
                f" {describe_size(limits.max_uncompressed_bytes)}"
            )

    @staticmethod
    def _check_name(name: str) -> None:
        if "\\" in name or "\x00" in name:
            raise FileRefused("entry names may not contain backslashes or NUL", location=name)
        if name.startswith("/") or _DRIVE.match(name):
            raise FileRefused("entry names may not be absolute paths", location=name)
        if ".." in name.split("/"):
            raise FileRefused("entry names may not contain '..'", location=name)

    @property
    def names(self) -> list[str]:
        """File entries (not folders), in archive order."""
        return list(self._infos)

    def size(self, name: str) -> int:
        """Declared uncompressed size of an entry."""
        return self._infos[name].file_size

    def open(self, name: str) -> BinaryIO:
        """A stream of one entry that refuses to yield more than the archive's remaining budget."""
        remaining = self.limits.max_uncompressed_bytes - self._read_so_far
        reader = _BudgetReader(self, self._zip.open(self._infos[name]), remaining, name)
        return io.BufferedReader(reader)

    def read(self, name: str, limit: int | None = None) -> bytes:
        """One entry's bytes, refused beyond ``limit`` (default: the archive's remaining budget)."""
        with self.open(name) as stream:
            cap = limit if limit is not None else self.limits.max_uncompressed_bytes
            try:
                return read_bounded(stream, cap, name)
            except FileRefused as refused:
                raise FileRefused(refused.message, location=name) from None

    def _spent(self, size: int) -> None:
        self._read_so_far += size


class _BudgetReader(LimitedReader):
    """A `LimitedReader` over one entry that charges what it reads to the archive's budget."""

    def __init__(self, archive: SafeZip, inner: IO[bytes], limit: int, name: str) -> None:
        super().__init__(inner, limit, "the archive's content")
        self._archive = archive
        self._name = name

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            size = super().readinto(buffer)
        except FileRefused:
            limit = describe_size(self._archive.limits.max_uncompressed_bytes)
            raise FileRefused(
                f"the archive unpacks to more than the limit of {limit}", location=self._name
            ) from None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            raise FileRefused(f"damaged archive entry ({error})", location=self._name) from None
        self._archive._spent(size)
        return size
