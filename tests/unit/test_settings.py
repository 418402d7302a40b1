"""Settings: the secret-key rule and the defaults a fresh install relies on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Mode, Settings


def test_production_refuses_a_missing_secret(monkeypatch):
    monkeypatch.delenv("UJIAN_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="UJIAN_SECRET_KEY"):
        Settings(mode=Mode.PRODUCTION)


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "short-but-random"])
def test_production_refuses_placeholders_and_short_keys(placeholder):
    with pytest.raises(ValidationError, match="UJIAN_SECRET_KEY"):
        Settings(mode=Mode.PRODUCTION, secret_key=placeholder)


def test_production_accepts_a_real_secret():
    settings = Settings(mode=Mode.PRODUCTION, secret_key="x7" * 24)
    assert settings.secret() == b"x7" * 24


def test_development_makes_and_keeps_a_local_secret(tmp_path):
    settings = Settings(mode=Mode.DEVELOPMENT, secret_key="", var_dir=tmp_path)
    first = settings.secret()
    assert len(first) >= 32
    assert Settings(mode=Mode.DEVELOPMENT, secret_key="", var_dir=tmp_path).secret() == first


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("UJIAN_MODE", "development")
    monkeypatch.setenv("UJIAN_DATABASE_URL", "postgresql://db.example/ujian")
    settings = Settings()
    assert settings.database_url == "postgresql://db.example/ujian"
    assert settings.is_development


def test_default_database_is_sqlite_under_var(monkeypatch):
    monkeypatch.delenv("UJIAN_DATABASE_URL", raising=False)
    assert Settings(mode=Mode.DEVELOPMENT).database_url == "sqlite:///var/ujian.db"
