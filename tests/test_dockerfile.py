"""The Dockerfile, read rather than built (building needs Podman, see shared/tools/container-base.sh), and
the commands it runs, run here outside a container: `tlh run --once`, then `tlh health`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DEMO_PRICES = ROOT / "config" / "demo" / "prices.csv"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            out.append([])
        assert out, f"{keyword} before the first FROM"
        out[-1].append((keyword, args))
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


@pytest.fixture(scope="module")
def final_stage() -> list[tuple[str, str]]:
    return stages(DOCKERFILE.read_text())[-1]


def last(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for k, args in stage if k == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


def test_multi_stage_with_the_venv_at_the_same_path() -> None:
    all_stages = stages(DOCKERFILE.read_text())
    assert len(all_stages) >= 2
    build = all_stages[0]
    assert [w.lower() for w in build[0][1].split()[-2:]] == ["as", "build"]
    assert any(k == "RUN" and "-m venv /opt/venv" in a for k, a in build)
    assert ("COPY", "--from=build /opt/venv /opt/venv") in all_stages[-1]


def test_runs_as_a_non_root_user(final_stage: list[tuple[str, str]]) -> None:
    user = last(final_stage, "USER").split(":")[0]
    assert user not in ("root", "0", "")


def test_entrypoint_and_cmd_are_tlh_run(final_stage: list[tuple[str, str]]) -> None:
    assert exec_form(last(final_stage, "ENTRYPOINT")) + exec_form(last(final_stage, "CMD")) == ["tlh", "run"]


def test_healthcheck_is_tlh_health(final_stage: list[tuple[str, str]]) -> None:
    options, _, command = last(final_stage, "HEALTHCHECK").partition("CMD")
    assert command, "HEALTHCHECK without CMD"
    assert exec_form(command.strip()) == ["tlh", "health"]
    assert "--interval=" in options and "--timeout=" in options


def test_config_location_and_path(final_stage: list[tuple[str, str]]) -> None:
    env = " ".join(args for k, args in final_stage if k == "ENV")
    words = dict(w.split("=", 1) for w in shlex.split(env) if "=" in w)
    assert words.get("TLH_CONFIG") == "/config/tlh.toml"
    assert words.get("PATH", "").startswith("/opt/venv/bin:")


# --- the same commands, outside Docker -------------------------------------------------------------------

def tlh_script() -> Path:
    script = Path(sys.executable).parent / "tlh"
    if not script.exists():
        pytest.skip(f"no tlh script next to {sys.executable}: install the project (make test does)")
    return script


def test_run_once_then_health_outside_docker(tmp_path: Path) -> None:
    tlh = tlh_script()
    config = tmp_path / "tlh.toml"
    config.write_text(
        f'database_url = "sqlite:///{(tmp_path / "tlh.db").as_posix()}"\n'
        'mode = "dry-run"\n'
        "\n[[accounts]]\n"
        'id = "taxable"\ntype = "taxable"\nhousehold = "h"\nbroker = "paper"\nlot_method = "fifo"\n'
        "\n[brokers.paper]\n"
        f"prices = {json.dumps(str(DEMO_PRICES))}\n"
    )
    # No secrets or other configuration leak in from the developer's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TLH_", "ALPACA_"))}
    env["TLH_CONFIG"] = str(config)
    env["HOME"] = str(tmp_path)

    def tlh_cmd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(tlh), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=180, check=False)

    # A fresh volume, as a container first sees it: `tlh run` migrates the empty database itself.
    ran = tlh_cmd("run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    health = tlh_cmd("health")
    assert health.returncode == 0, health.stdout + health.stderr
