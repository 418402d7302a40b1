"""Load the demo into a database (idempotent) and say how to log in."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clock import Clock
from app.db import Database
from app.models.staff import Role
from app.repositories import staff as staff_repo
from app.services import staff as staff_service

DEMO_DIR = Path(__file__).parent
DEMO_STAFF = (("admin", Role.ADMIN), ("komite", Role.COMMITTEE), ("pengawas", Role.PROCTOR))


@dataclass
class DemoLogins:
    """What ``ujian demo`` prints: staff logins, sittings and candidate logins."""

    staff: list[dict[str, str]] = field(default_factory=list)
    sittings: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of the contract."""
        return {"staff": self.staff, "sittings": self.sittings, "candidates": self.candidates}


def _state(var_dir: Path) -> dict[str, Any]:
    path = var_dir / "demo-logins.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return {}


def _save_state(var_dir: Path, state: dict[str, Any]) -> None:
    path = var_dir / "demo-logins.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    path.chmod(0o600)


def load_demo(db: Database, var_dir: Path, clock: Clock | None = None) -> DemoLogins:
    """Create whatever part of the demo is missing; running it twice changes nothing.

    Passwords are random per installation and kept in ``var/demo-logins.json`` (never in the
    repository), so a second run prints the same logins.
    """
    clock = clock or Clock()
    state = _state(var_dir)
    passwords: dict[str, str] = state.setdefault("staff", {})
    logins = DemoLogins()
    with db.session() as session:
        for username, role in DEMO_STAFF:
            existing = staff_repo.by_username(session, username)
            if existing is None:
                password = passwords.get(username) or secrets.token_urlsafe(9)
                staff_service.create_user(
                    session,
                    username=username,
                    password=password,
                    role=role,
                    now=clock.now(),
                    actor="demo",
                )
                passwords[username] = password
            if username in passwords:
                logins.staff.append(
                    {"username": username, "password": passwords[username], "role": str(role)}
                )
    _save_state(var_dir, state)
    return logins
