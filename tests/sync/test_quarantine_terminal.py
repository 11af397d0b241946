"""`tlh quarantine` as a person sees it: the installed `tlh` in a real tmux pane of 100 and 200 columns; the
quarantined item and its reason folded inside the table, never cut short."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from daemon.cli.main import app
from tests.cli.test_terminal import LEFT, RIGHT, TLH, run_in_pane, tables
from tests.sync.test_flex_corporate_actions import CODE, TRADES, action, report


@pytest.mark.parametrize("columns", [100, 200])
def test_quarantine_table_fits_the_terminal(tmp_path: Path, columns: int) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path / "tlh.db"}"\nsubstitutes = ""\n[[accounts]]\n'
                   f'id = "ib"\nhousehold = "h"\nbroker = "ibkr"\nbroker_account = "{CODE}"\n')
    flex = tmp_path / "flex.xml"
    spin = action(20, "20240701", "SO", "SPUN", "20", "AAPL(US0378331005) SPINOFF 1 FOR 5 (SPUN, SPUN CO)")
    flex.write_text(report(("Trades", TRADES[:1]), ("CorporateActions", [spin])))
    result = CliRunner().invoke(app, ["--config", str(cfg), "import", str(flex)])
    assert result.exit_code == 1, result.output
    commands = [("quarantine",), ("quarantine", "resolve", "1", "--note", "booked from actions.csv"),
                ("quarantine", "--all")]
    script = "\n".join(f"echo '$ tlh {' '.join(c)}'; {shlex.quote(TLH)} --config {shlex.quote(str(cfg))} "
                       f"--log-level error {shlex.join(c)}" for c in commands)
    lines = run_in_pane(tmp_path, columns, script)
    out_dir = Path(os.environ.get("TLH_TEST_OUTPUT", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"quarantine-{columns}.txt").write_text("\n".join(lines) + "\n")
    text = "\n".join(lines)
    assert "…" not in text and "['" not in text and "Decimal(" not in text
    assert "tlh sync --retry" in text and "resolved: booked from actions.csv" in text
    found = tables(lines)
    assert len(found) == 2, text
    for table in found:
        widths = {cell_len(line) for line in table}
        assert len(widths) == 1 and widths.pop() <= columns, "\n".join(table)
        for line in table:
            assert line[0] in LEFT and line[-1] in RIGHT, line
    words = " ".join(" ".join(t) for t in found)
    for needle in ("SPUN", "8937", "CorporateAction", "SO"):
        assert needle in words, needle
