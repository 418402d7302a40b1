"""One item's checks, the same for every format: all problems of an item are named at once."""

from __future__ import annotations

import hashlib

import pytest

from item_bank.errors import Problem
from item_bank.models import DifficultyLevel, Item, ItemStatus, Media, ScoringKind
from item_bank.validation import RawItem, RawOption, Rules, build_item, parse_number

SKD = frozenset({"TWK", "TIU", "TKP"})


def raw_single(**changes: object) -> RawItem:
    raw = RawItem(
        location="row 2",
        code="TWK-001",
        section="TWK",
        topic="pancasila",
        stem="Sila pertama Pancasila dilambangkan dengan ...",
        scoring="single",
        key="A",
        options=[
            RawOption(label=label, text=text)
            for label, text in zip("ABCD", ["Bintang", "Rantai", "Beringin", "Padi"], strict=True)
        ],
    )
    for name, value in changes.items():
        setattr(raw, name, value)
    return raw


def raw_weighted(points: list[object], **changes: object) -> RawItem:
    raw = raw_single(code="TKP-001", section="TKP", topic="pelayanan_publik", scoring="weighted")
    raw.key = None
    raw.options = [
        RawOption(label=label, text=f"Sikap {label}", points=p, points_field=f"points_{label}")
        for label, p in zip("ABCDE", points, strict=False)
    ]
    for name, value in changes.items():
        setattr(raw, name, value)
    return raw


def problems_of(raw: RawItem, rules: Rules | None = None) -> dict[str, str]:
    built = build_item(raw, file="bank.csv", rules=rules or Rules(known_sections=SKD))
    assert isinstance(built, list), built
    return {p.field: p.message for p in built}


def item_of(raw: RawItem, rules: Rules | None = None) -> Item:
    built = build_item(raw, file="bank.csv", rules=rules or Rules(known_sections=SKD))
    assert isinstance(built, Item), built
    return built


def test_a_valid_single_item() -> None:
    item = item_of(raw_single(key="c", p_value="0.62", level="Sedang", status="Draft"))
    assert item.scoring is ScoringKind.SINGLE
    assert item.key == "C"
    assert item.key_index == 2
    assert item.p_value == 0.62
    assert item.level is DifficultyLevel.MEDIUM
    assert item.status is ItemStatus.DRAFT
    assert item.version == 1
    assert all(o.points is None for o in item.options)


def test_a_valid_weighted_item() -> None:
    item = item_of(raw_weighted([3, "5", 1, 4.0, 2]))
    assert item.scoring is ScoringKind.WEIGHTED
    assert item.key is None
    assert [o.points for o in item.options] == [3.0, 5.0, 1.0, 4.0, 2.0]
    assert item.max_points() == 5.0


def test_every_problem_of_an_item_is_reported() -> None:
    raw = raw_single(
        code="kode salah!",
        section="TWX",
        topic=None,
        stem="<script>alert(1)</script>",
        key="A,B",
        p_value="abc",
        level="sangat sulit",
        status="published",
        irt_a="0",
        irt_b=None,
    )
    assert problems_of(raw) == {
        "code": "'kode salah!' is not a valid code: use 1-64 letters, digits, '.', '_' or '-'",
        "section": "unknown section 'TWX' (known sections: TIU, TKP, TWK)",
        "topic": "missing",
        "stem": "empty stem (nothing is left to show after removing unsafe HTML)",
        "key": "ambiguous key 'A,B': a single-answer item has exactly one correct option",
        "p_value": "expected a number, got 'abc'",
        "level": "'sangat sulit' is not a level: use easy, medium or hard",
        "status": "'published' is not a status: use draft, active or retired",
        "irt_a": "0 is out of range: discrimination a must be above 0",
        "irt_b": "missing: IRT parameters need a (discrimination) and b (difficulty)",
    }


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "missing key: name the one correct option"),
        ("", "missing key: name the one correct option"),
        ("AC", "ambiguous key 'AC': a single-answer item has exactly one correct option"),
        ("A B", "ambiguous key 'A B': a single-answer item has exactly one correct option"),
        ("F", "key 'F' names no option (options: A, B, C, D)"),
    ],
)
def test_missing_or_ambiguous_key(key: object, message: str) -> None:
    assert problems_of(raw_single(key=key)) == {"key": message}


def test_duplicate_option_labels() -> None:
    raw = raw_single()
    raw.options[2].label = "b"
    raw.options[2].label_field = "options[2].label"
    assert problems_of(raw) == {"options[2].label": "duplicate option label 'B'"}


@pytest.mark.parametrize("count", [1, 7])
def test_option_count_bounds(count: int) -> None:
    raw = raw_single()
    raw.options = [RawOption(label="ABCDEFG"[i], text=f"o{i}") for i in range(count)]
    found = problems_of(raw)
    assert found["options"] == f"has {count} option(s); an item needs 2 to 6"


def test_weighted_points_problems_name_the_option() -> None:
    raw = raw_weighted([3, 7, None, "tinggi", -1], key="B")
    assert problems_of(raw) == {
        "key": "weighted items have no key (each option's points decide); remove it",
        "points_B": "points 7 out of range 0 to 5",
        "points_C": "missing points for option C (weighted items give every option points)",
        "points_D": "expected a number, got 'tinggi'",
        "points_E": "points -1 out of range 0 to 5",
    }


def test_points_range_is_the_callers() -> None:
    rules = Rules(points_range=(1.0, 4.0))
    assert problems_of(raw_weighted([1, 2, 3, 4, 5]), rules) == {
        "points_E": "points 5 out of range 1 to 4"
    }


def test_single_items_carry_no_points() -> None:
    raw = raw_single()
    raw.options[1].points = 5
    raw.options[1].points_field = "points_b"
    assert set(problems_of(raw)) == {"points_b"}


def test_scoring_is_inferred_when_blank_and_unambiguous() -> None:
    assert item_of(raw_single(scoring=None)).scoring is ScoringKind.SINGLE
    assert item_of(raw_weighted([1, 2, 3, 4, 5], scoring="")).scoring is ScoringKind.WEIGHTED
    raw = raw_single(scoring=None, key=None)
    assert problems_of(raw) == {
        "scoring": "missing: use single (with a key) or weighted (with points per option)"
    }


def test_wrong_types_are_named() -> None:
    raw = raw_single(code=17, stem=["a"], p_value=True, source=["x"])
    assert problems_of(raw) == {
        "code": "expected text, got 17",
        "stem": "expected text, got ['a']",
        "p_value": "expected a number, got True",
        "source": "expected an object of texts, got ['x']",
    }


def test_spreadsheet_numbers_are_text_where_text_is_expected() -> None:
    raw = raw_single(topic=2024)
    raw.options[0].text = 25.0
    raw.options[1].text = 2.5
    item = item_of(raw, Rules(numbers_as_text=True))
    assert item.topic == "2024"
    assert [o.text for o in item.options[:2]] == ["25", "2.5"]


def test_p_value_and_irt_ranges() -> None:
    found = problems_of(raw_single(p_value=1.2, irt_a=1.0, irt_b=0.0, irt_c=1.0))
    assert found == {
        "p_value": "1.2 is out of range: a p-value lies between 0 and 1",
        "irt_c": "1 is out of range: guessing c lies in 0 <= c < 1",
    }
    item = item_of(raw_single(irt_a="1.2", irt_b="-0.5"))
    assert item.irt is not None
    assert (item.irt.a, item.irt.b, item.irt.c) == (1.2, -0.5, 0.0)


def test_decimal_comma() -> None:
    assert parse_number("0,62", decimal_comma=True) == 0.62
    with pytest.raises(ValueError, match="expected a number"):
        parse_number("0,62")
    with pytest.raises(ValueError, match="finite"):
        parse_number("nan")


def test_stem_and_options_are_sanitized() -> None:
    raw = raw_single(stem='<p class="soal" style="color:red">Soal<!-- catatan --></p>')
    raw.options[0].text = "a < b"
    item = item_of(raw)
    assert item.stem == "<p>Soal</p>"
    assert item.options[0].text == "a &lt; b"


def test_code_in_a_stem_refuses_the_item_instead_of_being_stripped() -> None:
    raw = raw_single(stem='<p onclick="x()">Soal<script>alert(1)</script></p>')
    built = build_item(raw, file="bank.csv", rules=Rules())
    assert isinstance(built, list)
    messages = [(p.field, p.message) for p in built]
    assert messages == [
        (
            "stem",
            "refused, not stripped: an event-handler attribute (on...) at p would be"
            " removed: code never runs in an item",
        ),
        (
            "stem",
            "refused, not stripped: script element with its content at p/script would be"
            " removed: code never runs in an item",
        ),
    ]


def test_empty_option_is_located_at_its_field() -> None:
    raw = raw_single()
    raw.options[3].text = "<script>x</script>"
    raw.options[3].text_field = "option_d"
    assert problems_of(raw) == {"option_d": "option D is empty after removing unsafe HTML"}


def test_section_any_well_formed_code_without_known_sections() -> None:
    assert item_of(raw_single(section="SKB-TEKNIS"), Rules()).section == "SKB-TEKNIS"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def resolver(found: dict[str, bytes]):  # type: ignore[no-untyped-def]
    def resolve(name: str) -> Media | str | None:
        data = found.get(name)
        if data is None:
            return None
        return Media(name, "image/png", hashlib.sha256(data).hexdigest())

    return resolve


def test_images_in_text_become_the_items_media() -> None:
    raw = raw_single(stem='<p>Lihat</p><img src="media/a.png">')
    raw.options[0].text = '<img src="media/b.png" alt="pilihan">'
    built = build_item(
        raw,
        file="bank.json",
        rules=Rules(),
        resolve_media=resolver({"media/a.png": PNG, "media/b.png": PNG + b"b"}),
    )
    assert isinstance(built, Item)
    assert [m.name for m in built.media] == ["media/a.png", "media/b.png"]
    assert built.media[0].sha256 == hashlib.sha256(PNG).hexdigest()


def test_missing_media_is_a_located_problem_or_removed_on_request() -> None:
    raw = raw_single(stem='<p>Lihat</p><img src="media/a.png">', media="media/a.png")
    assert problems_of(raw) == {"media": "referenced image missing from the package: media/a.png"}
    item = item_of(
        raw_single(stem='<p>Lihat</p><img src="media/a.png">'), Rules(allow_missing_media=True)
    )
    assert item.stem == "<p>Lihat</p>"
    assert item.media == ()


def test_unsafe_declared_media_names_are_refused() -> None:
    found = problems_of(raw_single(media=["../../etc/passwd"]))
    assert found["media"].startswith("'../../etc/passwd' is not a relative file name")


def test_problems_carry_file_and_location() -> None:
    built = build_item(raw_single(key=None), file="bank.csv", rules=Rules())
    assert built == [
        Problem("bank.csv", "row 2", "key", "missing key: name the one correct option")
    ]


def test_lone_surrogates_in_text_are_refused() -> None:
    assert problems_of(raw_single(topic="pan\ud800casila")) == {
        "topic": "contains an invalid character (a lone UTF-16 surrogate)"
    }
