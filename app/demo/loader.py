"""Load the demo into a database (idempotent) and say how to log in.

The demo is the SKD exam of ``app/demo/exams/skd.yaml`` on the original demo bank of
``app/demo/bank/``, one open sitting ("Sesi Demo") with the twenty candidates of
``app/demo/roster.csv``, the public practice exam of ``app/demo/exams/simulasi.yaml`` (on
``/simulasi``) on its own practice bank of ``app/demo/bank/practice/``, and one staff account
per role. Passwords and PINs are random per
installation and kept in ``var/demo-logins.json`` (never in the repository), so a second run
prints the same logins; PINs that were lost are reissued.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.clock import Clock
from app.db import Database
from app.models.sitting import Registration, Sitting
from app.models.staff import Role
from app.repositories import bank as bank_repo
from app.repositories import exams as exam_repo
from app.repositories import staff as staff_repo
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from app.services import staff as staff_service

DEMO_DIR = Path(__file__).parent
BANK_DIR = DEMO_DIR / "bank"
DEMO_STAFF = (("admin", Role.ADMIN), ("komite", Role.COMMITTEE), ("pengawas", Role.PROCTOR))
DEMO_EXAM = "SKD-CPNS"
DEMO_SITTING = "Sesi Demo"
PRACTICE_BANK_DIR = BANK_DIR / "practice"
PRACTICE_EXAM = "SIMULASI-SKD"
#: The practice bank's own sections: a practice exam never draws the live exam's items.
PRACTICE_SECTIONS = (
    ("SIM-TWK", "Simulasi: Tes Wawasan Kebangsaan"),
    ("SIM-TIU", "Simulasi: Tes Intelegensia Umum"),
    ("SIM-TKP", "Simulasi: Tes Karakteristik Pribadi"),
)
ACTOR = "demo"


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


def _media_resolver(name: str) -> bytes | None:
    path = (BANK_DIR / name).resolve()
    if BANK_DIR.resolve() not in path.parents or not path.is_file():
        return None
    return path.read_bytes()


def _load_bank(db: Database, clock: Clock, directory: Path = BANK_DIR) -> None:
    files = sorted(directory.glob("*.json"))
    handles = [path.open("rb") for path in files]
    try:
        uploads = [
            bank_service.UploadFile(path.name, handle, media_resolver=_media_resolver)
            for path, handle in zip(files, handles, strict=True)
        ]
        with db.session() as session:
            report = bank_service.import_files(session, uploads, actor=ACTOR, now=clock.now())
    finally:
        for handle in handles:
            handle.close()
    if not report.ok:
        problems = "; ".join(str(p) for p in report.errors[:5])
        msg = f"the demo bank did not import: {problems}"
        raise RuntimeError(msg)


def load_demo(db: Database, var_dir: Path, secret: bytes, clock: Clock | None = None) -> DemoLogins:
    """Create whatever part of the demo is missing; running it twice changes nothing."""
    clock = clock or Clock()
    state = _state(var_dir)
    passwords: dict[str, str] = state.setdefault("staff", {})
    pins: dict[str, str] = state.setdefault("pins", {})
    logins = DemoLogins()

    with db.session() as session:
        for username, role in DEMO_STAFF:
            if staff_repo.by_username(session, username) is None:
                password = secrets.token_urlsafe(9)
                staff_service.create_user(
                    session,
                    username=username,
                    password=password,
                    role=role,
                    now=clock.now(),
                    actor=ACTOR,
                )
                passwords[username] = password
            if username in passwords:
                logins.staff.append(
                    {"username": username, "password": passwords[username], "role": str(role)}
                )

    _load_bank(db, clock)
    load_practice(db, clock)

    with db.session() as session:
        spec_text = (DEMO_DIR / "exams" / "skd.yaml").read_bytes()
        exam_service.define_exam(session, spec_text, "skd.yaml", actor=ACTOR, now=clock.now())
        exam = exam_service.publish_exam(session, DEMO_EXAM, actor=ACTOR, now=clock.now())
        sitting = session.scalars(
            select(Sitting).where(Sitting.exam_id == exam.id, Sitting.name == DEMO_SITTING)
        ).first()
        if sitting is None:
            sitting = exam_service.create_sitting(
                session,
                exam_code=DEMO_EXAM,
                name=DEMO_SITTING,
                starts_at=clock.now().replace(second=0, microsecond=0),
                site="Kantor Regional Demo, Jakarta",
                room="Ruang CAT 1",
                timezone="Asia/Jakarta",
                actor=ACTOR,
                now=clock.now(),
            )
            state["pins"] = pins = {}
        exam_service.assign_proctor(session, sitting.id, "pengawas", actor=ACTOR, now=clock.now())
        registered = session.scalars(
            select(Registration.nomor_peserta).where(Registration.sitting_id == sitting.id)
        ).all()
        if not registered:
            issued = exam_service.import_roster(
                session,
                sitting.id,
                (DEMO_DIR / "roster.csv").read_bytes(),
                "roster.csv",
                secret=secret,
                actor=ACTOR,
                now=clock.now(),
            )
            pins.update({p.nomor_peserta: p.pin for p in issued})
        elif set(registered) - set(pins) and sitting.status != "closed":
            issued = exam_service.reissue_pins(
                session, sitting.id, secret=secret, actor=ACTOR, now=clock.now()
            )
            pins.update({p.nomor_peserta: p.pin for p in issued})
        if sitting.status == "scheduled":
            proctoring.open_sitting(session, sitting.id, now=clock.now(), actor=ACTOR)
        logins.sittings.append({"id": sitting.id, "exam": DEMO_EXAM, "name": sitting.name})
        for registration in exam_repo.registrations(session, sitting.id):
            if registration.nomor_peserta in pins:
                logins.candidates.append(
                    {
                        "nomor_peserta": registration.nomor_peserta,
                        "pin": pins[registration.nomor_peserta],
                        "sitting": sitting.id,
                        "name": registration.name,
                    }
                )
    _save_state(var_dir, state)
    return logins


def load_practice(db: Database, clock: Clock) -> None:
    """The practice bank's sections and items, and the published practice exam."""
    with db.session() as session:
        for code, name in PRACTICE_SECTIONS:
            bank_repo.add_section(session, code, name)
    _load_bank(db, clock, PRACTICE_BANK_DIR)
    with db.session() as session:
        spec_text = (DEMO_DIR / "exams" / "simulasi.yaml").read_bytes()
        exam_service.define_exam(session, spec_text, "simulasi.yaml", actor=ACTOR, now=clock.now())
        exam_service.publish_exam(session, PRACTICE_EXAM, actor=ACTOR, now=clock.now())
