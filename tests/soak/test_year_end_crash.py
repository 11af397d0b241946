"""A crash after the year's last harvest has sold: the daemon is down for the rest of the year, and the sale it
never booked is found by the next year's first run. The loss belongs to the year the broker sold in: the
ledger's sale must carry the fill's trade date, not the day it was booked, and the year's summary must count
it (tests.soak.invariants.year_end checks the summary against the ledger; this checks the ledger against the
broker)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from daemon.market_calendar import sessions
from daemon.store.db import reading
from daemon.store.models import PaperOrder
from tests.soak import household, invariants
from tests.soak.driver import Soak

FIXTURES = Path(__file__).parent.parent / "fixtures"

# With the soak's household started on 2008-11-17, the last 2008 session it harvests on: the direct index
# sells BAC at a loss into PNC (the test fails loudly below if the data or the engine ever change that).
LAST_HARVEST = date(2008, 12, 19)


def test_a_crash_after_the_years_last_sale_books_the_loss_in_that_year(tmp_path: Path) -> None:
    soak = Soak.open(household.write(tmp_path, FIXTURES / "soak_closes.csv.gz", FIXTURES / "soak_securities.csv"))
    rest_of_year = {s.day for s in sessions(date(2008, 12, 22), date(2008, 12, 31))}
    try:
        soak.run(date(2008, 11, 17), date(2008, 12, 18))
        december = [s.day for s in sessions(date(2008, 12, 1), date(2008, 12, 31))]
        plan = soak.cycle(LAST_HARVEST, "dry-run").plan
        assert [(p.account, p.sell_symbol) for p in plan.pairs] == [("di", "BAC")]
        # Killed once the sale has filled at the broker, before the ledger books it or the buy is placed, and
        # not restarted: the daemon stays down until 2009.
        soak.recurring(LAST_HARVEST, december, False)
        assert soak.crash(LAST_HARVEST, "after_sell_fill")
        assert _bac_sales(soak) == []  # sold at the broker, not yet in the ledger
        soak.run(date(2008, 12, 22), date(2009, 1, 9), down=rest_of_year)
        assert soak.problems == []
        assert invariants.year_end(soak.settings, soak.config, soak.engine, 2008) == []

        with reading(soak.engine) as session:
            sold = session.execute(sa.select(PaperOrder.trade_date, PaperOrder.filled_quantity).where(
                PaperOrder.account_id == "di", PaperOrder.symbol == "BAC", PaperOrder.side == "sell")).all()
        assert [day for day, _ in sold] == [LAST_HARVEST]
        sales = _bac_sales(soak)
        assert sales and {d.sold for d in sales} == {LAST_HARVEST}
        assert sum(d.quantity for d in sales) == sold[0][1]
        assert sum(d.proceeds - d.cost_basis for d in sales) < 0  # a loss, in 2008's return
        # The interrupted pair's replacement was bought once the daemon was back, and nothing twice.
        assert any(p["sell_symbol"] == "BAC" for _, p in invariants.filled_pairs(soak.engine))
    finally:
        soak.close()


def _bac_sales(soak: Soak) -> list:
    (state,) = [s for s in invariants._ledger(soak.engine, soak.settings) if s.household == "soak"]
    return [d for d in state.dispositions if d.account == "di" and d.symbol == "BAC" and d.kind == "sale"]
