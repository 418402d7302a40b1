"""The server's Ed25519 signing keys: documents anyone can check with a public key alone.

Slips, published ranking snapshots and audit anchors are signed with the current private key;
every public key ever used stays listed with its validity period, so a document signed before a
rotation still verifies and names the key that signed it. The private keys live in one file
beside the server secret (``<var_dir>/signing-keys.json``, created with mode 0600 on first
use), never in the database.

A signed document is JSON ``{"payload": "<the exact signed text>", "signature": {"algorithm":
"Ed25519", "key_id": ..., "value": <base64url>}}``: the signature covers the UTF-8 bytes of the
``payload`` string as it stands, so a verifier (the CLI, the browser's WebCrypto) needs no
canonical JSON of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "Ed25519"
KEYS_FILE = "signing-keys.json"


def b64url(raw: bytes) -> str:
    """Unpadded URL-safe base64 (what the documents and the public route print)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    """The bytes of unpadded URL-safe base64; ``ValueError`` when it is not that."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text[:20]!r} is not URL-safe base64") from exc


def key_id_of(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """One public key with the period it signed documents in (``valid_until`` None: current)."""

    key_id: str
    public_key: str
    valid_from: datetime
    valid_until: datetime | None
    algorithm: str = ALGORITHM

    def as_json(self) -> dict[str, str | None]:
        """The key as the public route and ``ujian keys show`` print it."""
        return {
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "public_key": self.public_key,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
        }


class KeyFileError(ValueError):
    """The keys file cannot be read as a list of keys (named, with where it is)."""


def _read_public(entry: Mapping[str, object], where: str) -> PublicKey:
    try:
        until = entry.get("valid_until")
        return PublicKey(
            key_id=str(entry["key_id"]),
            public_key=str(entry["public_key"]),
            valid_from=datetime.fromisoformat(str(entry["valid_from"])),
            valid_until=None if until is None else datetime.fromisoformat(str(until)),
            algorithm=str(entry.get("algorithm", ALGORITHM)),
        )
    except (KeyError, ValueError) as exc:
        raise KeyFileError(f"{where}: not a public key entry ({exc})") from exc


def public_keys_from_json(text: str, where: str) -> list[PublicKey]:
    """The public keys in a keys file or the saved JSON of ``GET /api/v1/public/keys``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"{where}: not JSON ({exc})") from exc
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise KeyFileError(f"{where}: expected a list of keys or an object with 'keys'")
    return [_read_public(e, f"{where}, key {i + 1}") for i, e in enumerate(entries)]


class KeyStore:
    """The signing keys in ``<var_dir>/signing-keys.json`` (a key is made on first use)."""

    def __init__(self, var_dir: Path) -> None:
        self.path = var_dir / KEYS_FILE

    def _load(self) -> list[dict[str, str | None]]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            keys: list[dict[str, str | None]] = data["keys"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyFileError(f"{self.path}: the signing keys file does not read ({exc})") from exc
        return keys

    def _save(self, keys: list[dict[str, str | None]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        # Created 0600 before any key is written: the private keys never sit world-readable.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"keys": keys}, handle, indent=2)
        tmp.replace(self.path)

    @staticmethod
    def _new_entry(now: datetime) -> dict[str, str | None]:
        private = Ed25519PrivateKey.generate()
        public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "key_id": key_id_of(public_raw),
            "algorithm": ALGORITHM,
            "public_key": b64url(public_raw),
            "private_key": b64url(private.private_bytes_raw()),
            "valid_from": now.astimezone(UTC).isoformat(),
            "valid_until": None,
        }

    def _current_entry(self) -> dict[str, str | None]:
        keys = self._load()
        current = [k for k in keys if k.get("valid_until") is None]
        if current:
            return current[-1]
        if keys:
            entry = self._new_entry(datetime.now(UTC))
            self._save([*keys, entry])
            return entry
        self._create_first()
        return self._current_entry()

    def _create_first(self) -> None:
        """Make the first key unless another process just did: the file is linked into place
        only if absent, so two app workers starting together never sign with two keys."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{KEYS_FILE}.{os.getpid()}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"keys": [self._new_entry(datetime.now(UTC))]}, handle, indent=2)
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink()

    def public_keys(self) -> list[PublicKey]:
        """Every key ever used, oldest first (a first key is made if there is none)."""
        self._current_entry()
        return [_read_public(k, str(self.path)) for k in self._load()]

    def rotate(self, now: datetime) -> PublicKey:
        """End the current key's validity now and start a new one; the old stays listed."""
        self._current_entry()
        keys = self._load()
        stamp = now.astimezone(UTC).isoformat()
        for entry in keys:
            if entry.get("valid_until") is None:
                entry["valid_until"] = stamp
        entry = self._new_entry(now)
        self._save([*keys, entry])
        return _read_public(entry, str(self.path))

    def sign(self, payload: str) -> dict[str, object]:
        """``payload`` as a signed document under the current key."""
        entry = self._current_entry()
        private = Ed25519PrivateKey.from_private_bytes(from_b64url(str(entry["private_key"])))
        return {
            "payload": payload,
            "signature": {
                "algorithm": ALGORITHM,
                "key_id": entry["key_id"],
                "value": b64url(private.sign(payload.encode("utf-8"))),
            },
        }


def canonical(body: Mapping[str, object]) -> str:
    """The text signed for a document body (sorted keys, no spaces, UTF-8)."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a signed document offline."""

    valid: bool
    reason: str
    key_id: str | None = None
    body: Mapping[str, object] | None = None


def check_document(document: object, keys: Sequence[PublicKey]) -> Checked:
    """Whether ``document`` is a signed document whose signature a key in ``keys`` made."""
    if not isinstance(document, dict):
        return Checked(False, "not a signed document (expected a JSON object)")
    payload, signature = document.get("payload"), document.get("signature")
    if not isinstance(payload, str) or not isinstance(signature, dict):
        return Checked(False, "not a signed document (it needs 'payload' and 'signature')")
    key_id = signature.get("key_id")
    if signature.get("algorithm") != ALGORITHM:
        return Checked(False, f"signature algorithm {signature.get('algorithm')!r} is not Ed25519")
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        return Checked(False, f"no public key has id {key_id!r}: not signed by this server")
    try:
        public = Ed25519PublicKey.from_public_bytes(from_b64url(key.public_key))
        public.verify(from_b64url(str(signature.get("value", ""))), payload.encode("utf-8"))
    except (ValueError, InvalidSignature):
        return Checked(
            False, f"the signature does not match the content (key {key_id}): altered", key.key_id
        )
    try:
        body = json.loads(payload)
    except ValueError:
        return Checked(False, "the signed payload is not JSON", key.key_id)
    if not isinstance(body, dict):
        return Checked(False, "the signed payload is not a JSON object", key.key_id)
    signed_at = body.get("signed_at")
    if isinstance(signed_at, str):
        try:
            when = datetime.fromisoformat(signed_at)
        except ValueError:
            return Checked(False, f"the signing time {signed_at!r} does not read", key.key_id)
        # A retired key signs nothing new. (The signer writes signed_at, so this catches a
        # server misconfigured with an old key, not a thief of one: rotate and say so.)
        if key.valid_until is not None and when > key.valid_until:
            return Checked(
                False,
                f"signed at {signed_at}, after key {key.key_id} was retired "
                f"({key.valid_until.isoformat()})",
                key.key_id,
            )
    return Checked(True, f"authentic: signed by key {key.key_id}", key.key_id, body)


_store: KeyStore | None = None


def use_var_dir(var_dir: Path) -> None:
    """Set the process's key store (the app does this at start, beside the server secret)."""
    global _store  # noqa: PLW0603 - one var/ directory per process, like the settings
    _store = KeyStore(var_dir)


def key_store() -> KeyStore:
    """The process's key store: set by :func:`use_var_dir`, else the configured var/ folder."""
    if _store is None:
        from app.settings import get_settings

        use_var_dir(get_settings().var_dir)
    assert _store is not None
    return _store
