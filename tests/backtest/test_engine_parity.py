"""One engine: a direct-index backtest stepped to a day, its state written to a store through `tlh import`,
plans on that day exactly what `tlh harvest --dry-run --as-of` plans from the store."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.backtest import simulate
from daemon.backtest.harvest import run_engine
from daemon.cli.main import app
from daemon.ledger.types import ZERO
from tests.backtest.helpers import history, settings_toml, weekdays
from tests.backtest.test_direct import SECTORS, di_portfolio, with_sectors


def _paths(days: list[date]) -> dict[str, list[float]]:
    rng = random.Random(5)
    common = [rng.gauss(0.0, 0.015) for _ in days]
    out = {}
    for k, symbol in enumerate(SECTORS):
        x, series = 100.0 + 10 * k, []
        for i in range(len(days)):
            x *= 1 + (common[i] if symbol in ("S1", "S2", "S3") else 0.0) + rng.gauss(0.0, 0.025)
            series.append(round(x, 4))
        out[symbol] = series
    return out


def test_a_backtest_day_plans_the_same_pairs_as_tlh_harvest(tmp_path: Path) -> None:
    days = weekdays(600)
    series = _paths(days)
    h = with_sectors(history(days, **series))
    p = di_portfolio(tracking_error_budget="0.05")
    start = days[130]
    ctx, twins = simulate.prepare(p, h, start=start)
    acct, twin = twins[0].acct, twins[0]
    # Step to the first trading day of a month (trailing returns are taken monthly) on which the engine
    # plans pairs; the backtest's own run of that day is what the store must reproduce.
    expected, i = None, 0
    for t_day in range(ctx.t0 + 60, ctx.t1):
        if h.dates[t_day].month == h.dates[t_day - 1].month:
            continue
        while ctx.t0 + i < t_day:
            simulate.advance(ctx, twins, i)
            i += 1
        day = h.dates[t_day]
        expected = run_engine(acct, h, t_day, ctx.settings, (), twin.restrictions,
                              direct=ctx.feed.spec(t_day, acct.gains.get(day.year, ZERO)),
                              returns=ctx.feed.returns(t_day))
        if any(x.kind.value == "harvest" for x in expected.pairs):
            break
    assert expected is not None and expected.pairs, "the scenario should harvest on a month's first day"
    assert any(x.kind.value == "harvest" for x in expected.pairs)
    assert len(acct.journal) > 20

    # The same account in a store: its trades, the prices up to the day, its cash, the index's stocks.
    trades = ["date,account,symbol,side,quantity,price,fees,lot_id"]
    trades += [f"{x.date},taxable,{x.symbol},{x.side.value},{x.quantity},{x.price},,"
               f"{x.lot_id or x.trade_id if x.side.value == 'buy' else x.lot_id}" for x in acct.journal]
    (tmp_path / "trades.csv").write_text("\n".join(trades) + "\n")
    rows = ["date,symbol,close"] + [f"{d},{s},{series[s][r]}" for r, d in enumerate(days[:t_day + 1])
                                    for s in SECTORS]
    (tmp_path / "prices.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "index.csv").write_text("symbol,weight,sector,sub_industry\n" + "".join(
        f"{s},,{sector},{sub}\n" for s, (sector, sub) in SECTORS.items()))
    harvest, tax = settings_toml(p)
    (tmp_path / "tlh.toml").write_text(f"""
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "taxable"
household = "with"
lot_method = "specific"
[accounts.direct_index]
constituents = "index.csv"
tracking_error_budget = 0.05
correlation_days = {p.direct_index.correlation_days if p.direct_index else 252}
[harvest]
{harvest}
[tax]
{tax}
[brokers.paper]
prices = "prices.csv"
starting_cash = {acct.cash}
""".replace('"true"', "true").replace('"false"', "false"))
    runner = CliRunner()
    cfg = str(tmp_path / "tlh.toml")
    imported = runner.invoke(app, ["--config", cfg, "import", str(tmp_path / "trades.csv")])
    assert imported.exit_code == 0, imported.output
    out = runner.invoke(app, ["--config", cfg, "harvest", "--dry-run", "--as-of", day.isoformat(),
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)

    def pairs(items: list[dict[str, str]]) -> list[tuple[str, str, str, Decimal]]:
        return [(x["kind"], x["sell_symbol"], x["buy_symbol"], Decimal(x["sell_quantity"])) for x in items]

    assert pairs(plan["pairs"]) == pairs([x.to_dict() for x in expected.pairs])
    assert [(b["symbol"], b["notional"]) for b in plan["purchases"]] == \
        [(b.symbol, str(b.to_dict()["notional"])) for b in expected.purchases]
