"""The long-lived services of one app process, built once in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.clock import Clock
from app.db import Database
from app.services import attempts
from app.services.autosave import AutosaveWriter, SaveRateLimit
from app.services.candidate_tokens import CandidateTokens
from app.services.live import LiveHub
from app.services.runtime import RuntimeCache
from app.services.sweeper import Sweeper
from app.settings import Settings


@dataclass
class Services:
    """Database, clock, caches and background workers shared by every request of a process."""

    settings: Settings
    db: Database
    clock: Clock
    secret: bytes
    runtimes: RuntimeCache = field(default_factory=RuntimeCache)
    tokens: CandidateTokens = field(init=False)
    writer: AutosaveWriter = field(init=False)
    sweeper: Sweeper = field(init=False)
    live: LiveHub = field(init=False)

    def __post_init__(self) -> None:
        # Candidate tokens last UJIAN_TOKEN_LIFETIME_HOURS, like staff tokens.
        self.tokens = CandidateTokens(
            self.secret, lifetime_seconds=self.settings.token_lifetime_hours * 3600
        )
        self.live = LiveHub(self.db)
        self.sweeper = Sweeper(
            self.db,
            self.clock,
            grace=self.grace,
            interval=self.settings.sweeper_interval_seconds,
            finish_one=self.finish_due,
        )
        self.writer = AutosaveWriter(
            self.db, self.clock, grace=self.grace, on_expired=self.sweeper.wake
        )
        self.writer.rate_limit = SaveRateLimit(
            self.clock,
            rate=self.settings.save_rate_per_second,
            burst=self.settings.save_burst,
        )

    @property
    def grace(self) -> timedelta:
        """How late an answer sent in time may arrive."""
        return timedelta(seconds=self.settings.save_grace_seconds)

    def start(self) -> None:
        """Start the background workers."""
        self.writer.start()
        self.sweeper.start()

    def stop(self) -> None:
        """Stop them, finishing queued answers first."""
        self.writer.stop()
        self.sweeper.stop()

    def finish_due(self, attempt_id: int) -> bool:
        """Finish one attempt whose deadline passed, in its own transaction."""
        with self.db.unit_of_work() as session:
            return attempts.finish(
                session,
                attempt_id,
                reason="deadline",
                now=self.clock.now(),
                actor="system:deadline",
                runtimes=self.runtimes,
                secret=self.secret,
                grace=self.grace,
            )
