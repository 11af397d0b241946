"""Asset-location hints: misplaced holdings, swaps that keep each account's value, the yearly saving."""

from __future__ import annotations

from decimal import Decimal

from daemon.config.loader import SHIPPED_LOCATION, SHIPPED_SUBSTITUTES, load_location_table, load_substitutes
from daemon.config.models import AssetClass, LocationClass
from daemon.engine.location import ClassIndex, drag, hints, holdings
from daemon.ledger import IdenticalGroups, LedgerState
from tests.engine.helpers import ACCOUNTS, AS_OF, IDENTICAL, TAX, D, ledger, quotes, t

REIT = LocationClass(name="us_reits", placement="tax_advantaged", typical_yield=D("0.04"), section_199a=D("0.6"),
                     qualified=D("0.1"))
STOCKS = LocationClass(name="us_total_market", placement="taxable", typical_yield=D("0.015"), qualified=D("0.9"),
                       ordinary=D("0.1"))
BONDS = LocationClass(name="bonds", placement="tax_advantaged", typical_yield=D("0.04"), ordinary=D("1"),
                      members=["BND"])
MUNIS = LocationClass(name="munis", placement="taxable", typical_yield=D("0.03"), exempt=D("1"), members=["VTEB"])
CLASSES = (AssetClass(name="us_total_market", members=["VTI", "ITOT"]), AssetClass(name="us_reits", members=["VNQ"]))
PRICES = quotes(VNQ=100, VTI=100, ITOT=50, BND=80, VTEB=50)


def report(state: LedgerState, table=(REIT, STOCKS, BONDS, MUNIS), classes=CLASSES,  # type: ignore[no-untyped-def]
           identical: IdenticalGroups = IDENTICAL, prices=PRICES):
    index = ClassIndex(table, classes, identical)
    held, notes = holdings(state.household, state.open_lots, ACCOUNTS, prices, index, AS_OF)
    return hints(held, TAX), notes


def test_the_drag_by_tax_character() -> None:
    # TAX: ordinary 35 %, long-term 15 %, NIIT 5 %, no state
    assert drag(REIT, TAX) == D("0.04") * (D("0.6") * (D("0.8") * D("0.35") + D("0.05")) + D("0.1") * D("0.20"))
    assert drag(STOCKS, TAX) == D("0.015") * (D("0.9") * D("0.20") + D("0.1") * D("0.40"))
    assert drag(MUNIS, TAX) == 0


def test_a_reit_in_taxable_and_stocks_in_the_ira_swap_for_a_saving() -> None:
    state = ledger(t(500, "tax", "buy", 100, "VNQ", 90), t(500, "ira", "buy", 50, "VTI", 60))
    r, notes = report(state)
    assert notes == []
    by_account = {h.account: h for h in r.hints}
    assert set(by_account) == {"tax", "ira"}
    saving = D(5000) * (drag(REIT, TAX) - drag(STOCKS, TAX))  # the IRA's $5,000 of VTI bounds the swap
    assert saving > 0
    assert by_account["tax"].estimated_annual_savings == by_account["ira"].estimated_annual_savings == saving
    assert r.estimated_annual_savings == saving  # counted once
    tax = by_account["tax"]
    assert (tax.symbol, tax.asset_class, tax.placement) == ("VNQ", "us_reits", "tax_advantaged")
    assert ("sell $5,000.00 of VNQ here and buy VTI; in ira sell $5,000.00 of VTI and buy VNQ"
            in tax.suggestion)
    assert tax.realized_gain == D(500)  # half the position moves: half its $1,000 gain
    assert "realizes about $500.00 of gain" in tax.suggestion
    assert tax.annual_tax_drag == D(10_000) * drag(REIT, TAX)
    assert "sell $5,000.00 of VTI here and buy VNQ; in tax sell $5,000.00 of VNQ and buy VTI" in by_account[
        "ira"].suggestion
    (swap,) = r.swaps
    assert swap.amount == 5000  # each account keeps its value: $5,000 out, $5,000 in


def test_well_placed_holdings_get_no_hint() -> None:
    state = ledger(t(500, "tax", "buy", 100, "VTI", 90), t(500, "ira", "buy", 50, "VNQ", 60))
    assert report(state)[0].hints == ()


def test_nothing_to_swap_with_still_says_where_the_class_belongs() -> None:
    state = ledger(t(500, "tax", "buy", 100, "BND", 90))
    (hint,) = report(state)[0].hints
    assert hint.estimated_annual_savings == 0 and "No tax-efficient holding" in hint.suggestion


def test_most_inefficient_first_and_munis_in_an_ira() -> None:
    state = ledger(t(500, "tax", "buy", 100, "BND", 80), t(500, "tax", "buy", 100, "VNQ", 100),
                   t(500, "ira", "buy", 100, "VTEB", 50))
    r, _ = report(state)
    (swap,) = r.swaps
    assert drag(BONDS, TAX) > drag(REIT, TAX)
    assert (swap.inefficient.symbol, swap.efficient.symbol, swap.amount) == ("BND", "VTEB", 5000)
    assert swap.saving == D(5000) * drag(BONDS, TAX)
    vteb = next(h for h in r.hints if h.symbol == "VTEB")
    assert "tax-exempt interest is wasted here" in vteb.suggestion
    vnq = next(h for h in r.hints if h.symbol == "VNQ")
    assert vnq.estimated_annual_savings == 0  # the IRA's room went to the bonds


def test_a_loss_sale_warns_about_buying_it_back_in_the_ira() -> None:
    state = ledger(t(500, "tax", "buy", 100, "VNQ", 120), t(500, "ira", "buy", 100, "VTI", 100))
    tax = next(h for h in report(state)[0].hints if h.account == "tax")
    assert tax.realized_gain == -2000 and "wash it for good" in tax.suggestion


def test_identical_symbols_and_unknown_ones() -> None:
    state = ledger(t(500, "tax", "buy", 10, "AAPL", 100), t(500, "ira", "buy", 10, "IVV", 100))
    table = (LocationClass(name="us_large_cap", placement="taxable", typical_yield=D("0.013"), qualified=D(1)),)
    r, notes = report(state, table, (AssetClass(name="us_large_cap", members=["VOO"]),),
                      prices=quotes(AAPL=100, IVV=100))
    assert [(h.symbol, h.asset_class) for h in r.hints] == [("IVV", "us_large_cap")]  # IVV is identical to VOO
    assert "AAPL in no asset class" in notes[0]


def test_the_shipped_table_places_a_reit_fund_against_a_total_market_fund() -> None:
    table = load_location_table(SHIPPED_LOCATION)
    identical, classes = load_substitutes(SHIPPED_SUBSTITUTES)
    names = {c.name for c in table}
    assert {c.name for c in classes} <= names  # every shipped asset class has a row
    assert all(c.source for c in table)
    state = ledger(t(500, "tax", "buy", 100, "VNQ", 90), t(500, "ira", "buy", 100, "VTI", 60))
    groups = IdenticalGroups(tuple(frozenset(g.symbols) for g in identical))
    r, _ = report(state, table, classes, groups)
    assert {(h.account, h.symbol) for h in r.hints} == {("tax", "VNQ"), ("ira", "VTI")}
    assert all(h.estimated_annual_savings > 0 for h in r.hints)
    assert r.to_dict()["hints"][0].keys() >= {"household", "account", "symbol", "asset_class", "suggestion",
                                              "estimated_annual_savings"}
    assert isinstance(r.to_dict()["estimated_annual_savings"], Decimal)


def test_no_hint_without_an_account_of_the_other_kind() -> None:
    state = ledger(t(500, "other", "buy", 100, "VNQ", 90), household="g")  # one taxable account only
    index = ClassIndex((REIT, STOCKS), CLASSES, IDENTICAL)
    held, _ = holdings("g", state.open_lots, ACCOUNTS, PRICES, index, AS_OF)
    assert len(hints(held, TAX).hints) == 1  # without the accounts: "put new money in a tax-advantaged account"
    assert hints(held, TAX, accounts=ACCOUNTS).hints == ()


def test_a_note_names_at_most_ten_unplaced_symbols() -> None:
    names = [f"S{i:02d}" for i in range(12)]
    state = ledger(*(t(500, "tax", "buy", 1, s, 10) for s in names))
    _, notes = report(state, prices=quotes(**{s: 10 for s in names}))
    assert notes == ["h: S00, S01, S02, S03, S04, S05, S06, S07, S08, S09 and 2 more in no asset class of the "
                     "location table: not placed (add them to a class's members under [[location.asset_classes]])"]
