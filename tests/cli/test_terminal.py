"""The tables as a person sees them: the installed `tlh` in a real tmux pane of 100 and 200 columns.

Each command's output is captured from the pane (what is on the screen, wrapping included) and written to
the test output directory (TLH_TEST_OUTPUT, else the test's tmp dir) as `terminal-<columns>.txt`. Every
table must fit: each line of a table starts with a left border and ends with a right border, and all lines of
one table have the same width, at most the pane's; no Python repr leaks into the output.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.cli.household import write_household

TLH = str(Path(sys.executable).parent / "tlh")
# A dry run first (it plans a pair), then the paper harvest that trades it, then the order log and status.
COMMANDS = [("lots",), ("gains",), ("harvest", "--dry-run"), ("harvest",), ("orders",), ("status",)]
LEFT = "┏┃┡│└├┢┗╭"
RIGHT = "┓┃┩│┘┤┪┛╮"
BOX = set("┏┓┗┛┃━┡┩┯┷┳┻╇╈│─└┘├┤┼┬┴┢┪")
DONE = "__tlh_done__"


def _tmux(sock: Path, *args: str) -> str:
    return subprocess.run(["tmux", "-S", str(sock), *args], check=True, capture_output=True, text=True,
                          timeout=30).stdout


def run_in_pane(tmp_path: Path, columns: int, script: str, timeout: float = 120) -> list[str]:
    """Run `script` in a fresh tmux pane `columns` wide; the lines it left on the screen and in the scrollback."""
    sock = tmp_path / f"tmux-{columns}.sock"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX", "TLH_AS_OF")}
    env["TERM"] = "xterm-256color"
    runner = tmp_path / f"run-{columns}.sh"
    runner.write_text(f"{script}\necho {DONE}\nsleep 600\n")
    subprocess.run(["tmux", "-S", str(sock), "-f", "/dev/null", "new-session", "-d", "-x", str(columns), "-y", "60",
                    "bash", "--norc", "--noprofile", str(runner)], check=True, env=env, timeout=30)
    try:
        _tmux(sock, "set-option", "-g", "history-limit", "20000")
        deadline = time.monotonic() + timeout
        while True:
            text = _tmux(sock, "capture-pane", "-p", "-S", "-", "-E", "-")
            if DONE in text:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the commands did not finish in {timeout}s; the pane:\n{text}")
            time.sleep(0.3)
        width = int(_tmux(sock, "display-message", "-p", "#{pane_width}").strip())
        assert width == columns
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True, timeout=30)
    lines = text.splitlines()
    return lines[:lines.index(DONE)] if DONE in lines else lines


def tables(lines: list[str]) -> list[list[str]]:
    """The runs of consecutive lines that contain box-drawing characters."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if BOX & set(line):
            current.append(line.rstrip())
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


@pytest.fixture
def household(tmp_path: Path) -> Path:
    """The CLI household in paper mode: VTI 8 % down, an ITOT loss sold 19 days before."""
    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
    return cfg


@pytest.mark.parametrize("columns", [100, 200])
def test_tables_fit_the_terminal(household: Path, tmp_path: Path, columns: int) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    script = "\n".join(f"echo '$ tlh {' '.join(c)}'; {shlex.quote(TLH)} --config {shlex.quote(str(household))} "
                       f"--log-level error {' '.join(c)}" for c in COMMANDS)
    lines = run_in_pane(tmp_path, columns, script)
    out_dir = Path(os.environ.get("TLH_TEST_OUTPUT", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"terminal-{columns}.txt").write_text("\n".join(lines) + "\n")

    text = "\n".join(lines)
    for command in COMMANDS:
        assert f"$ tlh {' '.join(command)}" in text
    for needle in ("Open lots", "Realized gains", "Harvest plan", "Orders carried out", "tlh-daemon status",
                   "Accounts", "vti-1", "$10,000.00", "-$500.00", "SCHB", "filled", "executed: 1 pair(s)",
                   "Do not buy until", "$800.00"):
        assert needle in text, needle
    assert "['" not in text and "{'" not in text and "Decimal(" not in text  # no Python reprs
    assert "…" not in text  # nothing cut short with an ellipsis
    found = tables(lines)
    # lots, gains, the plan and its restrictions twice, the orders carried out, the order log, status's four
    assert len(found) >= 11, text
    for table in found:
        widths = {cell_len(line) for line in table}
        assert len(widths) == 1 and widths.pop() <= columns, "\n".join(table)
        for line in table:
            assert line[0] in LEFT and line[-1] in RIGHT, f"a wrapped table line at {columns} columns:\n{line}"
