"""docker-compose.yml, read and checked (no Docker here): PostgreSQL with a volume and a healthcheck, the
daemon in paper mode waiting for it, broker keys and the database password as secrets, never as values."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _volumes(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """target -> (source, mode) from short-syntax volume entries."""
    out = {}
    for entry in service.get("volumes", []):
        source, target, *mode = entry.split(":")
        out[target] = (source, mode[0] if mode else "rw")
    return out


def test_services_volumes_and_secrets_are_declared(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "tlh", "dashboard", "tlh-paper"}
    assert set(compose["volumes"]) == {"pgdata", "tlh-data", "tlh-paper-data"}
    secrets = compose["secrets"]
    assert set(secrets) == {"postgres_password", "alpaca_api_key", "alpaca_secret_key", "dashboard_token"}
    for name, spec in secrets.items():
        assert spec["file"] == f"./deploy/secrets/{name}"
    ignore = (ROOT / "deploy" / "secrets" / ".gitignore").read_text().split()
    assert "*" in ignore, "secret files must stay out of git"


def test_postgres_keeps_its_data_and_reports_health(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["image"].startswith("postgres:")
    assert _volumes(pg)["/var/lib/postgresql/data"][0] == "pgdata"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert pg["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in pg["environment"]
    assert "postgres_password" in pg["secrets"]


def test_daemon_waits_for_a_healthy_database_and_reads_secrets_from_files(compose: dict[str, Any]) -> None:
    tlh = compose["services"]["tlh"]
    assert tlh["build"] == "."
    assert tlh["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = tlh["environment"]
    for name in ("alpaca_api_key", "alpaca_secret_key"):
        assert env[f"{name.upper()}_FILE"] == f"/run/secrets/{name}"
        assert name in tlh["secrets"]
        assert name.upper() not in env  # never the key itself
    assert "postgres_password" in tlh["secrets"]
    volumes = _volumes(tlh)
    assert volumes["/config"] == ("./deploy/config", "ro") and volumes["/data"][0] == "tlh-data"
    assert env["TLH_CONFIG"] == "/config/tlh.toml"
    assert "tlh health" in " ".join(tlh["healthcheck"]["test"])
    assert tlh["command"] == ["run"] and "entrypoint" not in tlh  # the image's own: tlh
    assert env["TLH_DATABASE_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    # compose interpolates "$": every shell "$" in the file is escaped as "$$"
    assert not re.search(r"(?<!\$)\$(?!\$)", COMPOSE.read_text().replace("$$", ""))


def test_the_dashboard_is_opt_in_published_on_loopback_with_a_token_secret(compose: dict[str, Any]) -> None:
    dash = compose["services"]["dashboard"]
    assert dash["profiles"] == ["dashboard"]  # `docker compose up` alone does not start it
    assert dash["command"] == ["serve"]
    env = dash["environment"]
    # all the container's addresses: the token is what lets `tlh serve` bind there
    assert env["TLH_DASHBOARD_HOST"] == "0.0.0.0"
    assert env["TLH_DASHBOARD_TOKEN_FILE"] == "/run/secrets/dashboard_token" and "TLH_DASHBOARD_TOKEN" not in env
    assert "dashboard_token" in dash["secrets"]
    assert dash["ports"] == ["127.0.0.1:8765:8765"]  # the host's loopback only
    assert "/healthz" in " ".join(dash["healthcheck"]["test"])


def test_the_mounted_configuration_is_paper_mode_on_the_compose_database(compose: dict[str, Any]) -> None:
    settings = load_settings(ROOT / "deploy" / "config" / "tlh.toml")
    assert settings.mode == "paper" and settings.brokers.alpaca.paper
    assert settings.database_url.startswith("postgresql+psycopg://tlh@postgres:5432/")
    assert ":" not in settings.database_url.split("//", 1)[1].split("@")[0]  # no password in the URL
    assert {a.broker for a in settings.accounts} == {"alpaca"}
    assert str(settings.alerts.jsonl_path).startswith("/data/")


def test_the_paper_profile_needs_no_keys_and_no_postgres(compose: dict[str, Any]) -> None:
    paper = compose["services"]["tlh-paper"]
    assert paper["profiles"] == ["paper"]  # not started by a plain `docker compose up`
    assert "secrets" not in paper and "depends_on" not in paper
    assert not [k for k in paper.get("environment", {}) if k.startswith(("ALPACA_", "TLH_DATABASE"))]
    volumes = _volumes(paper)
    assert volumes["/config"] == ("./deploy/config", "ro") and volumes["/demo"] == ("./config/demo", "ro")
    assert volumes["/data"][0] == "tlh-paper-data"
    assert paper["environment"]["TLH_CONFIG"] == "/config/paper.toml" and paper["command"] == ["run"]
    settings = load_settings(ROOT / "deploy" / "config" / "paper.toml")
    assert settings.mode == "paper" and {a.broker for a in settings.accounts} == {"paper"}
    assert settings.database_url == "sqlite:////data/paper.db"
    assert str(settings.brokers.paper.prices) == "/demo/prices.csv"
    # The demo's trades name the configured accounts, so `tlh import /demo/trades.csv` books them.
    accounts = {line.split(",")[1] for line in (ROOT / "config" / "demo" / "trades.csv").read_text().splitlines()[1:]
                if line}
    assert accounts <= {a.id for a in settings.accounts}


@pytest.mark.skipif(not (shutil.which("docker-compose") or shutil.which("podman-compose")),
                    reason="no docker-compose or podman-compose to validate with")
def test_compose_tool_accepts_the_file(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose") or shutil.which("podman-compose")
    assert tool is not None
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copytree(ROOT / "deploy" / "config", tmp_path / "deploy" / "config")
    (tmp_path / "deploy" / "secrets").mkdir()
    for name in ("postgres_password", "alpaca_api_key", "alpaca_secret_key", "dashboard_token"):
        (tmp_path / "deploy" / "secrets" / name).write_text("placeholder")
    result = subprocess.run([tool, "-f", "docker-compose.yml", "config"], capture_output=True, text=True,
                            timeout=60, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "service_healthy" in result.stdout and "/run/secrets" in result.stdout
