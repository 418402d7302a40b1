"""The exam spec as values: sections, blueprints, scoring, thresholds, tie-breaks, formations."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from item_bank.models import DifficultyLevel
from scoring.ranking import Formation, TieBreakKey
from scoring.rules import SectionRule, SectionScoring, SectionScoringKind
from scoring.thresholds import ThresholdRuleSet

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
TOTAL_LABEL: Final = "total"


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
    defaults, so equal sections compare equal. ``keep_stimulus_items_together`` shows the
    items of one passage that a form draws one after another (see `item_bank.assembly`).
    """

    code: str
    name: str
    item_count: int
    scoring: SectionScoring
    blueprint: Blueprint
    max_option_points: float = DEFAULT_MAX_OPTION_POINTS
    adaptive: AdaptiveConfig | None = None
    #: Items of one passage that a form draws are shown as one consecutive block (an item set).
    keep_stimulus_items_together: bool = False

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


#: Who lets a running attempt move to another PC (``ExamSpec.device_moves``).
DEVICE_MOVES: Final = ("proctor", "automatic")


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
    ``device_moves`` says who lets a running attempt move to another PC: ``proctor`` (a login
    on a second PC waits for the proctor's approval) or ``automatic`` (the login moves it).
    ``practice`` marks a *simulasi*: a public practice exam anyone may start without a PIN,
    drawn from its own practice bank, with a review (keys and explanations) after finishing.
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
    practice: bool = False
    device_moves: str = "proctor"

    def __post_init__(self) -> None:
        if self.device_moves not in DEVICE_MOVES:
            raise ValueError(f"device_moves is one of {', '.join(DEVICE_MOVES)}")
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
