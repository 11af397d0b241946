"""The overview's upcoming swap backs for a household with a direct index ("di") beside a fund account
("tax"), as a person sees them in headless Chromium: the fund's replacement waits for `[harvest] swap_back`
(off), the direct index's stand-in is swapped back lot by lot whatever that switch says, and the page says
so. Built with the CLI (import, one paper harvest on the last price day, which is today), served by
`tlh serve`; screenshots in test-output/web/."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page

from daemon.market_calendar import trade_date
from tests.web.test_browser import OUT, browser, clean_env, page, serving, shoot, tlh  # noqa: F401

TODAY = trade_date(datetime.now(UTC))
CONSTITUENTS = """symbol,weight,sector,sub_industry
AAA,,Information Technology,Semiconductors
BBB,,Information Technology,Semiconductors
CCC,,Information Technology,Semiconductors
DDD,,Financials,Diversified Banks
"""
CONFIG = """
database_url = "sqlite:///tlh.db"
mode = "paper"
substitutes = ""
[[accounts]]
id = "di"
household = "h"
lot_method = "specific"
[accounts.direct_index]
constituents = "index.csv"
realized_gain_budget_usd = 500
[[accounts]]
id = "tax"
household = "h"
lot_method = "specific"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "SCHB"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[brokers.paper]
prices = "prices.csv"
spread_bps = 0
starting_cash = 3000
"""


def _prices() -> tuple[str, str, date]:
    """60 weekdays up to today: CCC moves with AAA, BBB against it; AAA and VTI end 20 % down."""
    days, day = [], TODAY
    while len(days) < 60:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    lines = ["date,symbol,close"]
    for n, d in enumerate(days):
        wiggle = math.sin(n * 1.3) * 0.01
        last = 0.8 if n == 59 else 1.0
        for symbol, close in (("AAA", 100 * (1 + wiggle) * last), ("BBB", 100 * (1 - wiggle)),
                              ("CCC", 50 * (1 + wiggle)), ("DDD", 40.0), ("VTI", 250 * last), ("SCHB", 60.0)):
            lines.append(f"{d},{symbol},{close:.4f}")
    return "\n".join(lines) + "\n", days[0].isoformat(), days[-1]


@pytest.fixture(scope="module")
def household(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, date]]:
    work = tmp_path_factory.mktemp("direct-web")
    prices, first, last = _prices()
    (work / "prices.csv").write_text(prices)
    (work / "index.csv").write_text(CONSTITUENTS)
    (work / "trades.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                     f"{first},di,AAA,buy,30,100,,a1\n"
                                     f"{first},di,BBB,buy,30,100,,b1\n"
                                     f"{first},tax,VTI,buy,40,250,,v1\n")
    cfg = work / "tlh.toml"
    cfg.write_text(CONFIG)
    env = clean_env()
    tlh(cfg, "db", "upgrade", env=env)
    tlh(cfg, "import", str(work / "trades.csv"), env=env)
    plan = json.loads(tlh(cfg, "harvest", "--as-of", last.isoformat(), "--format", "json", env=env))
    assert sorted((p["account"], p["sell_symbol"], p["buy_symbol"]) for p in plan["pairs"]) == [
        ("di", "AAA", "CCC"), ("tax", "VTI", "SCHB")]
    assert [b["account"] for b in plan["purchases"]] and {b["account"] for b in plan["purchases"]} == {"di"}
    (work / "plan.json").write_text(json.dumps(plan))
    yield cfg, last


def test_direct_index_stand_ins_swap_back_per_lot(household: tuple[Path, date], page: Page) -> None:  # noqa: F811
    cfg, day = household
    with serving(cfg) as base:
        overview = json.loads(page.request.get(base + "/api/overview").text())
        rows = {(r["account"], r["symbol"]): r for r in overview["swap_backs"]}
        eligible = (day + timedelta(days=31)).isoformat()
        assert {k: (r["primary"], r["eligible"], r["enabled"], r["direct_index"]) for k, r in rows.items()} == {
            ("di", "CCC"): ("AAA", eligible, True, True), ("tax", "SCHB"): ("VTI", eligible, False, False)}
        assert rows[("di", "CCC")]["rule"] == "per lot, to the most underweight peer, within a $500 gain budget"

        response = page.goto(base + "/")
        assert response is not None and response.status == 200
        section = page.locator("#swap-backs")
        direct = section.locator("#swap-back-direct")
        assert direct.is_visible()
        assert direct.inner_text().startswith("Direct index (di): stand-ins are swapped back lot by lot, whatever "
                                              "[harvest] swap_back says.")
        assert section.locator("#swap-back-off").inner_text() == (
            "Swap back is off for funds ([harvest] swap_back = false): the funds' replacements stay unless you "
            "switch it on.")
        table = section.locator("tbody tr")
        cells = {table.nth(i).locator("td").first.inner_text(): table.nth(i).locator("td").all_inner_texts()
                 for i in range(table.count())}
        assert cells["di"][1:3] == ["CCC", "AAA"] and cells["tax"][1:3] == ["SCHB", "VTI"]
        for (account, _), r in rows.items():
            assert cells[account][-2:] == [eligible, str(r["days_left"])]  # bought 31 days before "From"
            # The API's exact shares, four decimals on the page (47.987995721 would push the table off it)
            assert Decimal(cells[account][3]) == Decimal(str(r["quantity"])).quantize(Decimal("0.0001"))
            assert 25 <= r["days_left"] <= 31
        section.screenshot(path=str(OUT / "overview-direct-index-swap-backs.png"))
        shoot(page, "overview-direct-index")


def test_the_run_page_lists_the_new_money_and_its_orders(household: tuple[Path, date], page: Page) -> None:  # noqa: F811
    cfg, _ = household
    plan = json.loads((cfg.parent / "plan.json").read_text())
    with serving(cfg) as base:
        response = page.goto(f"{base}/runs/{plan['run_id']}")
        assert response is not None and response.status == 200
        rows = page.locator("#purchases tbody tr")
        assert rows.count() == len(plan["purchases"])
        shown = [rows.nth(i).locator("td").all_inner_texts()[:3] for i in range(rows.count())]
        assert shown == [[b["purchase_id"], "di", b["symbol"]] for b in plan["purchases"]]
        orders = page.locator("#orders tbody tr")
        legs = [orders.nth(i).locator("td").all_inner_texts()[:5] for i in range(orders.count())]
        for b in plan["purchases"]:
            assert [b["purchase_id"], "buy", "di", b["symbol"], "filled"] in legs, legs
        page.locator("#purchases").screenshot(path=str(OUT / "run-direct-index-purchases.png"))
        shoot(page, "run-direct-index")
