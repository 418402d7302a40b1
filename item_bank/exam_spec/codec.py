"""Storing a spec: its canonical dict (a valid spec document itself), reading it back, its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from item_bank.errors import InvalidInput, Problem
from item_bank.exam_spec.model import (
    TOTAL_LABEL,
    BlueprintKind,
    ExamSpec,
    SectionSpec,
)
from item_bank.exam_spec.nodes import MAX_SPEC_NODES, TooLargeError, node_from_python
from item_bank.exam_spec.parser import read_spec
from scoring.ranking import TieBreakKey
from scoring.rules import SectionScoringKind


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
        **({"practice": True} if spec.practice else {}),
        # Written only when it differs from the default, so existing specs keep their hash.
        **({"device_moves": spec.device_moves} if spec.device_moves != "proctor" else {}),
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
    if section.keep_stimulus_items_together:
        # Written only when set: specs stored before the option keep their digest.
        out["keep_stimulus_items_together"] = True
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
        root = node_from_python(data, budget)
    except TooLargeError:
        raise InvalidInput([Problem(source, "", "", "the spec is too large")]) from None
    return read_spec(root, source)


def spec_hash(spec: ExamSpec) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`spec_to_dict`: equal specs, equal hashes."""
    canonical = json.dumps(
        spec_to_dict(spec), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
