"""Ranking snapshot signatures made through the shared signer equal the ones already stored."""

from __future__ import annotations

import hashlib
import hmac

from app.services import rankings
from app.signing import Signer

SECRET = b"a-test-secret-of-at-least-32-characters"
DIGEST = "5f2b0c7e" * 8


def stored_signature(secret: bytes, digest: str) -> str:
    """How snapshots were signed before the shared signer: HMAC-SHA256, hex, under the key
    derived by hand for the purpose ``ranking-snapshot``."""
    key = hmac.new(secret, b"ujian:ranking-snapshot", hashlib.sha256).digest()
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def test_new_signatures_are_byte_for_byte_the_stored_ones() -> None:
    assert rankings.signature(SECRET, DIGEST) == stored_signature(SECRET, DIGEST)


def test_a_stored_signature_still_verifies_and_a_changed_one_does_not() -> None:
    signer = Signer(SECRET, rankings.SNAPSHOT_PURPOSE)
    stored = stored_signature(SECRET, DIGEST)
    assert signer.verify(DIGEST, stored)
    tampered = stored[:-1] + ("1" if stored[-1] == "0" else "0")
    assert not signer.verify(DIGEST, tampered)
    assert not signer.verify("0" * 64, stored)
    other_key = Signer(b"another-secret-of-at-least-32-characters", rankings.SNAPSHOT_PURPOSE)
    assert not other_key.verify(DIGEST, stored)
    # A signature made for another purpose never passes for a snapshot.
    assert not signer.verify(DIGEST, Signer(SECRET, "slip").sign(DIGEST))
