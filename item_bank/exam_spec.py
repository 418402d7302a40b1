"""Exam specs (sections, blueprints, scoring, thresholds, tie-breaks, formations), located errors.

A committee writes an exam spec as YAML or JSON (the format is described for committees in
``docs/exam-spec.md``). :func:`parse_exam_spec` reads it and reports *every* problem at once,
each located by line and by a path such as ``sections[1].blueprint.topics.numerik``.
:func:`spec_to_dict` and :func:`spec_from_dict` store a spec and read it back exactly;
:func:`spec_hash` names its content, so an unchanged spec is recognised as the same version.

The spec carries no version number: versions are the app's business (publishing freezes one,
changing a published exam makes the next).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import yaml

from item_bank.errors import InvalidInput, Problem
from item_bank.models import DifficultyLevel
from scoring.ranking import Formation, TieBreakKey
from scoring.rules import SectionRule, SectionScoring, SectionScoringKind
from scoring.thresholds import Minimum, ThresholdRuleSet

#: Difficulty strata in the order forms and documents list them.
STRATA: Final = (DifficultyLevel.EASY, DifficultyLevel.MEDIUM, DifficultyLevel.HARD)

#: Highest points one option of a weighted item may carry when a spec does not say (SKD's TKP: 5).
DEFAULT_MAX_OPTION_POINTS: Final = 5.0

#: Roster fields a final tie-break may use, with the order that reads naturally for each:
#: a higher grade average first, an earlier birth date (the older candidate) first.
ROSTER_TIE_BREAK_FIELDS: Final[Mapping[str, bool]] = {
    "grade_average": True,
    "birth_date": False,
}

#: Specs larger than this are refused before parsing (a real spec is a few kilobytes).
MAX_SPEC_BYTES: Final = 1_000_000

#: Parsed nodes (after expanding YAML aliases) a spec may hold, against alias bombs.
MAX_SPEC_NODES: Final = 100_000

TOTAL_LABEL: Final = "total"

_EXAM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SECTION_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DifficultyBands:
    """Classical p-value bands that put an item without a ``level`` into a stratum.

    An item's stratum is its ``level`` when the bank gives one; otherwise it follows from its
    p-value (share of candidates answering correctly): ``p >= easy_min_p`` is easy,
    ``p < hard_below_p`` is hard, anything between is medium. The defaults, 0.70 and 0.30, are
    the conventional bands of classical test theory (e.g. Crocker & Algina, *Introduction to
    Classical and Modern Test Theory*, 1986, ch. 14). An item with neither is in no stratum and
    is drawn only by blueprints that do not ask for strata.
    """

    easy_min_p: float = 0.70
    hard_below_p: float = 0.30

    def __post_init__(self) -> None:
        if not 0.0 <= self.hard_below_p <= self.easy_min_p <= 1.0:
            raise ValueError("difficulty bands need 0 <= hard_below_p <= easy_min_p <= 1")

    def stratum(
        self, p_value: float | None, level: DifficultyLevel | None
    ) -> DifficultyLevel | None:
        """The stratum of an item: its ``level`` if given, else the band of its ``p_value``."""
        if level is not None:
            return level
        if p_value is None or math.isnan(p_value):
            return None
        if p_value >= self.easy_min_p:
            return DifficultyLevel.EASY
        if p_value < self.hard_below_p:
            return DifficultyLevel.HARD
        return DifficultyLevel.MEDIUM


class BlueprintKind(StrEnum):
    """The shape of a section's blueprint.

    ``any``: any active item of the section. ``topics``: a quota per topic. ``strata``: a quota
    per difficulty stratum. ``cells``: a quota per topic and stratum (a grid).
    """

    ANY = "any"
    TOPICS = "topics"
    STRATA = "strata"
    CELLS = "cells"


@dataclass(frozen=True, slots=True)
class BlueprintCell:
    """``count`` items of ``topic`` (``None``: any topic) in ``stratum`` (``None``: any)."""

    topic: str | None
    stratum: DifficultyLevel | None
    count: int


@dataclass(frozen=True, slots=True)
class Blueprint:
    """How a section's items are chosen: disjoint cells whose counts add up to the section.

    All cells of one blueprint have the same shape (see :class:`BlueprintKind`), so no item can
    fall in two cells and each cell is drawn on its own. Asking for topic quotas *and* strata
    quotas separately would make the draw a transportation problem whose solution depends on the
    bank; a committee that wants both writes the grid (``cells``) instead, and every form then
    has the same topic-by-difficulty make-up.
    """

    cells: tuple[BlueprintCell, ...]

    def __post_init__(self) -> None:
        if not self.cells:
            raise ValueError("a blueprint needs at least one cell")
        shapes = {(c.topic is not None, c.stratum is not None) for c in self.cells}
        if len(shapes) != 1:
            raise ValueError("all cells of a blueprint must have the same shape")
        if shapes == {(False, False)} and len(self.cells) != 1:
            raise ValueError("an unrestricted blueprint has exactly one cell")
        keys = [(c.topic, c.stratum) for c in self.cells]
        if len(set(keys)) != len(keys):
            raise ValueError("blueprint cells must be distinct")
        if any(c.count < 0 for c in self.cells):
            raise ValueError("blueprint counts cannot be negative")

    @classmethod
    def any_item(cls, count: int) -> Blueprint:
        """``count`` items of any topic and difficulty."""
        return cls((BlueprintCell(None, None, count),))

    @classmethod
    def by_topic(cls, quotas: Mapping[str, int]) -> Blueprint:
        """A quota per topic, in the order given."""
        return cls(tuple(BlueprintCell(t, None, n) for t, n in quotas.items()))

    @classmethod
    def by_stratum(cls, quotas: Mapping[DifficultyLevel, int]) -> Blueprint:
        """A quota per difficulty stratum, listed easy, medium, hard."""
        return cls(tuple(BlueprintCell(None, s, quotas[s]) for s in STRATA if s in quotas))

    @classmethod
    def by_cell(cls, grid: Mapping[str, Mapping[DifficultyLevel, int]]) -> Blueprint:
        """A quota per topic and stratum: topics in the order given, strata easy to hard."""
        return cls(
            tuple(
                BlueprintCell(topic, s, row[s])
                for topic, row in grid.items()
                for s in STRATA
                if s in row
            )
        )

    @property
    def kind(self) -> BlueprintKind:
        """Which of the four shapes this blueprint has."""
        first = self.cells[0]
        if first.topic is None:
            return BlueprintKind.ANY if first.stratum is None else BlueprintKind.STRATA
        return BlueprintKind.TOPICS if first.stratum is None else BlueprintKind.CELLS

    @property
    def item_count(self) -> int:
        """Items the blueprint draws: the sum of its cells."""
        return sum(c.count for c in self.cells)

    def topic_quotas(self) -> dict[str, int]:
        """Items per topic (summed over strata); empty when the blueprint has no topics."""
        quotas: dict[str, int] = {}
        for cell in self.cells:
            if cell.topic is not None:
                quotas[cell.topic] = quotas.get(cell.topic, 0) + cell.count
        return quotas

    def strata_quotas(self) -> dict[DifficultyLevel, int]:
        """Items per stratum (summed over topics); empty when the blueprint has no strata."""
        quotas: dict[DifficultyLevel, int] = {}
        for cell in self.cells:
            if cell.stratum is not None:
                quotas[cell.stratum] = quotas.get(cell.stratum, 0) + cell.count
        return {s: quotas[s] for s in STRATA if s in quotas}


@dataclass(frozen=True, slots=True)
class AdaptiveConfig:
    """An adaptive section's rules: the server picks each next item (see :mod:`scoring.cat`).

    The section's ``item_count`` is the most items it gives; ``min_items`` the fewest before
    the ``se_target`` (standard error of the ability estimate) may end it; ``randomesque`` the
    number of most informative items the next one is drawn from (exposure control). The
    section's score is the scale score ``scale_mean + scale_sd x theta``, clipped to
    ``scale_mean +- 4 scale_sd``.
    """

    min_items: int = 1
    se_target: float | None = None
    randomesque: int = 5
    scale_mean: float = 500.0
    scale_sd: float = 100.0

    @property
    def scale_max(self) -> float:
        """The highest scale score (mean + 4 sd)."""
        return self.scale_mean + 4 * self.scale_sd

    @property
    def scale_min(self) -> float:
        """The lowest scale score (mean - 4 sd, never below 0)."""
        return max(0.0, self.scale_mean - 4 * self.scale_sd)


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """One section: what scoring sees (:attr:`rule`) plus the blueprint its items come from.

    ``max_option_points`` is the highest points an option of a weighted item carries (SKD's
    TKP: 5, PPPK's manajerial: 4); it only matters for weighted sections. For a weighted
    section ``scoring.correct`` and ``scoring.wrong`` do not apply and are kept at their
    defaults, so equal sections compare equal.
    """

    code: str
    name: str
    item_count: int
    scoring: SectionScoring
    blueprint: Blueprint
    max_option_points: float = DEFAULT_MAX_OPTION_POINTS
    adaptive: AdaptiveConfig | None = None

    def __post_init__(self) -> None:
        if self.item_count < 1:
            raise ValueError("a section needs at least one item")
        if self.blueprint.item_count != self.item_count:
            raise ValueError(f"blueprint of {self.code} draws a different number of items")
        if self.scoring.kind is SectionScoringKind.WEIGHTED:
            canonical = SectionScoring(SectionScoringKind.WEIGHTED, blank=self.scoring.blank)
            object.__setattr__(self, "scoring", canonical)
        else:
            object.__setattr__(self, "max_option_points", DEFAULT_MAX_OPTION_POINTS)

    @property
    def rule(self) -> SectionRule:
        """The section as :mod:`scoring` sees it."""
        return SectionRule(self.code, self.name, self.item_count, self.scoring)

    @property
    def max_score(self) -> float:
        """Highest score: ``item_count × correct`` (dichotomous) or ``× max_option_points``;
        an adaptive section's highest scale score."""
        if self.adaptive is not None:
            return self.adaptive.scale_max
        if self.scoring.kind is SectionScoringKind.WEIGHTED:
            return self.item_count * self.max_option_points
        return self.item_count * max(self.scoring.correct, self.scoring.blank)


@dataclass(frozen=True, slots=True)
class ExamSpec:
    """An exam's content, independent of its version.

    Sections are sat in the order listed; ``shuffle_items`` shuffles items within each section
    and ``shuffle_options`` the options of every item. ``categories`` holds one threshold rule
    set per candidate category; ``tie_breaks`` orders candidates with equal totals;
    ``final_tie_breaks`` go after them when stages are combined: tie-breaks on roster columns
    (:meth:`TieBreakKey.by_column`, a field of :data:`ROSTER_TIE_BREAK_FIELDS`), such as a
    higher ``grade_average`` and then an earlier ``birth_date`` (the older candidate) first.
    ``show_result`` says whether the candidate sees the result when the exam ends.
    """

    code: str
    title: str
    sections: tuple[SectionSpec, ...]
    duration_minutes: int
    shuffle_items: bool = True
    shuffle_options: bool = True
    categories: tuple[ThresholdRuleSet, ...] = ()
    tie_breaks: tuple[TieBreakKey, ...] = ()
    final_tie_breaks: tuple[TieBreakKey, ...] = ()
    formations: tuple[Formation, ...] = ()
    show_result: bool = True
    difficulty_bands: DifficultyBands = DifficultyBands()
    irt_matching: bool = False

    def __post_init__(self) -> None:
        codes = [s.code for s in self.sections]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError("an exam needs one or more sections with distinct codes")
        if self.duration_minutes < 1:
            raise ValueError("an exam lasts at least one minute")
        if any(t.column is not None for t in self.tie_breaks):
            raise ValueError(
                "score tie-breaks name sections; roster columns go in final_tie_breaks"
            )
        if any(t.column not in ROSTER_TIE_BREAK_FIELDS for t in self.final_tie_breaks):
            raise ValueError("final tie-breaks name roster fields")

    @property
    def section_codes(self) -> tuple[str, ...]:
        """Section codes in the order they are sat."""
        return tuple(s.code for s in self.sections)

    @property
    def adaptive_sections(self) -> tuple[SectionSpec, ...]:
        """The sections whose items the server chooses one at a time."""
        return tuple(s for s in self.sections if s.adaptive is not None)

    @property
    def rules(self) -> tuple[SectionRule, ...]:
        """Every section as :mod:`scoring` sees it."""
        return tuple(s.rule for s in self.sections)

    @property
    def item_count(self) -> int:
        """Items on every form."""
        return sum(s.item_count for s in self.sections)

    @property
    def max_total(self) -> float:
        """The highest total score (SKD: 550)."""
        return sum(s.max_score for s in self.sections)

    def section(self, code: str) -> SectionSpec:
        """The section with ``code`` (raises ``KeyError`` when there is none)."""
        for section in self.sections:
            if section.code == code:
                return section
        raise KeyError(code)

    def category(self, code: str) -> ThresholdRuleSet:
        """The threshold rule set of candidate category ``code`` (``KeyError`` if unknown)."""
        for rule_set in self.categories:
            if rule_set.category == code:
                return rule_set
        raise KeyError(code)


# --------------------------------------------------------------------------------------------
# Storage: canonical dict, hash
# --------------------------------------------------------------------------------------------


def spec_to_dict(spec: ExamSpec) -> dict[str, Any]:
    """The canonical, JSON-serializable form of a spec, in the committee's own format.

    The result is itself a valid spec document: :func:`spec_from_dict` (or
    :func:`parse_exam_spec` on its JSON) gives back an equal spec. Key order is fixed, and the
    order of topics in a blueprint is kept because unshuffled sections present items in
    blueprint order: store it as JSON text (or PostgreSQL ``json``), not as ``jsonb``, which
    reorders keys.
    """
    return {
        "code": spec.code,
        "title": spec.title,
        "duration_minutes": spec.duration_minutes,
        "shuffle_items": spec.shuffle_items,
        "shuffle_options": spec.shuffle_options,
        "show_result": spec.show_result,
        "difficulty_bands": {
            "easy_min_p": spec.difficulty_bands.easy_min_p,
            "hard_below_p": spec.difficulty_bands.hard_below_p,
        },
        **({"irt_matching": True} if spec.irt_matching else {}),
        "sections": [_section_to_dict(s) for s in spec.sections],
        "categories": [
            {"code": c.category, "minima": {m.label: m.minimum for m in c.minima}}
            for c in spec.categories
        ],
        "tie_breaks": [_tie_break_to_value(t) for t in spec.tie_breaks],
        "final_tie_breaks": [
            {"field": t.column, "order": "descending" if t.descending else "ascending"}
            for t in spec.final_tie_breaks
        ],
        "formations": [
            {
                "code": f.code,
                "agency": f.agency,
                "position": f.position,
                "openings": f.openings,
                "cut_multiplier": f.cut_multiplier,
            }
            for f in spec.formations
        ],
    }


def _section_to_dict(section: SectionSpec) -> dict[str, Any]:
    scoring: dict[str, Any] = {"kind": str(section.scoring.kind)}
    if section.scoring.kind is SectionScoringKind.WEIGHTED:
        scoring["max_option_points"] = float(section.max_option_points)
    else:
        scoring["correct"] = float(section.scoring.correct)
        scoring["wrong"] = float(section.scoring.wrong)
    scoring["blank"] = float(section.scoring.blank)
    blueprint = section.blueprint
    plan: dict[str, Any]
    if blueprint.kind is BlueprintKind.ANY:
        plan = {}
    elif blueprint.kind is BlueprintKind.TOPICS:
        plan = {"topics": {c.topic: c.count for c in blueprint.cells}}
    elif blueprint.kind is BlueprintKind.STRATA:
        plan = {"strata": {str(c.stratum): c.count for c in blueprint.cells}}
    else:
        grid: dict[str, dict[str, int]] = {}
        for cell in blueprint.cells:
            assert cell.topic is not None
            grid.setdefault(cell.topic, {})[str(cell.stratum)] = cell.count
        plan = {"cells": grid}
    out: dict[str, Any] = {
        "code": section.code,
        "name": section.name,
        "item_count": section.item_count,
        "scoring": scoring,
        "blueprint": plan,
    }
    if section.adaptive is not None:
        adaptive = section.adaptive
        out["adaptive"] = {
            "min_items": adaptive.min_items,
            "se_target": adaptive.se_target,
            "randomesque": adaptive.randomesque,
            "scale_mean": float(adaptive.scale_mean),
            "scale_sd": float(adaptive.scale_sd),
        }
    return out


def _tie_break_to_value(key: TieBreakKey) -> str | dict[str, str]:
    label = "+".join(key.sections) if key.sections else TOTAL_LABEL
    return label if key.descending else {"sections": label, "order": "ascending"}


def spec_from_dict(data: Mapping[str, Any], source: str = "stored spec") -> ExamSpec:
    """Read a spec from its dict form (what :func:`spec_to_dict` wrote, or a parsed document).

    Validates exactly as :func:`parse_exam_spec` does; problems are located by path only, and
    ``source`` names the data in them.
    """
    budget = [MAX_SPEC_NODES]
    try:
        root = _node_from_python(data, budget)
    except _TooLargeError:
        raise InvalidInput([Problem(source, "", "", "the spec is too large")]) from None
    return _read_spec(root, source)


def spec_hash(spec: ExamSpec) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`spec_to_dict`: equal specs, equal hashes."""
    canonical = json.dumps(
        spec_to_dict(spec), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Parsing: text -> located nodes
# --------------------------------------------------------------------------------------------


class _TooLargeError(Exception):
    """The document expands to more than :data:`MAX_SPEC_NODES` nodes."""


@dataclass(slots=True)
class _Scalar:
    line: int | None
    value: object


@dataclass(slots=True)
class _Map:
    line: int | None
    items: list[tuple[str, int | None, _Node]]


@dataclass(slots=True)
class _Seq:
    line: int | None
    items: list[_Node]


_Node = _Scalar | _Map | _Seq


def parse_exam_spec(data: bytes | str, filename: str) -> ExamSpec:
    """Read an exam spec from YAML or JSON text and validate it.

    The text is composed into YAML nodes (JSON through the same composer, its plain scalars
    read by :func:`json.loads`), which keep each value's line; a validator walks them with the
    path it is at, collecting problems instead of stopping at the first.

    Parameters
    ----------
    data
        The file's content (UTF-8 when bytes).
    filename
        Names the file in problems and picks the format: JSON for ``.json`` (or, without a
        known extension, text starting with ``{``), YAML otherwise.

    Returns
    -------
    ExamSpec
        The validated spec.

    Raises
    ------
    InvalidInput
        Listing every problem, sorted by line. A problem's ``location`` reads
        ``"line 14 (sections[1].item_count)"`` (lines from 1, list indexes from 0) and its
        ``field`` names the key at fault. Text that is not valid YAML/JSON gets one problem
        naming the format.
    """
    fmt = _format_of(data, filename)
    if len(data) > MAX_SPEC_BYTES:
        raise InvalidInput(
            [Problem(filename, "", "", f"the file is larger than {MAX_SPEC_BYTES} bytes")]
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InvalidInput(
                [Problem(filename, f"line {line}", "", f"not UTF-8 text ({fmt} must be UTF-8)")]
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    if fmt == "JSON":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                [
                    Problem(
                        filename,
                        f"line {exc.lineno}",
                        "",
                        f"not valid JSON: {exc.msg} (column {exc.colno})",
                    )
                ]
            ) from None
        # Valid JSON holds tabs only as whitespace between tokens, where YAML refuses them.
        text = text.replace("\t", " ")
    root = _compose(text, filename, fmt)
    return _read_spec(root, filename)


def _format_of(data: bytes | str, filename: str) -> str:
    lowered = filename.lower()
    if lowered.endswith(".json"):
        return "JSON"
    if lowered.endswith((".yaml", ".yml")):
        return "YAML"
    head = data[:64].lstrip()
    start = head[:1] if isinstance(head, str) else head[:1].decode("latin-1")
    return "JSON" if start == "{" else "YAML"


def _compose(text: str, filename: str, fmt: str) -> _Node:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidInput([Problem(filename, "line 1", "", "the file is empty")])
        return _node_from_yaml(node, loader, fmt == "JSON", [MAX_SPEC_NODES])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "unreadable"
        raise InvalidInput([Problem(filename, where, "", f"not valid {fmt}: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem(filename, "", "", f"not valid {fmt}: {exc}")]) from None
    except _TooLargeError:
        raise InvalidInput([Problem(filename, "", "", "the spec is too large")]) from None
    finally:
        loader.dispose()


def _node_from_yaml(
    node: yaml.Node, loader: yaml.SafeLoader, json_mode: bool, budget: list[int]
) -> _Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLargeError
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<) become ordinary keys
        items: list[tuple[str, int | None, _Node]] = []
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            items.append(
                (
                    str(key),
                    key_node.start_mark.line + 1,
                    _node_from_yaml(value_node, loader, json_mode, budget),
                )
            )
        return _Map(line, items)
    if isinstance(node, yaml.SequenceNode):
        return _Seq(line, [_node_from_yaml(v, loader, json_mode, budget) for v in node.value])
    assert isinstance(node, yaml.ScalarNode)
    if json_mode and not node.style:
        # JSON's plain scalars are numbers, true, false and null: read them as JSON does
        # (YAML 1.1 would read 1e5 as text).
        return _Scalar(line, json.loads(node.value))
    value: object = loader.construct_object(node, deep=True)
    return _Scalar(line, value)


def _node_from_python(value: object, budget: list[int]) -> _Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLargeError
    if isinstance(value, Mapping):
        return _Map(None, [(str(k), None, _node_from_python(v, budget)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return _Seq(None, [_node_from_python(v, budget) for v in value])
    return _Scalar(None, value)


# --------------------------------------------------------------------------------------------
# Validation: located nodes -> ExamSpec, collecting every problem
# --------------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: _Node) -> str:
    if isinstance(node, _Map):
        return "a mapping"
    if isinstance(node, _Seq):
        return "a list"
    value = node.value
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__} value"


class _Reader:
    """Collects located problems while turning nodes into values."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._problems: list[tuple[int, int, Problem]] = []

    def problem(self, line: int | None, path: str, field: str, message: str) -> None:
        if line is not None and path:
            location = f"line {line} ({path})"
        elif line is not None:
            location = f"line {line}"
        else:
            location = path
        order = line if line is not None else 1 << 30
        self._problems.append(
            (order, len(self._problems), Problem(self.file, location, field, message))
        )

    @property
    def failed(self) -> bool:
        return bool(self._problems)

    def error(self) -> InvalidInput:
        return InvalidInput([p for _, _, p in sorted(self._problems, key=lambda t: t[:2])])

    # ---- structure -------------------------------------------------------------------------

    def mapping(
        self,
        node: _Node,
        path: str,
        field: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> dict[str, _Node] | None:
        """The known keys of a mapping; flags typos, duplicates and missing keys."""
        if not isinstance(node, _Map):
            self.problem(node.line, path, field, f"must be a mapping, not {_describe(node)}")
            return None
        seen: dict[str, _Node] = {}
        for key, key_line, value in node.items:
            key_path = _join(path, key)
            if key in seen:
                self.problem(key_line, key_path, key, f"`{key}` is given twice; keep one")
            elif key not in allowed:
                self.problem(key_line, key_path, key, _unknown_key_message(key, allowed))
            else:
                seen[key] = value
        for key in required:
            if key not in seen:
                self.problem(node.line, path, key, f"`{key}` is required")
        return seen

    def entries(
        self, node: _Node, path: str, field: str
    ) -> Iterator[tuple[str, int | None, _Node]]:
        """Key/value pairs of a free-keyed mapping (topics, strata, minima); flags duplicates."""
        if not isinstance(node, _Map):
            self.problem(node.line, path, field, f"must be a mapping, not {_describe(node)}")
            return
        seen: set[str] = set()
        for key, key_line, value in node.items:
            if key in seen:
                self.problem(key_line, _join(path, key), key, f"`{key}` is given twice; keep one")
                continue
            seen.add(key)
            yield key, key_line, value

    def sequence(self, node: _Node, path: str, field: str) -> list[_Node]:
        if not isinstance(node, _Seq):
            self.problem(node.line, path, field, f"must be a list, not {_describe(node)}")
            return []
        return node.items

    # ---- scalars ---------------------------------------------------------------------------

    def text(self, node: _Node | None, path: str, field: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, _Scalar):
            self.problem(node.line, path, field, f"must be text, not {_describe(node)}")
            return None
        value = node.value
        if not isinstance(value, str):
            message = f"must be text, not {_describe(node)} (write it in quotes)"
            self.problem(node.line, path, field, message)
            return None
        if not value.strip():
            self.problem(node.line, path, field, "must not be empty")
            return None
        if value != value.strip():
            self.problem(node.line, path, field, "must not start or end with spaces")
            return None
        return value

    def code(
        self, node: _Node | None, path: str, field: str, pattern: re.Pattern[str], shape: str
    ) -> str | None:
        value = self.text(node, path, field)
        if value is None or node is None:
            return None
        if not pattern.fullmatch(value):
            self.problem(node.line, path, field, f"{value!r} is not a valid code: {shape}")
            return None
        return value

    def integer(self, node: _Node | None, path: str, field: str, minimum: int) -> int | None:
        if node is None:
            return None
        value = node.value if isinstance(node, _Scalar) else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            hint = " (write it without quotes)" if _looks_numeric(value) else ""
            message = f"must be a whole number, not {_describe(node)}{hint}"
            self.problem(node.line, path, field, message)
            return None
        if value < minimum:
            self.problem(node.line, path, field, f"must be {minimum} or more, not {value}")
            return None
        return value

    def number(self, node: _Node | None, path: str, field: str) -> float | None:
        if node is None:
            return None
        value = node.value if isinstance(node, _Scalar) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            hint = " (write it without quotes)" if _looks_numeric(value) else ""
            self.problem(node.line, path, field, f"must be a number, not {_describe(node)}{hint}")
            return None
        if not math.isfinite(value):
            self.problem(node.line, path, field, "must be a finite number")
            return None
        return float(value)

    def boolean(self, node: _Node | None, path: str, field: str) -> bool | None:
        if node is None:
            return None
        value = node.value if isinstance(node, _Scalar) else None
        if not isinstance(value, bool):
            self.problem(node.line, path, field, f"must be true or false, not {_describe(node)}")
            return None
        return value

    def choice(
        self, node: _Node | None, path: str, field: str, options: tuple[str, ...]
    ) -> str | None:
        value = self.text(node, path, field)
        if value is None or node is None:
            return None
        if value not in options:
            listed = ", ".join(options)
            self.problem(node.line, path, field, f"must be one of {listed}, not {value!r}")
            return None
        return value


def _looks_numeric(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _closest(word: str, options: tuple[str, ...] | list[str]) -> str | None:
    """The option ``word`` was probably meant to be: same letters ignoring case or order
    (``tkp``, ``TPK`` for ``TKP``), else the closest by :func:`difflib.get_close_matches`."""
    for option in options:
        if option.lower() == word.lower():
            return option
    for option in options:
        if sorted(option.lower()) == sorted(word.lower()):
            return option
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown_key_message(key: str, allowed: tuple[str, ...]) -> str:
    close = _closest(key, allowed)
    if close:
        return f"unknown key `{key}` (did you mean `{close}`?)"
    return f"unknown key `{key}`; expected one of: {', '.join(allowed)}"


_TOP_KEYS = (
    "code",
    "title",
    "duration_minutes",
    "shuffle_items",
    "shuffle_options",
    "show_result",
    "difficulty_bands",
    "sections",
    "categories",
    "tie_breaks",
    "final_tie_breaks",
    "formations",
    "irt_matching",
)
_SECTION_KEYS = ("code", "name", "item_count", "scoring", "blueprint", "adaptive")
_ADAPTIVE_KEYS = ("min_items", "se_target", "randomesque", "scale_mean", "scale_sd")
_SCORING_KEYS = ("kind", "correct", "wrong", "blank", "max_option_points")
_BLUEPRINT_KEYS = ("topics", "strata", "cells")
_BAND_KEYS = ("easy_min_p", "hard_below_p")
_CATEGORY_KEYS = ("code", "minima")
_TIE_BREAK_KEYS = ("sections", "order")
_FINAL_TIE_BREAK_KEYS = ("field", "order")
_FORMATION_KEYS = ("code", "agency", "position", "openings", "cut_multiplier")
_ORDERS = ("descending", "ascending")

# Indonesian words committees may write for a stratum, to suggest the right key.
_STRATUM_WORDS: Final = {"mudah": "easy", "sedang": "medium", "sulit": "hard", "sukar": "hard"}


@dataclass(frozen=True, slots=True)
class _SectionDraft:
    """What was read of one section, kept even when some of it is wrong."""

    code: str | None
    code_line: int | None
    spec: SectionSpec | None


def _read_spec(root: _Node, file: str) -> ExamSpec:
    r = _Reader(file)
    if not isinstance(root, _Map):
        r.problem(
            root.line,
            "",
            "",
            f"an exam spec is a mapping (code:, title:, sections: ...), not {_describe(root)}",
        )
        raise r.error()
    top = r.mapping(
        root, "", "", _TOP_KEYS, required=("code", "title", "duration_minutes", "sections")
    )
    if top is None:
        raise r.error()
    code = r.code(
        top.get("code"),
        "code",
        "code",
        _EXAM_CODE,
        "letters, digits, '.', '_' or '-', starting with a letter or digit",
    )
    title = r.text(top.get("title"), "title", "title")
    duration = r.integer(top.get("duration_minutes"), "duration_minutes", "duration_minutes", 1)
    flags = {
        key: r.boolean(top.get(key), key, key)
        for key in ("shuffle_items", "shuffle_options", "show_result", "irt_matching")
    }
    bands = _read_bands(r, top.get("difficulty_bands"))
    drafts = _read_sections(r, top.get("sections"))
    known = [d.code for d in drafts if d.code is not None]
    max_scores: dict[str, float | None] = {
        d.code: (d.spec.max_score if d.spec else None) for d in drafts if d.code is not None
    }
    categories = _read_categories(r, top.get("categories"), known, max_scores)
    tie_breaks = _read_tie_breaks(r, top.get("tie_breaks"), known)
    final_tie_breaks = _read_final_tie_breaks(r, top.get("final_tie_breaks"))
    formations = _read_formations(r, top.get("formations"))
    if r.failed:
        raise r.error()
    assert code is not None
    assert title is not None
    assert duration is not None
    return ExamSpec(
        code=code,
        title=title,
        sections=tuple(d.spec for d in drafts if d.spec is not None),
        duration_minutes=duration,
        shuffle_items=_default(flags["shuffle_items"], True),
        shuffle_options=_default(flags["shuffle_options"], True),
        categories=categories,
        tie_breaks=tie_breaks,
        final_tie_breaks=final_tie_breaks,
        formations=formations,
        show_result=_default(flags["show_result"], True),
        difficulty_bands=bands,
        irt_matching=_default(flags["irt_matching"], False),
    )


def _default(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _read_bands(r: _Reader, node: _Node | None) -> DifficultyBands:
    default = DifficultyBands()
    if node is None:
        return default
    path = "difficulty_bands"
    fields = r.mapping(node, path, path, _BAND_KEYS)
    if fields is None:
        return default
    values: dict[str, float] = {
        "easy_min_p": default.easy_min_p,
        "hard_below_p": default.hard_below_p,
    }
    ok = True
    for key, value_node in fields.items():
        value = r.number(value_node, _join(path, key), key)
        if value is None:
            ok = False
        elif not 0.0 <= value <= 1.0:
            r.problem(value_node.line, _join(path, key), key, "must be between 0 and 1")
            ok = False
        else:
            values[key] = value
    if not ok:
        return default
    if values["hard_below_p"] > values["easy_min_p"]:
        r.problem(node.line, path, "hard_below_p", "`hard_below_p` cannot exceed `easy_min_p`")
        return default
    return DifficultyBands(**values)


def _read_sections(r: _Reader, node: _Node | None) -> list[_SectionDraft]:
    if node is None:
        return []
    items = r.sequence(node, "sections", "sections")
    if isinstance(node, _Seq) and not items:
        r.problem(node.line, "sections", "sections", "an exam needs at least one section")
    drafts: list[_SectionDraft] = []
    first_line: dict[str, int | None] = {}
    for index, item in enumerate(items):
        draft = _read_section(r, item, f"sections[{index}]")
        if draft.code is not None and draft.code in first_line:
            where = first_line[draft.code]
            r.problem(
                draft.code_line,
                f"sections[{index}].code",
                "code",
                f"section code `{draft.code}` is used twice"
                + (f" (first on line {where})" if where else ""),
            )
            continue
        if draft.code is not None:
            first_line[draft.code] = draft.code_line
        drafts.append(draft)
    return drafts


def _read_section(r: _Reader, node: _Node, path: str) -> _SectionDraft:
    fields = r.mapping(
        node, path, "sections", _SECTION_KEYS, required=("code", "name", "item_count", "scoring")
    )
    if fields is None:
        return _SectionDraft(None, None, None)
    code_node = fields.get("code")
    code = r.code(
        code_node,
        _join(path, "code"),
        "code",
        _SECTION_CODE,
        "a letter, then letters, digits, '_' or '-' (at most 32)",
    )
    if code is not None and code.lower() == TOTAL_LABEL:
        r.problem(
            code_node.line if code_node else None,
            _join(path, "code"),
            "code",
            "`total` names the sum of all sections; choose another section code",
        )
        code = None
    name = r.text(fields.get("name"), _join(path, "name"), "name")
    item_count = r.integer(fields.get("item_count"), _join(path, "item_count"), "item_count", 1)
    scoring = _read_scoring(r, fields.get("scoring"), _join(path, "scoring"))
    blueprint = _read_blueprint(r, fields.get("blueprint"), _join(path, "blueprint"), item_count)
    code_line = code_node.line if code_node is not None else None
    if None in (code, name, item_count, scoring, blueprint):
        return _SectionDraft(code, code_line, None)
    assert code is not None
    assert name is not None
    assert item_count is not None
    assert scoring is not None
    assert blueprint is not None
    section_scoring, max_points = scoring
    adaptive = None
    if "adaptive" in fields:
        adaptive = _read_adaptive(r, fields["adaptive"], _join(path, "adaptive"), item_count)
        if adaptive is None:
            return _SectionDraft(code, code_line, None)
        if section_scoring.kind is SectionScoringKind.WEIGHTED:
            r.problem(
                fields["adaptive"].line,
                _join(path, "adaptive"),
                "adaptive",
                "an adaptive section must be dichotomous (IRT scores right or wrong answers)",
            )
            return _SectionDraft(code, code_line, None)
    spec = SectionSpec(code, name, item_count, section_scoring, blueprint, max_points, adaptive)
    return _SectionDraft(code, code_line, spec)


def _read_adaptive(r: _Reader, node: _Node, path: str, item_count: int) -> AdaptiveConfig | None:
    fields = r.mapping(node, path, "adaptive", _ADAPTIVE_KEYS, required=())
    if fields is None:
        return None
    failed = r.failed
    min_items = r.integer(fields.get("min_items"), _join(path, "min_items"), "min_items", 1)
    randomesque = r.integer(fields.get("randomesque"), _join(path, "randomesque"), "randomesque", 1)
    se_target = r.number(fields.get("se_target"), _join(path, "se_target"), "se_target")
    scale_mean = r.number(fields.get("scale_mean"), _join(path, "scale_mean"), "scale_mean")
    scale_sd = r.number(fields.get("scale_sd"), _join(path, "scale_sd"), "scale_sd")
    if min_items is not None and min_items > item_count:
        r.problem(
            fields["min_items"].line,
            _join(path, "min_items"),
            "min_items",
            f"min_items ({min_items}) exceeds the section's item_count ({item_count})",
        )
        return None
    for key, value in (("se_target", se_target), ("scale_sd", scale_sd)):
        if value is not None and value <= 0:
            r.problem(fields[key].line, _join(path, key), key, "must be more than 0")
            return None
    if r.failed and not failed:
        return None
    return AdaptiveConfig(
        min_items=min_items if min_items is not None else 1,
        se_target=se_target,
        randomesque=randomesque if randomesque is not None else 5,
        scale_mean=scale_mean if scale_mean is not None else 500.0,
        scale_sd=scale_sd if scale_sd is not None else 100.0,
    )


def _read_scoring(r: _Reader, node: _Node | None, path: str) -> tuple[SectionScoring, float] | None:
    if node is None:
        return None
    fields = r.mapping(node, path, "scoring", _SCORING_KEYS, required=("kind",))
    if fields is None:
        return None
    kind_text = r.choice(
        fields.get("kind"), _join(path, "kind"), "kind", tuple(str(k) for k in SectionScoringKind)
    )
    if kind_text is None:
        return None
    kind = SectionScoringKind(kind_text)
    wrong_keys = (
        ("correct", "wrong") if kind is SectionScoringKind.WEIGHTED else ("max_option_points",)
    )
    ok = True
    for key in wrong_keys:
        if key in fields:
            other = "dichotomous" if kind is SectionScoringKind.WEIGHTED else "weighted"
            r.problem(
                fields[key].line,
                _join(path, key),
                key,
                f"`{key}` applies to {other} sections only; this section is {kind}",
            )
            ok = False
    blank = r.number(fields.get("blank"), _join(path, "blank"), "blank")
    if kind is SectionScoringKind.WEIGHTED:
        max_points = r.number(
            fields.get("max_option_points"), _join(path, "max_option_points"), "max_option_points"
        )
        if max_points is not None and max_points <= 0:
            r.problem(
                fields["max_option_points"].line,
                _join(path, "max_option_points"),
                "max_option_points",
                "must be more than 0",
            )
            ok = False
        if (
            not ok
            or (blank is None and "blank" in fields)
            or (max_points is None and "max_option_points" in fields)
        ):
            return None
        scoring = SectionScoring(kind, blank=0.0 if blank is None else blank)
        return scoring, DEFAULT_MAX_OPTION_POINTS if max_points is None else max_points
    if "correct" not in fields:
        r.problem(node.line, path, "correct", "`correct` is required for dichotomous sections")
        return None
    correct = r.number(fields.get("correct"), _join(path, "correct"), "correct")
    wrong = r.number(fields.get("wrong"), _join(path, "wrong"), "wrong")
    if correct is not None and correct <= 0:
        r.problem(fields["correct"].line, _join(path, "correct"), "correct", "must be more than 0")
        return None
    if (
        not ok
        or correct is None
        or (wrong is None and "wrong" in fields)
        or (blank is None and "blank" in fields)
    ):
        return None
    scoring = SectionScoring(
        kind,
        correct=correct,
        wrong=0.0 if wrong is None else wrong,
        blank=0.0 if blank is None else blank,
    )
    return scoring, DEFAULT_MAX_OPTION_POINTS


def _read_blueprint(
    r: _Reader, node: _Node | None, path: str, item_count: int | None
) -> Blueprint | None:
    if node is None:
        return None if item_count is None else Blueprint.any_item(item_count)
    fields = r.mapping(node, path, "blueprint", _BLUEPRINT_KEYS)
    if fields is None:
        return None
    given = [k for k in _BLUEPRINT_KEYS if k in fields]
    if len(given) > 1:
        r.problem(
            node.line,
            path,
            "blueprint",
            f"give one of `topics`, `strata` or `cells`, not {' and '.join(given)}: "
            "a plan by topic and difficulty together is a grid under `cells` "
            "(topic: {easy: n, medium: n, hard: n})",
        )
        return None
    if not given:
        return None if item_count is None else Blueprint.any_item(item_count)
    key = given[0]
    sub = fields[key]
    sub_path = _join(path, key)
    blueprint: Blueprint | None
    if key == "topics":
        topics = _read_quotas(r, sub, sub_path, key)
        blueprint = Blueprint.by_topic(topics) if topics else None
    elif key == "strata":
        strata = _read_strata(r, sub, sub_path, key)
        blueprint = Blueprint.by_stratum(strata) if strata else None
    else:
        grid: dict[str, dict[DifficultyLevel, int]] = {}
        ok = True
        for topic, key_line, row in r.entries(sub, sub_path, key):
            if not topic.strip():
                r.problem(key_line, _join(sub_path, topic), topic, "a topic must have a name")
                ok = False
                continue
            strata = _read_strata(r, row, _join(sub_path, topic), topic)
            ok = ok and strata is not None
            if strata:
                grid[topic] = strata
            elif strata is not None:
                r.problem(row.line, _join(sub_path, topic), topic, "give at least one stratum")
                ok = False
        blueprint = Blueprint.by_cell(grid) if ok and grid else None
        if ok and not grid and isinstance(sub, _Map):
            r.problem(sub.line, sub_path, key, "give at least one topic")
    if blueprint is None or item_count is None:
        return None
    if blueprint.item_count != item_count:
        what = {"topics": "topic quotas", "strata": "strata quotas", "cells": "cells"}[key]
        r.problem(
            sub.line,
            sub_path,
            key,
            f"{what} add up to {blueprint.item_count}, but the section has {item_count} items",
        )
        return None
    return blueprint


def _read_quotas(r: _Reader, node: _Node, path: str, field: str) -> dict[str, int] | None:
    quotas: dict[str, int] = {}
    ok = True
    for key, key_line, value in r.entries(node, path, field):
        if not key.strip():
            r.problem(key_line, _join(path, key), key, "a topic must have a name")
            ok = False
            continue
        count = r.integer(value, _join(path, key), key, 0)
        if count is None:
            ok = False
        else:
            quotas[key] = count
    if not isinstance(node, _Map):
        return None
    if ok and not quotas:
        r.problem(node.line, path, field, "give at least one topic")
        return None
    return quotas if ok else None


def _read_strata(
    r: _Reader, node: _Node, path: str, field: str
) -> dict[DifficultyLevel, int] | None:
    quotas: dict[DifficultyLevel, int] = {}
    ok = True
    names = tuple(str(s) for s in STRATA)
    for key, key_line, value in r.entries(node, path, field):
        if key not in names:
            suggestion = _STRATUM_WORDS.get(key.lower()) or _closest(key, names)
            hint = f" (did you mean `{suggestion}`?)" if suggestion else ""
            r.problem(
                key_line,
                _join(path, key),
                key,
                f"unknown stratum `{key}`{hint}; strata are easy, medium and hard",
            )
            ok = False
            continue
        count = r.integer(value, _join(path, key), key, 0)
        if count is None:
            ok = False
        else:
            quotas[DifficultyLevel(key)] = count
    if not isinstance(node, _Map):
        return None
    if ok and not quotas and field == "strata":
        r.problem(node.line, path, field, "give at least one stratum")
        return None
    return quotas if ok else None


def _read_section_sum(
    r: _Reader,
    label: str,
    line: int | None,
    path: str,
    known: list[str],
) -> tuple[str, ...] | None:
    """Sections named by a label such as ``TIU``, ``manajerial+sosial_kultural`` or ``total``."""
    if label.strip() == TOTAL_LABEL:
        return ()
    parts = tuple(p.strip() for p in label.split("+"))
    ok = True
    for part in parts:
        if part not in known:
            listed = ", ".join(known) if known else "none"
            close = _closest(part, known)
            hint = f" (did you mean `{close}`?)" if close else ""
            r.problem(
                line,
                path,
                label,
                f"`{part}` is not a section of this exam{hint}; sections: {listed}, or `total`",
            )
            ok = False
    if ok and len(set(parts)) != len(parts):
        r.problem(line, path, label, f"`{label}` names a section twice")
        ok = False
    return parts if ok else None


def _read_categories(
    r: _Reader,
    node: _Node | None,
    known: list[str],
    max_scores: dict[str, float | None],
) -> tuple[ThresholdRuleSet, ...]:
    if node is None:
        return ()
    out: list[ThresholdRuleSet] = []
    first_line: dict[str, int | None] = {}
    for index, item in enumerate(r.sequence(node, "categories", "categories")):
        path = f"categories[{index}]"
        fields = r.mapping(item, path, "categories", _CATEGORY_KEYS, required=("code", "minima"))
        if fields is None:
            continue
        code = r.text(fields.get("code"), _join(path, "code"), "code")
        if code is not None and code in first_line:
            where = first_line[code]
            r.problem(
                fields["code"].line,
                _join(path, "code"),
                "code",
                f"category `{code}` is defined twice"
                + (f" (first on line {where})" if where else ""),
            )
            code = None
        elif code is not None:
            first_line[code] = fields["code"].line
        minima: list[Minimum] = []
        ok = code is not None
        minima_node = fields.get("minima")
        minima_path = _join(path, "minima")
        if minima_node is None:
            continue
        for label, key_line, value in r.entries(minima_node, minima_path, "minima"):
            entry_path = _join(minima_path, label)
            sections = _read_section_sum(r, label, key_line, entry_path, known)
            minimum = r.number(value, entry_path, label)
            if sections is None or minimum is None:
                ok = False
                continue
            reachable = _max_of(sections, known, max_scores)
            if reachable is not None and minimum > reachable:
                r.problem(
                    value.line,
                    entry_path,
                    label,
                    f"minimum {minimum:g} is above the highest possible score {reachable:g}: "
                    "nobody could pass",
                )
                ok = False
                continue
            minima.append(Minimum(sections, minimum))
        if not isinstance(minima_node, _Map):
            ok = False
        if ok and code is not None:
            out.append(ThresholdRuleSet(code, tuple(minima)))
    return tuple(out)


def _max_of(
    sections: tuple[str, ...], known: list[str], max_scores: dict[str, float | None]
) -> float | None:
    total = 0.0
    for code in sections or tuple(known):
        value = max_scores.get(code)
        if value is None:
            return None
        total += value
    return total


def _read_tie_breaks(r: _Reader, node: _Node | None, known: list[str]) -> tuple[TieBreakKey, ...]:
    if node is None:
        return ()
    out: list[TieBreakKey] = []
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(r.sequence(node, "tie_breaks", "tie_breaks")):
        path = f"tie_breaks[{index}]"
        descending = True
        label_node: _Node | None = item
        label_path = path
        if isinstance(item, _Map):
            fields = r.mapping(item, path, "tie_breaks", _TIE_BREAK_KEYS, required=("sections",))
            if fields is None:
                continue
            label_node = fields.get("sections")
            label_path = _join(path, "sections")
            order = r.choice(fields.get("order"), _join(path, "order"), "order", _ORDERS)
            descending = order != "ascending"
        label = r.text(label_node, label_path, "tie_breaks")
        if label is None or label_node is None:
            continue
        sections = _read_section_sum(r, label, label_node.line, label_path, known)
        if sections is None:
            continue
        key = tuple(sorted(sections))
        if key in seen:
            r.problem(label_node.line, label_path, label, f"`{label}` is already a tie-break")
            continue
        seen.add(key)
        out.append(TieBreakKey(sections, descending))
    return tuple(out)


def _read_final_tie_breaks(r: _Reader, node: _Node | None) -> tuple[TieBreakKey, ...]:
    if node is None:
        return ()
    out: list[TieBreakKey] = []
    seen: set[str] = set()
    names = tuple(ROSTER_TIE_BREAK_FIELDS)
    for index, item in enumerate(r.sequence(node, "final_tie_breaks", "final_tie_breaks")):
        path = f"final_tie_breaks[{index}]"
        fields = r.mapping(
            item, path, "final_tie_breaks", _FINAL_TIE_BREAK_KEYS, required=("field",)
        )
        if fields is None:
            continue
        name = r.choice(fields.get("field"), _join(path, "field"), "field", names)
        order = r.choice(fields.get("order"), _join(path, "order"), "order", _ORDERS)
        if name is None or ("order" in fields and order is None):
            continue
        if name in seen:
            r.problem(
                fields["field"].line,
                _join(path, "field"),
                "field",
                f"`{name}` is already a final tie-break",
            )
            continue
        seen.add(name)
        descending = ROSTER_TIE_BREAK_FIELDS[name] if order is None else order == "descending"
        out.append(TieBreakKey.by_column(name, descending=descending))
    return tuple(out)


def _read_formations(r: _Reader, node: _Node | None) -> tuple[Formation, ...]:
    if node is None:
        return ()
    out: list[Formation] = []
    first_line: dict[str, int | None] = {}
    for index, item in enumerate(r.sequence(node, "formations", "formations")):
        path = f"formations[{index}]"
        fields = r.mapping(
            item,
            path,
            "formations",
            _FORMATION_KEYS,
            required=("code", "agency", "position", "openings"),
        )
        if fields is None:
            continue
        code = r.text(fields.get("code"), _join(path, "code"), "code")
        agency = r.text(fields.get("agency"), _join(path, "agency"), "agency")
        position = r.text(fields.get("position"), _join(path, "position"), "position")
        openings = r.integer(fields.get("openings"), _join(path, "openings"), "openings", 1)
        multiplier = r.integer(
            fields.get("cut_multiplier"), _join(path, "cut_multiplier"), "cut_multiplier", 1
        )
        if code is not None and code in first_line:
            where = first_line[code]
            r.problem(
                fields["code"].line,
                _join(path, "code"),
                "code",
                f"formation `{code}` is defined twice"
                + (f" (first on line {where})" if where else ""),
            )
            continue
        if code is not None:
            first_line[code] = fields["code"].line
        if None in (code, agency, position, openings) or (
            multiplier is None and "cut_multiplier" in fields
        ):
            continue
        assert code is not None
        assert agency is not None
        assert position is not None
        assert openings is not None
        out.append(
            Formation(code, agency, position, openings, 3 if multiplier is None else multiplier)
        )
    return tuple(out)
