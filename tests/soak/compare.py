"""The live cycle against the backtest (issue 16, "one engine"): one of the soak's taxable accounts (alone:
the backtest runs one account) run day by day through `run_cycle` on the paper broker, and `tlh backtest`'s
simulator run over the same days with the same stocks or funds, money, spread and settings, should make the
same harvests and swap backs on the same days.

Both start with cash only and let the engine invest it on the first day; neither gets new money after that.
The backtest's taxes are paid from outside the portfolio (no April 15 sales, which the daemon never makes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from daemon.backtest import simulate
from daemon.backtest.data import load_history
from daemon.backtest.portfolio import DirectIndex, Portfolio, Rebalance, Sleeve, Taxes
from daemon.config.models import Settings
from tests.soak import household, invariants
from tests.soak.driver import Soak

Move = tuple[date, str, str, str]  # day, kind, sold, bought


def portfolio(settings: Settings, account: str, priced: set[str]) -> Portfolio:
    """The backtest's twin of the daemon's `account`: its stocks or its targets' asset classes (members in
    the configured order; those without any price left out, as the backtest refuses them and the daemon can
    never buy them), settings and starting cash."""
    config = settings.account(account)
    assert config is not None
    common = {"name": f"soak_{account}", "initial_deposit": settings.brokers.paper.starting_cash,
              "monthly_contribution": Decimal(0), "spread_bps": settings.brokers.paper.spread_bps,
              "rebalance": Rebalance(rule="contributions"), "harvest": settings.harvest,
              "taxes": Taxes(**settings.tax.model_dump(), paid_from="outside")}
    di = config.direct_index
    if di is None:
        classes = {c.name: c for c in settings.asset_classes}
        sleeves = [Sleeve(name=n, weight=w, members=[m for m in classes[n].members if m in priced])
                   for n, w in config.targets.items()]
        return Portfolio(**common, sleeves=sleeves)
    return Portfolio(**common, direct_index=DirectIndex(
        universe=list(household.STOCKS), weighting="equal", new_listings=False,
        correlation_days=di.correlation_days, exclude=di.exclude, tracking_error_budget=di.tracking_error_budget,
        realized_gain_budget_usd=di.realized_gain_budget_usd))


def backtest_moves(settings: Settings, prices: Path, securities: Path, start: date, end: date,
                   account: str = "di") -> list[Move]:
    history = load_history(prices, securities)
    ctx, twins = simulate.prepare(portfolio(settings, account, set(history.col)), history, start=start, end=end)
    for i in range(ctx.t1 - ctx.t0 + 1):
        simulate.advance(ctx, twins, i)
    return [(r.day, r.kind, r.sell_symbol, r.buy_symbol) for r in twins[0].pairs]


def live_moves(soak: Soak, account: str = "di") -> list[Move]:
    return [(day, p["kind"], p["sell_symbol"], p["buy_symbol"]) for day, p in invariants.filled_pairs(soak.engine)
            if p["account"] == account]


@dataclass
class Comparison:
    live: list[Move]
    backtest: list[Move]

    @property
    def first_difference(self) -> date | None:
        days = sorted({m[0] for m in self.live} | {m[0] for m in self.backtest})
        for day in days:
            if sorted(m for m in self.live if m[0] == day) != sorted(m for m in self.backtest if m[0] == day):
                return day
        return None

    def differences(self) -> list[str]:
        live, back = set(self.live), set(self.backtest)
        return ([f"{d} {k} {s}->{b}: live only" for d, k, s, b in sorted(live - back)]
                + [f"{d} {k} {s}->{b}: backtest only" for d, k, s, b in sorted(back - live)])


def compare(soak: Soak, prices: Path, securities: Path, start: date, end: date, account: str = "di") -> Comparison:
    """Run the soak (no crashes: an abandoned buy is a difference by design) and the backtest."""
    soak.run(start, end)
    return Comparison(live_moves(soak, account), backtest_moves(soak.settings, prices, securities, start, end,
                                                                account))
