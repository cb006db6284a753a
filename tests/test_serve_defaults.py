"""`candor serve` fills in the address it serves and a real secret when they are left unset."""

from __future__ import annotations

import stat
from pathlib import Path

import click
import pytest

from candor.serve import SECRET_FILE, embedded_defaults
from web.settings import PLACEHOLDER_SECRET, Settings

BASE = "http://127.0.0.1:36581"


@pytest.fixture(autouse=True)
def _no_configured_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CANDOR_BASE_URL", "CANDOR_SECRET_KEY", "CANDOR_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_unset_base_url_becomes_the_served_address(tmp_path: Path) -> None:
    extra = embedded_defaults(_settings(tmp_path), BASE)
    assert extra["CANDOR_BASE_URL"] == BASE


def test_a_configured_base_url_is_kept(tmp_path: Path) -> None:
    settings = _settings(tmp_path, base_url="https://candor.example")
    assert "CANDOR_BASE_URL" not in embedded_defaults(settings, BASE)


def test_placeholder_secret_is_replaced_by_one_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = embedded_defaults(_settings(tmp_path), BASE)["CANDOR_SECRET_KEY"]
    assert first != PLACEHOLDER_SECRET and len(first) >= 32
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The same secret on the next start: receipt codes and respondent hashes stay valid.
    assert embedded_defaults(_settings(tmp_path), BASE)["CANDOR_SECRET_KEY"] == first
    assert embedded_defaults(_settings(tmp_path / "other"), BASE)["CANDOR_SECRET_KEY"] != first


def test_a_configured_secret_is_kept(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key="s" * 40)
    assert "CANDOR_SECRET_KEY" not in embedded_defaults(settings, BASE)
    assert not (tmp_path / SECRET_FILE).exists()


def test_a_short_stored_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("short")
    with pytest.raises(click.ClickException, match="shorter than 32"):
        embedded_defaults(_settings(tmp_path), BASE)
