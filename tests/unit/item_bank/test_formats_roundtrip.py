"""Export, then import: the same items come back with the same content hashes and images."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from item_bank.formats import (
    ParsedItem,
    check_upload,
    open_bank_file,
    write_json,
    write_json_package,
    write_qti_package,
)
from item_bank.models import Item, Media, Option, ScoringKind
from item_bank.synthetic import synthetic_items

BANKS = Path(__file__).parents[2] / "fixtures" / "banks"
PNG_RED = (BANKS / "qti" / "sign.png").read_bytes()


def demo_items() -> tuple[list[Item], dict[str, bytes]]:
    """The demo-shaped bank (single, weighted and a figural item with an SVG), and its media."""
    path = BANKS / "demo" / "bank.json"
    bank = open_bank_file(
        "bank.json",
        path.open("rb"),
        media_resolver=lambda name: (path.parent / name).read_bytes(),
    )
    items = [r.item for r in bank.records() if isinstance(r, ParsedItem)]
    assert len(items) == 3
    return items, {f.sha256: f.data for f in bank.media().values()}


def tricky_items() -> list[Item]:
    """Items whose text exercises escaping: plain text with < and &, entities, tables, images."""
    document = (
        '{"format": "ujian-bank/1", "items": ['
        '{"code": "TIU-TXT-1", "section": "TIU", "topic": "aritmetika", "key": "B",'
        ' "stem": "Jika x < y & y < 10 maka ... \\"kutip\\"",'
        ' "options": [{"label": "A", "text": "x &gt; 10"}, {"label": "B", "text": "x < 10"}]},'
        '{"code": "TIU-TAB-1", "section": "TIU", "topic": "tabel", "key": "A",'
        ' "stem": "<table><tr><th colspan=2>Tabel</th></tr><tr><td>1&nbsp;kg</td><td>2</td></tr>'
        '</table><p>Harga <sub>a</sub>/<sup>b</sup><br>baris</p>",'
        ' "options": [{"label": "A", "text": "<img src=\\"media/a.png\\" alt=\\"A &amp; B\\">"},'
        ' {"label": "B", "text": "<ul><li>satu</li><li>dua</li></ul>"}]}]}'
    )
    bank = open_bank_file(
        "t.json", io.BytesIO(document.encode()), media_resolver=lambda name: PNG_RED
    )
    items = [r.item for r in bank.records() if isinstance(r, ParsedItem)]
    assert len(items) == 2, list(bank.records())
    return items


def reimport(name: str, data: bytes) -> list[Item]:
    bank = open_bank_file(name, io.BytesIO(data))
    records = list(check_upload([bank]))
    assert all(isinstance(r, ParsedItem) for r in records), records
    return [r.item for r in records if isinstance(r, ParsedItem)]


def hashes(items: list[Item]) -> list[tuple[str, str]]:
    return [(i.code, i.content_hash()) for i in items]


def test_json_file_round_trip_keeps_everything() -> None:
    items = list(synthetic_items(40, seed=5, irt=True)) + tricky_items()[:1]
    out = io.BytesIO()
    write_json(items, out)
    assert reimport("bank.json", out.getvalue()) == items


def test_json_package_round_trip_with_media() -> None:
    items, media = demo_items()
    extra = tricky_items()
    media[extra[1].media[0].sha256] = PNG_RED
    out = io.BytesIO()
    write_json_package(items + extra, media, out)
    back = reimport("bank.zip", out.getvalue())
    assert hashes(back) == hashes(items + extra)
    assert back == items + extra


def test_qti_package_round_trip_keeps_content_hashes_and_metadata() -> None:
    items, media = demo_items()
    extra = tricky_items()
    media[extra[1].media[0].sha256] = PNG_RED
    bank = items + extra + list(synthetic_items(30, seed=8, irt=True))
    out = io.BytesIO()
    write_qti_package(bank, media, out)
    package = open_bank_file("export.zip", io.BytesIO(out.getvalue()))
    assert package.format == "qti-package"
    back = [r.item for r in package.records() if isinstance(r, ParsedItem)]
    assert hashes(back) == hashes(bank)
    for before, after in zip(bank, back, strict=True):
        assert (after.p_value, after.level, after.irt, after.status) == (
            before.p_value,
            before.level,
            before.irt,
            before.status,
        )
    carried = {f.sha256: f.data for f in package.media().values()}
    assert carried == {m.sha256: media[m.sha256] for i in bank for m in i.media}


def test_qti_export_is_qti_3() -> None:
    items, media = demo_items()
    out = io.BytesIO()
    write_qti_package(items, media, out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = archive.read("imsmanifest.xml").decode()
        weighted = archive.read("items/TKP-PEL-001.xml").decode()
    assert set(names) == {
        "imsmanifest.xml",
        "items/TWK-PANC-001.xml",
        "items/TKP-PEL-001.xml",
        "items/TIU-FIG-001.xml",
        "items/media/tiu-fig-001.svg",
    }
    assert 'type="imsqti_item_xmlv3p0"' in manifest
    assert "<imsmd:string>section:TKP</imsmd:string>" in manifest
    assert '<qti-map-entry map-key="B" mapped-value="5"/>' in weighted
    assert "rptemplates/map_response.xml" in weighted


def test_images_with_the_same_name_but_different_content_stay_apart() -> None:
    pictures = [PNG_RED, PNG_RED + b"another picture"]
    items = [
        Item(
            code=f"TIU-FIG-{n}",
            section="TIU",
            topic="figural",
            stem='<p>Pola berikutnya?</p><img src="fig.png">',
            options=(Option("A", "a"), Option("B", "b")),
            scoring=ScoringKind.SINGLE,
            key="A",
            media=(Media("fig.png", "image/png", hashlib.sha256(data).hexdigest()),),
        )
        for n, data in enumerate(pictures, start=1)
    ]
    media = {hashlib.sha256(data).hexdigest(): data for data in pictures}
    for writer in (write_qti_package, write_json_package):
        out = io.BytesIO()
        writer(items, media, out)
        assert hashes(reimport("x.zip", out.getvalue())) == hashes(items)
