"""Recording audited actions and verifying the audit chains end to end."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.repositories import audit as audit_repo

GLOBAL_CHAIN = "global"


def sitting_chain(sitting_id: int) -> str:
    """The chain of what is done to one sitting (opening, pauses, the proctors' actions)."""
    return f"sitting:{sitting_id}"


def attempt_chain(attempt_id: int) -> str:
    """The chain of one candidate's own attempt: logins, device moves, start and finish.

    One chain per attempt keeps the record of an appeal in one place, and the logins of a whole
    sitting, which arrive in the same seconds, never queue on one chain's head row.
    """
    return f"attempt:{attempt_id}"


def canonical_json(payload: Mapping[str, object]) -> str:
    """The exact text stored and hashed for a payload (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: Mapping[str, object] | None = None,
    chain: str = GLOBAL_CHAIN,
) -> None:
    """Append an audit event in the caller's transaction (it commits or rolls back with it)."""
    audit_repo.append(
        session,
        chain=chain,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=canonical_json(payload or {}),
    )


@dataclass(frozen=True)
class Break:
    """Where a chain stops verifying."""

    event_id: int | None
    chain: str
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id} (chain {self.chain}, seq {self.seq})"
        if self.event_id is None:
            where = f"chain {self.chain}"
        return f"{where}: {self.reason}"


@dataclass
class Verification:
    """The outcome of :func:`verify`: events checked and the first break of each chain."""

    events: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Whether every chain verified end to end."""
        return not self.breaks


def verify(session: Session) -> Verification:
    """Recompute every hash and link; report the first broken event of each chain.

    Catches an edited field (hash mismatch), a deleted or inserted event (sequence gap or link
    mismatch) and a truncated tail (the head names a later event than the last one stored).
    """
    result = Verification()
    recorded_heads = audit_repo.heads(session)
    current: str | None = None
    expected_seq = 0
    prev_hash = audit_repo.GENESIS_HASH
    broken = False
    seen: dict[str, tuple[int, str]] = {}

    for event in audit_repo.iter_events(session):
        result.events += 1
        if event.chain != current:
            current, expected_seq, prev_hash, broken = (
                event.chain,
                1,
                audit_repo.GENESIS_HASH,
                False,
            )
            result.chains += 1
        if broken:
            continue
        reason = None
        if event.seq != expected_seq:
            reason = f"sequence {event.seq} where {expected_seq} was expected (an event is missing)"
        elif event.prev_hash != prev_hash:
            reason = (
                "its link to the previous event does not match (an event was changed or removed)"
            )
        else:
            digest = audit_repo.event_hash(
                event.prev_hash,
                event.chain,
                event.seq,
                event.at,
                event.actor,
                event.action,
                event.subject,
                event.payload,
            )
            if digest != event.hash:
                reason = "its stored hash does not match its content (the event was edited)"
        if reason:
            result.breaks.append(Break(event.id, event.chain, event.seq, reason))
            broken = True
            continue
        seen[event.chain] = (event.seq, event.hash)
        expected_seq += 1
        prev_hash = event.hash

    broken_chains = {b.chain for b in result.breaks}
    for chain, (head_seq, head_hash) in sorted(recorded_heads.items()):
        if chain in broken_chains:
            continue
        last = seen.get(chain, (0, audit_repo.GENESIS_HASH))
        if last != (head_seq, head_hash):
            result.breaks.append(
                Break(
                    None,
                    chain,
                    None,
                    f"the chain ends at seq {last[0]} but its head records seq {head_seq} "
                    "(events were removed from the end)",
                )
            )
    for chain in sorted(set(seen) - set(recorded_heads)):
        result.breaks.append(Break(None, chain, None, "the chain has no head record"))
    return result
