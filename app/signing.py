"""One signer for everything the server signs with its key.

Every signature the server hands out (candidate tokens, sitting-PIN digests, image links, slip
codes, ranking snapshots) is an HMAC-SHA256 under a sub-key of the server secret derived for one
*purpose*, so a signature made for one use never verifies for another. :class:`Signer` is that
pair (sub-key, purpose) with the encodings the callers print: hex (optionally truncated), unpadded
URL-safe base64, and base32 (optionally truncated).

The key derivation is ``HMAC-SHA256(secret, "ujian:" + purpose)`` and must never change: digests
and signatures stored in the database (PIN digests, snapshot signatures, printed slip codes)
would stop verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

Encoding = Literal["hex", "base64url", "base32"]


def derive_key(secret: bytes, purpose: str) -> bytes:
    """The sub-key of ``secret`` for one purpose, so keys of different uses never mix."""
    return hmac.new(secret, b"ujian:" + purpose.encode(), hashlib.sha256).digest()


def _message_bytes(message: str | bytes) -> bytes:
    return message.encode() if isinstance(message, str) else message


class Signer:
    """HMAC-SHA256 signatures under the server secret's sub-key for ``purpose``."""

    __slots__ = ("_key", "purpose")

    def __init__(self, secret: bytes, purpose: str) -> None:
        if not purpose:
            raise ValueError("a Signer needs a purpose (the name its sub-key is derived for)")
        self.purpose = purpose
        self._key = derive_key(secret, purpose)

    @property
    def key(self) -> bytes:
        """The derived sub-key itself, for keyed functions that are not a plain HMAC."""
        return self._key

    def digest(self, message: str | bytes) -> bytes:
        """The raw 32-byte MAC of ``message`` (a ``str`` is signed as its UTF-8 bytes)."""
        return hmac.new(self._key, _message_bytes(message), hashlib.sha256).digest()

    def sign(
        self, message: str | bytes, *, encoding: Encoding = "hex", length: int | None = None
    ) -> str:
        """The MAC of ``message`` in ``encoding``, cut to its first ``length`` characters.

        ``base64url`` is unpadded; ``hex`` is lower case and ``base32`` upper case, as printed.
        """
        raw = self.digest(message)
        if encoding == "hex":
            text = raw.hex()
        elif encoding == "base64url":
            text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        elif encoding == "base32":
            text = base64.b32encode(raw).decode()
        else:
            raise ValueError(f"unknown signature encoding {encoding!r}")
        if length is None:
            return text
        if not 0 < length <= len(text):
            raise ValueError(
                f"signature length {length} is outside 1..{len(text)} for {encoding} encoding"
            )
        return text[:length]

    def verify(
        self,
        message: str | bytes,
        signature: str,
        *,
        encoding: Encoding = "hex",
        length: int | None = None,
    ) -> bool:
        """Whether ``signature`` is this signer's :meth:`sign` of ``message`` (constant time).

        A signature with non-ASCII characters was never issued and is simply refused (the
        constant-time comparison would raise on it).
        """
        if not signature.isascii():
            return False
        expected = self.sign(message, encoding=encoding, length=length)
        return hmac.compare_digest(expected, signature)
