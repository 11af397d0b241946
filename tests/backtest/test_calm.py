"""A direct-index backtest skips the engine's run on days its bounds (`daemon.engine.triggers`) show that the
plan would trade nothing: on every such day the full plan is indeed empty, and the results are those of a
backtest that plans every day."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from daemon.backtest import simulate
from daemon.backtest.harvest import engine_input
from daemon.engine import plan
from tests.backtest.helpers import backtest, history, weekdays
from tests.backtest.test_direct import SECTORS, di_portfolio, with_sectors


def _series(seed: int, n: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    out = {}
    for symbol in SECTORS:
        x, s = 50.0, []
        for _ in range(n):
            x *= 1 + rng.gauss(0.0004, 0.012)
            s.append(round(x, 4))
        out[symbol] = s
    return out


@pytest.mark.parametrize(("seed", "direct"), [
    (1, {"tracking_error_budget": "0.01"}),
    (2, {"tracking_error_budget": "1"}),
    (3, {"tracking_error_budget": "0", "realized_gain_budget_usd": "300"}),
])
def test_skipped_days_plan_nothing_and_change_nothing(monkeypatch: pytest.MonkeyPatch, seed: int,
                                                      direct: dict[str, Any]) -> None:
    before, after = 130, 420
    days = weekdays(before + after)
    h = with_sectors(history(days, **_series(seed, len(days))))
    p = di_portfolio(**direct).model_copy(update={
        "monthly_contribution": Decimal(1500), "spread_bps": Decimal(4),
        "harvest": di_portfolio().harvest.model_copy(update={"min_loss_usd": Decimal(100),
                                                              "cash_max_pct": Decimal("0.001")}),
    })
    calm = simulate.calm
    seen = {"calm": 0, "planned": 0}

    def checked(twin: Any, history: Any, t: int, spec: Any, inp: Any = None) -> bool:
        quiet = calm(twin, history, t, spec, inp)
        if quiet:
            seen["calm"] += 1
            # The plan the backtest skips: nothing to trade.
            ctx = contexts[0]
            full = plan(engine_input(twin.acct, history, t, ctx.settings, (), twin.restrictions, direct=spec,
                                     returns=ctx.feed.returns(t)))
            assert not full.pairs and not full.purchases, history.dates[t]
        elif inp is not None:
            seen["planned"] += 1
        return quiet

    contexts: list[Any] = []
    context = simulate.context

    def keep(*a: Any, **k: Any) -> Any:
        ctx = context(*a, **k)
        contexts[:] = [ctx]
        return ctx

    monkeypatch.setattr(simulate, "context", keep)
    monkeypatch.setattr(simulate, "calm", checked)
    skipping = backtest(p, h, start=days[before])
    monkeypatch.setattr(simulate, "calm", lambda *a, **k: False)
    every_day = backtest(p, h, start=days[before])
    assert seen["calm"] > 20 and seen["planned"] > 20, seen
    assert skipping["total"]["pairs"] > 3
    skipping.pop("elapsed_seconds", None)
    every_day.pop("elapsed_seconds", None)
    assert skipping == every_day
