"""The plan as a whole: limits, out-of-sync accounts, ordering, several households, the JSON contract."""

from __future__ import annotations

import json
from dataclasses import replace

from daemon.engine import EngineInput, HouseholdInput, SkipReason, plan
from tests.engine.helpers import (
    D,
    account,
    execute,
    harvest,
    ledger,
    make_input,
    quotes,
    run,
    skip_of,
    t,
)

PRICES = quotes(VTI=270, ITOT=100, SCHB=50, IWV=300, VOO=450, VV=200, VEA=45, IEFA=70, XYZ=5)


def three_losses():  # type: ignore[no-untyped-def]
    return ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VOO", 480),
                  t(200, "tax", "buy", 100, "VEA", 50))


def test_max_pairs_per_run_keeps_the_best_and_reports_the_rest() -> None:
    p = run(three_losses(), PRICES, config=harvest(max_pairs_per_run=2))
    assert [(x.pair_id, x.sell_symbol) for x in p.pairs] == [("p1", "VTI"), ("p2", "VOO")]
    skip = skip_of(p, "tax", "VEA")
    assert skip.reason is SkipReason.MAX_PAIRS_REACHED and "max_pairs_per_run 2" in skip.detail


def test_the_turnover_cap_shrinks_a_sale_and_then_skips_what_is_left() -> None:
    # Account value 27,000 + 45,000 + 4,500 = 76,500; a 10 % cap allows 7,650 of sales.
    p = run(three_losses(), PRICES, config=harvest(max_turnover_pct=D("0.1")))
    (pair,) = p.pairs
    assert pair.sell_symbol == "VTI" and pair.sell_quantity * 270 <= D(7650)
    assert pair.sell_quantity == D("28.333333")
    for symbol in ("VOO", "VEA"):
        skip = skip_of(p, "tax", symbol)
        assert skip.reason is SkipReason.TURNOVER_CAP and "of turnover left" in skip.detail


def test_an_account_out_of_sync_is_skipped_and_stops_every_loss_sale_of_its_household() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "spouse", "buy", 100, "VEA", 50),
                   t(5, "spouse", "buy", 1, "VTI", 280))
    p = run(state, PRICES, accounts=[account("tax"), account("spouse", in_sync=False)])
    skip = skip_of(p, "spouse", "*")
    assert skip.reason is SkipReason.RECONCILE_MISMATCH
    skip = skip_of(p, "tax", "VTI")
    assert skip.reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC and "spouse is out of sync" in skip.detail
    assert p.pairs == ()


def test_an_ira_out_of_sync_stops_the_taxable_harvest() -> None:
    # The IRA's last fill page failed to book (it holds an IVV purchase): a VOO loss sale now could be
    # washed permanently by it. Another household is planned as usual.
    state = ledger(t(200, "tax", "buy", 100, "VOO", 480), t(100, "ira", "buy", 10, "VTI", 250))
    ira = replace(account("ira"), in_sync=False, sync_detail="fills: page 2 failed to book")
    p = run(state, PRICES, accounts=[account("tax"), ira])
    skip = skip_of(p, "tax", "VOO")
    assert skip.reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC and p.pairs == ()
    assert "ira is out of sync with its broker (fills: page 2 failed to book)" in skip.detail
    other = ledger(t(200, "other", "buy", 100, "VOO", 480), household="g")
    both = replace(make_input(state, PRICES, accounts=[account("tax"), ira]),
                   households=(HouseholdInput("h", (account("tax"), ira), state),
                               HouseholdInput("g", (account("other"),), other)))
    p = plan(both)
    assert [(x.household, x.sell_symbol) for x in p.pairs] == [("g", "VOO")]
    assert skip_of(p, "tax", "VOO").reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC


def test_quarantined_activity_stops_the_household_too() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VOO", 480))
    roth = replace(account("roth"), quarantined="split of VOO on 2026-11-01 could not be applied")
    p = run(state, PRICES, accounts=[account("tax"), roth])
    skip = skip_of(p, "tax", "VOO")
    assert skip.reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC and "roth has quarantined activity" in skip.detail
    assert run(state, PRICES, accounts=[account("tax"), account("roth")]).pairs  # trusted: harvested


def test_tax_advantaged_accounts_are_never_harvested() -> None:
    state = ledger(t(200, "ira", "buy", 100, "VTI", 300), t(200, "roth", "buy", 100, "VTI", 300))
    p = run(state, PRICES)
    assert p.pairs == () and p.skipped == ()


def test_a_symbol_in_no_asset_class_has_no_replacement() -> None:
    state = ledger(t(200, "tax", "buy", 100, "XYZ", 10))
    skip = skip_of(run(state, PRICES), "tax", "XYZ")
    assert skip.reason is SkipReason.NO_ELIGIBLE_REPLACEMENT and "XYZ is in no asset class" in skip.detail


def test_a_symbol_identical_to_a_member_belongs_to_its_asset_class() -> None:
    state = ledger(t(200, "tax", "buy", 100, "SPLG", 60))
    (pair,) = run(state, {**PRICES, **quotes(SPLG=50)}).pairs
    assert pair.buy_symbol == "VV"  # us_large_cap, skipping VOO (same index as SPLG)


def test_the_plan_is_deterministic_and_does_not_depend_on_account_order() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "spouse", "buy", 100, "VTI", 300),
                   t(200, "fifo", "buy", 50, "VOO", 500))
    accounts = [account("tax"), account("spouse"), account("fifo")]
    a = run(state, PRICES, accounts=accounts)
    b = run(state, PRICES, accounts=list(reversed(accounts)))
    assert a == b
    assert [x.pair_id for x in a.pairs] == ["p1", "p2", "p3"]
    assert [x.account for x in a.pairs] == ["spouse", "tax", "fifo"]  # best first; ties: by account id


def test_households_are_planned_independently() -> None:
    h = ledger(t(200, "tax", "buy", 100, "VTI", 300))
    g = ledger(t(100, "other", "buy", 10, "ITOT", 110), t(20, "other", "sell", 10, "ITOT", 100),
               t(5, "other", "buy", 1, "VTI", 280), household="g")
    base = make_input(h, PRICES)
    both = replace(base, households=(*base.households,
                                     HouseholdInput("g", (account("other"),), g)))
    p = plan(both)
    (pair,) = p.pairs
    assert (pair.household, pair.buy_symbol) == ("h", "ITOT")  # g's loss on ITOT is not h's concern


def test_the_plan_serializes_to_the_json_contract() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "XYZ", 10))
    p = run(state, PRICES)
    data = json.loads(json.dumps(p.to_dict()))
    assert set(data) >= {"run_id", "as_of", "mode", "pairs", "skipped", "restrictions", "alerts"}
    assert (data["run_id"], data["as_of"], data["mode"]) == ("run-1", "2026-11-20", "dry-run")
    (pair,) = data["pairs"]
    assert set(pair) >= {"pair_id", "account", "sell_symbol", "sell_quantity", "lots", "estimated_loss",
                         "estimated_short_loss", "estimated_long_loss", "estimated_benefit",
                         "estimated_cost", "buy_symbol", "buy_notional", "buy_quantity_estimate",
                         "sell_price"}
    assert pair["lots"] == [p.pairs[0].lots[0].lot_id] and pair["estimated_loss"] == "3000.00"
    assert pair["sell_quantity"] == "100" and pair["sell_price"] == "270"
    (skip,) = data["skipped"]
    assert skip == {"household": "h", "account": "tax", "symbol": "XYZ", "reason": "no_eligible_replacement",
                    "detail": skip["detail"]}
    assert {r["symbol"] for r in data["restrictions"]} == {"VTI"}
    assert data["restrictions"][0]["until"] == "2026-12-21"


def test_an_all_cash_account_plans_nothing_but_says_the_cash_is_idle() -> None:
    inp: EngineInput = make_input(ledger(), PRICES, accounts=[account("tax", 100)])
    p = plan(inp)
    assert p.pairs == () and p.skipped == ()
    (alert,) = p.alerts
    assert alert.kind == "cash_above_limit" and "100.0 % of the account value" in alert.message


def test_executing_a_busy_plan_creates_no_wash_sale() -> None:
    state = ledger(
        t(300, "tax", "buy", 100, "VTI", 300), t(250, "spouse", "buy", 50, "ITOT", 120),
        t(200, "fifo", "buy", 40, "VOO", 500), t(150, "lifo", "buy", 30, "IVV", 490),
        t(60, "spouse", "buy", 10, "SCHB", 60), t(25, "spouse", "sell", 10, "SCHB", 52),
        t(12, "ira", "buy", 5, "VEA", 48), t(200, "tax", "buy", 100, "VEA", 55),
    )
    p = run(state, {**PRICES, **quotes(IVV=450)})
    assert len(p.pairs) >= 3
    assert execute(state, p)[1] == []
