"""Exam specs: the shipped SKD and PPPK specs, located errors, and exact storage round trips."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from item_bank.errors import InvalidInput, Problem
from item_bank.exam_spec import (
    ROSTER_TIE_BREAK_FIELDS,
    STRATA,
    Blueprint,
    BlueprintKind,
    DifficultyBands,
    ExamSpec,
    SectionSpec,
    parse_exam_spec,
    spec_from_dict,
    spec_hash,
    spec_to_dict,
)
from item_bank.models import DifficultyLevel
from scoring.ranking import Formation, TieBreakKey
from scoring.rules import SectionScoring, SectionScoringKind
from scoring.thresholds import Minimum, ThresholdRuleSet

EXAMS = Path(__file__).resolve().parents[3] / "app" / "demo" / "exams"

BASE_LINES = [
    "code: SKD-2024",  # 1
    "title: SKD CPNS 2024",  # 2
    "duration_minutes: 100",  # 3
    "sections:",  # 4
    "  - code: TWK",  # 5
    "    name: Tes Wawasan Kebangsaan",  # 6
    "    item_count: 30",  # 7
    "    scoring: {kind: dichotomous, correct: 5}",  # 8
    "    blueprint:",  # 9
    "      topics: {pancasila: 10, nkri: 10, integritas: 10}",  # 10
    "  - code: TIU",  # 11
    "    name: Tes Intelegensia Umum",  # 12
    "    item_count: 35",  # 13
    "    scoring: {kind: dichotomous, correct: 5}",  # 14
    "    blueprint:",  # 15
    "      strata: {easy: 10, medium: 15, hard: 10}",  # 16
    "  - code: TKP",  # 17
    "    name: Tes Karakteristik Pribadi",  # 18
    "    item_count: 45",  # 19
    "    scoring: {kind: weighted, max_option_points: 5}",  # 20
    "categories:",  # 21
    "  - code: umum",  # 22
    "    minima: {TWK: 65, TIU: 80, TKP: 166}",  # 23
    "  - code: cumlaude",  # 24
    "    minima: {total: 311, TIU: 85}",  # 25
    "tie_breaks: [TKP, TIU, TWK]",  # 26
    "formations:",  # 27
    "  - {code: F-1, agency: BKN, position: Analis, openings: 3}",  # 28
    "  - {code: F-2, agency: BKN, position: Pranata, openings: 2}",  # 29
]
BASE = "\n".join(BASE_LINES) + "\n"


def problems_of(text: str, filename: str = "exam.yaml") -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        parse_exam_spec(text, filename)
    return caught.value.problems


def edited(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


# ---- the shipped specs -------------------------------------------------------------------


def test_skd_spec_carries_the_domain_rules() -> None:
    spec = parse_exam_spec((EXAMS / "skd.yaml").read_bytes(), "skd.yaml")

    assert spec.section_codes == ("TWK", "TIU", "TKP")
    assert [s.item_count for s in spec.sections] == [30, 35, 45]
    assert [s.max_score for s in spec.sections] == [150, 175, 225]
    assert spec.max_total == 550
    assert spec.duration_minutes == 100
    assert spec.show_result
    assert spec.section("TKP").scoring.kind is SectionScoringKind.WEIGHTED
    assert spec.categories == (
        ThresholdRuleSet(
            "umum", (Minimum(("TWK",), 65), Minimum(("TIU",), 80), Minimum(("TKP",), 166))
        ),
        ThresholdRuleSet("cumlaude", (Minimum((), 311), Minimum(("TIU",), 85))),
        ThresholdRuleSet("diaspora", (Minimum((), 311), Minimum(("TIU",), 85))),
        ThresholdRuleSet("disabilitas", (Minimum((), 286), Minimum(("TIU",), 60))),
        ThresholdRuleSet("papua", (Minimum((), 286), Minimum(("TIU",), 60))),
    )
    assert spec.tie_breaks == (
        TieBreakKey(("TKP",)),
        TieBreakKey(("TIU",)),
        TieBreakKey(("TWK",)),
    )
    assert spec.final_tie_breaks == (
        TieBreakKey.by_column("grade_average", descending=True),
        TieBreakKey.by_column("birth_date", descending=False),
    )
    assert spec.formations
    assert all(f.cut_multiplier == 3 for f in spec.formations)


def test_skd_blueprint_uses_the_demo_topics_and_tiu_strata() -> None:
    spec = parse_exam_spec((EXAMS / "skd.yaml").read_bytes(), "skd.yaml")

    assert set(spec.section("TWK").blueprint.topic_quotas()) == {
        "pancasila",
        "uud1945",
        "nkri",
        "bhinneka_tunggal_ika",
        "nasionalisme",
        "integritas",
        "bela_negara",
        "pilar_negara",
    }
    tiu = spec.section("TIU").blueprint
    assert tiu.kind is BlueprintKind.CELLS
    assert tiu.topic_quotas() == {"verbal": 12, "numerik": 12, "figural": 11}
    assert tiu.strata_quotas() == {
        DifficultyLevel.EASY: 10,
        DifficultyLevel.MEDIUM: 15,
        DifficultyLevel.HARD: 10,
    }
    assert set(spec.section("TKP").blueprint.topic_quotas()) == {
        "pelayanan_publik",
        "jejaring_kerja",
        "sosial_budaya",
        "teknologi_informasi",
        "profesionalisme",
        "anti_radikalisme",
    }


def test_pppk_spec_thresholds_a_sum_of_sections() -> None:
    spec = parse_exam_spec((EXAMS / "pppk.yaml").read_bytes(), "pppk.yaml")

    assert spec.section_codes == ("teknis", "manajerial", "sosial_kultural", "wawancara")
    assert [s.item_count for s in spec.sections] == [90, 25, 20, 10]
    assert [s.max_score for s in spec.sections] == [450, 100, 80, 40]
    assert spec.duration_minutes == 130
    minima = {m.label: m.minimum for m in spec.category("umum").minima}
    assert minima["manajerial+sosial_kultural"] == 117
    assert minima["wawancara"] == 24
    assert "teknis" in minima
    assert spec.tie_breaks == (
        TieBreakKey(("teknis",)),
        TieBreakKey(("manajerial", "sosial_kultural")),
        TieBreakKey(("wawancara",)),
    )
    assert spec.final_tie_breaks == (TieBreakKey.by_column("birth_date", descending=False),)


@pytest.mark.parametrize("name", ["skd.yaml", "pppk.yaml"])
def test_shipped_specs_survive_storage_exactly(name: str) -> None:
    spec = parse_exam_spec((EXAMS / name).read_bytes(), name)
    stored = json.loads(json.dumps(spec_to_dict(spec)))

    assert spec_from_dict(stored) == spec
    assert spec_hash(spec_from_dict(stored)) == spec_hash(spec)


def test_json_spec_reads_like_the_same_yaml() -> None:
    data = yaml.safe_load(BASE)
    from_yaml = parse_exam_spec(BASE, "exam.yaml")

    assert parse_exam_spec(json.dumps(data, indent="\t"), "exam.json") == from_yaml
    assert parse_exam_spec(json.dumps(data).encode(), "upload") == from_yaml


def test_scoring_defaults_and_optional_keys() -> None:
    spec = parse_exam_spec(BASE, "exam.yaml")

    assert spec.shuffle_items
    assert spec.shuffle_options
    assert spec.show_result
    assert spec.difficulty_bands == DifficultyBands(0.70, 0.30)
    assert spec.section("TWK").scoring == SectionScoring(SectionScoringKind.DICHOTOMOUS, 5, 0, 0)
    assert spec.section("TKP").blueprint == Blueprint.any_item(45)
    assert spec.formations[0] == Formation("F-1", "BKN", "Analis", 3, 3)


def test_hash_names_content() -> None:
    spec = parse_exam_spec(BASE, "exam.yaml")
    reordered = parse_exam_spec(
        edited(
            "{pancasila: 10, nkri: 10, integritas: 10}", "{nkri: 10, pancasila: 10, integritas: 10}"
        ),
        "exam.yaml",
    )
    longer = parse_exam_spec(edited("duration_minutes: 100", "duration_minutes: 130"), "e.yaml")

    assert spec_hash(parse_exam_spec(BASE, "other-name.yaml")) == spec_hash(spec)
    # Unshuffled sections present items in blueprint order, so topic order is content.
    assert spec_hash(reordered) != spec_hash(spec)
    assert spec_hash(longer) != spec_hash(spec)


# ---- located errors ----------------------------------------------------------------------

ERROR_CASES = [
    pytest.param(
        ("item_count: 35", "item_cout: 35"),
        "line 13 (sections[1].item_cout)",
        "item_cout",
        "did you mean `item_count`?",
        id="typo-in-key",
    ),
    pytest.param(
        ("item_count: 30", "item_count: thirty"),
        "line 7 (sections[0].item_count)",
        "item_count",
        "must be a whole number",
        id="wrong-type",
    ),
    pytest.param(
        ("item_count: 30", 'item_count: "30"'),
        "line 7 (sections[0].item_count)",
        "item_count",
        "without quotes",
        id="quoted-number",
    ),
    pytest.param(
        ("item_count: 45", "item_count: 0"),
        "line 19 (sections[2].item_count)",
        "item_count",
        "must be 1 or more, not 0",
        id="non-positive-count",
    ),
    pytest.param(
        ("duration_minutes: 100", "duration_minutes: -5"),
        "line 3 (duration_minutes)",
        "duration_minutes",
        "must be 1 or more",
        id="negative-duration",
    ),
    pytest.param(
        ("openings: 3}", "openings: 0}"),
        "line 28 (formations[0].openings)",
        "openings",
        "must be 1 or more",
        id="no-openings",
    ),
    pytest.param(
        ("nkri: 10,", "nkri: 9,"),
        "line 10 (sections[0].blueprint.topics)",
        "topics",
        "topic quotas add up to 29, but the section has 30 items",
        id="topics-do-not-sum",
    ),
    pytest.param(
        ("hard: 10}", "hard: 11}"),
        "line 16 (sections[1].blueprint.strata)",
        "strata",
        "strata quotas add up to 36, but the section has 35 items",
        id="strata-do-not-sum",
    ),
    pytest.param(
        ("medium: 15", "sedang: 15"),
        "line 16 (sections[1].blueprint.strata.sedang)",
        "sedang",
        "did you mean `medium`?",
        id="unknown-stratum",
    ),
    pytest.param(
        ("TKP: 166", "TPK: 166"),
        "line 23 (categories[0].minima.TPK)",
        "TPK",
        "`TPK` is not a section of this exam (did you mean `TKP`?)",
        id="threshold-unknown-section",
    ),
    pytest.param(
        ("TKP: 166", "TKP: 300"),
        "line 23 (categories[0].minima.TKP)",
        "TKP",
        "above the highest possible score 225",
        id="threshold-unreachable",
    ),
    pytest.param(
        ("[TKP, TIU, TWK]", "[TKP, TIU, TWX]"),
        "line 26 (tie_breaks[2])",
        "TWX",
        "`TWX` is not a section of this exam",
        id="tie-break-unknown-section",
    ),
    pytest.param(
        ("  - code: TKP", "  - code: TWK"),
        "line 17 (sections[2].code)",
        "code",
        "section code `TWK` is used twice (first on line 5)",
        id="duplicate-section",
    ),
    pytest.param(
        ("  - code: cumlaude", "  - code: umum"),
        "line 24 (categories[1].code)",
        "code",
        "category `umum` is defined twice (first on line 22)",
        id="duplicate-category",
    ),
    pytest.param(
        ("{code: F-2,", "{code: F-1,"),
        "line 29 (formations[1].code)",
        "code",
        "formation `F-1` is defined twice (first on line 28)",
        id="duplicate-formation",
    ),
    pytest.param(
        ("    name: Tes Intelegensia Umum\n", ""),
        "line 11 (sections[1])",
        "name",
        "`name` is required",
        id="missing-section-field",
    ),
    pytest.param(
        ("title: SKD CPNS 2024\n", ""),
        "line 1",
        "title",
        "`title` is required",
        id="missing-top-field",
    ),
    pytest.param(
        (
            "      topics: {pancasila: 10, nkri: 10, integritas: 10}\n",
            "      topics: {pancasila: 10, nkri: 10, integritas: 10}\n      strata: {easy: 30}\n",
        ),
        "line 10 (sections[0].blueprint)",
        "blueprint",
        "a plan by topic and difficulty together is a grid under `cells`",
        id="topics-and-strata",
    ),
    pytest.param(
        ("{kind: weighted, max_option_points: 5}", "{kind: weighted, correct: 5}"),
        "line 20 (sections[2].scoring.correct)",
        "correct",
        "`correct` applies to dichotomous sections only",
        id="correct-on-weighted",
    ),
    pytest.param(
        ("    item_count: 30\n", "    item_count: 30\n    item_count: 31\n"),
        "line 8 (sections[0].item_count)",
        "item_count",
        "`item_count` is given twice",
        id="duplicate-key",
    ),
    pytest.param(
        ("code: SKD-2024", "code: 2024"),
        "line 1 (code)",
        "code",
        "must be text, not the number 2024 (write it in quotes)",
        id="number-as-code",
    ),
]


@pytest.mark.parametrize(("edit", "location", "field", "message"), ERROR_CASES)
def test_bad_spec_names_line_path_field_and_problem(
    edit: tuple[str, str], location: str, field: str, message: str
) -> None:
    found = problems_of(edited(*edit))

    assert any(
        p.location == location and p.field == field and message in p.message for p in found
    ), [str(p) for p in found]
    assert all(p.file == "exam.yaml" for p in found)


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = BASE
    for old, new in [
        ("duration_minutes: 100", "duration_minutes: 0"),
        ("nkri: 10,", "nkri: 9,"),
        ("item_count: 45", "item_count: many"),
        ("TKP: 166", "TPK: 166"),
        ("[TKP, TIU, TWK]", "[TKP, TUI, TWK]"),
        ("{code: F-2,", "{code: F-1,"),
    ]:
        text = text.replace(old, new)

    found = problems_of(text)

    lines = [int(p.location.split()[1]) for p in found]
    assert lines == [3, 10, 19, 23, 26, 29]
    assert lines == sorted(lines)


def test_json_errors_are_located_in_the_json_text() -> None:
    data = yaml.safe_load(BASE)
    data["sections"][1]["item_count"] = 0
    text = json.dumps(data, indent=2)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"item_count": 0' in row)

    found = problems_of(text, "exam.json")

    assert [p.location for p in found] == [f"line {line} (sections[1].item_count)"]


@pytest.mark.parametrize(
    ("text", "filename", "message"),
    [
        ('{"code": "A",\n "title": }', "exam.json", "not valid JSON"),
        ("code: [A, B\n", "exam.yaml", "not valid YAML"),
        ("", "exam.yaml", "empty"),
        ("- code: A\n", "exam.yaml", "an exam spec is a mapping"),
    ],
)
def test_unreadable_files_name_their_format(text: str, filename: str, message: str) -> None:
    found = problems_of(text, filename)

    assert len(found) == 1
    assert message in found[0].message
    assert found[0].location.startswith("line ")


def test_stored_spec_errors_are_located_by_path() -> None:
    data = spec_to_dict(parse_exam_spec(BASE, "exam.yaml"))
    data["sections"][2]["scoring"]["max_option_points"] = -1

    with pytest.raises(InvalidInput) as caught:
        spec_from_dict(data)

    assert [(p.location, p.field) for p in caught.value.problems] == [
        ("sections[2].scoring.max_option_points", "max_option_points")
    ]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    started = time.perf_counter()

    found = problems_of("\n".join(lines))

    assert time.perf_counter() - started < 2.0
    assert "too large" in found[0].message


def test_yaml_anchors_and_merge_keys_are_expanded() -> None:
    text = edited(
        "    scoring: {kind: dichotomous, correct: 5}\n    blueprint:\n      topics",
        "    scoring: &five {kind: dichotomous, correct: 5}\n    blueprint:\n      topics",
    ).replace("    scoring: {kind: dichotomous, correct: 5}", "    scoring: {<<: *five, wrong: -1}")

    spec = parse_exam_spec(text, "exam.yaml")

    assert spec.section("TIU").scoring == SectionScoring(SectionScoringKind.DICHOTOMOUS, 5, -1)


# ---- round trip of any valid spec ----------------------------------------------------------

section_codes = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,5}", fullmatch=True).filter(
    lambda c: c.lower() != "total"
)
topic_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
texts = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs", "Pd")), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s.strip() != "")
points = st.floats(min_value=-5, max_value=10, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=6)


@st.composite
def blueprints(draw: st.DrawFn) -> Blueprint:
    kind = draw(st.sampled_from(list(BlueprintKind)))
    strata = st.lists(st.sampled_from(STRATA), min_size=1, max_size=3, unique=True)
    if kind is BlueprintKind.ANY:
        return Blueprint.any_item(draw(st.integers(1, 40)))
    if kind is BlueprintKind.TOPICS:
        names = draw(st.lists(topic_names, min_size=1, max_size=4, unique=True))
        quotas = {n: draw(counts) for n in names}
        quotas[names[0]] += 1
        return Blueprint.by_topic(quotas)
    if kind is BlueprintKind.STRATA:
        levels = draw(strata)
        by_stratum = {s: draw(counts) for s in levels}
        by_stratum[levels[0]] += 1
        return Blueprint.by_stratum(by_stratum)
    names = draw(st.lists(topic_names, min_size=1, max_size=3, unique=True))
    grid = {n: {s: draw(counts) for s in draw(strata)} for n in names}
    first = next(iter(grid[names[0]]))
    grid[names[0]][first] += 1
    return Blueprint.by_cell(grid)


@st.composite
def sections(draw: st.DrawFn, code: str) -> SectionSpec:
    blueprint = draw(blueprints())
    if draw(st.booleans()):
        scoring = SectionScoring(
            SectionScoringKind.DICHOTOMOUS,
            correct=draw(st.floats(0.25, 10, allow_nan=False)),
            wrong=draw(points),
            blank=draw(points),
        )
        max_points = 5.0
    else:
        scoring = SectionScoring(SectionScoringKind.WEIGHTED, blank=draw(st.floats(0, 1)))
        max_points = draw(st.floats(1, 10))
    return SectionSpec(code, draw(texts), blueprint.item_count, scoring, blueprint, max_points)


@st.composite
def exam_specs(draw: st.DrawFn) -> ExamSpec:
    codes = draw(st.lists(section_codes, min_size=1, max_size=4, unique_by=str.lower))
    secs = tuple(draw(sections(code)) for code in codes)
    labels = [(c,) for c in codes] + [()] + ([tuple(codes[:2])] if len(codes) > 1 else [])

    def max_of(sum_of: tuple[str, ...]) -> float:
        return sum(s.max_score for s in secs if not sum_of or s.code in sum_of)

    categories = tuple(
        ThresholdRuleSet(
            name,
            tuple(
                Minimum(label, draw(st.floats(0, 1)) * max_of(label))
                for label in draw(st.lists(st.sampled_from(labels), max_size=3, unique=True))
            ),
        )
        for name in draw(st.lists(topic_names, max_size=3, unique=True))
    )
    tie_breaks = tuple(
        TieBreakKey(label, draw(st.booleans()))
        for label in draw(st.lists(st.sampled_from(labels), max_size=3, unique=True))
    )
    final = tuple(
        TieBreakKey.by_column(name, descending=draw(st.booleans()))
        for name in draw(st.permutations(list(ROSTER_TIE_BREAK_FIELDS)))[: draw(st.integers(0, 2))]
    )
    formations = tuple(
        Formation(code, draw(texts), draw(texts), draw(st.integers(1, 50)), draw(st.integers(1, 5)))
        for code in draw(st.lists(section_codes, max_size=3, unique=True))
    )
    hard = draw(st.floats(0, 1))
    return ExamSpec(
        code=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True)),
        title=draw(texts),
        sections=secs,
        duration_minutes=draw(st.integers(1, 600)),
        shuffle_items=draw(st.booleans()),
        shuffle_options=draw(st.booleans()),
        categories=categories,
        tie_breaks=tie_breaks,
        final_tie_breaks=final,
        formations=formations,
        show_result=draw(st.booleans()),
        difficulty_bands=DifficultyBands(draw(st.floats(hard, 1)), hard),
    )


@settings(max_examples=80, deadline=None, derandomize=True)
@given(exam_specs())
def test_any_spec_survives_storage_and_its_own_yaml(spec: ExamSpec) -> None:
    stored = spec_to_dict(spec)
    as_json = json.dumps(stored, ensure_ascii=False)
    as_yaml = yaml.safe_dump(stored, sort_keys=False, allow_unicode=True)

    assert spec_from_dict(json.loads(as_json)) == spec
    assert parse_exam_spec(as_json, "spec.json") == spec
    assert parse_exam_spec(as_yaml, "spec.yaml") == spec
    assert spec_hash(parse_exam_spec(as_yaml, "spec.yaml")) == spec_hash(spec)
