"""Import fidelity: fixed positions, shuffle, MathML, refusals instead of silent removals,
response processing recognised by what it scores, APIP items, whitespace and export names.

The QTI files under ``fixtures/banks/qti/fidelity`` are written for these tests in the shapes
the QTI 2.1 / 2.2 / 3.0 specifications and common authoring tools (ONYX, Common Cartridge,
APIP) use.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from item_bank.errors import Problem
from item_bank.formats import (
    ExportRefused,
    ParsedItem,
    check_upload,
    open_bank_file,
    write_export,
    write_json,
    write_qti_package,
)
from item_bank.models import Item, Media, Option, ScoringKind

BANKS = Path(__file__).parents[2] / "fixtures" / "banks"
FIDELITY = BANKS / "qti" / "fidelity"
PNG = (BANKS / "qti" / "sign.png").read_bytes()
ACCEPTED = (
    "fixed_choices_v2p1.xml",
    "true_false_v3p0.xml",
    "mathml_options_v2p2.xml",
    "onyx_sum_v2p1.xml",
    "cc2_match_inline_v2p1.xml",
    "apip_choice_v2p1.xml",
)


def read(name: str, data: bytes, **options: object) -> tuple[list[Item], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data), **options)  # type: ignore[arg-type]
    found = list(check_upload([bank]))
    return (
        [r.item for r in found if isinstance(r, ParsedItem)],
        [r for r in found if isinstance(r, Problem)],
    )


def fixture(name: str) -> Item:
    items, problems = read(name, (FIDELITY / name).read_bytes())
    assert problems == []
    assert len(items) == 1
    return items[0]


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def plain_item(**changes: object) -> Item:
    values: dict[str, object] = {
        "code": "TWK-1",
        "section": "TWK",
        "topic": "pancasila",
        "stem": "<p>Soal</p>",
        "options": (Option("A", "satu"), Option("B", "dua"), Option("C", "tiga")),
        "scoring": ScoringKind.SINGLE,
        "key": "B",
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


# Fixed positions and shuffle -----------------------------------------------------------------


def test_hash_of_an_item_without_fixed_or_shuffle_is_the_one_it_always_had() -> None:
    item = plain_item()
    # The payload as it was before fixed positions existed: existing banks must not change.
    before = {
        "section": "TWK",
        "topic": "pancasila",
        "stem": "<p>Soal</p>",
        "scoring": "single",
        "key": "B",
        "options": [
            {"label": label, "text": text, "points": None}
            for label, text in (("A", "satu"), ("B", "dua"), ("C", "tiga"))
        ],
        "media": [],
    }
    canonical = json.dumps(before, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert item.content_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    fixed = plain_item(
        options=(Option("A", "satu"), Option("B", "dua"), Option("C", "tiga", fixed=True))
    )
    assert (
        len({item.content_hash(), fixed.content_hash(), plain_item(shuffle=False).content_hash()})
        == 3
    )


def test_qti_fixed_choice_and_shuffle_are_read() -> None:
    nkri = fixture("fixed_choices_v2p1.xml")
    assert nkri.shuffle is True
    assert [o.fixed for o in nkri.options] == [False, False, False, False, True]
    assert nkri.options[4].text == "Tidak ada di antara pilihan di atas"
    true_false = fixture("true_false_v3p0.xml")
    assert true_false.shuffle is False
    assert [(o.label, o.text) for o in true_false.options] == [("A", "Benar"), ("B", "Salah")]
    assert true_false.key == "A"


def test_qti_export_writes_fixed_and_never_shuffles_an_unshuffled_item() -> None:
    items = [fixture("fixed_choices_v2p1.xml"), fixture("true_false_v3p0.xml")]
    out = io.BytesIO()
    write_qti_package(items, {}, out)
    with zipfile.ZipFile(out) as archive:
        nkri = archive.read("items/TWK-NKRI-021.xml").decode()
        true_false = archive.read("items/TWK-UUD-030.xml").decode()
    assert 'shuffle="true"' in nkri
    assert nkri.count('fixed="true"') == 1
    assert '<qti-simple-choice identifier="E" fixed="true">' in nkri
    assert 'shuffle="false"' in true_false
    assert 'shuffle="true"' not in true_false


def test_json_shuffle_and_fixed_fields() -> None:
    document = {
        "format": "ujian-bank/1",
        "items": [
            {
                "code": "TIU-1",
                "section": "TIU",
                "topic": "numerik",
                "stem": "Urutan bilangan",
                "key": "A",
                "shuffle": False,
                "options": [{"label": "A", "text": "1"}, {"label": "B", "text": "2"}],
            },
            {
                "code": "TIU-2",
                "section": "TIU",
                "topic": "numerik",
                "stem": "Pilih",
                "key": "A",
                "options": [
                    {"label": "A", "text": "x"},
                    {"label": "B", "text": "y"},
                    {"label": "C", "text": "Semua salah", "fixed": True},
                ],
            },
        ],
    }
    items, problems = read("b.json", json.dumps(document).encode())
    assert problems == []
    assert [i.shuffle for i in items] == [False, True]
    assert [o.fixed for o in items[1].options] == [False, False, True]
    out = io.BytesIO()
    write_json(items, out)
    written = [json.loads(line.rstrip(",")) for line in out.getvalue().decode().splitlines()[1:-1]]
    assert written[0]["shuffle"] is False
    assert "shuffle" not in written[1]
    assert written[1]["options"][2] == {"label": "C", "text": "Semua salah", "fixed": True}
    assert "fixed" not in written[1]["options"][0]


def test_json_bad_shuffle_and_fixed_values_are_named() -> None:
    item = {
        "code": "TIU-1",
        "section": "TIU",
        "topic": "t",
        "stem": "s",
        "key": "A",
        "shuffle": "maybe",
        "options": [{"label": "A", "text": "1", "fixed": 3}, {"label": "B", "text": "2"}],
    }
    _, problems = read("b.json", json.dumps({"format": "ujian-bank/1", "items": [item]}).encode())
    assert [(p.field, p.message) for p in problems] == [
        ("shuffle", "expected yes or no (true/false), got 'maybe'"),
        ("options[0].fixed", "expected yes or no (true/false), got 3"),
    ]


def test_csv_shuffle_and_fixed_columns() -> None:
    data = (
        b"code,section,topic,stem,key,option_a,option_b,option_c,shuffle,fixed\r\n"
        b"TWK-1,TWK,t,Soal,A,a,b,Semua benar,,C\r\n"
        b"TWK-2,TWK,t,Benar atau salah,A,Benar,Salah,,tidak,\r\n"
        b"TWK-3,TWK,t,Soal,A,a,b,c,ya,D\r\n"
    )
    items, problems = read("b.csv", data)
    assert [(p.location, p.field, p.message) for p in problems] == [
        ("row 4", "fixed", "'D' names no option (options: A, B, C)")
    ]
    assert [(i.code, i.shuffle, [o.fixed for o in i.options]) for i in items] == [
        ("TWK-1", True, [False, False, True]),
        ("TWK-2", False, [False, False]),
    ]


def test_every_option_fixed_is_the_same_item_as_not_shuffled() -> None:
    data = (
        b"code,section,topic,stem,key,option_a,option_b,shuffle,fixed\r\n"
        b"TWK-1,TWK,t,Soal,A,a,b,,A B\r\n"
        b"TWK-2,TWK,t,Soal,A,a,b,no,A\r\n"
    )
    items, problems = read("b.csv", data)
    assert problems == []
    assert [(i.shuffle, [o.fixed for o in i.options]) for i in items] == [
        (False, [False, False]),
        (False, [False, False]),
    ]
    assert items[0].content_hash() == items[1].content_hash()


# MathML ---------------------------------------------------------------------------------------


def test_options_that_are_formulas_import_with_their_formulas() -> None:
    item = fixture("mathml_options_v2p2.xml")
    assert [o.text for o in item.options] == [
        "<math><mfrac><mn>1</mn><mn>2</mn></mfrac></math>",
        "<math><msqrt><mn>6</mn></msqrt></math>",
        "<math><mn>2</mn><mtext>&nbsp;dan&nbsp;</mtext><mn>3</mn></math>",
        "<math><mo>-</mo><mn>2</mn><mtext>&nbsp;dan&nbsp;</mtext><mo>-</mo><mn>3</mn></math>",
        '<math display="block"><semantics><msup><mi>x</mi><mn>2</mn></msup>'
        '<annotation encoding="application/x-tex">x^2</annotation></semantics></math>',
    ]
    assert item.stem == (
        "<p>Akar-akar persamaan <math><mrow><msup><mi>x</mi><mn>2</mn></msup><mo>-</mo>"
        "<mn>5</mn><mi>x</mi><mo>+</mo><mn>6</mn><mo>=</mo><mn>0</mn></mrow></math>"
        " adalah ...</p>"
    )
    assert item.key == "C"


def test_a_formula_is_part_of_the_content_hash() -> None:
    data = (FIDELITY / "mathml_options_v2p2.xml").read_bytes()
    changed = data.replace(b"<m:mn>6</m:mn></m:msqrt>", b"<m:mn>7</m:mn></m:msqrt>")
    (first,), _ = read("a.xml", data)
    (second,), _ = read("b.xml", changed)
    assert first.content_hash() != second.content_hash()


def test_mathml2_fences_become_the_operators_browsers_render() -> None:
    data = (
        (FIDELITY / "mathml_options_v2p2.xml")
        .read_bytes()
        .replace(
            b"<m:msqrt><m:mn>6</m:mn></m:msqrt>",
            b'<m:mfenced open="[" close="]" separators=";"><m:mn>1</m:mn><m:mfenced><m:mi>a</m:mi>'
            b"<m:mi>b</m:mi></m:mfenced><m:mn>3</m:mn></m:mfenced>",
        )
    )
    (item,), problems = read("f.xml", data)
    assert problems == []
    assert item.options[1].text == (
        "<math><mrow><mo>[</mo><mn>1</mn><mo>;</mo><mrow><mo>(</mo><mi>a</mi><mo>,</mo>"
        "<mi>b</mi><mo>)</mo></mrow><mo>;</mo><mn>3</mn><mo>]</mo></mrow></math>"
    )


def test_qti_export_puts_mathml_in_its_namespace() -> None:
    item = fixture("mathml_options_v2p2.xml")
    out = io.BytesIO()
    write_qti_package([item], {}, out)
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("items/TIU-ALJ-009.xml").decode()
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML"><mfrac>' in xml


# Refuse, never strip ------------------------------------------------------------------------


def located(name: str) -> list[tuple[str, str]]:
    items, problems = read(name, (FIDELITY / name).read_bytes())
    assert items == []
    assert all(p.message.startswith("refused, not stripped: ") for p in problems), problems
    return [(p.location, p.field) for p in problems]


def test_template_items_are_refused_at_each_template_construct() -> None:
    assert located("template_v2p1.xml") == [
        ("assessmentItem/templateDeclaration[1]", "templateDeclaration"),
        ("assessmentItem/templateDeclaration[2]", "templateDeclaration"),
        ("assessmentItem/templateProcessing", "templateProcessing"),
        ("assessmentItem/itemBody/p/printedVariable[1]", "printedVariable"),
        ("assessmentItem/itemBody/p/printedVariable[2]", "printedVariable"),
    ]


def test_a_shared_stimulus_reference_is_refused_by_name() -> None:
    items, problems = read("s.xml", (FIDELITY / "stimulus_ref_v3p0.xml").read_bytes())
    assert items == []
    assert [(p.location, p.field) for p in problems] == [
        ("qti-assessment-item/qti-assessment-stimulus-ref", "qti-assessment-stimulus-ref")
    ]
    assert "shared passages (stimuli) are not accepted by this import" in problems[0].message


def test_passages_remote_images_and_video_are_refused_each_at_its_element() -> None:
    assert located("media_v2p1.xml") == [
        ("assessmentItem/itemBody/div/object", "object"),
        ("assessmentItem/itemBody/p[1]/img/@src", "src"),
        ("assessmentItem/itemBody/p[2]/img/@src", "src"),
        ("assessmentItem/itemBody/p[3]/img/@src", "src"),
        ("assessmentItem/itemBody/object", "object"),
    ]


def test_video_mathml_outside_the_core_and_strike_through_are_refused() -> None:
    items, problems = read("v.xml", (FIDELITY / "video_mfenced_v3p0.xml").read_bytes())
    assert items == []
    assert [(p.location, p.message.split(": ")[1].split(" ")[0]) for p in problems] == [
        ("qti-assessment-item/qti-item-body/video", "<video>"),
        ("qti-assessment-item/qti-item-body/p/math/menclose", "<menclose>"),
        ("qti-assessment-item/qti-item-body/qti-choice-interaction/qti-simple-choice[2]/s", "<s>"),
    ]


def test_remote_image_in_a_json_bank_is_refused_not_dropped() -> None:
    item = {
        "code": "TIU-1",
        "section": "TIU",
        "topic": "t",
        "stem": '<p>Lihat</p><img src="https://cdn.example/fig.png">',
        "key": "A",
        "options": [{"label": "A", "text": "1"}, {"label": "B", "text": "2"}],
    }
    _, problems = read("b.json", json.dumps({"format": "ujian-bank/1", "items": [item]}).encode())
    assert [(p.field, p.message) for p in problems] == [
        (
            "stem",
            "refused, not stripped: image source 'https://cdn.example/fig.png' at img/@src is not"
            " supported: an image must be a file of the package named by a relative path (no"
            " scheme, no leading '/', no '..', no '?' or '#')",
        )
    ]


def test_presentation_only_markup_still_imports() -> None:
    item = {
        "code": "TIU-1",
        "section": "TIU",
        "topic": "t",
        "stem": '<div class="soal"><p style="margin:0">Soal <a href="#x">ini</a></p></div>',
        "key": "A",
        "options": [
            {"label": "A", "text": "<font face='Arial'>1</font>"},
            {"label": "B", "text": "2"},
        ],
    }
    items, problems = read(
        "b.json", json.dumps({"format": "ujian-bank/1", "items": [item]}).encode()
    )
    assert problems == []
    assert items[0].stem == "<p>Soal ini</p>"
    assert items[0].options[0].text == "1"


# Response processing by what it scores --------------------------------------------------------


def test_onyx_sum_of_score_and_maxscore_with_feedback_is_a_keyed_item() -> None:
    item = fixture("onyx_sum_v2p1.xml")
    assert (item.scoring, item.key) == (ScoringKind.SINGLE, "C")
    assert dict(item.source)["qti_choices"] == "id-1 id-2 id-3 id-4"


def test_common_cartridge_match_written_out_with_multiple_feedback_is_a_keyed_item() -> None:
    item = fixture("cc2_match_inline_v2p1.xml")
    assert (item.scoring, item.key, item.shuffle) == (ScoringKind.SINGLE, "B", False)


@pytest.mark.parametrize("template", ["CC2_match", "CC2_match_basic"])
def test_common_cartridge_template_uris(template: str) -> None:
    data = (
        (BANKS / "qti" / "choice_v3p0.xml")
        .read_bytes()
        .replace(b"match_correct", template.encode())
    )
    items, problems = read("c.xml", data)
    assert problems == []
    assert items[0].key == "C"


def processing_item(processing: str, mapping: str = "") -> bytes:
    return f"""<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="TKP-9"
      label="TKP/pelayanan_publik" adaptive="false" timeDependent="false">
      <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
        <correctResponse><value>B</value></correctResponse>{mapping}
      </responseDeclaration>
      <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
      <itemBody><choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">
        <prompt>Sikap Anda</prompt>
        <simpleChoice identifier="A">a</simpleChoice><simpleChoice identifier="B">b</simpleChoice>
        <simpleChoice identifier="C">c</simpleChoice></choiceInteraction></itemBody>
      <responseProcessing>{processing}</responseProcessing></assessmentItem>""".encode()


def test_map_response_written_out_is_a_weighted_item() -> None:
    mapping = (
        '<mapping defaultValue="1"><mapEntry mapKey="A" mappedValue="3"/>'
        '<mapEntry mapKey="B" mappedValue="5"/></mapping>'
    )
    processing = (
        "<responseCondition><responseIf><isNull><variable identifier='RESPONSE'/></isNull>"
        "<setOutcomeValue identifier='SCORE'><baseValue baseType='float'>0</baseValue>"
        "</setOutcomeValue></responseIf><responseElse><setOutcomeValue identifier='SCORE'>"
        "<mapResponse identifier='RESPONSE'/></setOutcomeValue></responseElse></responseCondition>"
    )
    (item,), problems = read("w.xml", processing_item(processing, mapping))
    assert problems == []
    assert item.scoring is ScoringKind.WEIGHTED
    assert [o.points for o in item.options] == [3.0, 5.0, 1.0]


def test_processing_that_scores_a_blank_answer_or_nothing_is_refused() -> None:
    blank = (
        "<responseCondition><responseIf><isNull><variable identifier='RESPONSE'/></isNull>"
        "<setOutcomeValue identifier='SCORE'><baseValue baseType='float'>1</baseValue>"
        "</setOutcomeValue></responseIf></responseCondition>"
    )
    _, problems = read("b.xml", processing_item(blank))
    assert [p.message.split(";")[0] for p in problems] == [
        "response processing gives 1 points for no answer"
    ]
    never = (
        "<setOutcomeValue identifier='FEEDBACK'><variable identifier='RESPONSE'/></setOutcomeValue>"
    )
    _, problems = read("n.xml", processing_item(never))
    assert [p.message for p in problems] == [
        "response processing never gives points, whatever the answer"
    ]


def test_custom_operators_are_refused_with_the_construct_named() -> None:
    items, problems = read("c.xml", (FIDELITY / "custom_operator_v2p1.xml").read_bytes())
    assert items == []
    assert [(p.location, p.field) for p in problems] == [
        (
            "assessmentItem/responseProcessing/responseCondition/responseIf/customOperator",
            "customOperator",
        )
    ]
    assert problems[0].message.startswith(
        "response processing cannot be evaluated: <customOperator> is not an expression"
    )


# APIP -----------------------------------------------------------------------------------------


def apip_manifest(kind: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest xmlns="http://www.imsglobal.org/xsd/apip/apipv1p0/imscp_v1p1" identifier="M">'
        f'<organizations/><resources><resource identifier="R1" type="{kind}" href="items/q1.xml">'
        '<file href="items/q1.xml"/></resource></resources></manifest>'
    ).encode()


@pytest.mark.parametrize("kind", ["imsqti_apipitem_xmlv2p1", "imsapip_qtiitem_xmlv2p2"])
def test_apip_items_in_a_package_are_read_as_qti_items(kind: str) -> None:
    package = zipped(
        {
            "imsmanifest.xml": apip_manifest(kind),
            "items/q1.xml": (FIDELITY / "apip_choice_v2p1.xml").read_bytes(),
        }
    )
    items, problems = read("apip.zip", package)
    assert problems == []
    assert [(i.code, i.key, i.section, i.topic) for i in items] == [
        ("TWK-PANC-044", "B", "TWK", "pancasila")
    ]


def test_a_manifest_without_items_says_what_it_lists() -> None:
    package = zipped({"imsmanifest.xml": apip_manifest("imsqti_apipsection_xmlv2p1")})
    _, problems = read("p.zip", package)
    assert [p.message.split("; ")[1] for p in problems] == [
        "it lists: imsqti_apipsection_xmlv2p1 (1)"
    ]


# Round trip, whatever whitespace the source had ----------------------------------------------


def accepted_items() -> list[Item]:
    return [fixture(name) for name in ACCEPTED]


def test_qti_and_json_round_trips_keep_every_content_hash() -> None:
    items = accepted_items()
    expected = [(i.code, i.content_hash()) for i in items]
    qti = io.BytesIO()
    write_qti_package(items, {}, qti)
    again, problems = read("export.zip", qti.getvalue())
    assert problems == []
    assert [(i.code, i.content_hash()) for i in again] == expected
    assert [(i.shuffle, [o.fixed for o in i.options]) for i in again] == [
        (i.shuffle, [o.fixed for o in i.options]) for i in items
    ]
    native = io.BytesIO()
    write_json(again, native)
    twice, problems = read("export.json", native.getvalue())
    assert problems == []
    assert [(i.code, i.content_hash()) for i in twice] == expected


def test_the_same_item_indented_differently_has_the_same_hash() -> None:
    data = (FIDELITY / "fixed_choices_v2p1.xml").read_bytes()
    flat = b" ".join(data.split())
    flat = flat.replace(b"> <", b"><")
    tabbed = data.replace(b"\n    ", b"\n\t\t").replace(b"darat\n", b"darat\r\n\t")
    hashes = {
        read(f"{n}.xml", d)[0][0].content_hash()
        for n, d in (("a", data), ("b", flat), ("c", tabbed))
    }
    assert len(hashes) == 1


# Export names and image counts ----------------------------------------------------------------


def image_item() -> Item:
    media = Media("media/a.png", "image/png", hashlib.sha256(PNG).hexdigest())
    return plain_item(stem='<p>Gambar</p><img src="media/a.png">', media=(media,))


def test_a_json_export_with_images_is_a_zip_and_a_json_name_is_refused() -> None:
    item = image_item()
    media = {item.media[0].sha256: PNG}
    with pytest.raises(ExportRefused, match=r"name it \.zip"):
        write_export([item], media, io.BytesIO(), fmt="json", name="bank.json")
    out = io.BytesIO()
    summary = write_export([item], media, out, fmt="json", name="bank.zip")
    assert (summary.container, summary.items, summary.images) == ("json-package", 1, 1)
    bank = open_bank_file("bank.zip", io.BytesIO(out.getvalue()))
    assert [r.item.content_hash() for r in bank.records() if isinstance(r, ParsedItem)] == [
        item.content_hash()
    ]
    assert len({f.sha256 for f in bank.media().values()}) == summary.images


def test_image_counts_agree_when_two_items_name_one_picture_differently() -> None:
    first = image_item()
    second = plain_item(
        code="TWK-2",
        stem='<p>Lagi</p><img src="img/b.png">',
        media=(Media("img/b.png", "image/png", first.media[0].sha256),),
    )
    media = {first.media[0].sha256: PNG}
    for fmt in ("json", "qti"):
        out = io.BytesIO()
        summary = write_export([first, second], media, out, fmt=fmt, name="export.zip")
        assert (summary.images, summary.image_files) == (1, 2)
        bank = open_bank_file("export.zip", io.BytesIO(out.getvalue()))
        list(bank.records())
        assert len({f.sha256 for f in bank.media().values()}) == summary.images


def test_export_names_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ExportRefused, match=r"name it \.zip"):
        write_export([plain_item()], {}, io.BytesIO(), fmt="qti", name="bank.xml")
    with pytest.raises(ExportRefused, match="unknown export format"):
        write_export([plain_item()], {}, io.BytesIO(), fmt="csv", name="bank.csv")
    out = io.BytesIO()
    assert write_export([plain_item()], {}, out, fmt="json", name="bank.json").container == "json"
    assert out.getvalue().startswith(b'{"format": "ujian-bank/1"')


# The shipped template ------------------------------------------------------------------------


def test_the_template_imports_and_shares_no_code_with_the_demo_bank() -> None:
    template = Path(__file__).parents[3] / "docs" / "templates" / "bank-template.csv"
    items, problems = read("bank-template.csv", template.read_bytes())
    assert problems == []
    demo = Path(__file__).parents[3] / "app" / "demo" / "bank"
    demo_codes = {
        item["code"]
        for path in demo.glob("*.json")
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]
    }
    assert {i.code for i in items} & demo_codes == set()
    assert any(not i.shuffle for i in items)
    assert any(o.fixed for i in items for o in i.options)


# Passages (stimuli) ---------------------------------------------------------------------------


def package_of(folder: str) -> bytes:
    root = FIDELITY / folder
    return zipped(
        {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
    )


def read_parsed(
    name: str, data: bytes, **options: object
) -> tuple[list[ParsedItem], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data), **options)  # type: ignore[arg-type]
    found = list(check_upload([bank]))
    return (
        [r for r in found if isinstance(r, ParsedItem)],
        [r for r in found if isinstance(r, Problem)],
    )


def test_a_qti3_passage_shared_by_two_items_is_read_once_as_a_stimulus() -> None:
    bank = open_bank_file("bacaan.zip", io.BytesIO(package_of("stimulus_pkg")), accept_stimuli=True)
    parsed = [r for r in check_upload([bank]) if isinstance(r, ParsedItem)]
    assert [(p.item.code, p.item.stimulus_ref) for p in parsed] == [
        ("TIU-BAC-001", "BACAAN-HUTAN"),
        ("TIU-BAC-002", "BACAAN-HUTAN"),
    ]
    stimulus = parsed[0].stimulus
    assert stimulus is not None
    assert stimulus == parsed[1].stimulus
    assert stimulus.title == "Hutan tropis"
    assert "<math><mfrac><mn>1</mn><mn>10</mn></mfrac></math>" in stimulus.content
    assert "<td>Papua</td><td>34</td>" in stimulus.content
    assert [m.name for m in stimulus.media] == ["rambu.png"]
    assert list(bank.media()) == ["stimuli/rambu.png"]
    # The passage is not folded into the stem: it is shown beside the item.
    assert parsed[0].item.stem == "<p>Pulau dengan hutan terluas menurut tabel adalah ...</p>"


def test_without_accepting_passages_the_items_are_refused_not_shown_without_them() -> None:
    items, problems = read("bacaan.zip", package_of("stimulus_pkg"))
    assert items == []
    assert [(p.file, p.location) for p in problems] == [
        ("bacaan.zip:items/hutan-1.xml", "qti-assessment-item/qti-assessment-stimulus-ref"),
        ("bacaan.zip:items/hutan-2.xml", "qti-assessment-item/qti-assessment-stimulus-ref"),
    ]


def test_a_qti2_html_passage_in_the_package_becomes_a_stimulus() -> None:
    parsed, problems = read_parsed("pidato.zip", package_of("passage_pkg"), accept_stimuli=True)
    assert problems == []
    (record,) = parsed
    assert record.item.stimulus_ref == "passages-pidato"
    assert record.stimulus is not None
    assert record.stimulus.content.startswith("<p>Saudara-saudara sekalian, kemerdekaan")
    assert record.item.stem == "<p>Kemerdekaan disebut sebagai ...</p>"


def test_a_passage_missing_from_the_package_is_located() -> None:
    files = {
        "imsmanifest.xml": (FIDELITY / "stimulus_pkg" / "imsmanifest.xml").read_bytes(),
        "items/hutan-1.xml": (FIDELITY / "stimulus_pkg" / "items" / "hutan-1.xml").read_bytes(),
        "items/hutan-2.xml": (FIDELITY / "stimulus_pkg" / "items" / "hutan-2.xml").read_bytes(),
    }
    _, problems = read_parsed("p.zip", zipped(files), accept_stimuli=True)
    assert [(p.location, p.field, p.message) for p in problems] == [
        (
            "qti-assessment-item/qti-assessment-stimulus-ref",
            "href",
            "the passage file '../stimuli/bacaan-hutan.xml' is not in the package",
        )
    ] * 2


def test_passages_round_trip_through_qti_and_json_exports() -> None:
    parsed, _ = read_parsed("bacaan.zip", package_of("stimulus_pkg"), accept_stimuli=True)
    items = [p.item for p in parsed]
    stimulus = parsed[0].stimulus
    assert stimulus is not None
    stimuli = {stimulus.code: stimulus}
    media = {stimulus.media[0].sha256: PNG}
    for fmt in ("qti", "json"):
        out = io.BytesIO()
        summary = write_export(items, media, out, fmt=fmt, name="export.zip", stimuli=stimuli)
        assert summary.images == 1
        again, problems = read_parsed("export.zip", out.getvalue(), accept_stimuli=True)
        assert problems == []
        assert [p.item.content_hash() for p in again] == [i.content_hash() for i in items]
        assert {p.stimulus.content_hash() for p in again if p.stimulus} == {stimulus.content_hash()}
    out = io.BytesIO()
    write_qti_package(items, media, out, stimuli)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names.count("stimuli/BACAAN-HUTAN.xml") == 1
        assert (
            'href="../stimuli/BACAAN-HUTAN.xml"' in archive.read("items/TIU-BAC-001.xml").decode()
        )


def json_with_passages(*contents: str) -> bytes:
    items = [
        {
            "code": f"TIU-{n}",
            "section": "TIU",
            "topic": "bacaan",
            "stem": "Gagasan utama bacaan adalah ...",
            "key": "A",
            "options": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}],
            "stimulus": {"code": "BACAAN-1", "content": content},
        }
        for n, content in enumerate(contents)
    ]
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


def test_json_passages_are_read_and_one_code_may_not_name_two_texts() -> None:
    parsed, problems = read_parsed(
        "b.json", json_with_passages("<p>Teks</p>", "<p>Teks</p>"), accept_stimuli=True
    )
    assert problems == []
    assert [p.item.stimulus_ref for p in parsed] == ["BACAAN-1", "BACAAN-1"]
    _, problems = read_parsed(
        "b.json", json_with_passages("<p>Teks</p>", "<p>Lain</p>"), accept_stimuli=True
    )
    assert [(p.location, p.field) for p in problems] == [("items[1] (line 1)", "stimulus")]
    assert problems[0].message.startswith(
        "passage 'BACAAN-1' differs from the passage of that code"
    )


def test_json_passages_are_refused_unless_accepted_and_judged_like_stems() -> None:
    _, problems = read_parsed("b.json", json_with_passages("<p>Teks</p>"))
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("stimulus.content", "refused, not stripped")
    ]
    _, problems = read_parsed(
        "b.json", json_with_passages("<p>Teks<script>x()</script></p>"), accept_stimuli=True
    )
    assert [
        (p.field, " at ".join(p.message.split(" at ")[1:2]).split(" ")[0]) for p in problems
    ] == [("stimulus.content", "p/script")]


def test_csv_passage_columns_give_the_text_once_for_several_rows() -> None:
    data = (
        b"code,section,topic,stem,key,option_a,option_b,stimulus,stimulus_text\r\n"
        b"TIU-1,TIU,bacaan,Gagasan utama ...,A,x,y,BACAAN-1,<p>Teks <b>bacaan</b></p>\r\n"
        b"TIU-2,TIU,bacaan,Kata kunci ...,B,x,y,BACAAN-1,\r\n"
        b"TIU-3,TIU,bacaan,Soal lain ...,B,x,y,BACAAN-2,\r\n"
    )
    parsed, problems = read_parsed("b.csv", data, accept_stimuli=True)
    assert [(p.location, p.field, p.message) for p in problems] == [
        ("row 4", "stimulus_text", "empty passage")
    ]
    assert [(p.item.stimulus_ref, p.stimulus.content if p.stimulus else None) for p in parsed] == [
        ("BACAAN-1", "<p>Teks <b>bacaan</b></p>"),
        ("BACAAN-1", "<p>Teks <b>bacaan</b></p>"),
    ]
    _, refused = read_parsed("b.csv", data)
    assert {(p.location, p.field) for p in refused} == {
        ("row 2", "stimulus_text"),
        ("row 3", "stimulus_text"),
        ("row 4", "stimulus_text"),
    }


def test_package_items_name_the_package_they_came_from() -> None:
    parsed, _ = read_parsed("bacaan.zip", package_of("stimulus_pkg"), accept_stimuli=True)
    assert [(p.item.source["qti_package"], p.item.source["qti_resource"]) for p in parsed] == [
        ("PAKET-BACAAN", "ITEM-1"),
        ("PAKET-BACAAN", "ITEM-2"),
    ]
    out = io.BytesIO()
    write_qti_package([fixture("true_false_v3p0.xml")], {}, out)
    (again,), _ = read("export.zip", out.getvalue())
    assert again.source["qti_package"] == "ujian-bank-export"
    assert again.source["qti_resource"] == "item-TWK-UUD-030"


def test_a_single_item_file_cannot_carry_its_passage() -> None:
    data = (FIDELITY / "stimulus_pkg" / "items" / "hutan-1.xml").read_bytes()
    _, problems = read_parsed("hutan-1.xml", data, accept_stimuli=True)
    assert [(p.location, p.field) for p in problems] == [
        ("qti-assessment-item/qti-assessment-stimulus-ref", "href")
    ]
    assert "import the item's content package" in problems[0].message


def test_an_item_may_refer_to_one_passage_only() -> None:
    root = FIDELITY / "stimulus_pkg"
    item = (root / "items" / "hutan-1.xml").read_bytes()
    ref = (
        b'<qti-assessment-stimulus-ref identifier="BACAAN-HUTAN" href="../stimuli/bacaan-hutan.xml"'
    )
    twice = item.replace(ref, ref.replace(b'"BACAAN-HUTAN"', b'"LAIN"') + b"/>\n  " + ref, 1)
    files = {
        "imsmanifest.xml": (root / "imsmanifest.xml").read_bytes(),
        "items/hutan-1.xml": twice,
        "items/hutan-2.xml": (root / "items" / "hutan-2.xml").read_bytes(),
        "stimuli/bacaan-hutan.xml": (root / "stimuli" / "bacaan-hutan.xml").read_bytes(),
        "stimuli/rambu.png": PNG,
    }
    parsed, problems = read_parsed("p.zip", zipped(files), accept_stimuli=True)
    assert [p.item.code for p in parsed] == ["TIU-BAC-002"]
    assert [(p.location, p.message) for p in problems] == [
        (
            "qti-assessment-item/qti-assessment-stimulus-ref[2]",
            "refused, not stripped: an item may refer to one passage only",
        )
    ]
