"""The one signer reproduces, byte for byte, every signature the server has stored or printed.

The vectors were computed with the hand-rolled HMAC code each caller had before ``Signer``
existed: if any of them changes, PIN digests, snapshot signatures and printed slip codes already
in the field stop verifying.
"""

from __future__ import annotations

import pytest

from app.services.candidate_tokens import CandidateTokens, pin_digest
from app.services.media_links import media_link_valid, media_signature
from app.signing import Signer

SECRET = b"test-secret-0123456789"


def test_candidate_token_unchanged() -> None:
    tokens = CandidateTokens(SECRET)
    token = tokens.issue(42, 3, 1700000000)
    assert token == "42.3.1700000000.MaT2dNzfkXr16vKh2dpuN5R45cGIKaktqduP0MioSHE"
    claim = tokens.check(token, 1700000100)
    assert claim is not None
    assert (claim.attempt_id, claim.generation) == (42, 3)


def test_pin_digest_unchanged() -> None:
    assert pin_digest(SECRET, 7, "123456") == (
        "904c1e770861c3450b035b04abf9f3b6b49868fb78267bc07d7ebe7798adbacf"
    )


def test_media_signature_unchanged() -> None:
    assert media_signature(SECRET, 42, "a" * 64) == "cd7a324713401976d03c499a91f6e531"
    assert media_link_valid(SECRET, 42, "a" * 64, "cd7a324713401976d03c499a91f6e531")
    assert not media_link_valid(SECRET, 43, "a" * 64, "cd7a324713401976d03c499a91f6e531")


def test_slip_and_snapshot_forms_unchanged() -> None:
    # The slip code's tag (base32, 12 characters) and a ranking snapshot's signature (hex).
    assert Signer(SECRET, "slip").sign("ABCDEF:0011", encoding="base32", length=12) == (
        "VZDOAW22OTCK"
    )
    assert Signer(SECRET, "ranking-snapshot").sign("deadbeef") == (
        "b4a67fd894f223bbe8716366cd2d3bbb88433205a474fd0a8229a96afeeca700"
    )
    assert Signer(SECRET, "pseudonym").key.hex() == (
        "ca93eab2373e902646f0b05cd08a3d68b444762ac8aeaa2121f586cc8072ebd2"
    )


def test_purposes_do_not_mix() -> None:
    signature = Signer(SECRET, "slip").sign("message")
    assert Signer(SECRET, "slip").verify("message", signature)
    assert not Signer(SECRET, "media-link").verify("message", signature)
    assert not Signer(b"another-secret", "slip").verify("message", signature)


def test_verify_refuses_tampering_and_foreign_characters() -> None:
    signer = Signer(SECRET, "candidate-token")
    signature = signer.sign("1.2.3", encoding="base64url")
    assert signer.verify("1.2.3", signature, encoding="base64url")
    assert not signer.verify("1.2.4", signature, encoding="base64url")
    assert not signer.verify("1.2.3", signature[:-1] + "é", encoding="base64url")
    assert not signer.verify("1.2.3", signature[:-1], encoding="base64url")


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="purpose"):
        Signer(SECRET, "")
    with pytest.raises(ValueError, match="length 65"):
        Signer(SECRET, "slip").sign("x", length=65)
