"""The demo item bank: what a visitor of the demo would notice if it were wrong.

Counts per section, topic and difficulty; one existing key per single item; TKP points 1-5;
media that exist and are safe to show; number series whose key is the computed next term; and
figures that match what ``make_figures.py`` draws.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from collections import Counter
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from defusedxml import ElementTree

BANK_DIR = Path(__file__).resolve().parents[2] / "app" / "demo" / "bank"
SECTIONS = ("twk", "tiu", "tkp")
LABELS = ["A", "B", "C", "D", "E"]

#: SKD items per section; the demo bank holds at least twice as many.
SKD_COUNTS = {"TWK": 30, "TIU": 35, "TKP": 45}
TOPIC_MINIMUMS = {
    "TIU": {"verbal": 24, "numerik": 24, "figural": 18},
    "TKP": {
        "pelayanan_publik": 15,
        "jejaring_kerja": 15,
        "sosial_budaya": 15,
        "teknologi_informasi": 15,
        "profesionalisme": 15,
        "anti_radikalisme": 15,
    },
    "TWK": {
        "pancasila": 8,
        "uud1945": 8,
        "nkri": 6,
        "bhinneka_tunggal_ika": 5,
        "nasionalisme": 6,
        "integritas": 6,
        "bela_negara": 6,
    },
}
#: A committee blueprint asks e.g. 10 easy / 15 medium / 10 hard TIU items; the bank holds
#: at least twice each stratum of such a split of the section.
STRATA_SHARES = {"easy": 0.3, "medium": 0.45, "hard": 0.25}

ALLOWED_HTML = {
    *("p", "br", "b", "i", "sub", "sup", "ul", "ol", "li"),
    *("table", "thead", "tbody", "tr", "th", "td", "img"),
}
SVG_ELEMENTS = {
    *("svg", "g", "rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "text"),
}


@cache
def bank(section: str) -> dict[str, Any]:
    return json.loads((BANK_DIR / f"{section}.json").read_text("utf-8"))


def all_items() -> list[dict[str, Any]]:
    return [item for section in SECTIONS for item in bank(section)["items"]]


def single_items() -> list[dict[str, Any]]:
    return [item for item in all_items() if item["scoring"] == "single"]


@cache
def make_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_figures", BANK_DIR / "make_figures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ format and counts


@pytest.mark.parametrize("section", SECTIONS)
def test_each_file_is_a_native_bank_of_one_section(section: str) -> None:
    data = bank(section)
    assert data["format"] == "ujian-bank/1"
    assert {item["section"] for item in data["items"]} == {section.upper()}
    for item in data["items"]:
        assert item["status"] == "active"
        assert item["level"] in STRATA_SHARES
        assert item["stem"].startswith("<p>")


@pytest.mark.parametrize("section", ["TWK", "TIU", "TKP"])
def test_each_section_holds_twice_its_skd_count_in_every_difficulty_stratum(section: str) -> None:
    items = [item for item in all_items() if item["section"] == section]
    assert len(items) >= 2 * SKD_COUNTS[section]
    levels = Counter(item["level"] for item in items)
    for level, share in STRATA_SHARES.items():
        assert levels[level] >= 2 * round(share * SKD_COUNTS[section]), (section, level, levels)


@pytest.mark.parametrize("section", ["TWK", "TIU", "TKP"])
def test_topics_meet_their_minimums(section: str) -> None:
    topics = Counter(item["topic"] for item in all_items() if item["section"] == section)
    for topic, minimum in TOPIC_MINIMUMS[section].items():
        assert topics[topic] >= minimum, (section, topic, topics)


def test_tkp_topics_are_balanced() -> None:
    topics = Counter(item["topic"] for item in all_items() if item["section"] == "TKP")
    assert max(topics.values()) - min(topics.values()) <= 2


def test_codes_are_unique_and_name_their_section() -> None:
    codes = [item["code"] for item in all_items()]
    assert len(codes) == len(set(codes))
    for item in all_items():
        assert re.fullmatch(rf"{item['section']}-[A-Z]+-\d{{3}}", item["code"]), item["code"]


# ------------------------------------------------------------------ keys and points


def test_every_single_item_has_five_options_and_one_key_naming_one_of_them() -> None:
    for item in single_items():
        labels = [option["label"] for option in item["options"]]
        assert labels == LABELS, item["code"]
        assert item["key"] in labels, item["code"]
        assert all("points" not in option for option in item["options"]), item["code"]
        texts = [option["text"] for option in item["options"]]
        assert len(set(texts)) == len(texts), item["code"]
        assert 0 < item["p_value"] < 1, item["code"]


def test_p_values_follow_the_difficulty_levels() -> None:
    by_level: dict[str, list[float]] = {}
    for item in single_items():
        by_level.setdefault(item["level"], []).append(item["p_value"])
    assert max(by_level["hard"]) < min(by_level["medium"])
    assert max(by_level["medium"]) < min(by_level["easy"])


@pytest.mark.parametrize("section", ["TWK", "TIU"])
def test_the_key_is_spread_evenly_over_a_to_e(section: str) -> None:
    keys = Counter(item["key"] for item in single_items() if item["section"] == section)
    expected = sum(keys.values()) / 5
    for label in LABELS:
        assert abs(keys[label] - expected) <= 0.15 * expected + 1, keys


def test_every_tkp_item_scores_its_options_1_to_5_with_5_spread_over_labels() -> None:
    best = Counter()
    for item in all_items():
        if item["section"] != "TKP":
            continue
        assert item["scoring"] == "weighted"
        assert "key" not in item
        assert [option["label"] for option in item["options"]] == LABELS, item["code"]
        points = [option["points"] for option in item["options"]]
        assert sorted(points) == [1, 2, 3, 4, 5], item["code"]
        best[item["options"][points.index(5)]["label"]] += 1
    expected = sum(best.values()) / 5
    for label in LABELS:
        assert abs(best[label] - expected) <= 0.15 * expected + 1, best


# ------------------------------------------------------------------ markup and media


def _tags(html: str) -> list[str]:
    return [tag.lower() for tag in re.findall(r"</?\s*([a-zA-Z][a-zA-Z0-9]*)", html)]


def test_stems_and_options_use_only_simple_html() -> None:
    for item in all_items():
        for html in [item["stem"], *(option["text"] for option in item["options"])]:
            assert set(_tags(html)) <= ALLOWED_HTML, (item["code"], html)
            assert not re.search(r"\son\w+\s*=|javascript:|style\s*=", html, re.IGNORECASE)


def test_every_image_is_listed_in_media_and_every_media_file_is_shown() -> None:
    for item in all_items():
        html = item["stem"] + "".join(option["text"] for option in item["options"])
        shown = re.findall(r'<img src="([^"]+)" alt="[^"]+">', html)
        assert len(shown) == len(re.findall(r"<img", html)), item["code"]
        assert sorted(shown) == sorted(item.get("media", [])), item["code"]


def test_figural_items_have_images() -> None:
    figural = [item for item in all_items() if item["topic"] == "figural"]
    assert len(figural) >= 18
    assert all(item["media"] for item in figural)


def _media_names() -> set[str]:
    return {name for item in all_items() for name in item.get("media", [])}


def test_every_media_file_exists_and_is_a_plain_svg() -> None:
    names = _media_names()
    assert names
    for name in sorted(names):
        assert name.startswith("media/"), name
        assert name.endswith(".svg"), name
        path = BANK_DIR / name
        assert path.is_file(), name
        root = ElementTree.fromstring(path.read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            assert tag in SVG_ELEMENTS, (name, tag)
            for attribute, value in element.attrib.items():
                local = attribute.rsplit("}", 1)[-1].lower()
                assert not local.startswith("on"), (name, attribute)
                assert local != "href", (name, attribute)
                assert "url(" not in value, (name, value)
                assert "javascript:" not in value.lower(), (name, value)


def test_no_media_file_is_left_unused() -> None:
    on_disk = {f"media/{path.name}" for path in (BANK_DIR / "media").iterdir()}
    assert on_disk == _media_names()


def test_figures_and_figural_items_are_what_the_generator_draws() -> None:
    files, figural = make_figures().render_all()
    for name, text in files.items():
        assert (BANK_DIR / name).read_text("utf-8") == text, name
    committed = [item for item in bank("tiu")["items"] if item["topic"] == "figural"]
    assert committed == figural


# ------------------------------------------------------------------ number series


def _next_term(terms: list[Fraction], rule: str) -> Fraction:
    """The next term of ``terms`` under ``rule``, after checking the rule fits every term."""
    if rule.startswith("interleaved:"):
        rules = rule.removeprefix("interleaved:").split(",")
        position = len(terms) % len(rules)
        return _next_term(terms[position :: len(rules)], rules[position])
    if rule == "arithmetic":
        step = terms[1] - terms[0]
        assert all(b - a == step for a, b in itertools.pairwise(terms))
        return terms[-1] + step
    if rule == "geometric":
        ratio = terms[1] / terms[0]
        assert all(b == a * ratio for a, b in itertools.pairwise(terms))
        return terms[-1] * ratio
    if rule == "finite_difference":
        rows = [terms]
        while len(set(rows[-1])) > 1:
            rows.append([b - a for a, b in zip(rows[-1], rows[-1][1:], strict=False)])
            assert len(rows[-1]) >= 2, "the differences never settle"
        return sum((row[-1] for row in rows), Fraction(0))
    if rule == "fibonacci":
        assert all(c == a + b for a, b, c in zip(terms, terms[1:], terms[2:], strict=False))
        return terms[-1] + terms[-2]
    if rule == "linear_recurrence":
        # a(n) = p * a(n-1) + q, with p and q fixed by the first three terms
        p = (terms[2] - terms[1]) / (terms[1] - terms[0])
        q = terms[1] - p * terms[0]
        assert all(b == p * a + q for a, b in itertools.pairwise(terms))
        return p * terms[-1] + q
    if rule == "ratio_arithmetic":
        ratios = [b / a for a, b in itertools.pairwise(terms)]
        return terms[-1] * _next_term(ratios, "arithmetic")
    raise AssertionError(f"unknown rule {rule}")


def _series_items() -> list[dict[str, Any]]:
    return [item for item in all_items() if "series" in item.get("source", {})]


def test_enough_number_series_carry_their_series() -> None:
    assert len(_series_items()) >= 8


@pytest.mark.parametrize("item", _series_items(), ids=lambda item: item["code"])
def test_the_key_of_a_series_item_is_its_computed_next_term(item: dict[str, Any]) -> None:
    source = item["source"]
    raw = source["series"].split(",")
    letters = source.get("alphabet") == "latin"
    terms = [Fraction(ord(t) - 64) if letters else Fraction(t) for t in raw]
    value = _next_term(terms, source["rule"])
    assert value.denominator == 1
    expected = chr(64 + int(value)) if letters else str(int(value))
    key_text = next(o["text"] for o in item["options"] if o["label"] == item["key"])
    assert key_text == expected == source["next"]
    assert ", ".join(raw) in item["stem"]


def test_the_series_checker_rejects_a_wrong_rule() -> None:
    with pytest.raises(AssertionError):
        _next_term([Fraction(n) for n in (2, 3, 5, 9, 17)], "arithmetic")
