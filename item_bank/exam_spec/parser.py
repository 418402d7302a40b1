"""Reading an exam spec: text to located nodes to a validated :class:`ExamSpec`, every problem
reported at once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from item_bank.errors import InvalidInput, Problem
from item_bank.exam_spec.model import (
    DEFAULT_MAX_OPTION_POINTS,
    DEVICE_MOVES,
    ROSTER_TIE_BREAK_FIELDS,
    STRATA,
    TOTAL_LABEL,
    AdaptiveConfig,
    Blueprint,
    DifficultyBands,
    ExamSpec,
    SectionSpec,
)
from item_bank.exam_spec.nodes import (
    MAX_SPEC_BYTES,
    MapNode,
    Node,
    SeqNode,
    compose,
    format_of,
)
from item_bank.exam_spec.reader import Reader, closest, describe, join_path
from item_bank.models import DifficultyLevel
from scoring.ranking import Formation, TieBreakKey
from scoring.rules import SectionScoring, SectionScoringKind
from scoring.thresholds import Minimum, ThresholdRuleSet

_EXAM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SECTION_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


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
    fmt = format_of(data, filename)
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
    root = compose(text, filename, fmt)
    return read_spec(root, filename)


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
    "practice",
    "device_moves",
)
_SECTION_KEYS = (
    "code",
    "name",
    "item_count",
    "scoring",
    "blueprint",
    "adaptive",
    "keep_stimulus_items_together",
)
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


def read_spec(root: Node, file: str) -> ExamSpec:
    r = Reader(file)
    if not isinstance(root, MapNode):
        r.problem(
            root.line,
            "",
            "",
            f"an exam spec is a mapping (code:, title:, sections: ...), not {describe(root)}",
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
        for key in ("shuffle_items", "shuffle_options", "show_result", "irt_matching", "practice")
    }
    if flags["practice"] and flags["show_result"] is False:
        # A practice attempt ends on its score and review: hiding it defeats the practice.
        node = top.get("show_result")
        r.problem(
            node.line if node is not None else root.line,
            "show_result",
            "show_result",
            "a practice exam (practice: true) shows its result: leave show_result out or true",
        )
    device_moves = r.choice(top.get("device_moves"), "device_moves", "device_moves", DEVICE_MOVES)
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
        practice=_default(flags["practice"], False),
        device_moves=device_moves or "proctor",
    )


def _default(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _read_bands(r: Reader, node: Node | None) -> DifficultyBands:
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
        value = r.number(value_node, join_path(path, key), key)
        if value is None:
            ok = False
        elif not 0.0 <= value <= 1.0:
            r.problem(value_node.line, join_path(path, key), key, "must be between 0 and 1")
            ok = False
        else:
            values[key] = value
    if not ok:
        return default
    if values["hard_below_p"] > values["easy_min_p"]:
        r.problem(node.line, path, "hard_below_p", "`hard_below_p` cannot exceed `easy_min_p`")
        return default
    return DifficultyBands(**values)


def _read_sections(r: Reader, node: Node | None) -> list[_SectionDraft]:
    if node is None:
        return []
    items = r.sequence(node, "sections", "sections")
    if isinstance(node, SeqNode) and not items:
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


def _read_section(r: Reader, node: Node, path: str) -> _SectionDraft:
    fields = r.mapping(
        node, path, "sections", _SECTION_KEYS, required=("code", "name", "item_count", "scoring")
    )
    if fields is None:
        return _SectionDraft(None, None, None)
    code_node = fields.get("code")
    code = r.code(
        code_node,
        join_path(path, "code"),
        "code",
        _SECTION_CODE,
        "a letter, then letters, digits, '_' or '-' (at most 32)",
    )
    if code is not None and code.lower() == TOTAL_LABEL:
        r.problem(
            code_node.line if code_node else None,
            join_path(path, "code"),
            "code",
            "`total` names the sum of all sections; choose another section code",
        )
        code = None
    name = r.text(fields.get("name"), join_path(path, "name"), "name")
    item_count = r.integer(fields.get("item_count"), join_path(path, "item_count"), "item_count", 1)
    scoring = _read_scoring(r, fields.get("scoring"), join_path(path, "scoring"))
    blueprint = _read_blueprint(
        r, fields.get("blueprint"), join_path(path, "blueprint"), item_count
    )
    together_node = fields.get("keep_stimulus_items_together")
    together = r.boolean(
        together_node,
        join_path(path, "keep_stimulus_items_together"),
        "keep_stimulus_items_together",
    )
    code_line = code_node.line if code_node is not None else None
    if together_node is not None and together is None:
        return _SectionDraft(code, code_line, None)
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
        adaptive = _read_adaptive(r, fields["adaptive"], join_path(path, "adaptive"), item_count)
        if adaptive is None:
            return _SectionDraft(code, code_line, None)
        if section_scoring.kind is SectionScoringKind.WEIGHTED:
            r.problem(
                fields["adaptive"].line,
                join_path(path, "adaptive"),
                "adaptive",
                "an adaptive section must be dichotomous (IRT scores right or wrong answers)",
            )
            return _SectionDraft(code, code_line, None)
    spec = SectionSpec(
        code,
        name,
        item_count,
        section_scoring,
        blueprint,
        max_points,
        adaptive,
        keep_stimulus_items_together=bool(together),
    )
    return _SectionDraft(code, code_line, spec)


def _read_adaptive(r: Reader, node: Node, path: str, item_count: int) -> AdaptiveConfig | None:
    fields = r.mapping(node, path, "adaptive", _ADAPTIVE_KEYS, required=())
    if fields is None:
        return None
    failed = r.failed
    min_items = r.integer(fields.get("min_items"), join_path(path, "min_items"), "min_items", 1)
    randomesque = r.integer(
        fields.get("randomesque"), join_path(path, "randomesque"), "randomesque", 1
    )
    se_target = r.number(fields.get("se_target"), join_path(path, "se_target"), "se_target")
    scale_mean = r.number(fields.get("scale_mean"), join_path(path, "scale_mean"), "scale_mean")
    scale_sd = r.number(fields.get("scale_sd"), join_path(path, "scale_sd"), "scale_sd")
    if min_items is not None and min_items > item_count:
        r.problem(
            fields["min_items"].line,
            join_path(path, "min_items"),
            "min_items",
            f"min_items ({min_items}) exceeds the section's item_count ({item_count})",
        )
        return None
    for key, value in (("se_target", se_target), ("scale_sd", scale_sd)):
        if value is not None and value <= 0:
            r.problem(fields[key].line, join_path(path, key), key, "must be more than 0")
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


def _read_scoring(r: Reader, node: Node | None, path: str) -> tuple[SectionScoring, float] | None:
    if node is None:
        return None
    fields = r.mapping(node, path, "scoring", _SCORING_KEYS, required=("kind",))
    if fields is None:
        return None
    kind_text = r.choice(
        fields.get("kind"),
        join_path(path, "kind"),
        "kind",
        tuple(str(k) for k in SectionScoringKind),
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
                join_path(path, key),
                key,
                f"`{key}` applies to {other} sections only; this section is {kind}",
            )
            ok = False
    blank = r.number(fields.get("blank"), join_path(path, "blank"), "blank")
    if kind is SectionScoringKind.WEIGHTED:
        max_points = r.number(
            fields.get("max_option_points"),
            join_path(path, "max_option_points"),
            "max_option_points",
        )
        if max_points is not None and max_points <= 0:
            r.problem(
                fields["max_option_points"].line,
                join_path(path, "max_option_points"),
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
    correct = r.number(fields.get("correct"), join_path(path, "correct"), "correct")
    wrong = r.number(fields.get("wrong"), join_path(path, "wrong"), "wrong")
    if correct is not None and correct <= 0:
        r.problem(
            fields["correct"].line, join_path(path, "correct"), "correct", "must be more than 0"
        )
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
    r: Reader, node: Node | None, path: str, item_count: int | None
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
    sub_path = join_path(path, key)
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
                r.problem(key_line, join_path(sub_path, topic), topic, "a topic must have a name")
                ok = False
                continue
            strata = _read_strata(r, row, join_path(sub_path, topic), topic)
            ok = ok and strata is not None
            if strata:
                grid[topic] = strata
            elif strata is not None:
                r.problem(row.line, join_path(sub_path, topic), topic, "give at least one stratum")
                ok = False
        blueprint = Blueprint.by_cell(grid) if ok and grid else None
        if ok and not grid and isinstance(sub, MapNode):
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


def _read_quotas(r: Reader, node: Node, path: str, field: str) -> dict[str, int] | None:
    quotas: dict[str, int] = {}
    ok = True
    for key, key_line, value in r.entries(node, path, field):
        if not key.strip():
            r.problem(key_line, join_path(path, key), key, "a topic must have a name")
            ok = False
            continue
        count = r.integer(value, join_path(path, key), key, 0)
        if count is None:
            ok = False
        else:
            quotas[key] = count
    if not isinstance(node, MapNode):
        return None
    if ok and not quotas:
        r.problem(node.line, path, field, "give at least one topic")
        return None
    return quotas if ok else None


def _read_strata(r: Reader, node: Node, path: str, field: str) -> dict[DifficultyLevel, int] | None:
    quotas: dict[DifficultyLevel, int] = {}
    ok = True
    names = tuple(str(s) for s in STRATA)
    for key, key_line, value in r.entries(node, path, field):
        if key not in names:
            suggestion = _STRATUM_WORDS.get(key.lower()) or closest(key, names)
            hint = f" (did you mean `{suggestion}`?)" if suggestion else ""
            r.problem(
                key_line,
                join_path(path, key),
                key,
                f"unknown stratum `{key}`{hint}; strata are easy, medium and hard",
            )
            ok = False
            continue
        count = r.integer(value, join_path(path, key), key, 0)
        if count is None:
            ok = False
        else:
            quotas[DifficultyLevel(key)] = count
    if not isinstance(node, MapNode):
        return None
    if ok and not quotas and field == "strata":
        r.problem(node.line, path, field, "give at least one stratum")
        return None
    return quotas if ok else None


def _read_section_sum(
    r: Reader,
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
            close = closest(part, known)
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
    r: Reader,
    node: Node | None,
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
        code = r.text(fields.get("code"), join_path(path, "code"), "code")
        if code is not None and code in first_line:
            where = first_line[code]
            r.problem(
                fields["code"].line,
                join_path(path, "code"),
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
        minima_path = join_path(path, "minima")
        if minima_node is None:
            continue
        for label, key_line, value in r.entries(minima_node, minima_path, "minima"):
            entry_path = join_path(minima_path, label)
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
        if not isinstance(minima_node, MapNode):
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


def _read_tie_breaks(r: Reader, node: Node | None, known: list[str]) -> tuple[TieBreakKey, ...]:
    if node is None:
        return ()
    out: list[TieBreakKey] = []
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(r.sequence(node, "tie_breaks", "tie_breaks")):
        path = f"tie_breaks[{index}]"
        descending = True
        label_node: Node | None = item
        label_path = path
        if isinstance(item, MapNode):
            fields = r.mapping(item, path, "tie_breaks", _TIE_BREAK_KEYS, required=("sections",))
            if fields is None:
                continue
            label_node = fields.get("sections")
            label_path = join_path(path, "sections")
            order = r.choice(fields.get("order"), join_path(path, "order"), "order", _ORDERS)
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


def _read_final_tie_breaks(r: Reader, node: Node | None) -> tuple[TieBreakKey, ...]:
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
        name = r.choice(fields.get("field"), join_path(path, "field"), "field", names)
        order = r.choice(fields.get("order"), join_path(path, "order"), "order", _ORDERS)
        if name is None or ("order" in fields and order is None):
            continue
        if name in seen:
            r.problem(
                fields["field"].line,
                join_path(path, "field"),
                "field",
                f"`{name}` is already a final tie-break",
            )
            continue
        seen.add(name)
        descending = ROSTER_TIE_BREAK_FIELDS[name] if order is None else order == "descending"
        out.append(TieBreakKey.by_column(name, descending=descending))
    return tuple(out)


def _read_formations(r: Reader, node: Node | None) -> tuple[Formation, ...]:
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
        code = r.text(fields.get("code"), join_path(path, "code"), "code")
        agency = r.text(fields.get("agency"), join_path(path, "agency"), "agency")
        position = r.text(fields.get("position"), join_path(path, "position"), "position")
        openings = r.integer(fields.get("openings"), join_path(path, "openings"), "openings", 1)
        multiplier = r.integer(
            fields.get("cut_multiplier"), join_path(path, "cut_multiplier"), "cut_multiplier", 1
        )
        if code is not None and code in first_line:
            where = first_line[code]
            r.problem(
                fields["code"].line,
                join_path(path, "code"),
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
