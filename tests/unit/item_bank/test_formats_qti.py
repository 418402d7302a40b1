"""QTI 2.1 / 2.2 / 3.0 choice items as other tools write them, single files and content packages."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from item_bank.errors import Problem
from item_bank.formats import ParsedItem, open_bank_file
from item_bank.models import Item, ScoringKind

QTI = Path(__file__).parents[2] / "fixtures" / "banks" / "qti"
SIGN_PNG = (QTI / "sign.png").read_bytes()


def records(name: str, data: bytes, **options: object) -> tuple[list[Item], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data), **options)  # type: ignore[arg-type]
    found = list(bank.records())
    return (
        [r.item for r in found if isinstance(r, ParsedItem)],
        [r for r in found if isinstance(r, Problem)],
    )


def manifest(resources: list[tuple[str, str, list[str]]], *, version: str = "v2p1") -> bytes:
    """A content-package manifest as QTI 2.1 tools write it (LOM keywords in imsmd)."""
    parts = []
    for href, kind, keywords in resources:
        words = "".join(
            f"<imsmd:keyword><imsmd:langstring xml:lang='id'>{w}</imsmd:langstring></imsmd:keyword>"
            for w in keywords
        )
        parts.append(
            f'<resource identifier="R-{len(parts)}" type="{kind}" href="{href}">'
            f"<metadata><imsmd:lom><imsmd:general>{words}</imsmd:general></imsmd:lom></metadata>"
            f'<file href="{href}"/></resource>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"'
        ' xmlns:imsmd="http://www.imsglobal.org/xsd/imsmd_v1p2" identifier="MANIFEST-1">'
        f"<organizations/><resources>{''.join(parts)}</resources></manifest>"
    ).encode()


def package(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_sample_v2p1_without_its_image_gives_a_precise_problem() -> None:
    items, problems = records(
        "choice_v2p1.xml",
        (QTI / "choice_v2p1.xml").read_bytes(),
        default_section="TWK",
        default_topic="bahasa",
    )
    assert items == []
    assert problems == [
        Problem(
            "choice_v2p1.xml",
            "assessmentItem/itemBody/p[2]/img",
            "media",
            "referenced image missing from the package: images/sign.png",
        )
    ]


def test_sample_v2p1_imports_without_the_image_when_allowed() -> None:
    items, problems = records(
        "choice_v2p1.xml",
        (QTI / "choice_v2p1.xml").read_bytes(),
        default_section="TWK",
        default_topic="bahasa",
        allow_missing_media=True,
    )
    assert problems == []
    assert "<img" not in items[0].stem
    assert items[0].media == ()


@pytest.mark.parametrize("sample", ["choice_v2p1.xml", "choice_v2p2.xml"])
def test_sample_imports_from_a_package_that_carries_the_image(sample: str) -> None:
    data = package(
        {
            "imsmanifest.xml": manifest(
                [(f"items/{sample}", "imsqti_item_xmlv2p1", ["section:TWK", "topic:bahasa"])]
            ),
            f"items/{sample}": (QTI / sample).read_bytes(),
            "items/images/sign.png": SIGN_PNG,
        }
    )
    bank = open_bank_file("paket.zip", io.BytesIO(data), known_sections=frozenset({"TWK"}))
    assert bank.format == "qti-package"
    found = list(bank.records())
    assert all(isinstance(r, ParsedItem) for r in found), found
    parsed = found[0]
    assert isinstance(parsed, ParsedItem)
    assert (parsed.file, parsed.location) == (f"paket.zip:items/{sample}", "assessmentItem")
    item = parsed.item
    assert (item.code, item.section, item.topic) == ("choice", "TWK", "bahasa")
    assert item.scoring is ScoringKind.SINGLE
    assert item.key == "A"
    assert [o.text for o in item.options] == [
        "You must stay with your luggage at all times.",
        "Do not let someone else look after your luggage.",
        "Remember your luggage when you leave.",
    ]
    # The file's indentation is not part of the text (stored in one whitespace form).
    assert item.stem == (
        "<p>Look at the text in the picture.</p><p>"
        '<img src="images/sign.png" alt="NEVER LEAVE LUGGAGE UNATTENDED">'
        "</p><p>What does it say?</p>"
    )
    assert [(m.name, m.content_type) for m in item.media] == [("images/sign.png", "image/png")]
    assert dict(item.source)["qti_choices"] == "ChoiceA ChoiceB ChoiceC"
    assert list(bank.media()) == ["items/images/sign.png"]
    assert bank.media()["items/images/sign.png"].data == SIGN_PNG


def test_multiple_response_sample_is_refused() -> None:
    items, problems = records(
        "choice_multiple_v2p1.xml",
        (QTI / "choice_multiple_v2p1.xml").read_bytes(),
        default_section="TIU",
        default_topic="sains",
    )
    assert items == []
    assert problems == [
        Problem(
            "choice_multiple_v2p1.xml",
            "assessmentItem/itemBody/choiceInteraction",
            "maxChoices",
            "multiple-response items are not supported: only one option may be chosen"
            ' (maxChoices="0", cardinality="multiple")',
        )
    ]


def test_qti3_choice_with_prompt_and_label_metadata() -> None:
    items, problems = records("uud.xml", (QTI / "choice_v3p0.xml").read_bytes())
    assert problems == []
    item = items[0]
    assert (item.code, item.section, item.topic) == ("TWK-UUD-014", "TWK", "uud_1945")
    assert item.key == "C"
    assert [o.label for o in item.options] == ["A", "B", "C", "D"]
    assert item.stem == (
        "<p>UUD 1945 telah diamandemen sebanyak ...</p>"
        "<p>Pilih jawaban yang <strong>paling tepat</strong>.</p>"
    )
    assert dict(item.source)["format"] == "qti 3.0"


def test_qti3_mapping_becomes_a_weighted_item() -> None:
    items, problems = records(
        "tkp.xml",
        (QTI / "weighted_v3p0.xml").read_bytes(),
        default_section="TKP",
        default_topic="jejaring_kerja",
    )
    assert problems == []
    item = items[0]
    assert item.scoring is ScoringKind.WEIGHTED
    assert item.key is None
    # E is not in the mapping: it gets the mapping's default value.
    assert [(o.label, o.points) for o in item.options] == [
        ("A", 4.0),
        ("B", 5.0),
        ("C", 2.0),
        ("D", 3.0),
        ("E", 1.0),
    ]


def test_inline_processing_shaped_like_match_correct() -> None:
    items, problems = records("deret.xml", (QTI / "inline_rp_v2p1.xml").read_bytes())
    assert problems == []
    assert (items[0].section, items[0].topic, items[0].key) == ("TIU", "deret_angka", "D")
    assert items[0].stem == "<p>2, 4, 8, 16, ... Bilangan berikutnya adalah</p>"


def test_mapped_points_outside_the_range_are_named() -> None:
    data = (
        (QTI / "weighted_v3p0.xml").read_bytes().replace(b'mapped-value="5"', b'mapped-value="9"')
    )
    _, problems = records("tkp.xml", data, default_section="TKP", default_topic="t")
    assert [(p.location, p.field, p.message) for p in problems] == [
        (
            "qti-assessment-item/qti-item-body/qti-choice-interaction/qti-simple-choice[2]",
            "mapEntry",
            "points 9 out of range 0 to 5",
        )
    ]


def test_unknown_section_without_metadata_or_default() -> None:
    data = (QTI / "weighted_v3p0.xml").read_bytes()
    _, problems = records("tkp.xml", data)
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("section", "unknown section"),
        ("topic", "unknown topic"),
    ]
    _, problems = records(
        "tkp.xml", data, default_section="SKB", default_topic="t", known_sections=frozenset({"TKP"})
    )
    assert [p.message for p in problems] == ["unknown section 'SKB' (known sections: TKP)"]


def test_unsupported_response_processing() -> None:
    data = (QTI / "choice_v3p0.xml").read_bytes().replace(b"match_correct", b"map_response_point")
    _, problems = records("x.xml", data)
    assert [(p.location, p.field) for p in problems] == [
        ("qti-assessment-item/qti-response-processing", "template")
    ]


def test_other_interactions_are_refused() -> None:
    data = b"""<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="T">
      <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="string"/>
      <itemBody><p>Ibu kota Indonesia: <textEntryInteraction responseIdentifier="RESPONSE"/></p>
      </itemBody></assessmentItem>"""
    _, problems = records("x.xml", data)
    assert [p.message for p in problems] == [
        "<textEntryInteraction> is not supported: only choice interactions"
    ]


@pytest.mark.parametrize("payload", ["xxe.xml", "billion_laughs.xml"])
def test_entity_payloads_are_refused_not_resolved(payload: str) -> None:
    started = time.perf_counter()
    items, problems = records(payload, (QTI / payload).read_bytes(), default_section="TWK")
    assert time.perf_counter() - started < 1.0
    assert items == []
    assert [p.message for p in problems] == [
        "XML with a DTD or entity declarations is refused (entities are never resolved)"
    ]
    assert "root:" not in str(problems)


def test_malformed_xml_is_located() -> None:
    _, problems = records("x.xml", b"<assessmentItem>\n<itemBody>\n</assessmentItm>")
    assert problems[0].location == "line 3, column 2"
    assert problems[0].message.startswith("not well-formed XML")


def test_package_problems_are_located_in_the_package() -> None:
    item_xml = (QTI / "choice_v2p1.xml").read_bytes()
    data = package(
        {
            "imsmanifest.xml": manifest(
                [
                    ("a.xml", "imsqti_item_xmlv2p1", ["section:TWK", "topic:x"]),
                    ("hilang.xml", "imsqti_item_xmlv2p1", []),
                    ("old.xml", "imsqti_xmlv1p2", []),
                ]
            ),
            "a.xml": item_xml,
        }
    )
    items, problems = records("paket.zip", data)
    assert items == []
    assert [(p.file, p.location, p.field) for p in problems] == [
        ("paket.zip:a.xml", "assessmentItem/itemBody/p[2]/img", "media"),
        ("paket.zip", "manifest/resources/resource[2]", "href"),
        ("paket.zip", "manifest/resources/resource[3]", "type"),
    ]
    assert problems[0].message == "referenced image missing from the package: images/sign.png"


def test_manifest_without_items() -> None:
    data = package({"imsmanifest.xml": manifest([("t.xml", "imsqti_test_xmlv2p1", [])])})
    _, problems = records("paket.zip", data)
    assert problems[0].message.startswith("the manifest lists no QTI items")


def test_unsafe_image_in_a_package_is_refused_at_the_item() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    item_xml = (QTI / "choice_v2p1.xml").read_bytes().replace(b"sign.png", b"sign.svg")
    data = package(
        {
            "imsmanifest.xml": manifest(
                [("a.xml", "imsqti_item_xmlv2p1", ["section:T", "topic:x"])]
            ),
            "a.xml": item_xml,
            "images/sign.svg": svg,
        }
    )
    _, problems = records("paket.zip", data)
    assert [p.message for p in problems] == [
        "images/sign.svg: SVG contains a <script> element, which could run code"
    ]


def test_old_style_object_images_and_percent_encoded_names() -> None:
    item_xml = (
        (QTI / "choice_v2p1.xml")
        .read_bytes()
        .replace(
            b'<img src="images/sign.png" alt="NEVER LEAVE LUGGAGE UNATTENDED"/>',
            b'<object type="image/png" data="images/the%20sign.png">the sign</object>',
        )
    )
    data = package(
        {
            "imsmanifest.xml": manifest(
                [("q.xml", "imsqti_item_xmlv2p1", ["section:T", "topic:x"])]
            ),
            "q.xml": item_xml,
            "images/the sign.png": SIGN_PNG,
        }
    )
    items, problems = records("paket.zip", data)
    assert problems == []
    assert '<img src="images/the%20sign.png" alt="the sign">' in items[0].stem
    assert [m.name for m in items[0].media] == ["images/the%20sign.png"]


def test_mapping_bounds_clamp_the_points() -> None:
    data = (
        (QTI / "weighted_v3p0.xml")
        .read_bytes()
        .replace(
            b'<qti-mapping default-value="1">',
            b'<qti-mapping default-value="-2" lower-bound="0" upper-bound="4">',
        )
    )
    items, problems = records("tkp.xml", data, default_section="TKP", default_topic="t")
    assert problems == []
    assert [o.points for o in items[0].options] == [4.0, 4.0, 2.0, 3.0, 0.0]
