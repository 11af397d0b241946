"""The backtest is a driver (issue 16, one engine): its rebalancing and tax sales are exactly the lots the
engine's `daemon.engine.rebalance` chose, and no module of daemon/backtest/ sells anything else of its own."""

from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import daemon.backtest
from daemon.backtest import simulate
from daemon.backtest.account import SimAccount
from daemon.engine import rebalance as engine_rebalance
from daemon.ledger import Lot
from tests.backtest.helpers import harvest_settings, history, portfolio, weekdays


def _series(days: list[date]) -> dict[str, list[float]]:
    """Stocks rise fast and bonds slowly: a 60 / 40 book drifts over 3 points and pays tax on its gains."""
    rng = random.Random(5)

    def walk(start: float, drift: float, vol: float) -> list[float]:
        out, x = [], start
        for _ in days:
            x *= 1 + rng.gauss(drift, vol)
            out.append(round(x, 4))
        return out

    return {"A": walk(100, 0.004, 0.015), "B": walk(50, 0.004, 0.015), "C": walk(80, 0.0, 0.004),
            "D": walk(90, 0.0, 0.004)}


def test_rebalancing_and_tax_sales_are_the_engines_lots(monkeypatch: pytest.MonkeyPatch) -> None:
    days = weekdays(700)
    series = _series(days)
    p = portfolio([{"name": "stocks", "weight": 0.6, "members": ["A", "B"]},
                   {"name": "bonds", "weight": 0.4, "members": ["C", "D"]}], monthly_contribution="500",
                  spread_bps="2", rebalance={"rule": "threshold", "threshold": "0.03"},
                  taxes={"paid_from": "portfolio"}, harvest=harvest_settings(swap_back=False))
    decided: list[tuple[str, date, str, Decimal]] = []
    filled: list[tuple[str, date, str, Decimal]] = []
    real_rebalance, real_raise, real_sell = engine_rebalance.rebalance, engine_rebalance.raise_cash, SimAccount.sell

    def rebalance(*args: Any, **kw: Any) -> list[engine_rebalance.Sale]:
        sales = real_rebalance(*args, **kw)
        decided.extend(("rebalance", args[6], s.lot_id, s.quantity) for s in sales)
        return sales

    def raise_cash(*args: Any, **kw: Any) -> list[engine_rebalance.Sale]:
        sales = real_raise(*args, **kw)
        decided.extend(("tax", args[6], s.lot_id, s.quantity) for s in sales)
        return sales

    def sell(self: SimAccount, day: date, lot: Lot, quantity: Decimal, close: Decimal, tag: str) -> Any:
        if tag in ("rebalance", "tax"):
            filled.append((tag, day, lot.lot_id, quantity))
        return real_sell(self, day, lot, quantity, close, tag)

    monkeypatch.setattr(engine_rebalance, "rebalance", rebalance)
    monkeypatch.setattr(engine_rebalance, "raise_cash", raise_cash)
    monkeypatch.setattr(SimAccount, "sell", sell)
    out = simulate.run(p, history(days, **series)).to_dict()
    assert {tag for tag, *_ in filled} == {"rebalance", "tax"}
    assert filled == decided
    assert out["total"]["taxes_paid"]["without_harvesting"] > 0
    assert all(y["wash_sales_created"] == 0 for y in out["years"])


def test_annual_rebalancing_sells_back_to_the_targets_on_the_first_trading_day_of_its_month() -> None:
    days = weekdays(700)
    p = portfolio([{"name": "stocks", "weight": 0.6, "members": ["A", "B"]},
                   {"name": "bonds", "weight": 0.4, "members": ["C", "D"]}], monthly_contribution="500",
                  spread_bps="2", rebalance={"rule": "annual", "month": 3}, taxes={"paid_from": "outside"},
                  harvest=harvest_settings(swap_back=False))
    ctx, twins = simulate.prepare(p, history(days, **_series(days)))
    without = twins[1]
    sold: list[date] = []
    for i in range(len(days)):
        simulate.advance(ctx, twins, i)
        acct = without.acct
        sold += [t.date for t in acct.journal if acct.tags[t.trade_id] == "rebalance" and t.date == days[i]]
        if sold and sold[-1] == days[i]:
            w = ctx.alloc.weights(ctx.t0 + i)
            value = acct.value(ctx.history.priced[ctx.t0 + i])
            stocks = sum(float(acct.shares(s)) * ctx.history.price(ctx.t0 + i, s) for s in ("A", "B"))
            assert abs(stocks / value - w["stocks"]) < 0.005  # back at its target once new money bought bonds
    firsts = {d for k, d in enumerate(days) if k > 0 and d.month == 3 and days[k - 1].month != 3}
    assert sold and set(sold) <= firsts
    assert len(set(sold)) == len(firsts)


def test_no_module_of_the_backtest_chooses_lots_or_reimplements_a_guard() -> None:
    """Sales are filled only where the engine's plans are (harvest.py) and by the placebo (placebo.py: random
    swaps that measure the data, not a strategy); no module re-implements the wash-sale guards."""
    root = Path(daemon.backtest.__file__).parent
    sellers = sorted(f.name for f in root.glob("*.py") if re.search(r"\.sell\(", f.read_text()))
    assert sellers == ["harvest.py", "placebo.py"]
    for f in root.glob("*.py"):
        text = f.read_text()
        assert not re.search(r"\b(lookback|lot_sale|loss_sale_washes)\b", text), f.name
