"""Exam specs (sections, blueprints, scoring, thresholds, tie-breaks, formations), located errors.

A committee writes an exam spec as YAML or JSON (the format is described for committees in
``docs/exam-spec.md``). :func:`parse_exam_spec` reads it and reports *every* problem at once,
each located by line and by a path such as ``sections[1].blueprint.topics.numerik``.
:func:`spec_to_dict` and :func:`spec_from_dict` store a spec and read it back exactly;
:func:`spec_hash` names its content, so an unchanged spec is recognised as the same version.

The spec carries no version number: versions are the app's business (publishing freezes one,
changing a published exam makes the next).

The package's modules, each with one job (import from the package, not from them):

``model``
    The values: :class:`ExamSpec`, :class:`SectionSpec`, :class:`Blueprint` and the rest.
``nodes``
    Text to nodes that remember their line (YAML, and JSON through the same composer), within
    size limits.
``reader``
    Typed reads of those nodes that collect located problems instead of stopping.
``parser``
    Nodes to a validated :class:`ExamSpec`: :func:`parse_exam_spec`.
``codec``
    The canonical dict form, reading it back and the content hash.
"""

from __future__ import annotations

from item_bank.exam_spec.codec import spec_from_dict, spec_hash, spec_to_dict
from item_bank.exam_spec.model import (
    DEFAULT_MAX_OPTION_POINTS,
    DEVICE_MOVES,
    ROSTER_TIE_BREAK_FIELDS,
    STRATA,
    TOTAL_LABEL,
    AdaptiveConfig,
    Blueprint,
    BlueprintCell,
    BlueprintKind,
    DifficultyBands,
    ExamSpec,
    SectionSpec,
)
from item_bank.exam_spec.nodes import MAX_SPEC_BYTES, MAX_SPEC_NODES
from item_bank.exam_spec.parser import parse_exam_spec

__all__ = [
    "DEFAULT_MAX_OPTION_POINTS",
    "DEVICE_MOVES",
    "MAX_SPEC_BYTES",
    "MAX_SPEC_NODES",
    "ROSTER_TIE_BREAK_FIELDS",
    "STRATA",
    "TOTAL_LABEL",
    "AdaptiveConfig",
    "Blueprint",
    "BlueprintCell",
    "BlueprintKind",
    "DifficultyBands",
    "ExamSpec",
    "SectionSpec",
    "parse_exam_spec",
    "spec_from_dict",
    "spec_hash",
    "spec_to_dict",
]
