"""Passing thresholds (nilai ambang batas): rule sets of minima chosen by candidate category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError, UnknownCategory
from scoring.rules import section_index


@dataclass(frozen=True, slots=True)
class Minimum:
    """``sum(section scores of sections) >= minimum``; an empty ``sections`` means the total."""

    sections: tuple[str, ...]
    minimum: float

    @property
    def label(self) -> str:
        """The rule's name in a result: ``"TIU"``, ``"manajerial+sosial_kultural"``, ``"total"``."""
        return "+".join(self.sections) if self.sections else "total"


@dataclass(frozen=True, slots=True)
class ThresholdRuleSet:
    """The minima one candidate category must meet (all of them)."""

    category: str
    minima: tuple[Minimum, ...]


def format_score(value: float) -> str:
    """A score as people write it: ``75`` rather than ``75.0``, ``75.25`` kept exact.

    Uses the shortest representation that reads back as the same number, so a value just
    under a minimum can never print as equal to it (``79.99999`` stays ``79.99999``).
    """
    number = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    if number.is_integer():
        return str(int(number))
    return repr(number)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A minimum applied to one candidate; ``str()`` gives ``"TIU 75 < 80"``, ``"TWK 90 ≥ 65"``."""

    label: str
    value: float
    minimum: float
    passed: bool

    def __str__(self) -> str:
        sign = "≥" if self.passed else "<"
        return f"{self.label} {format_score(self.value)} {sign} {format_score(self.minimum)}"


def rule_set_for(rule_sets: Sequence[ThresholdRuleSet], category: str) -> ThresholdRuleSet:
    """The rule set of ``category``.

    Raises
    ------
    UnknownCategory
        When no rule set names ``category``.
    """
    for rule_set in rule_sets:
        if rule_set.category == category:
            return rule_set
    raise UnknownCategory(category, tuple(r.category for r in rule_sets))


def explain(
    rule_set: ThresholdRuleSet, section_scores: Mapping[str, float], total: float
) -> list[RuleResult]:
    """Each minimum of ``rule_set`` applied to one candidate, in the rule set's order.

    A rule over sections ``S`` has value ``v = sum_{s in S} score_s`` (the total when ``S`` is
    empty) and passes when ``v >= minimum``.
    """
    results: list[RuleResult] = []
    for minimum in rule_set.minima:
        if minimum.sections:
            try:
                value = sum(float(section_scores[code]) for code in minimum.sections)
            except KeyError as missing:
                raise ScoringError(
                    f"threshold {minimum.label} names unknown section {missing.args[0]!r}"
                ) from None
        else:
            value = float(total)
        threshold = float(minimum.minimum)
        results.append(RuleResult(minimum.label, value, threshold, value >= threshold))
    return results


@dataclass(frozen=True, slots=True, eq=False)
class ThresholdOutcome:
    """Thresholds applied to many candidates.

    The columns are ``minima``: every distinct minimum of every rule set. For candidate ``i``
    and minimum ``j``: ``values[i, j]`` is the score the rule looks at, ``applies[i, j]`` whether
    the candidate's category has that rule, ``met[i, j]`` whether ``values[i, j] >= minimum``.
    ``passed[i]`` is true when every rule that applies is met.
    """

    section_codes: tuple[str, ...]
    rule_sets: tuple[ThresholdRuleSet, ...]
    category_index: NDArray[np.intp]
    minima: tuple[Minimum, ...]
    values: NDArray[np.float64]
    applies: NDArray[np.bool_]
    met: NDArray[np.bool_]
    passed: NDArray[np.bool_]

    @property
    def failed(self) -> NDArray[np.bool_]:
        """``failed[i, j]``: minimum ``j`` applies to candidate ``i`` and is not met."""
        result: NDArray[np.bool_] = self.applies & ~self.met
        return result

    def rule_results(self, row: int) -> tuple[RuleResult, ...]:
        """The rules of candidate ``row``'s category in the rule set's order, with their numbers."""
        if not self.rule_sets:
            return ()
        rule_set = self.rule_sets[int(self.category_index[row])]
        columns = {minimum: j for j, minimum in enumerate(self.minima)}
        out = []
        for minimum in rule_set.minima:
            j = columns[minimum]
            out.append(
                RuleResult(
                    minimum.label,
                    float(self.values[row, j]),
                    float(minimum.minimum),
                    bool(self.met[row, j]),
                )
            )
        return tuple(out)


def evaluate_thresholds(
    section_codes: Sequence[str],
    section_scores: ArrayLike,
    total: ArrayLike,
    rule_sets: Sequence[ThresholdRuleSet],
    categories: ArrayLike,
) -> ThresholdOutcome:
    """Apply each candidate's category's minima to their scores, all candidates at once.

    For minimum ``j`` over sections ``S_j`` (the total when empty) and candidate ``i``:
    ``v_ij = sum_{s in S_j} section_scores[i, s]``, met when ``v_ij >= minimum_j``;
    ``passed_i = AND_{j in rule set of category_i} (v_ij >= minimum_j)``.

    Parameters
    ----------
    section_codes
        Codes of the columns of ``section_scores``.
    section_scores, total
        Scores (candidates x sections) and totals (candidates).
    rule_sets
        One per category. With none at all the exam has no thresholds (SKB) and everyone
        passes, whatever their category.
    categories
        Each candidate's category: category codes (strings), or integer indices into
        ``rule_sets``.

    Raises
    ------
    UnknownCategory
        For the first candidate whose category has no rule set.
    ScoringError
        For a rule naming an unknown section, repeated categories, or mismatched shapes.
    """
    codes = tuple(section_codes)
    scores = np.asarray(section_scores, dtype=np.float64)
    totals = np.asarray(total, dtype=np.float64)
    cats = np.asarray(categories)
    n = totals.shape[0]
    if scores.shape != (n, len(codes)) or totals.ndim != 1 or cats.shape != (n,):
        raise ScoringError(
            f"shapes disagree: section scores {scores.shape}, total {totals.shape}, "
            f"categories {cats.shape}, {len(codes)} sections"
        )
    sets = tuple(rule_sets)
    names = [r.category for r in sets]
    if len(set(names)) != len(names):
        raise ScoringError(f"threshold categories repeat: {', '.join(names)}")
    minima = tuple(dict.fromkeys(m for r in sets for m in r.minima))
    category_index = _category_index(cats, sets)

    values = np.empty((n, len(minima)))
    # Categories often put different minima on the same sections (TIU 80, 85, 60): sum once.
    sums: dict[tuple[str, ...], NDArray[np.float64]] = {(): totals}
    for j, minimum in enumerate(minima):
        if minimum.sections not in sums:
            columns = [section_index(codes, code) for code in minimum.sections]
            sums[minimum.sections] = scores[:, columns].sum(axis=1)
        values[:, j] = sums[minimum.sections]
    thresholds = np.array([m.minimum for m in minima], dtype=np.float64)
    met = values >= thresholds
    applies_by_set = np.array(
        [[m in r.minima for m in minima] for r in sets], dtype=np.bool_
    ).reshape(len(sets), len(minima))
    # With no rule sets there is nothing to gather from (and nothing applies).
    applies = (
        applies_by_set.take(category_index, axis=0) if sets else np.zeros((n, 0), dtype=np.bool_)
    )
    passed: NDArray[np.bool_] = np.logical_not((applies & ~met).any(axis=1))
    return ThresholdOutcome(codes, sets, category_index, minima, values, applies, met, passed)


def _category_index(
    categories: NDArray[np.generic], rule_sets: tuple[ThresholdRuleSet, ...]
) -> NDArray[np.intp]:
    n = categories.shape[0]
    if not rule_sets:
        return np.zeros(n, dtype=np.intp)
    known = tuple(r.category for r in rule_sets)
    if np.issubdtype(categories.dtype, np.integer):
        indices = categories.astype(np.intp)
        outside = (indices < 0) | (indices >= len(rule_sets))
        if outside.any():
            raise UnknownCategory(f"#{int(indices[np.argmax(outside)])}", known)
        return indices
    # One vectorized comparison per category: categories are few, candidates many.
    index = np.full(n, -1, dtype=np.intp)
    for k, name in enumerate(known):
        index[categories == name] = k
    if n and (index < 0).any():
        raise UnknownCategory(str(categories[np.argmax(index < 0)]), known)
    return index
