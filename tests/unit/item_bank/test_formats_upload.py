"""One upload of several files: format detection, checks across files, hostile text made safe."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from item_bank.errors import Problem
from item_bank.formats import ParsedItem, check_upload, open_bank_file

BANKS = Path(__file__).parents[2] / "fixtures" / "banks"
CSV = b"code,section,topic,stem,key,option_a,option_b\nTWK-1,TWK,t,Soal satu,A,ya,tidak\n"
JSON = (
    b'{"format": "ujian-bank/1", "items": [{"code": "TWK-1", "section": "TWK", "topic": "t",'
    b' "stem": "Soal dua", "key": "B", "options": [{"label": "A", "text": "ya"},'
    b' {"label": "B", "text": "tidak"}]}]}'
)


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "format"),
    [
        ("bank.json", JSON, "json"),
        ("BANK.JSON", JSON, "json"),
        ("export", JSON, "json"),
        ("bank.csv", CSV, "csv"),
        ("soal.txt", CSV, "csv"),
        ("item.xml", b"<assessmentItem/>", "qti-xml"),
        ("item", b"<?xml version='1.0'?><assessmentItem/>", "qti-xml"),
        ("paket.zip", zipped({"imsmanifest.xml": b"<manifest/>"}), "qti-package"),
        ("bank.zip", zipped({"bank.json": JSON}), "json-package"),
        ("renamed.csv", zipped({"bank.json": JSON}), "json-package"),
        ("notes.docx", b"PK\x03\x04 broken", "zip"),
        ("notes.pdf", b"%PDF-1.7", "unknown"),
    ],
)
def test_format_from_content_then_extension(name: str, data: bytes, format: str) -> None:
    assert open_bank_file(name, io.BytesIO(data)).format == format


def test_unsupported_file_type_is_a_problem() -> None:
    bank = open_bank_file("soal.pdf", io.BytesIO(b"%PDF-1.7"))
    assert list(bank.records()) == [
        Problem(
            "soal.pdf", "", "", "unsupported file type: expected .json, .csv, .xlsx, .xml or .zip"
        )
    ]


def test_a_code_twice_in_one_upload_is_named_with_its_first_place() -> None:
    files = [
        open_bank_file("a.csv", io.BytesIO(CSV)),
        open_bank_file("b.json", io.BytesIO(JSON)),
    ]
    records = list(check_upload(files))
    assert isinstance(records[0], ParsedItem)
    assert records[1] == Problem(
        "b.json",
        "items[0] (line 1)",
        "code",
        "duplicate code 'TWK-1' in this upload (first at a.csv, row 2)",
    )


def test_hostile_item_is_refused_with_every_construct_named() -> None:
    # Refuse, never strip: an item carrying code is named to the admin, not imported quietly
    # without it (it used to import with the script, handlers and frame removed).
    path = BANKS / "hostile.json"
    bank = open_bank_file(
        "hostile.json",
        path.open("rb"),
        media_resolver=lambda name: (path.parent / name).read_bytes(),
    )
    records = list(bank.records())
    assert not [r for r in records if isinstance(r, ParsedItem)]
    found = [(r.field, r.message.split(" at ")[1].split(" ")[0]) for r in records]
    assert found == [
        ("stem", "p"),
        ("stem", "p/script"),
        ("stem", "img"),
        ("stem", "iframe"),
        ("options[0].text", "img/@src"),
        ("options[0].text", "img"),
        ("options[1].text", "a/@href"),
        ("options[2].text", "svg"),
    ]
    assert all(r.location == "items[0] (line 2)" for r in records if isinstance(r, Problem))
    assert all(r.message.startswith("refused, not stripped: ") for r in records)


def test_a_native_package_carries_its_images() -> None:
    demo = BANKS / "demo"
    data = zipped(
        {
            "bank.json": (demo / "bank.json").read_bytes(),
            "media/tiu-fig-001.svg": (demo / "media" / "tiu-fig-001.svg").read_bytes(),
            "media/unused.png": b"not even an image",
        }
    )
    bank = open_bank_file("bank.zip", io.BytesIO(data))
    records = list(bank.records())
    assert all(isinstance(r, ParsedItem) for r in records), records
    assert [r.file for r in records if isinstance(r, ParsedItem)] == ["bank.zip:bank.json"] * 3
    assert list(bank.media()) == ["media/tiu-fig-001.svg"]


def test_a_package_missing_an_image_names_it() -> None:
    data = zipped({"bank.json": (BANKS / "demo" / "bank.json").read_bytes()})
    problems = [
        r for r in open_bank_file("bank.zip", io.BytesIO(data)).records() if isinstance(r, Problem)
    ]
    assert problems == [
        Problem(
            "bank.zip:bank.json",
            "items[2] (line 18)",
            "media",
            "referenced image missing from the package: media/tiu-fig-001.svg",
        )
    ]


def test_records_of_a_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(min(len(buffer), 7))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    for name, data in [("bank.csv", CSV), ("bank.zip", zipped({"bank.json": JSON}))]:
        bank = open_bank_file(name, Pipe(data))  # type: ignore[arg-type]
        codes = [r.item.code for r in bank.records() if isinstance(r, ParsedItem)]
        assert codes == ["TWK-1"]


def test_a_csv_package_with_images() -> None:
    png = (BANKS / "qti" / "sign.png").read_bytes()
    csv = (
        b"code,section,topic,stem,key,option_a,option_b,media\n"
        b'TIU-FIG-9,TIU,figural,"<p>Pola?</p><img src=""gambar/pola.png"">",A,a,b,\n'
        b"TIU-FIG-10,TIU,figural,Lihat gambar pada opsi,B,a,b,gambar/opsi.png\n"
    )
    data = zipped({"soal/bank.csv": csv, "soal/gambar/pola.png": png})
    bank = open_bank_file("paket.zip", io.BytesIO(data))
    records = list(bank.records())
    assert isinstance(records[0], ParsedItem)
    assert [m.name for m in records[0].item.media] == ["gambar/pola.png"]
    assert records[1:] == [
        Problem(
            "paket.zip:soal/bank.csv",
            "row 3",
            "media",
            "referenced image missing from the package: gambar/opsi.png",
        )
    ]
    assert list(bank.media()) == ["soal/gambar/pola.png"]
