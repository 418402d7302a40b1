"""Recording audited actions and verifying the audit chains end to end.

Three things make a change to the log visible:

- each event's hash is an HMAC under the audit key, a sub-key of the server secret that is never
  stored in the database, so an edited event cannot be given a matching hash without the secret;
- each attempt's chain is *anchored* in its sitting's chain at its first event and at its finish
  (an ``audit.anchor`` event carrying the attempt chain's name, seq and hash), and every chain is
  entered in a registry when it starts, so a wholly deleted chain is still named;
- ``ujian audit anchor`` writes the heads of every chain to a signed file kept off the server;
  ``verify(..., against=heads)`` proves nothing up to those heads changed, even for someone who
  holds the secret and rewrites the log after the file was made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.repositories import audit as audit_repo
from app.signing import Signer

GLOBAL_CHAIN = "global"
#: The purpose the audit key is derived for from the server secret (see :mod:`app.signing`).
AUDIT_KEY_PURPOSE = "audit-chain"
ATTEMPT_PREFIX = "attempt:"
FINISH_ACTION = "attempt.finish"

_audit_key: bytes | None = None


def use_secret(secret: bytes) -> None:
    """Set the process's audit key from the server secret (the app and the CLI do this first)."""
    global _audit_key  # noqa: PLW0603 - one server secret per process, like the settings
    _audit_key = Signer(secret, AUDIT_KEY_PURPOSE).key


def audit_key() -> bytes:
    """The audit key: set by :func:`use_secret`, else derived from the configured settings."""
    if _audit_key is None:
        from app.settings import get_settings

        use_secret(get_settings().secret())
    assert _audit_key is not None
    return _audit_key


def sitting_chain(sitting_id: int) -> str:
    """The chain of what is done to one sitting (opening, pauses, the proctors' actions)."""
    return f"sitting:{sitting_id}"


def attempt_chain(attempt_id: int) -> str:
    """The chain of one candidate's own attempt: logins, device moves, start and finish.

    One chain per attempt keeps the record of an appeal in one place, and the logins of a whole
    sitting, which arrive in the same seconds, never queue on one chain's head row.
    """
    return f"{ATTEMPT_PREFIX}{attempt_id}"


def canonical_json(payload: Mapping[str, object]) -> str:
    """The exact text stored and hashed for a payload (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def _parent_chain(session: Session, chain: str) -> str | None:
    """The chain that anchors ``chain``: an attempt's sitting; other chains have none."""
    if not chain.startswith(ATTEMPT_PREFIX):
        return None
    suffix = chain.removeprefix(ATTEMPT_PREFIX)
    if not suffix.isdigit():
        return None
    sitting_id = audit_repo.attempt_sitting(session, int(suffix))
    return None if sitting_id is None else sitting_chain(sitting_id)


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
    """Append an audit event in the caller's transaction (it commits or rolls back with it).

    An attempt chain's first event and its finish are anchored in the sitting's chain; a chain's
    first event enters it in the registry. Every other append costs what it always did.
    """
    key = audit_key()
    seq, digest = audit_repo.append(
        session,
        key=key,
        chain=chain,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=canonical_json(payload or {}),
    )
    anchor = seq == 1 or (action == FINISH_ACTION and chain.startswith(ATTEMPT_PREFIX))
    if not anchor:
        return
    parent = _parent_chain(session, chain)
    if seq == 1:
        audit_repo.register(session, chain, at, parent)
    if parent is None:
        return
    parent_seq, _ = audit_repo.append(
        session,
        key=key,
        chain=parent,
        at=at,
        actor="system:audit",
        action=audit_repo.ANCHOR_ACTION,
        subject=chain,
        payload=canonical_json({"chain": chain, "seq": seq, "hash": digest}),
    )
    if parent_seq == 1:
        audit_repo.register(session, parent, at, None)


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


@dataclass(frozen=True)
class _Expected:
    """A (seq, hash) some other record says a chain had: an anchor event or an anchor file."""

    hash: str
    source: str


def _anchor_expectations(session: Session) -> dict[tuple[str, int], _Expected]:
    expected: dict[tuple[str, int], _Expected] = {}
    for event in audit_repo.anchor_events(session):
        try:
            body = json.loads(event.payload)
            chain, seq, digest = str(body["chain"]), int(body["seq"]), str(body["hash"])
        except (ValueError, KeyError, TypeError):
            # An anchor whose payload does not read was edited; its own chain's hash check
            # names it, so there is nothing to compare here.
            continue
        expected[chain, seq] = _Expected(
            digest, f"its anchor in chain {event.chain} (event {event.id})"
        )
    return expected


def verify(
    session: Session,
    *,
    key: bytes | None = None,
    against: Mapping[str, tuple[int, str]] | None = None,
    against_name: str = "the anchor file",
) -> Verification:
    """Recompute every hash and link; report the first broken event of each chain.

    Catches an edited field (hash mismatch), a deleted or inserted event (sequence gap or link
    mismatch), a truncated tail (the head names a later event than the last one stored), a chain
    deleted with its head (the registry or an anchor still names it), and a chain rewritten with
    the key (an anchor, or the heads of ``against``, recorded another hash at that seq).
    """
    key = key or audit_key()
    result = Verification()
    recorded_heads = audit_repo.heads(session)
    registered = audit_repo.registry(session)
    expected = _anchor_expectations(session)
    if against:
        for chain, (seq, digest) in against.items():
            expected[chain, seq] = _Expected(digest, against_name)
    current: str | None = None
    expected_seq = 0
    prev_hash = audit_repo.GENESIS_HASH
    broken = False
    seen: dict[str, tuple[int, str]] = {}
    broken_at: dict[str, int] = {}

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
                key,
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
            else:
                anchored = expected.pop((event.chain, event.seq), None)
                if anchored is not None and anchored.hash != event.hash:
                    reason = (
                        f"its hash differs from the one {anchored.source} recorded "
                        f"({anchored.hash[:16]}…): this event or one before it was rewritten"
                    )
        if reason:
            result.breaks.append(Break(event.id, event.chain, event.seq, reason))
            broken_at[event.chain] = event.seq
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
            broken_chains.add(chain)
    for chain in sorted(set(seen) - set(recorded_heads)):
        result.breaks.append(Break(None, chain, None, "the chain has no head record"))
        broken_chains.add(chain)
    for chain in sorted(set(registered) - set(seen) - broken_chains):
        since = registered[chain].registered_at
        result.breaks.append(
            Break(None, chain, None, f"registered since {since} but has no events (deleted)")
        )
        broken_chains.add(chain)
    for chain in sorted(set(seen) - set(registered) - broken_chains):
        result.breaks.append(Break(None, chain, None, "the chain is missing from the registry"))
    for (chain, seq), anchored in sorted(expected.items()):
        if chain in broken_chains and broken_at.get(chain, seq + 1) <= seq:
            continue
        if chain in broken_chains and chain not in seen:
            continue
        result.breaks.append(
            Break(
                None,
                chain,
                seq,
                f"{anchored.source} recorded seq {seq} (hash {anchored.hash[:16]}…) but the "
                "chain has no such event (events or the whole chain were deleted)",
            )
        )
    return result


#: The ``kind`` of an audit anchor document (the signed heads a committee keeps off the server).
ANCHOR_KIND = "ujian-audit-anchor"


def current_heads(session: Session) -> dict[str, dict[str, object]]:
    """The head (seq, hash) of every chain, as anchor files and ranking snapshots carry them."""
    return {
        chain: {"seq": seq, "hash": digest}
        for chain, (seq, digest) in sorted(audit_repo.heads(session).items())
    }


def anchor_body(session: Session, now: datetime) -> dict[str, object]:
    """The body of an anchor document: when, and the head of every chain."""
    heads = current_heads(session)
    return {"kind": ANCHOR_KIND, "signed_at": now.isoformat(), "chains": len(heads), "heads": heads}


def heads_of(body: Mapping[str, object], where: str) -> dict[str, tuple[int, str]]:
    """The (seq, hash) per chain of an anchor body; ``ValueError`` naming what does not read."""
    heads = body.get("heads")
    if not isinstance(heads, dict):
        raise ValueError(f"{where}: no 'heads' object (not an audit anchor)")
    out: dict[str, tuple[int, str]] = {}
    for chain, head in heads.items():
        if not isinstance(head, dict) or not isinstance(head.get("hash"), str):
            raise ValueError(f"{where}: the head of chain {chain!r} does not read")
        try:
            out[str(chain)] = (int(head["seq"]), str(head["hash"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: the head of chain {chain!r} has no seq") from exc
    return out


def sign_and_store(
    session: Session, kind: str, subject: str, body: Mapping[str, object], now: datetime
) -> dict[str, object]:
    """Sign ``body`` with the process's Ed25519 key and keep the signed text as it was signed."""
    from app.keys import canonical, key_store
    from app.models.audit import SignedDocument

    document = key_store().sign(canonical({"kind": kind, "signed_at": now.isoformat(), **body}))
    signature = document["signature"]
    assert isinstance(signature, dict)
    audit_repo.add_signed_document(
        session,
        SignedDocument(
            kind=kind,
            subject=subject,
            payload=document["payload"],
            key_id=signature["key_id"],
            signature=signature["value"],
            created_at=now,
        ),
    )
    return document


def signed_documents(session: Session, subject_prefix: str) -> list[dict[str, object]]:
    """The stored signed documents of a subject, as served and checked (oldest first)."""
    from app.keys import ALGORITHM

    return [
        {
            "payload": d.payload,
            "signature": {"algorithm": ALGORITHM, "key_id": d.key_id, "value": d.signature},
        }
        for d in audit_repo.signed_documents(session, subject_prefix)
    ]
