"""Ranking snapshot signatures made through the shared signer equal the ones already stored."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from app.models.result import RankingSnapshot
from app.services import rankings

SECRET = b"a-test-secret-of-at-least-32-characters"
DIGEST = "5f2b0c7e" * 8


def stored_signature(secret: bytes, digest: str) -> str:
    """How snapshots were signed before the shared signer: HMAC-SHA256, hex, under the key
    derived by hand for the purpose ``ranking-snapshot``."""
    key = hmac.new(secret, b"ujian:ranking-snapshot", hashlib.sha256).digest()
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def snapshot(digest: str, signature: str) -> RankingSnapshot:
    return RankingSnapshot(
        exam_code="MINI",
        exam_id=1,
        formation="F1",
        number=1,
        rows=[],
        content_hash=digest,
        signature=signature,
        cause="publication",
        diff=None,
        supersedes_id=None,
        published_at=datetime(2026, 12, 1, tzinfo=UTC),
        published_by="staff:komite",
    )


def test_new_signatures_are_byte_for_byte_the_stored_ones() -> None:
    assert rankings.signature(SECRET, DIGEST) == stored_signature(SECRET, DIGEST)


def test_a_stored_signature_still_verifies_and_a_changed_one_does_not() -> None:
    assert rankings.signature_valid(SECRET, snapshot(DIGEST, stored_signature(SECRET, DIGEST)))
    tampered = stored_signature(SECRET, DIGEST)[:-1] + "0"
    if tampered == stored_signature(SECRET, DIGEST):
        tampered = tampered[:-1] + "1"
    assert not rankings.signature_valid(SECRET, snapshot(DIGEST, tampered))
    other_hash = "0" * 64
    assert not rankings.signature_valid(
        SECRET, snapshot(other_hash, stored_signature(SECRET, DIGEST))
    )
    assert not rankings.signature_valid(
        b"another-secret-of-at-least-32-characters",
        snapshot(DIGEST, stored_signature(SECRET, DIGEST)),
    )
