"""Pseudonyms for public rankings: short checksummed codes from a keyed hash of exam and nomor.

A public ranking row names a candidate only by a pseudonym, printed on the candidate's own
result slip so they can find themselves. The code is

    HMAC-SHA256(key, "ujian/pseudonym/v1" NUL exam_code NUL nomor_peserta)

cut to its first 50 bits, written as 10 Crockford base32 symbols, followed by one check
symbol, grouped as 5, 5 and 1 symbols (``K7QX3-M9TP2-V``). Without the key nobody can compute a
candidate's pseudonym from their nomor peserta, nor link the same candidate across exams.

Check symbol: Damm's algorithm over the quasigroup ``a * b = 2a + b`` in GF(32) (polynomial
``x^5 + x^2 + 1``). The quasigroup is totally anti-symmetric because ``2 != 1``, so every
single mistyped symbol and every swap of two neighbours is detected (H. M. Damm, *Total
anti-symmetrische Quasigruppen*, 2004). A random string passes the check with probability
1/32.

Collisions: with ``n`` candidates in one exam, the chance that any two share a code is about
``n^2 / 2^51``: 4e-3 for 3 million candidates (a whole national SKD), 4e-7 for 30,000, and
below 1e-8 inside any formation. The rank and scores printed beside the code tell the two
rows apart when it happens; :func:`pseudonyms` is deterministic, so a publisher can check a
snapshot for repeats before it goes out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from scoring.errors import ScoringError

#: Crockford's base32 alphabet: digits and letters without I, L, O and U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: Symbols of hash carried by a code (5 bits each) and the grouping of the printed form.
DATA_SYMBOLS = 10
GROUPS = (5, 5, 1)

#: Shortest secret key accepted (bytes): shorter keys make the hash guessable.
MIN_KEY_BYTES = 16

_DOMAIN = b"ujian/pseudonym/v1\x00"
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# What people type for what they see: Crockford's decoding rules.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\t")
_GF32_MODULUS = 0b100101  # x^5 + x^2 + 1


def pseudonym(key: bytes, exam_code: str, nomor_peserta: str) -> str:
    """The pseudonym of one candidate in one exam, e.g. ``"K7QX3-M9TP2-V"``.

    Raises
    ------
    ScoringError
        For a key shorter than :data:`MIN_KEY_BYTES`, or an empty or NUL-containing exam code
        or nomor peserta.
    """
    return pseudonyms(key, exam_code, (nomor_peserta,))[0]


def pseudonyms(key: bytes, exam_code: str, nomor_pesertas: Iterable[str]) -> list[str]:
    """The pseudonyms of many candidates of one exam, in order (keys the HMAC once)."""
    if len(key) < MIN_KEY_BYTES:
        raise ScoringError(f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes")
    base = hmac.new(key, _DOMAIN + _field(exam_code, "exam code") + b"\x00", hashlib.sha256)
    out = []
    for nomor in nomor_pesertas:
        mac = base.copy()
        mac.update(_field(nomor, "nomor peserta"))
        value = int.from_bytes(mac.digest()[:7], "big") >> (56 - 5 * DATA_SYMBOLS)
        symbols = [ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(DATA_SYMBOLS))]
        data = "".join(symbols)
        out.append(_group(data + check_symbol(data)))
    return out


def check_symbol(data: str) -> str:
    """The Damm check symbol of canonical base32 ``data`` (no separators, upper case)."""
    interim = _damm(data)
    return ALPHABET[_times_two(interim)]


def normalize_pseudonym(user_text: str) -> str:
    """The canonical printed form of what someone typed, check symbol not yet verified.

    Case is ignored, spaces, hyphens, dots and underscores dropped, and the letters people
    confuse with digits read as those digits (O as 0, I and L as 1).

    Raises
    ------
    ScoringError
        When the text is not 11 base32 symbols.
    """
    text = user_text.upper().translate(_SEPARATORS).translate(_CONFUSABLE)
    if len(text) != DATA_SYMBOLS + 1 or any(c not in _VALUE for c in text):
        raise ScoringError(f"{user_text!r} is not a pseudonym ({DATA_SYMBOLS + 1} symbols)")
    return _group(text)


def is_valid_pseudonym(code: str) -> bool:
    """True when ``code`` (as typed: any case, with or without hyphens) passes its check."""
    try:
        canonical = normalize_pseudonym(code).replace("-", "")
    except ScoringError:
        return False
    return _damm(canonical) == 0


def _field(value: str, what: str) -> bytes:
    if not value or "\x00" in value:
        raise ScoringError(f"{what} must be non-empty text without NUL characters")
    return value.encode("utf-8")


def _group(symbols: str) -> str:
    parts = []
    start = 0
    for size in GROUPS:
        parts.append(symbols[start : start + size])
        start += size
    return "-".join(parts)


def _times_two(value: int) -> int:
    doubled = value << 1
    return doubled ^ _GF32_MODULUS if doubled & 32 else doubled


def _damm(symbols: str) -> int:
    # interim <- interim * symbol, with a * b = 2a + b in GF(32) (addition is XOR).
    interim = 0
    for symbol in symbols:
        interim = _times_two(interim) ^ _VALUE[symbol]
    return interim
