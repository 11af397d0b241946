"""The soak's household ("soak"): three paper accounts whose trades can wash each other's losses.

- "etf": taxable, a book of ETFs with targets in three shipped asset classes (config/substitutes.toml), so
  harvests buy the class's next member and new money goes back to the primary;
- "di": taxable, a direct index of 30 S&P 500 stocks in six sub-industries (several stand-ins each);
- "ira": a traditional IRA the daemon never trades (the engine trades taxable accounts only) that buys
  ITOT, the ETF account's first stand-in for VTI, on the first day and then every month by itself
  (`recurring`); the driver books those buys as the custodian would report them (imported trades). An
  ITOT loss realized in "etf" within 30 days of such a buy would be washed for good.

The taxable accounts start with `STARTING_CASH` at the paper broker and invest it on the first day (new
money): the holdings are bought before the crash by the daemon itself.

The test fixtures are slices of the shared price data (its README allows a small one):
tests/fixtures/soak_closes.csv.gz is `slice_closes(close.csv.gz, ..., date(2007, 8, 1), date(2009, 4, 30))`
(a year of returns before 2008-09 for the correlations), tests/fixtures/soak_securities.csv the rows of
securities.csv for `SYMBOLS`.
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

SECURITIES = Path("/work/shared/data/prices/securities.csv")
STARTING_CASH = 100_000
RECURRING_USD = 2_000
RECURRING_DAY = 15
ETFS = ["VTI", "ITOT", "IWV", "SCHB", "VEA", "IEFA", "SCHF", "VWO", "IEMG", "SCHE", "SPY"]
STOCKS = ["BAC", "C", "JPM", "PNC", "USB", "WFC",  # diversified banks
          "ADI", "INTC", "MU", "QCOM", "TXN",  # semiconductors
          "BMY", "JNJ", "LLY", "MRK", "PFE",  # pharmaceuticals
          "APA", "COP", "DVN", "EOG", "OXY",  # oil & gas E&P
          "DRI", "MCD", "SBUX", "YUM",  # restaurants
          "BA", "GD", "LMT", "NOC", "RTX"]  # aerospace & defense
SYMBOLS = ETFS + STOCKS

HEAD = """
database_url = "{db}"
mode = "paper"
"""
ETF = """
[[accounts]]
id = "etf"
household = "soak"
lot_method = "{etf_lots}"
[accounts.targets]
us_total_market = 0.6
intl_developed = 0.25
emerging_markets = 0.15
"""
DI = """
[[accounts]]
id = "di"
household = "soak"
lot_method = "specific"
[accounts.direct_index]
constituents = "constituents.csv"
tracking_error_budget = {tracking_error}
"""
IRA = """
[[accounts]]
id = "ira"
type = "traditional_ira"
household = "soak"
[[accounts.recurring]]
symbol = "ITOT"
amount = {recurring}
day_of_month = {recurring_day}
"""
TAIL = """
[harvest]
swap_back = true
max_turnover_pct = 1
# The engine's spread estimate is the paper broker's fill rule (as the backtest's is): with the defaults (5
# against 2 bps) every plan's costs and buy sizes would differ from the fills by a few cents.
default_spread_bps = 4

[brokers.paper]
prices = "{prices}"
starting_cash = {cash}
spread_bps = 4
"""


def write(folder: Path, prices: Path, securities: Path = SECURITIES, db: str | None = None,
          tracking_error: str = "0.05", etf_lots: str = "specific", only: str | None = None) -> Path:
    """The household's configuration and constituents file in `folder`; returns the TOML's path.
    `only` "di" or "etf": that account alone (what a backtest can run)."""
    wanted = set(STOCKS)
    with securities.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["symbol"] in wanted]
    missing = wanted - {r["symbol"] for r in rows}
    if missing:
        raise ValueError(f"{securities}: no sector for {sorted(missing)}")
    (folder / "constituents.csv").write_text("symbol,weight,sector,sub_industry\n" + "".join(
        f"{r['symbol']},,{r['sector']},\"{r['sub_industry']}\"\n" for r in rows))
    toml = folder / "tlh.toml"
    config = HEAD + {"di": DI, "etf": ETF}.get(only or "", ETF + DI + IRA) + TAIL
    toml.write_text(config.format(db=db or f"sqlite:///{folder / 'soak.db'}", prices=prices, cash=STARTING_CASH,
                                  recurring=RECURRING_USD, recurring_day=RECURRING_DAY,
                                  tracking_error=tracking_error, etf_lots=etf_lots))
    return toml


def slice_closes(source: Path, target: Path, start: date, end: date, symbols: list[str] = SYMBOLS) -> int:
    """Copy the closes of `symbols` from `start` through `end` out of the wide file `source` (gzip) into
    `target` (gzip, same layout); returns the rows written. How tests/fixtures/soak_closes.csv.gz was made."""
    with gzip.open(source, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = [header.index(s) for s in symbols]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", *symbols])
        n = 0
        for row in reader:
            if start.isoformat() <= row[0] <= end.isoformat():
                writer.writerow([row[0], *(row[c] for c in cols)])
                n += 1
    target.write_bytes(gzip.compress(out.getvalue().encode(), mtime=0))
    return n
