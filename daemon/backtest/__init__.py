"""Backtests: the live harvest engine and the paper broker's fills, stepped day by day over real price
history, next to the same portfolio without harvesting (`tlh backtest`).

`run(portfolio, history, start, end, frequency, progress) -> Result`; `load_portfolio(path)` reads a
portfolio file (config/backtests/*.toml); `load_history(path)` a wide file of daily closes.
"""

from daemon.backtest.data import History, LargeMove, load_history
from daemon.backtest.portfolio import DirectIndex, Portfolio, Rebalance, Sleeve, Taxes, load_portfolio
from daemon.backtest.result import Result
from daemon.backtest.simulate import FREQUENCIES, BacktestError, run

__all__ = [
    "FREQUENCIES", "BacktestError", "DirectIndex", "History", "LargeMove", "Portfolio", "Rebalance", "Result",
    "Sleeve", "Taxes", "load_history", "load_portfolio", "run",
]
