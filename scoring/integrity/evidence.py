"""Integrity evidence of a sitting or exam: every index run, flags in words, attempts ranked.

:func:`analyse_integrity` runs the indices of this package on plain arrays and
:func:`rank_evidence` turns their flags into a ranked list of attempts, each flag with a
reason in Bahasa Indonesia and English and the figures behind it. A flag is **evidence for a
human decision, never a decision**: an honest candidate can be fast, can correct answers, can
sit next to someone of the same ability who studied from the same book. The committee reads
the evidence with the replay and records its decision elsewhere.

Ranking: each flag with a p-value carries the strength ``-log10 p`` (capped at
:data:`MAX_STRENGTH`); audit counts (device moves, pauses, network refusals) carry none.
Attempts are ordered by the number of flags, then by the summed strength, then by row, so
independent kinds of evidence outrank one very small p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from scoring.integrity.common import (
    IntArray,
    IntegrityInputError,
    ScoredResponses,
    as_responses,
    best_options,
    score_responses,
)
from scoring.integrity.erasure import Erasures, erasure_index
from scoring.integrity.person_fit import PersonFit, person_fit
from scoring.integrity.similarity import Similarity, answer_similarity, neighbour_pairs
from scoring.integrity.timing import TimeNorms, TimingIndices, timing_indices
from scoring.irt import ItemParams

#: Strength given to a p-value of 0 (and the cap of ``-log10 p``).
MAX_STRENGTH: Final = 16.0
#: Device moves from which an attempt is flagged.
DEVICE_MOVES_MIN: Final = 1
#: Pauses from which an attempt is flagged.
PAUSES_MIN: Final = 2
#: Network refusals (answers sent from outside the sitting's network) from which it is flagged.
NETWORK_REFUSALS_MIN: Final = 1


class IntegrityFlagCode(StrEnum):
    """Kinds of integrity evidence (reason keys ``integrity.flag.<code>``)."""

    RAPID_RESPONSES = "rapid_responses"
    SPEED_PATTERN = "speed_pattern"
    ANSWER_CHANGES = "answer_changes"
    SIMILAR_NEIGHBOUR = "similar_neighbour"
    ABERRANT_PATTERN = "aberrant_pattern"
    DEVICE_MOVES = "device_moves"
    PAUSES = "pauses"
    NETWORK_REFUSALS = "network_refusals"


#: Reason texts by flag and language, formatted with the flag's figures.
REASONS: Mapping[IntegrityFlagCode, Mapping[str, str]] = {
    IntegrityFlagCode.RAPID_RESPONSES: {
        "id": "{rapid_count:.0f} dari {n_timed:.0f} jawaban diberikan lebih cepat dari batas "
        "waktu baca soal ({rapid_correct:.0f} di antaranya benar).",
        "en": "{rapid_count:.0f} of {n_timed:.0f} answers were given faster than the item's "
        "reading floor ({rapid_correct:.0f} of them correct).",
    },
    IntegrityFlagCode.SPEED_PATTERN: {
        "id": "{fast_count:.0f} soal dijawab jauh lebih cepat daripada kecepatan peserta ini "
        "sendiri (sisi cepat kecocokan waktu respons = {fast_lt:.1f}, p = {p_value:.2g}).",
        "en": "{fast_count:.0f} items were answered far faster than this candidate's own pace "
        "(fast side of the response-time fit = {fast_lt:.1f}, p = {p_value:.2g}).",
    },
    IntegrityFlagCode.ANSWER_CHANGES: {
        "id": "{wrong_to_right:.0f} dari {changes:.0f} perubahan jawaban berpindah dari salah ke "
        "benar; peserta dengan skor serupa diharapkan sekitar {expected:.1f} (z = {z:.1f}).",
        "en": "{wrong_to_right:.0f} of {changes:.0f} answer changes went from wrong to right; "
        "candidates with similar scores would make about {expected:.1f} (z = {z:.1f}).",
    },
    IntegrityFlagCode.SIMILAR_NEIGHBOUR: {
        "id": "{matches:.0f} dari {compared:.0f} jawaban sama dengan peserta di sebelahnya "
        "(baris {neighbour:.0f}), {identical_wrong:.0f} di antaranya jawaban salah yang sama "
        "(ω = {omega:.1f}, p = {p_value:.2g}).",
        "en": "{matches:.0f} of {compared:.0f} answers are identical to the neighbouring "
        "attempt (row {neighbour:.0f}), {identical_wrong:.0f} of them the same wrong answer "
        "(ω = {omega:.1f}, p = {p_value:.2g}).",
    },
    IntegrityFlagCode.ABERRANT_PATTERN: {
        "id": "Pola jawaban benar dan salah tidak sesuai dengan tingkat kesulitan soal "
        "(l_z = {lz:.2f}, p = {p_value:.2g}): soal sulit benar, soal mudah salah.",
        "en": "The pattern of right and wrong answers does not fit the items' difficulty "
        "(l_z = {lz:.2f}, p = {p_value:.2g}): hard items right, easy items wrong.",
    },
    IntegrityFlagCode.DEVICE_MOVES: {
        "id": "Ujian berpindah ke perangkat lain {count:.0f} kali.",
        "en": "The attempt moved to another device {count:.0f} times.",
    },
    IntegrityFlagCode.PAUSES: {
        "id": "Ujian dijeda {count:.0f} kali.",
        "en": "The attempt was paused {count:.0f} times.",
    },
    IntegrityFlagCode.NETWORK_REFUSALS: {
        "id": "{count:.0f} jawaban ditolak karena dikirim dari luar jaringan ruang ujian.",
        "en": "{count:.0f} answers were refused as sent from outside the sitting's network.",
    },
}


@dataclass(frozen=True, slots=True)
class IntegrityFlag:
    """One piece of evidence: its kind, strength (``-log10 p``, None for counts) and figures."""

    code: IntegrityFlagCode
    strength: float | None
    figures: Mapping[str, float]

    @property
    def reason_key(self) -> str:
        """Catalogue key of the reason text."""
        return f"integrity.flag.{self.code.value}"

    def reason(self, language: str = "id") -> str:
        """The reason in ``language`` (``"id"`` or ``"en"``) with the figures filled in."""
        texts = REASONS[self.code]
        if language not in texts:
            raise IntegrityInputError(f"no reason text in {language!r} (have: id, en)")
        return texts[language].format(**self.figures)


@dataclass(frozen=True, slots=True)
class AttemptEvidence:
    """An attempt with at least one flag: its row, flags (strongest first) and total strength."""

    attempt: int
    flags: tuple[IntegrityFlag, ...]
    strength: float

    @property
    def codes(self) -> tuple[IntegrityFlagCode, ...]:
        """The kinds of evidence, strongest first."""
        return tuple(flag.code for flag in self.flags)


@dataclass(frozen=True, slots=True, eq=False)
class IntegrityAnalysis:
    """Every index computed by :func:`analyse_integrity` (None where its input was not given)
    and the ranked evidence."""

    scored: ScoredResponses
    timing: TimingIndices | None
    erasures: Erasures | None
    similarity: Similarity | None
    person_fit: PersonFit | None
    ranking: tuple[AttemptEvidence, ...] = field(default=())


def _strength(p: float) -> float:
    if math.isnan(p):
        return 0.0
    return MAX_STRENGTH if p <= 10.0**-MAX_STRENGTH else min(MAX_STRENGTH, -math.log10(p))


def _counts(values: ArrayLike | None, n: int, name: str) -> IntArray:
    if values is None:
        return np.zeros(n, dtype=np.int64)
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if array.size != n:
        raise IntegrityInputError(f"{name} has {array.size} counts for {n} attempts")
    if array.size and array.min() < 0:
        raise IntegrityInputError(f"{name}[{int(np.argmin(array))}] is negative")
    return array


def rank_evidence(
    n_attempts: int,
    *,
    timing: TimingIndices | None = None,
    erasures: Erasures | None = None,
    similarity: Similarity | None = None,
    fit: PersonFit | None = None,
    device_moves: ArrayLike | None = None,
    pauses: ArrayLike | None = None,
    network_refusals: ArrayLike | None = None,
    device_moves_min: int = DEVICE_MOVES_MIN,
    pauses_min: int = PAUSES_MIN,
    network_refusals_min: int = NETWORK_REFUSALS_MIN,
) -> tuple[AttemptEvidence, ...]:
    """Flagged attempts, most evidence first (order in the module docstring).

    Parameters
    ----------
    n_attempts
        Attempts (rows) the indices cover.
    timing, erasures, similarity, fit
        Results of the indices (any may be omitted).
    device_moves, pauses, network_refusals
        Counts per attempt from the audit; flagged from the matching ``*_min``.

    Returns
    -------
    tuple of AttemptEvidence
    """
    flags: dict[int, list[IntegrityFlag]] = {}

    def add(rows: IntArray, make: Callable[[int], IntegrityFlag]) -> None:
        for row in rows.tolist():
            flags.setdefault(row, []).append(make(row))

    if timing is not None:
        t = timing
        add(
            np.flatnonzero(t.rapid_flag),
            lambda i: IntegrityFlag(
                IntegrityFlagCode.RAPID_RESPONSES,
                None,
                {
                    "rapid_count": float(t.rapid_count[i]),
                    "n_timed": float(t.n_timed[i]),
                    "rapid_correct": float(t.rapid_correct[i]),
                    "rapid_share": float(t.rapid_share[i]),
                },
            ),
        )
        add(
            np.flatnonzero(t.speed_flag),
            lambda i: IntegrityFlag(
                IntegrityFlagCode.SPEED_PATTERN,
                _strength(float(t.fast_p[i])),
                {
                    "fast_count": float(t.fast_count[i]),
                    "fast_lt": float(t.fast_lt[i]),
                    "lt": float(t.lt[i]),
                    "p_value": float(t.fast_p[i]),
                    "tau": float(t.tau[i]),
                    "n_timed": float(t.n_timed[i]),
                },
            ),
        )
    if erasures is not None:
        e = erasures
        add(
            np.flatnonzero(e.flag),
            lambda i: IntegrityFlag(
                IntegrityFlagCode.ANSWER_CHANGES,
                _strength(float(e.p_value[i])),
                {
                    "wrong_to_right": float(e.wrong_to_right[i]),
                    "changes": float(e.changes[i]),
                    "expected": float(e.changes[i] * e.expected_rate[i]),
                    "z": float(e.z[i]),
                    "p_value": float(e.p_value[i]),
                },
            ),
        )
    if similarity is not None:
        s = similarity

        def similar(i: int) -> IntegrityFlag:
            pair = int(s.pair[i])
            side = 0 if int(s.pairs[pair, 0]) == i else 1
            return IntegrityFlag(
                IntegrityFlagCode.SIMILAR_NEIGHBOUR,
                _strength(float(s.p_value[pair])),
                {
                    "neighbour": float(s.neighbour[i]),
                    "matches": float(s.matches[pair]),
                    "identical_wrong": float(s.identical_wrong[pair]),
                    "compared": float(s.compared[pair]),
                    "omega": float(np.nanmax(s.omega[pair])),
                    "omega_as_copier": float(s.omega[pair, side]),
                    "omega_as_source": float(s.omega[pair, 1 - side]),
                    "p_value": float(s.p_value[pair]),
                },
            )

        add(np.flatnonzero(s.attempt_flag), similar)
    if fit is not None:
        f = fit
        add(
            np.flatnonzero(f.flag),
            lambda i: IntegrityFlag(
                IntegrityFlagCode.ABERRANT_PATTERN,
                _strength(float(f.p_value[i])),
                {"lz": float(f.lz[i]), "p_value": float(f.p_value[i]), "theta": float(f.theta[i])},
            ),
        )
    for code, values, minimum, name in (
        (IntegrityFlagCode.DEVICE_MOVES, device_moves, device_moves_min, "device_moves"),
        (IntegrityFlagCode.PAUSES, pauses, pauses_min, "pauses"),
        (IntegrityFlagCode.NETWORK_REFUSALS, network_refusals, network_refusals_min, "network"),
    ):
        counts = _counts(values, n_attempts, name)
        for row in np.flatnonzero(counts >= max(minimum, 1)).tolist():
            flags.setdefault(row, []).append(
                IntegrityFlag(code, None, {"count": float(counts[row])})
            )
    ranked = [
        AttemptEvidence(
            row,
            tuple(sorted(found, key=lambda flag: -(flag.strength or 0.0))),
            sum(flag.strength or 0.0 for flag in found),
        )
        for row, found in flags.items()
    ]
    ranked.sort(key=lambda item: (-len(item.flags), -item.strength, item.attempt))
    return tuple(ranked)


def analyse_integrity(
    responses: ArrayLike,
    *,
    keys: ArrayLike | None = None,
    option_points: ArrayLike | None = None,
    times: ArrayLike | None = None,
    time_norms: TimeNorms | None = None,
    reading_floor: ArrayLike | None = None,
    events: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike] | None = None,
    sitting: ArrayLike | None = None,
    seat: ArrayLike | None = None,
    row_length: int | None = None,
    seat_map: Mapping[int, ArrayLike] | None = None,
    params: ItemParams | None = None,
    guessing: float = 0.0,
    device_moves: ArrayLike | None = None,
    pauses: ArrayLike | None = None,
    network_refusals: ArrayLike | None = None,
) -> IntegrityAnalysis:
    """Every index whose inputs are given, and the ranked evidence.

    Parameters
    ----------
    responses
        ``N × J`` response codes (:mod:`scoring.integrity.common`).
    keys, option_points
        The correct options (exactly one of them).
    times, time_norms, reading_floor
        Seconds per item (NaN untimed) and, optionally, norms and reading floors
        (:func:`scoring.integrity.timing.timing_indices`).
    events
        ``(attempt, item, option, time)`` arrays of saved answers
        (:func:`scoring.integrity.erasure.erasure_index`).
    sitting, seat, row_length, seat_map
        Seating (:func:`scoring.integrity.similarity.neighbour_pairs`); similarity is
        computed when ``sitting`` and ``seat`` are given.
    params, guessing
        IRT parameters for person fit, or (when omitted) the lower asymptote of its PROX
        items: ``1/options`` for multiple-choice sections
        (:func:`scoring.integrity.person_fit.person_fit`).
    device_moves, pauses, network_refusals
        Audit counts per attempt.

    Returns
    -------
    IntegrityAnalysis
    """
    matrix = as_responses(responses)
    n_attempts, n_items = matrix.shape
    best = best_options(n_items, keys, option_points)
    scored = score_responses(matrix, keys=best)
    timing = None
    if times is not None:
        timing = timing_indices(
            times, scored.correct, norms=time_norms, reading_floor=reading_floor
        )
    erasures = None
    if events is not None:
        erasures = erasure_index(*events, best_option=best, total_score=scored.number_correct)
    similarity = None
    if sitting is not None and seat is not None:
        pairs = neighbour_pairs(sitting, seat, row_length=row_length, seat_map=seat_map)
        similarity = answer_similarity(matrix, pairs, keys=best)
    fit = person_fit(scored, params, guessing=guessing)
    ranking = rank_evidence(
        n_attempts,
        timing=timing,
        erasures=erasures,
        similarity=similarity,
        fit=fit,
        device_moves=device_moves,
        pauses=pauses,
        network_refusals=network_refusals,
    )
    return IntegrityAnalysis(scored, timing, erasures, similarity, fit, ranking)
