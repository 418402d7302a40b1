"""Hostile archives are refused before anything is read: escaping paths, links, bombs, lies."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from item_bank.errors import Problem
from item_bank.formats import Limits, ParsedItem, open_bank_file
from item_bank.formats.base import FileRefused
from item_bank.formats.safezip import SafeZip

BANK = json.dumps(
    {
        "format": "ujian-bank/1",
        "items": [
            {
                "code": "TWK-1",
                "section": "TWK",
                "topic": "t",
                "stem": "Soal",
                "key": "A",
                "options": [{"label": "A", "text": "a"}, {"label": "B", "text": "b"}],
            }
        ],
    }
).encode()


def archive(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(name, data)
    return out.getvalue()


def problems(data: bytes, limits: Limits | None = None) -> list[Problem]:
    options = {"limits": limits} if limits else {}
    bank = open_bank_file("upload.zip", io.BytesIO(data), **options)  # type: ignore[arg-type]
    return [r for r in bank.records() if isinstance(r, Problem)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("../../etc/cron.d/x", "entry names may not contain '..'"),
        ("media/../../x.png", "entry names may not contain '..'"),
        ("/etc/passwd", "entry names may not be absolute paths"),
        ("C:/Windows/x.dll", "entry names may not be absolute paths"),
        ("media\\..\\..\\x.png", "entry names may not contain backslashes or NUL"),
    ],
)
def test_escaping_entry_names_refuse_the_upload(entry: str, message: str) -> None:
    found = problems(archive([("bank.json", BANK), (entry, b"x")]))
    assert found == [Problem("upload.zip", entry, "", message)]


def test_symbolic_links_refuse_the_upload() -> None:
    link = zipfile.ZipInfo("media/passwd.png")
    link.external_attr = (0o120777 << 16) | 0x20
    found = problems(archive([("bank.json", BANK), (link, b"/etc/passwd")]))
    assert found == [
        Problem("upload.zip", "media/passwd.png", "", "symbolic links are not allowed in an upload")
    ]


def test_too_many_entries() -> None:
    data = archive([("bank.json", BANK)] + [(f"m/{i}.png", b"x") for i in range(5)])
    found = problems(data, Limits(max_zip_entries=4))
    assert [p.message for p in found] == ["the archive has 6 entries; the limit is 4"]


def test_declared_size_over_the_limit() -> None:
    data = archive([("bank.json", BANK), ("big.bin", b"\x01" * 5000)])
    found = problems(data, Limits(max_uncompressed_bytes=4000))
    assert [p.message for p in found] == ["the archive unpacks to 5 KiB; the limit is 3 KiB"]


def test_compression_ratio_bomb() -> None:
    data = archive([("bank.json", BANK), ("bomb.csv", b"\x00" * (4 * 2**20))])
    found = problems(data)
    assert len(found) == 1
    assert found[0].location == "bomb.csv"
    assert "compressed more than 200 to 1" in found[0].message


def _understate_size(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the central directory so that ``name`` claims to unpack to ``size`` bytes."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length] == name:
            return data[: at + 24] + struct.pack("<I", size) + data[at + 28 :]
        at = data.index(b"PK\x01\x02", at + 4)


def test_an_entry_lying_about_its_size_is_refused_when_read() -> None:
    honest = archive([("bank.json", BANK)])
    lying = _understate_size(honest, b"bank.json", 20)
    found = problems(lying)
    assert len(found) == 1
    assert found[0].location == "bank.json"
    assert found[0].message.startswith("damaged archive entry")


def test_bytes_actually_read_count_against_the_budget() -> None:
    # Declared sizes fit; every byte that comes out is still counted, across all entries.
    data = archive([("a.json", BANK), ("b.json", BANK)])
    limit = 2 * len(BANK)
    package = SafeZip(io.BytesIO(data), Limits(max_uncompressed_bytes=limit))
    assert package.read("a.json") == BANK
    assert package.read("b.json") == BANK
    with pytest.raises(FileRefused, match="unpacks to more than the limit of") as refused:
        package.read("a.json")
    assert refused.value.location == "a.json"


def test_oversized_upload() -> None:
    found = problems(archive([("bank.json", BANK)]), Limits(max_file_bytes=100))
    assert [p.message for p in found] == ["the upload is larger than the limit of 100 bytes"]


def test_nested_archives_are_never_opened() -> None:
    inner = archive([("bank.json", BANK.replace(b"TWK-1", b"INNER-1"))])
    data = archive([("bank.json", BANK), ("more/inner.zip", inner)])
    bank = open_bank_file("upload.zip", io.BytesIO(data))
    codes = [r.item.code for r in bank.records() if isinstance(r, ParsedItem)]
    assert codes == ["TWK-1"]


def test_duplicate_entry_names_refuse_the_upload() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("bank.json", BANK)
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr("bank.json", BANK.replace(b"TWK-1", b"TWK-2"))
    found = problems(out.getvalue())
    assert [p.message for p in found] == ["the archive holds two entries with this name"]


def test_not_a_zip_at_all() -> None:
    found = problems(b"PK\x03\x04 this is not really an archive")
    assert found[0].message.startswith("not a readable ZIP file")


def test_a_zip_without_a_bank() -> None:
    found = problems(archive([("readme.txt", b"halo")]))
    assert [p.message for p in found] == [
        "the ZIP holds neither imsmanifest.xml (a QTI package) nor a .json or .csv bank file"
    ]


def test_entry_count_is_read_before_the_central_directory() -> None:
    # A forged end record claiming a million entries is refused without trusting zipfile.
    data = bytearray(archive([("bank.json", BANK)]))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = (0xFFFF).to_bytes(2, "little") * 2
    found = problems(bytes(data), Limits(max_zip_entries=1000))
    assert [p.message for p in found] == ["the archive has 65535 entries; the limit is 1000"]


def test_zip64_archives_are_counted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # zipfile writes ZIP64 end records past 65,535 entries; lower that bound while writing.
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for i in range(5):
            target.writestr(f"m/{i}.png", b"x")
        target.writestr("bank.json", BANK)
    monkeypatch.undo()
    data = out.getvalue()
    assert b"PK\x06\x06" in data
    found = problems(data, Limits(max_zip_entries=5))
    assert [p.message for p in found] == ["the archive has 6 entries; the limit is 5"]
