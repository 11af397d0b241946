from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app


def test_flags_low_correlation_and_same_index_alternates(tmp_path: Path) -> None:
    rnd = random.Random(7)
    a = b = c = d = 100.0
    lines = ["date,AAA,BBB,CCC,DDD"]
    day = date(2024, 1, 1)
    for _ in range(120):
        r = rnd.gauss(0, 0.01)
        a *= 1 + r
        b *= 1 + r + rnd.gauss(0, 0.0005)   # tracks AAA closely
        c *= 1 + rnd.gauss(0, 0.01)         # unrelated
        d *= 1 + r                          # same index as AAA
        lines.append(f"{day},{a:.4f},{b:.4f},{c:.4f},{d:.4f}")
        day += timedelta(days=1)
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "tlh.toml"
    cfg.write_text('substitutes = ""\n[[identical]]\nsymbols = ["AAA", "DDD"]\n'
                   '[[asset_classes]]\nname = "x"\nmembers = ["AAA", "BBB", "CCC", "DDD"]\n')
    result = CliRunner().invoke(app, ["--config", str(cfg), "substitutes", "check", "--prices",
                                      str(tmp_path / "p.csv"), "--format", "json"])
    assert result.exit_code == 1  # something is flagged
    flags = {(r["first"], r["second"]): r["flags"] for r in json.loads(result.stdout)}
    assert flags[("AAA", "BBB")] == []
    assert flags[("AAA", "CCC")] == ["low_correlation"]
    assert flags[("AAA", "DDD")] == ["same_index"]
