"""The item's explanation (*pembahasan*) in every bank format: read, sanitized, exported,
hashed only when present, and refused with its location when it cannot be kept."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace

from openpyxl import Workbook

from item_bank.errors import Problem
from item_bank.formats import (
    ParsedItem,
    check_upload,
    open_bank_file,
    write_json,
    write_qti_package,
)
from item_bank.models import Item, Option, ScoringKind

EXPLANATION = "<p>Pancasila ditetapkan pada <strong>18 Agustus 1945</strong>.</p>"


def read(name: str, data: bytes) -> tuple[list[Item], list[Problem]]:
    bank = open_bank_file(name, io.BytesIO(data))
    found = list(check_upload([bank]))
    return (
        [r.item for r in found if isinstance(r, ParsedItem)],
        [r for r in found if isinstance(r, Problem)],
    )


def item(**changes: object) -> Item:
    base = Item(
        code="SIM-TWK-001",
        section="TWK",
        topic="pancasila",
        stem="<p>Kapan Pancasila ditetapkan sebagai dasar negara?</p>",
        options=(
            Option("A", "1 Juni 1945"),
            Option("B", "18 Agustus 1945"),
            Option("C", "17 Agustus 1945"),
        ),
        scoring=ScoringKind.SINGLE,
        key="B",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def json_bank(**fields: object) -> bytes:
    record = {
        "code": "SIM-TWK-001",
        "section": "TWK",
        "topic": "pancasila",
        "stem": "Kapan Pancasila ditetapkan?",
        "key": "B",
        "options": [{"label": "A", "text": "1 Juni"}, {"label": "B", "text": "18 Agustus"}],
        **fields,
    }
    return json.dumps({"format": "ujian-bank/1", "items": [record]}).encode()


def test_json_explanation_is_read() -> None:
    items, problems = read("bank.json", json_bank(explanation="<p>Lihat <em>pembukaan</em>.</p>"))
    assert problems == []
    [parsed] = items
    assert parsed.explanation == "<p>Lihat <em>pembukaan</em>.</p>"


def test_json_explanation_with_code_is_refused_at_its_field() -> None:
    # Like a stem: shown to candidates, so code in it refuses the item instead of being stripped.
    items, problems = read(
        "bank.json", json_bank(explanation='<p onclick="x()">Lihat.</p><script>1</script>')
    )
    assert items == []
    assert problems
    assert all(p.field == "explanation" for p in problems)
    assert all(p.location.startswith("items[0]") for p in problems)
    assert any("event-handler" in p.message for p in problems)


def test_json_without_explanation_keeps_its_content_hash() -> None:
    # Banks imported before the field existed must not get a new version of every item.
    plain = item()
    assert "explanation" not in plain.content_payload()
    explained = item(explanation=EXPLANATION)
    assert explained.content_hash() != plain.content_hash()


def test_json_explanation_of_the_wrong_type_is_located() -> None:
    items, problems = read("bank.json", json_bank(explanation=["not", "text"]))
    assert items == []
    [problem] = problems
    assert problem.field == "explanation"
    assert "expected text" in problem.message
    assert problem.location.startswith("items[0]")


def test_explanation_with_an_image_is_refused_by_name() -> None:
    items, problems = read("bank.json", json_bank(explanation='<p><img src="x.png" alt=""></p>'))
    assert items == []
    assert any(p.field == "explanation" and "images" in p.message for p in problems)


def test_json_export_round_trips_the_explanation() -> None:
    out = io.BytesIO()
    write_json([item(explanation=EXPLANATION)], out)
    written = json.loads(out.getvalue())
    assert written["items"][0]["explanation"] == EXPLANATION
    items, problems = read("bank.json", out.getvalue())
    assert problems == []
    assert items[0].explanation == EXPLANATION
    assert items[0].content_hash() == item(explanation=EXPLANATION).content_hash()


def test_csv_explanation_column() -> None:
    data = (
        "code;section;topic;stem;key;option_a;option_b;explanation\r\n"
        "SIM-TIU-001;TIU;deret;2, 4, 8, ...?;A;16;10;Setiap suku dikali 2: 8 × 2 = 16.\r\n"
        "SIM-TIU-002;TIU;deret;1, 3, 5, ...?;B;6;7;\r\n"
    ).encode()
    items, problems = read("bank.csv", data)
    assert problems == []
    assert [i.explanation for i in items] == ["Setiap suku dikali 2: 8 × 2 = 16.", None]


def test_xlsx_explanation_column() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "items"
    sheet.append(["code", "section", "topic", "stem", "key", "option_a", "option_b", "Explanation"])
    sheet.append(
        ["SIM-TIU-003", "TIU", "analogi", "Panas : api", "A", "Dingin : es", "X", "Sifat."]
    )
    out = io.BytesIO()
    book.save(out)
    items, problems = read("bank.xlsx", out.getvalue())
    assert problems == []
    assert items[0].explanation == "Sifat."


QTI21 = """<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="SIM-TWK-010"
    title="t" label="TWK/pancasila" adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>A</value></correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="FEEDBACK" cardinality="single" baseType="identifier"/>
  <itemBody>
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">
      <prompt>Sila pertama Pancasila?</prompt>
      <simpleChoice identifier="A">Ketuhanan Yang Maha Esa</simpleChoice>
      <simpleChoice identifier="B">Persatuan Indonesia</simpleChoice>
    </choiceInteraction>
  </itemBody>
  <responseProcessing
    template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>
  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="CORRECT" showHide="show"
    >Benar!</modalFeedback>
  <modalFeedback outcomeIdentifier="FEEDBACK" identifier="{identifier}" showHide="show"
    ><p>Sila pertama berbunyi <em>Ketuhanan Yang Maha Esa</em>.</p></modalFeedback>
</assessmentItem>
"""


def test_qti_modal_feedback_named_explanation_is_the_explanation() -> None:
    for identifier in ("explanation", "pembahasan", "PEMBAHASAN"):
        items, problems = read("item.xml", QTI21.replace("{identifier}", identifier).encode())
        assert problems == []
        [parsed] = items
        assert parsed.explanation is not None
        assert "Ketuhanan Yang Maha Esa" in parsed.explanation
        # Other feedback stays out of the item: it is neither stem nor explanation.
        assert "Benar!" not in parsed.explanation
        assert "Benar!" not in parsed.stem


def test_qti_other_modal_feedback_is_not_an_explanation() -> None:
    items, problems = read("item.xml", QTI21.replace("{identifier}", "INCORRECT").encode())
    assert problems == []
    assert items[0].explanation is None


def test_qti_export_writes_and_reads_back_the_explanation() -> None:
    out = io.BytesIO()
    write_qti_package([item(explanation=EXPLANATION)], {}, out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        documents = [archive.read(n) for n in archive.namelist() if n.startswith("items/")]
    assert any(b'identifier="explanation"' in d and b"qti-modal-feedback" in d for d in documents)
    items, problems = read("export.zip", out.getvalue())
    assert problems == []
    assert items[0].explanation == EXPLANATION
    assert items[0].key == "B"


def test_qti_export_without_explanation_has_no_feedback() -> None:
    out = io.BytesIO()
    write_qti_package([item()], {}, out)
    items, problems = read("export.zip", out.getvalue())
    assert problems == []
    assert items[0].explanation is None
