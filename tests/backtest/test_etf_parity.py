"""One engine for a book of ETFs too: a backtest stepped to a contribution day, its trades and cash written to
a store through `tlh import`, and `tlh harvest --dry-run --as-of` on an account with `[accounts.targets]`
(the portfolio's sleeves) plans the pairs the backtest traded that day and buys with the new money what the
backtest bought."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.backtest import simulate
from daemon.cli.main import app
from tests.backtest.helpers import harvest_settings, history, portfolio, settings_toml, weekdays

SLEEVES = [{"name": "stocks", "weight": 0.6, "members": ["A", "B"]},
           {"name": "bonds", "weight": 0.4, "members": ["C", "D"]}]


def _paths(days: list[date]) -> dict[str, list[float]]:
    rng = random.Random(11)
    out: dict[str, list[float]] = {}
    for symbol, start, vol in (("A", 100.0, 0.02), ("B", 50.0, 0.02), ("C", 80.0, 0.006), ("D", 90.0, 0.006)):
        x, series = start, []
        for _ in days:
            x *= 1 + rng.gauss(0.0, vol)
            series.append(round(x, 4))
        out[symbol] = series
    return out


def test_a_contribution_day_plans_what_tlh_harvest_plans(tmp_path: Path) -> None:
    days = weekdays(400)
    series = _paths(days)
    h = history(days, **series)
    p = portfolio(SLEEVES, monthly_contribution="2000", spread_bps="2",
                  harvest=harvest_settings(min_loss_usd="50", swap_back=False))
    ctx, twins = simulate.prepare(p, h)
    twin = twins[0]
    acct = twin.acct
    bought: list[tuple[str, Decimal]] = []
    real_buy = acct.buy

    def buy(day: date, symbol: str, notional: Decimal, close: Decimal, tag: str):  # type: ignore[no-untyped-def]
        if tag == "invest":
            bought.append((symbol, notional))
        return real_buy(day, symbol, notional, close, tag)

    acct.buy = buy  # type: ignore[method-assign]
    # Step to a month's first trading day (a contribution) after the first months; the backtest's own
    # decisions of that day are what the store must reproduce.
    found = None
    for i in range(len(days)):
        day = days[i]
        first = i > 60 and days[i - 1].month != day.month
        if first:
            journal, cash = list(acct.journal), acct.cash + p.monthly_contribution
            pairs_before, bought[:] = len(twin.pairs), []
        simulate.advance(ctx, twins, i)
        if first and bought:
            found = (day, journal, cash, twin.pairs[pairs_before:], list(bought))
            if found[3]:  # a day with a harvest pair as well as new money
                break
    assert found is not None, "the scenario should invest a contribution"
    day, journal, cash, pairs, purchases = found
    assert pairs, "the scenario should harvest on a contribution day"

    trades = ["date,account,symbol,side,quantity,price,fees,lot_id"]
    trades += [f"{x.date},taxable,{x.symbol},{x.side.value},{x.quantity},{x.price},,"
               f"{x.lot_id or x.trade_id if x.side.value == 'buy' else x.lot_id}" for x in journal]
    (tmp_path / "trades.csv").write_text("\n".join(trades) + "\n")
    rows = ["date,symbol,close"] + [f"{d},{s},{series[s][r]}" for r, d in enumerate(days) if d <= day
                                    for s in series]
    (tmp_path / "prices.csv").write_text("\n".join(rows) + "\n")
    harvest, tax = settings_toml(p)
    (tmp_path / "tlh.toml").write_text(f"""
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "taxable"
household = "with"
lot_method = "specific"
[accounts.targets]
stocks = 0.6
bonds = 0.4
[[asset_classes]]
name = "stocks"
members = ["A", "B"]
[[asset_classes]]
name = "bonds"
members = ["C", "D"]
[harvest]
{harvest}
[tax]
{tax}
[brokers.paper]
prices = "prices.csv"
starting_cash = {cash}
""")
    runner = CliRunner()
    cfg = str(tmp_path / "tlh.toml")
    imported = runner.invoke(app, ["--config", cfg, "import", str(tmp_path / "trades.csv")])
    assert imported.exit_code == 0, imported.output
    out = runner.invoke(app, ["--config", cfg, "harvest", "--dry-run", "--as-of", day.isoformat(), "--format", "json"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    assert [(x["kind"], x["sell_symbol"], x["buy_symbol"]) for x in plan["pairs"]] == \
        [(r.kind, r.sell_symbol, r.buy_symbol) for r in pairs]
    # The same funds; the amounts within cents (the backtest spends the cash its fills left, the plan its
    # estimate of them).
    assert [b["symbol"] for b in plan["purchases"]] == [s for s, _ in purchases]
    for b, (_, notional) in zip(plan["purchases"], purchases, strict=True):
        assert abs(Decimal(b["notional"]) - notional) <= Decimal("0.05")
