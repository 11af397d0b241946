"""Synthetic price paths and small portfolios for backtest scenarios."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from daemon.backtest import History, Portfolio, Result, run

START = date(2024, 1, 8)  # a Monday


def weekdays(n: int, start: date = START) -> list[date]:
    out: list[date] = []
    day = start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def history(days: Sequence[date], **columns: Sequence[float | None]) -> History:
    return History.from_columns(days, dict(columns))


def fall_and_recover(n: int = 41) -> list[float]:
    """100, down 1 a day to 90 (day 10), up 0.5 a day to 100 (day 30), then flat."""
    out = []
    for i in range(n):
        if i <= 10:
            out.append(100.0 - i)
        elif i <= 30:
            out.append(90.0 + 0.5 * (i - 10))
        else:
            out.append(100.0)
    return out


def harvest_settings(**overrides: Any) -> dict[str, Any]:
    return {"circuit_breaker": False, "min_loss_pct": "0.05", "min_loss_usd": "1", "min_net_benefit_usd": "0",
            "max_turnover_pct": "1", "swap_back": True, "swap_back_max_gain_usd": "100000", **overrides}


def portfolio(sleeves: Sequence[dict[str, Any]] | None = None, **overrides: Any) -> Portfolio:
    raw: dict[str, Any] = {
        "name": "test", "initial_deposit": "10000", "spread_bps": "0", "substitutes": False,
        "rebalance": {"rule": "none"},
        "taxes": {"short_term_rate": "0.35", "long_term_rate": "0.15", "niit_rate": "0.05", "state_rate": "0"},
        "harvest": harvest_settings(),
        "sleeves": list(sleeves or [{"name": "fund", "weight": 1, "members": ["A", "B"]}]),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return Portfolio.model_validate(raw)


def backtest(p: Portfolio, h: History, **kw: Any) -> dict[str, Any]:
    result: Result = run(p, h, **kw)
    return result.to_dict()


def D(x: object) -> Decimal:  # noqa: N802
    return Decimal(str(x))


def _toml(value: object) -> str:
    """A dumped setting as TOML: booleans and numbers bare, words (the policies' names) quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return json.dumps(value)
    return str(value)


def settings_toml(p: Portfolio) -> tuple[str, str]:
    """The portfolio's [harvest] and [tax] settings as TOML lines, for a store the CLI plans from."""
    harvest = "\n".join(f"{k} = {_toml(v)}" for k, v in p.harvest_config().model_dump(mode="json").items()
                        if not isinstance(v, list) and v is not None)
    tax = "\n".join(f"{k} = {_toml(v)}" for k, v in p.taxes.tax_config().model_dump(mode="json").items()
                    if v is not None)
    return harvest, tax
