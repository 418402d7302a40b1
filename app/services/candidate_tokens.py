"""Candidate bearer tokens: signed, bound to one attempt and to the device that logged in last.

A candidate token is ``<attempt>.<device generation>.<issued>.<signature>``, signed with a
sub-key of the server key. Checking it needs no database read; whether it is still the
*current* device is checked against the attempt row that the request loads anyway. Logging in
again (another PC) raises the attempt's device generation, which ends every older token.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.repositories import attempts as repo
from app.signing import Signer

#: A token older than this is refused whatever else holds; ``UJIAN_TOKEN_LIFETIME_HOURS``
#: (default 12) sets the lifetime, and this is its default here only.
DEFAULT_TOKEN_LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class CandidateClaim:
    """What a valid token says: which attempt, which device generation, when issued."""

    attempt_id: int
    generation: int
    issued_at: int


class CandidateTokens:
    """Issues and checks candidate tokens with the server key; a token older than
    ``lifetime_seconds`` is refused."""

    def __init__(
        self, secret: bytes, lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS
    ) -> None:
        if lifetime_seconds < 1:
            msg = f"the candidate token lifetime must be positive, got {lifetime_seconds} s"
            raise ValueError(msg)
        self._signer = Signer(secret, "candidate-token")
        self.lifetime_seconds = lifetime_seconds

    def issue(self, attempt_id: int, generation: int, issued_at: int) -> str:
        """A token for ``attempt_id`` on the device of ``generation``."""
        body = f"{attempt_id}.{generation}.{issued_at}"
        return f"{body}.{self._signer.sign(body, encoding='base64url')}"

    def check(self, token: str, now: int) -> CandidateClaim | None:
        """The claim of a well-signed, unexpired token, else ``None``."""
        parts = token.split(".")
        if len(parts) != 4:
            return None
        body = ".".join(parts[:3])
        if not self._signer.verify(body, parts[3], encoding="base64url"):
            return None
        try:
            attempt_id, generation, issued_at = (int(p) for p in parts[:3])
        except ValueError:
            return None
        if not 0 <= now - issued_at <= self.lifetime_seconds:
            return None
        return CandidateClaim(attempt_id, generation, issued_at)


def end_token(session: Session, claim: CandidateClaim) -> bool:
    """A candidate's logout: retire the device generation of ``claim``, which ends its token
    (and only it: an older token is already ended). False if a later login had ended it.

    Logging in again afterwards is a login like any other (while the attempt runs, the sitting's
    device-move rule applies).
    """
    attempt = repo.attempt_for_update(session, claim.attempt_id)
    if attempt is None or attempt.device_generation != claim.generation:
        return False
    repo.bump_generation(session, claim.attempt_id)
    return True


def pin_digest(secret: bytes, sitting_id: int, pin: str) -> str:
    """The stored form of a sitting PIN: HMAC-SHA256 under a sub-key of the server key.

    A keyed hash rather than Argon2: a six-digit PIN has a million values, so a slow unkeyed
    hash would fall to an offline search anyway, while the key (never in the database) makes
    the stored digests useless on their own. It also keeps 3,000 logins in the same ten seconds
    cheap. The sitting id is part of the message: a PIN is valid only for its sitting.
    """
    return Signer(secret, "sitting-pin").sign(f"{sitting_id}:{pin}")
