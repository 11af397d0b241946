"""A direct index's new money in the terminal, as a person sees it: `tlh harvest` in paper mode in a real tmux
pane of 100 and 200 columns lists the purchases it planned and then the orders it carried out (no sale, the
buy filled), and `tlh orders` names each by its run and purchase; every table fits the pane."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.cli.test_terminal import LEFT, RIGHT, TLH, run_in_pane, tables
from tests.service.direct_household import PLANNED, household


@pytest.mark.parametrize("columns", [100, 200])
def test_purchases_carried_out_on_screen(tmp_path: Path, columns: int) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    _, _, cfg = household(tmp_path, f"sqlite:///{tmp_path / 'tlh.db'}")
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                         "2024-01-02,di,AAA,buy,10,100,,a1\n2024-01-02,di,BBB,buy,10,100,,b1\n")
    commands = [("import", str(tmp_path / "trades.csv")), ("harvest", "--as-of", "2024-05-29"), ("orders",)]
    script = "\n".join(f"echo '$ tlh {c[0]}'; {shlex.quote(TLH)} --config {shlex.quote(str(cfg))} --log-level error "
                       + " ".join(shlex.quote(a) for a in c) for c in commands)
    lines = run_in_pane(tmp_path, columns, script)
    out_dir = Path(os.environ.get("TLH_TEST_OUTPUT", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"terminal-direct-index-{columns}.txt").write_text("\n".join(lines) + "\n")

    text = "\n".join(lines)
    assert "New money" in text and "Orders carried out" in text
    carried = text[text.index("Orders carried out"):text.index("$ tlh orders")]
    for purchase_id, _, _ in PLANNED:
        row = next(line for line in carried.splitlines() if f"│ {purchase_id} " in line)
        assert "no sale" in row and "filled" in row, row
    log = text[text.index("$ tlh orders"):]
    assert all(any(f"│ {pid} " in line and symbol in line and "buy" in line for line in log.splitlines())
               for pid, symbol, _ in PLANNED), log
    assert "$2,000.00" in log and "$840.00" in log
    for table in tables(lines):
        widths = {cell_len(line) for line in table}
        assert len(widths) == 1 and widths.pop() <= columns, "\n".join(table)
        for line in table:
            assert line[0] in LEFT and line[-1] in RIGHT, f"a wrapped table line at {columns} columns:\n{line}"
