"""A do-not-buy-until restriction is a wash-sale guard: the daemon records one for a pair's sale only when
the sale realized a loss. A swap back that sold its stand-in at a gain restricted nothing in the engine (and
in the backtest), yet the service used to block the stand-in for 30 days, so a later harvest of another fund
or stock could not use it as its replacement (found by the paper soak, tests/soak)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from daemon import bookkeeping
from daemon.config import load_settings
from daemon.importers.csv_trades import parse
from daemon.prices import parse as parse_prices
from daemon.service.cycle import run_cycle
from daemon.service.orders import Policy
from daemon.store.db import transaction
from daemon.store.models import Restriction
from tests.service.helpers import AS_OF, CONFIG, PRICES, paper

POLICY = Policy(fill_timeout=0.05, poll_interval=0.01, backoff=0.0, sleep=lambda s: None, faults=set())


def _household(tmp_path: Path, db_url: str) -> tuple[Any, Any]:
    (tmp_path / "prices.csv").write_text(PRICES)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url).replace("max_turnover_pct = 1",
                                                    "max_turnover_pct = 1\nswap_back = true\n"
                                                    "swap_back_max_gain_usd = 1000"))
    return load_settings(cfg), parse_prices(PRICES)


def _swap_back(tmp_path: Path, engine: Any, db_url: str, bought_at: str) -> set[str]:
    """The tax account holds 40 SCHB (VTI's stand-in, now at 50) bought 2024-03-01 at `bought_at`; the run
    swaps it back to VTI. Returns the symbols restricted afterwards."""
    trades = f"date,account,symbol,side,quantity,price,fees,lot_id\n2024-03-01,tax,SCHB,buy,40,{bought_at},,s1\n"
    settings, prices = _household(tmp_path, db_url)
    bookkeeping.book(engine, settings, parse(trades, "t.csv", {"tax", "ira"}))
    result = run_cycle(engine, settings, {"paper": paper(engine, settings, prices)}, prices, AS_OF, "paper", POLICY)
    (pair,) = result.plan.pairs
    assert (pair.kind.value, pair.sell_symbol, pair.buy_symbol) == ("swap_back", "SCHB", "VTI")
    (outcome,) = result.outcomes
    assert outcome.sell is not None and outcome.sell.filled_quantity == 40
    with transaction(engine) as session:
        return set(session.scalars(sa.select(Restriction.symbol)))


def test_a_swap_back_sold_at_a_gain_restricts_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    assert _swap_back(tmp_path, engine, db_url, "45") == set()


def test_a_swap_back_sold_at_a_loss_restricts_its_stand_in(tmp_path: Path, engine: Any, db_url: str) -> None:
    assert _swap_back(tmp_path, engine, db_url, "51") == {"SCHB"}
