"""One engine: the soak's direct-index account (and its book of ETFs), run by the live cycle on the paper
broker day after day, and the backtest's simulation of the same account over the same days make the same
harvests and swap backs on the same days (tests.soak.compare). September and October 2008 on real closes:
dozens of harvests, swap backs at gains and at losses, stand-ins ranked by correlation within their
sub-industries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.soak import compare, household
from tests.soak.driver import Soak

FIXTURES = Path(__file__).parent.parent / "fixtures"
CLOSES = FIXTURES / "soak_closes.csv.gz"
SECURITIES = FIXTURES / "soak_securities.csv"


def test_the_live_cycle_harvests_what_the_backtest_harvests_day_by_day(tmp_path: Path) -> None:
    soak = Soak.open(household.write(tmp_path, CLOSES, SECURITIES, only="di"))
    try:
        found = compare.compare(soak, CLOSES, SECURITIES, date(2008, 9, 2), date(2008, 10, 31))
        assert soak.problems == []
    finally:
        soak.close()
    assert found.first_difference is None, "\n".join(found.differences())
    kinds = [kind for _, kind, _, _ in found.live]
    assert kinds.count("harvest") >= 20 and kinds.count("swap_back") >= 2
    assert len({day for day, *_ in found.live}) >= 15


def test_the_live_cycle_harvests_the_etf_book_as_the_backtest_does(tmp_path: Path) -> None:
    """The book of ETFs alone (its targets as the backtest's sleeves): harvests through the three US total
    market funds of 2008 and a swap back, on the same days in both."""
    soak = Soak.open(household.write(tmp_path, CLOSES, SECURITIES, only="etf"))
    try:
        found = compare.compare(soak, CLOSES, SECURITIES, date(2008, 9, 2), date(2009, 3, 31), "etf")
        assert soak.problems == []
    finally:
        soak.close()
    assert found.first_difference is None, "\n".join(found.differences())
    kinds = [kind for _, kind, _, _ in found.live]
    assert kinds.count("harvest") >= 5 and kinds.count("swap_back") >= 1
    assert {sold for _, _, sold, _ in found.live} >= {"VTI", "ITOT", "IWV"}
