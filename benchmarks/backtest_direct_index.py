"""How long `tlh backtest` takes for the direct index of S&P 500 stocks (every stock of securities.csv,
about 500) over 20 years of daily harvesting.

Goal (issue 16): at most 10 s for the backtest itself (2 vCPU); the engine decides every trade of the direct
index (replacements, per-lot swap backs, new money). Loading the price file is timed apart.

Run:  .venv/bin/python benchmarks/backtest_direct_index.py [--start 2006-08-01] [--end 2026-07-31]
                                                          [--frequency daily] [--profile]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_three_fund import ROOT, main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(ROOT / "config" / "backtests" / "direct_index_sp500.toml", 10.0))
