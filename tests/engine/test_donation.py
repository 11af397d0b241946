"""Choosing the lots to give: long-term lots at a gain, lowest basis per dollar first, about an amount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config.models import GivingConfig
from daemon.engine.donation import choose, planned_lots, rank
from daemon.ledger import LedgerState
from tests.engine.helpers import ACCOUNTS, AS_OF, TAX, D, ledger, quotes, run, t

PRICES = quotes(VTI=100, ITOT=50)


def household() -> LedgerState:
    """Taxable: ITOT and VTI long-term at large and small gains, a short-term VTI lot at the largest gain,
    a long-term VTI lot at a loss; the IRA: a long-term VTI lot at a huge gain."""
    return ledger(t(600, "tax", "buy", 20, "ITOT", 20, lot="itot-low"),   # basis 0.4 per dollar
                  t(500, "tax", "buy", 10, "VTI", 50, lot="vti-low"),     # 0.5
                  t(400, "tax", "buy", 10, "VTI", 80, lot="vti-mid"),     # 0.8
                  t(100, "tax", "buy", 10, "VTI", 10, lot="vti-short"),   # 0.1, but short-term
                  t(700, "tax", "buy", 5, "VTI", 150, lot="vti-loss"),    # a loss
                  t(800, "ira", "buy", 10, "VTI", 5, lot="vti-ira"))      # not a taxable account


def ranked(state: LedgerState | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return rank((state or household()).open_lots, ACCOUNTS, PRICES, AS_OF, max_price_age_days=4, **kw)  # type: ignore[arg-type]


def test_long_term_gains_only_lowest_basis_per_dollar_first() -> None:
    r = ranked()
    assert [g.lot_id for g in r.lots] == ["itot-low", "vti-low", "vti-mid"]
    assert "1 short-term lot(s) at a gain left out" in r.notes[0]
    assert "1 lot(s) at or below their basis" in r.notes[1]


def test_the_amount_takes_whole_lots_then_shares_of_the_next() -> None:
    gift = choose("h", D(1550), ranked(), AS_OF, TAX, GivingConfig())
    # all 20 ITOT ($1,000), then 5 of the 10 low-basis VTI ($500); $50 left is less than a VTI share
    assert [(g.lot_id, g.quantity) for g in gift.lots] == [("itot-low", 20), ("vti-low", 5)]
    assert gift.deduction == 1500
    assert [g.cost_basis for g in gift.lots] == [400, 250]
    assert gift.gain == 850 and gift.tax_avoided == D(850) * D("0.20")  # long-term 15 % + NIIT 5 %


def test_never_the_short_term_lot_even_for_a_large_amount() -> None:
    gift = choose("h", D(1_000_000), ranked(), AS_OF, TAX, GivingConfig())
    assert {g.lot_id for g in gift.lots} == {"itot-low", "vti-low", "vti-mid"}
    assert gift.deduction == 3000
    assert any("short of $1,000,000.00" in n for n in gift.notes)


@given(st.integers(min_value=0, max_value=4000))
def test_amounts_are_honoured_within_one_share(amount: int) -> None:
    gift = choose("h", D(amount), ranked(), AS_OF, TAX, GivingConfig())
    assert gift.deduction <= amount
    assert gift.deduction == 3000 or amount - gift.deduction < 100  # the largest share price
    assert all(g.quantity == int(g.quantity) and g.quantity > 0 for g in gift.lots)


def test_fractional_shares_when_allowed() -> None:
    gift = choose("h", D("1234.56"), ranked(), AS_OF, TAX, GivingConfig(whole_shares=False))
    assert [(g.lot_id, g.quantity) for g in gift.lots] == [("itot-low", 20), ("vti-low", D("2.3456"))]
    assert gift.deduction == D("1234.56")
    assert gift.lots[1].cost_basis == D("117.28")


def test_lots_the_harvest_plan_sells_are_left_out() -> None:
    state = ledger(t(500, "tax", "buy", 10, "VTI", 50, lot="keep"), t(400, "tax", "buy", 10, "ITOT", 80, lot="sold"),
                   t(600, "tax", "buy", 10, "ITOT", 30, lot="itot-gain"))
    p = run(state, quotes(VTI=100, ITOT=50))
    assert planned_lots(p) == {"sold"}  # ITOT as a whole is at a loss: the plan sells the losing lot
    r = ranked(state, exclude=planned_lots(p) | {"itot-gain"})
    assert [g.lot_id for g in r.lots] == ["keep"]
    assert any("open harvest plan sells them" in n for n in r.notes)


def test_one_account_only_and_stale_prices() -> None:
    state = ledger(t(500, "tax", "buy", 10, "VTI", 50, lot="a"), t(500, "spouse", "buy", 10, "VTI", 50, lot="b"))
    assert [g.lot_id for g in ranked(state, account="spouse").lots] == ["b"]
    r = rank(state.open_lots, ACCOUNTS, quotes(AS_OF.replace(day=1), VTI=100), AS_OF, max_price_age_days=4)
    assert r.lots == () and "no recent price" in r.notes[0]


@pytest.mark.parametrize(("agi", "part"), [
    (None, "set [giving] agi_usd"),
    (10_000, "is within this year's $3,000.00"),
    (3_000, "$900.00 deductible this year, $600.00 carried forward"),
])
def test_the_30_percent_of_agi_note(agi: int | None, part: str) -> None:
    gift = choose("h", D(1500), ranked(), AS_OF, TAX, GivingConfig(agi_usd=agi))
    note = next(n for n in gift.notes if "30 % of AGI" in n)
    assert "five years" in note and part in note


def test_json_contract() -> None:
    d = choose("h", D(1550), ranked(), AS_OF, TAX, GivingConfig()).to_dict()
    assert {"lots", "deduction", "tax_avoided"} <= set(d)
    assert {"account", "lot_id", "symbol", "quantity", "value", "cost_basis", "gain"} <= set(d["lots"][0])
    assert d["lots"][1] | {"acquired": None} == {
        "account": "tax", "lot_id": "vti-low", "symbol": "VTI", "quantity": Decimal(5), "value": D("500.00"),
        "cost_basis": D("250.00"), "gain": D("250.00"), "price": Decimal(100), "acquired": None}
    assert (d["deduction"], d["tax_avoided"]) == (D("1500.00"), D("170.00"))


def test_buying_back_waits_for_an_open_wash_sale_window() -> None:
    later = AS_OF.replace(day=30)
    gift = choose("h", D(1550), ranked(), AS_OF, TAX, GivingConfig(), {"VTI": later, "ITOT": AS_OF, "VEA": later})
    note = next(n for n in gift.notes if "wash-sale window" in n)
    assert f"VTI from {later}" in note and "ITOT" not in note and "VEA" not in note  # closed, or not given
    assert not any("wash-sale window" in n for n in choose("h", D(1550), ranked(), AS_OF, TAX, GivingConfig()).notes)
