"""The seeded randomness every replayable draw is made from.

An appeal years after an exam re-derives a candidate's form (``item_bank.assembly``) and every
adaptive choice (``scoring.cat``) from integers stored with the attempt. Those draws must come
out bit for bit the same whatever Python or numpy release runs the replay, so all of them are
built from the few primitives of this module, and nothing here may change how an existing seed
draws (a change of a draw must change ``ASSEMBLY_ALGORITHM`` or ``ADAPTIVE_ALGORITHM``).

Two kinds of generator, both keyed by a *stream* word so that draws of different purposes never
share randomness even from the same seed (the words spell "ujian" followed by a stream number):

*Sequential words* (:func:`raw_words`): a PCG64 bit generator seeded by
``SeedSequence([stream, *seed_words])`` and read through its raw 64-bit outputs. numpy keeps
bit-generator streams and ``SeedSequence`` stable across releases, but not the ``Generator``
methods built on them (NEP 19), so callers derive permutations by argsorting raw words and never
call ``Generator.integers`` or ``shuffle``. Used for a sitting's blueprint cell keys
(:data:`FORM_SELECTION`) and each form's item and option order (:data:`FORM_ORDER`).

*Counter-based words* (:func:`counter_words`): SplitMix64 (Steele, Lea & Flood 2014) read at a
step number, ``u = mix(key + (step + 1)·γ)`` with ``key = mix(seed ⊕ stream)``. Plain 64-bit
integer arithmetic defined here, with array and Python-integer forms that agree, so one draw can
be recomputed alone (a live attempt) or a thousand at once (a simulation). Used for the
randomesque choice of adaptive sections (:data:`ADAPTIVE_CHOICE`) and the Feistel rounds of form
selection.

*Hashed derivations* (:func:`hashed_seed`, :func:`hashed_shuffle`): SHA-256 of decimal text.
Adaptive attempts already stored their seeds and option orders this way, so these two are kept
exactly as they were; new draws should use the generators above.

References
----------
Steele, G. L., Lea, D. & Flood, C. H. (2014). Fast splittable pseudorandom number generators.
*OOPSLA 2014*, 453-472.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final

import numpy as np
from numpy.typing import NDArray

#: Stream of the keys that select a sitting's items cell by cell (``[stream, sitting_seed]``).
FORM_SELECTION: Final = 0x756A69616E01
#: Stream of a form's item and option order (``[stream, sitting_seed, slot]``).
FORM_ORDER: Final = 0x756A69616E02
#: Stream of an adaptive attempt's randomesque choices (keyed by the attempt seed).
ADAPTIVE_CHOICE: Final = 0x756A69616E03

#: SplitMix64's increment: the odd integer nearest ``2**64 / φ``.
GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)

# SplitMix64's output function (Stafford's "Mix13" constants, as in Vigna's splitmix64.c).
_MIX_1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2: Final = np.uint64(0x94D049BB133111EB)
_SHIFT_30: Final = np.uint64(30)
_SHIFT_27: Final = np.uint64(27)
_SHIFT_31: Final = np.uint64(31)
_SHIFT_32: Final = np.uint64(32)
_ONE: Final = np.uint64(1)
_MASK_64: Final = 2**64 - 1

RawWords = Callable[[int], NDArray[np.uint64]]


def raw_words(stream: int, *seed_words: int) -> RawWords:
    """A function returning the next ``n`` raw 64-bit words of the stream seeded by the words.

    ``raw_words(s, a, b)(n)`` is PCG64 seeded by ``SeedSequence([s, a, b])``; successive calls
    continue the same sequence. Words must be non-negative integers.
    """
    for word in (stream, *seed_words):
        if isinstance(word, bool) or not isinstance(word, int) or word < 0:
            raise ValueError(f"seed words must be non-negative integers, got {word!r}")
    bits = np.random.PCG64(np.random.SeedSequence([stream, *seed_words]))

    def draw(n: int) -> NDArray[np.uint64]:
        words: NDArray[np.uint64] = bits.random_raw(n)
        return words

    return draw


def mix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finalizer, a bijection on 64-bit words, computed *in place* on ``z``.

    Callers pass a fresh array (the result of an expression), never one they still need.
    """
    z ^= z >> _SHIFT_30
    z *= _MIX_1
    z ^= z >> _SHIFT_27
    z *= _MIX_2
    z ^= z >> _SHIFT_31
    return z


def mix_int(z: int) -> int:
    """:func:`mix` of one word, in Python integers (``0 <= z < 2**64``)."""
    z = ((z ^ (z >> 30)) * int(_MIX_1)) & _MASK_64
    z = ((z ^ (z >> 27)) * int(_MIX_2)) & _MASK_64
    return z ^ (z >> 31)


def stream_keys(seeds: NDArray[np.uint64], stream: int) -> NDArray[np.uint64]:
    """Counter keys of ``seeds`` in ``stream``: ``mix(seed ⊕ stream)``, elementwise."""
    return mix(np.asarray(seeds, dtype=np.uint64) ^ np.uint64(stream))


def stream_key(seed: int, stream: int) -> int:
    """:func:`stream_keys` of one seed, in Python integers."""
    return mix_int(seed ^ stream)


def counter_words(keys: NDArray[np.uint64], steps: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The words at ``steps`` of the counter generators keyed ``keys``: ``mix(key + (step+1)·γ)``.

    Arithmetic on uint64 arrays wraps modulo 2**64 silently, as SplitMix64 intends.
    """
    return mix(keys + (steps + _ONE) * GOLDEN)


def counter_word(key: int, step: int) -> int:
    """:func:`counter_words` for one key and step, in Python integers."""
    return mix_int((key + (step + 1) * int(GOLDEN)) & _MASK_64)


def below(words: NDArray[np.uint64], sizes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Uniform integers ``0 <= r < size`` from words: ``((word >> 32)·size) >> 32``.

    Only the top 32 bits are used, which is uniform to within ``size / 2**32`` for any size up
    to ``2**32``, without a division or a rejection loop (so it vectorizes and never re-draws).
    """
    top = words >> _SHIFT_32
    return ((top * sizes.astype(np.uint64)) >> _SHIFT_32).astype(np.int64)


def below_int(word: int, size: int) -> int:
    """:func:`below` for one word and size, in Python integers."""
    return ((word >> 32) * size) >> 32


def hashed_seed(label: str, *parts: int) -> int:
    """A 63-bit seed from SHA-256 of ``"label:part:part..."``: its first 8 bytes, halved.

    Adaptive attempts store the seed derived as ``hashed_seed("ujian-adaptive", sitting_seed,
    slot)``; the result fits a signed 64-bit column.
    """
    text = ":".join([label, *(str(part) for part in parts)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def hashed_shuffle(n: int, seed: int, position: int) -> list[int]:
    """A permutation of ``range(n)``: Fisher-Yates with ``j`` from SHA-256 of ``seed:position:i``.

    The order an adaptive item's options are shown in; ``seed`` is the attempt's seed and
    ``position`` the item's position, so an appeal re-derives it from stored integers alone.
    """
    if n < 0:
        raise ValueError(f"cannot shuffle a negative number of elements ({n})")
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        digest = hashlib.sha256(f"{seed}:{position}:{i}".encode()).digest()
        j = int.from_bytes(digest[:8], "big") % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order
