"""Settings read from ``UJIAN_*`` environment variables and validated once at start."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.trusted_proxies import Network, parse_networks

#: Values people paste from examples; refused as a secret outside development.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "ujian", "please-change"}
)
MIN_SECRET_LENGTH = 32


class Mode(StrEnum):
    """``development`` relaxes the secret-key rule and allows the demo; ``production`` does not."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting of the service; each field is ``UJIAN_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="UJIAN_", extra="ignore")

    mode: Mode = Mode.PRODUCTION
    database_url: str = "sqlite:///var/ujian.db"
    secret_key: str = ""
    var_dir: Path = Path("var")
    # SQLite durability: FULL fsyncs the WAL on every commit, so an acknowledged answer survives
    # a killed process *and* a power cut at the test site (NORMAL survives only the former).
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout_ms: int = 10_000
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # How long a request may queue for a database connection before it is refused (503).
    db_pool_timeout_seconds: float = 60.0
    token_lifetime_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed (CIDRs, comma-separated); empty: none,
    # the connection's address is the client's. See docs/security.md, "Logins".
    trusted_proxies: str = ""
    # Answers arriving this long after the deadline still count: the request left the PC in time
    # but crossed a slow network.
    save_grace_seconds: float = Field(default=5.0, ge=0.0)
    # Saves per attempt: a sustained rate with bursts (a person answers far slower); more get
    # 429 with Retry-After, and the screen sends them again after it.
    save_rate_per_second: float = Field(default=2.0, gt=0.0)
    save_burst: int = Field(default=40, ge=1)
    sweeper_interval_seconds: float = Field(default=2.0, gt=0.0)
    # Request bodies: every route takes at most max_request_bytes, counted while the body is
    # read (app/middleware/body_limit.py); bank imports and rosters have their own limits.
    max_request_bytes: int = Field(default=2 * 2**20, ge=1024)
    max_upload_bytes: int = 200 * 2**20
    max_roster_bytes: int = Field(default=20 * 2**20, ge=1024)
    # Practice exams (simulasi): limits per client address and for the whole installation, so a
    # public crowd never takes the connections and threads a live sitting needs.
    practice_starts_per_window: int = Field(default=5, ge=1)
    practice_start_window_seconds: int = Field(default=600, ge=1)
    practice_running_per_client: int = Field(default=2, ge=1)
    practice_max_running: int = Field(default=2000, ge=1)
    # Practice starts drawing forms at once (each holds a worker thread and a connection), and
    # practice starts admitted a second per process: every practice attempt costs a few
    # committed transactions, which on SQLite queue with the live answers for the one writer.
    practice_start_concurrency: int = Field(default=2, ge=1)
    practice_starts_per_second: float = Field(default=5.0, gt=0.0)
    practice_retention_hours: float = Field(default=24.0, gt=0.0)
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # FastAPI's native OpenTelemetry tracing, metrics and logs (needs an OpenTelemetry SDK
    # configured in the process; off by default, as it costs every request a provider lookup).
    opentelemetry: bool = False

    @model_validator(mode="after")
    def _secret_key_rule(self) -> Self:
        if self.mode is Mode.PRODUCTION:
            key = self.secret_key.strip()
            if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
                msg = (
                    "UJIAN_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters in production "
                    "(generate one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'); "
                    "set UJIAN_MODE=development to run locally without one"
                )
                raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _trusted_proxies_rule(self) -> Self:
        parse_networks(self.trusted_proxies)
        return self

    @cached_property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        """The networks of ``UJIAN_TRUSTED_PROXIES`` (validated at start)."""
        return parse_networks(self.trusted_proxies)

    @property
    def is_development(self) -> bool:
        """Whether the relaxed development rules apply."""
        return self.mode is Mode.DEVELOPMENT

    def secret(self) -> bytes:
        """The server key, as bytes.

        In development without ``UJIAN_SECRET_KEY`` a random key is created once under ``var/``
        so that signed slips and pseudonyms stay stable across restarts.
        """
        if self.secret_key:
            return self.secret_key.encode()
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 from the start: never readable by others, not even for a moment.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once)."""
    return Settings()
