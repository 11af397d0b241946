"""Each wash-sale rule of shared/reference/wash-sales.md, with the worked examples of IRS Publication 550
and Treas. Reg. §1.1091-1 / §1.1091-2."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.ledger import LedgerError, LedgerPolicy, LedgerState, ReplacementAlreadySold, Term, Trade, apply
from daemon.ledger.gains import rows
from tests.ledger.helpers import ACCOUNTS, IDENTICAL, D, disp, lot, run, t


# --- The worked examples ---------------------------------------------------------------------------------
def test_pub550_basic_example() -> None:
    # Buy 100 for $1,000, sell for $750, buy 100 within 30 days for $800: $250 disallowed, basis $1,050.
    s = run(t("2024-03-01", "tax", "buy", 100, "X", 10, lot="old"), t("2024-07-01", "tax", "sell", 100, "X", 7.5,
            tid="s"), t("2024-07-15", "tax", "buy", 100, "X", 8, lot="new"))
    d = disp(s, "s")
    assert (d.loss, d.adjustment, d.gain) == (D(250), D(250), D(0))
    assert lot(s, "new").basis == D(1050)


def test_reg_1091_1_example_1_partial() -> None:
    # 100 sh bought 1954-09-21 for $5,000; 50 bought 12-21 for $2,750; 25 bought 12-27 for $1,125;
    # the 100 sold 1955-01-03 for $4,000: $750 of the $1,000 loss disallowed, $250 allowed.
    s = run(t("1954-09-21", "tax", "buy", 100, "M", 50, lot="a"), t("1954-12-21", "tax", "buy", 50, "M", 55, lot="b"),
            t("1954-12-27", "tax", "buy", 25, "M", 45, lot="c"),
            t("1955-01-03", "tax", "sell", 100, "M", 40, lot="a", tid="s"))
    d = disp(s, "s")
    assert (d.washed_quantity, d.adjustment, d.gain) == (D(75), D(750), D(-250))
    # §1.1091-2 example: basis of the 50 shares $3,250, of the 25 shares $1,375.
    assert lot(s, "b").basis == D(3250)
    assert lot(s, "c").basis == D(1375)
    # Holding period: 1954-12-21 less the 104 days the sold shares were held.
    assert lot(s, "b").acquired == date(1954, 9, 8)
    washed, allowed = rows(s.dispositions)
    assert (washed.quantity, washed.code, washed.gain) == (D(75), "W", D(0))
    assert (allowed.quantity, allowed.code, allowed.gain) == (D(25), "", D(-250))


def test_reg_1091_1_example_2_full() -> None:
    s = run(t("1954-09-21", "tax", "buy", 100, "M", 50, lot="a"), t("1954-12-21", "tax", "buy", 100, "M", 45, lot="b"),
            t("1955-01-03", "tax", "sell", 100, "M", 40, lot="a", tid="s"))
    assert disp(s, "s").adjustment == D(1000)
    assert lot(s, "b").basis == D(5500)


def test_reg_1091_1_example_3_first_shares_acquired_are_the_replacements() -> None:
    # Sold 100 at a $1,000 loss on 1956-02-01, then 50 bought on each of Feb 15, 16, 17, 18: the loss is
    # disallowed and the Feb 15 and Feb 16 shares are the replacements.
    buys = [t(f"1956-02-{day}", "tax", "buy", 50, "M", 40, lot=f"f{day}") for day in (15, 16, 17, 18)]
    s = run(t("1954-09-21", "tax", "buy", 100, "M", 50, lot="a"), t("1956-02-01", "tax", "sell", 100, "M", 40,
                                                                    tid="s"), *buys)
    assert disp(s, "s").adjustment == D(1000)
    assert [lot(s, f"f{d}").adjustment for d in (15, 16, 17, 18)] == [D(500), D(500), D(0), D(0)]
    held = date(1956, 2, 1) - date(1954, 9, 21)
    assert lot(s, "f15").acquired == date(1956, 2, 15) - held
    assert lot(s, "f17").acquired == date(1956, 2, 17)


# --- The window ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("bought", "washed"), [
    ("2024-05-31", False), ("2024-06-01", True), ("2024-07-01", True), ("2024-07-31", True),
    ("2024-08-01", False),
])
def test_61_day_window_in_calendar_days(bought: str, washed: bool) -> None:
    s = run(t("2023-01-03", "tax", "buy", 10, "X", 100, lot="old"), t(bought, "tax", "buy", 10, "X", 50, lot="r"),
            t("2024-07-01", "tax", "sell", 10, "X", 80, lot="old", tid="s"))
    assert (disp(s, "s").adjustment > 0) is washed


def test_window_spans_year_end_and_loss_stays_in_sale_year() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100, lot="old"), t("2024-12-20", "tax", "sell", 10, "X", 90,
            tid="s"), t("2025-01-05", "tax", "buy", 10, "X", 91, lot="r"))
    d = disp(s, "s")
    assert d.sold.year == 2024 and d.adjustment == D(100)
    assert lot(s, "r").basis == D(1010)


# --- Matching -------------------------------------------------------------------------------------------
def test_partial_wash_only_as_many_loss_shares_as_replacement_shares() -> None:
    s = run(t("2024-01-02", "tax", "buy", 100, "X", 10), t("2024-03-01", "tax", "sell", 100, "X", 8, tid="s"),
            t("2024-03-10", "tax", "buy", 40, "X", 8, lot="r"))
    d = disp(s, "s")
    assert (d.washed_quantity, d.adjustment) == (D(40), D(80))
    assert lot(s, "r").basis == D(320 + 80)


def test_each_replacement_share_washes_at_most_one_loss_share() -> None:
    # One 100-share purchase absorbs 60 + 40 from two sales; a third loss finds nothing left.
    s = run(t("2024-01-02", "tax", "buy", 60, "X", 10, lot="a"), t("2024-01-03", "tax", "buy", 40, "X", 10, lot="b"),
            t("2024-01-04", "tax", "buy", 30, "X", 10, lot="c"),
            t("2024-03-01", "tax", "sell", 60, "X", 9, lot="a", tid="s1"),
            t("2024-03-02", "tax", "sell", 40, "X", 9, lot="b", tid="s2"),
            t("2024-03-05", "tax", "buy", 100, "X", 9, lot="r"),
            t("2024-03-06", "tax", "sell", 30, "X", 8, lot="c", tid="s3"))
    assert disp(s, "s1").washed_quantity == D(60)
    assert disp(s, "s2").washed_quantity == D(40)
    assert disp(s, "s3").washed_quantity == D(0)
    pieces = [x for x in s.open_lots if x.purchase_id == "r"]
    assert sum(x.quantity for x in pieces) == D(100)
    assert sum(x.adjustment for x in pieces) == D(60 + 40)
    # 60 split off for s1, the other 40 taken whole by s2: nothing left to wash s3.
    assert {x.lot_id: x.adjustment for x in pieces} == {"r.1": D(60), "r.2": D(40)}
    assert all(x.absorbed for x in pieces)


def test_same_purchase_lot_never_replaces_itself() -> None:
    # Rev. Rul. 56-602: 200 bought in one order, 100 of them sold at a loss within 30 days: no wash sale.
    s = run(t("2024-03-01", "tax", "buy", 200, "X", 10, lot="one"), t("2024-03-20", "tax", "sell", 100, "X", 9,
                                                                      tid="s"))
    assert disp(s, "s").adjustment == 0


def test_another_purchase_of_the_same_symbol_does_replace() -> None:
    s = run(t("2023-01-03", "tax", "buy", 100, "X", 10, lot="old"), t("2024-03-01", "tax", "buy", 100, "X", 9,
            lot="new"), t("2024-03-20", "tax", "sell", 100, "X", 8, lot="old", tid="s"))
    assert disp(s, "s").adjustment == D(200)


def test_with_policy_ignore_shares_sold_before_the_loss_sale_are_not_replacements() -> None:
    s = run(t("2023-01-03", "tax", "buy", 100, "X", 10, lot="old"), t("2024-03-01", "tax", "buy", 50, "X", 6, lot="b"),
            t("2024-03-05", "tax", "sell", 50, "X", 7, lot="b"),
            t("2024-03-10", "tax", "sell", 100, "X", 8, lot="old", tid="s"),
            policy=LedgerPolicy(replacement_already_sold=ReplacementAlreadySold.IGNORE))
    assert disp(s, "s").adjustment == 0


def test_by_default_shares_sold_before_the_loss_sale_still_replace_and_that_sale_takes_the_basis() -> None:
    # §1091(a) counts the acquisition: the 50 bought on 03-01 wash 50 of the 100 loss shares ($100), and
    # the earlier sale of those 50 takes the $100 into its basis (its $50 gain becomes a $50 loss).
    s = run(t("2023-01-03", "tax", "buy", 100, "X", 10, lot="old"), t("2024-03-01", "tax", "buy", 50, "X", 6, lot="b"),
            t("2024-03-05", "tax", "sell", 50, "X", 7, lot="b", tid="early"),
            t("2024-03-10", "tax", "sell", 100, "X", 8, lot="old", tid="s"))
    assert (disp(s, "s").adjustment, disp(s, "s").washed_quantity) == (D(100), D(50))
    early = disp(s, "early")
    assert (early.replacement_adjustment, early.gain, early.absorbed) == (D(100), D(-50), True)
    # Its holding period now includes the sold shares' (2023-01-03 .. 2024-03-10): long-term.
    assert early.acquired == date(2024, 3, 1) - (date(2024, 3, 10) - date(2023, 1, 3))


def test_purchase_after_the_loss_is_a_replacement_even_if_sold_the_same_day() -> None:
    s = run(t("2023-01-03", "tax", "buy", 100, "X", 10, lot="old"), t("2024-03-01", "tax", "sell", 100, "X", 8,
            tid="s"), t("2024-03-10", "tax", "buy", 100, "X", 8, lot="r"),
            t("2024-03-10", "tax", "sell", 100, "X", 8.5, lot="r", tid="s2"))
    assert disp(s, "s").adjustment == D(200)
    # The replacement carried the $200: its own sale is a $150 loss, not a $50 gain.
    assert disp(s, "s2").gain == D(-150)


def test_gains_are_never_washed_and_a_sale_at_cost_is_not_a_loss() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 10, lot="a"), t("2024-01-03", "tax", "buy", 10, "X", 20, lot="b"),
            t("2024-02-01", "tax", "sell", 10, "X", 15, lot="a", tid="gain"),
            t("2024-02-01", "tax", "sell", 10, "X", 20, lot="b", tid="flat"),
            t("2024-02-05", "tax", "buy", 20, "X", 15, lot="r"))
    assert disp(s, "gain").adjustment == 0 and disp(s, "flat").adjustment == 0
    assert lot(s, "r").adjustment == 0


# --- Across the household --------------------------------------------------------------------------------
@pytest.mark.parametrize("ira", ["ira", "roth", "hsa"])
def test_ira_replacement_disallows_permanently_with_no_basis_change(ira: str) -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100), t("2024-05-01", "tax", "sell", 10, "X", 80, tid="s"),
            t("2024-05-10", ira, "buy", 10, "X", 81, lot="r"))
    d = disp(s, "s")
    assert (d.adjustment, d.permanent) == (D(200), D(200))
    assert lot(s, "r").basis == D(810) and lot(s, "r").adjustment == 0
    assert lot(s, "r").acquired == date(2024, 5, 10)
    assert [m.permanent for m in s.matches] == [True]


def test_replacement_in_spouses_taxable_account_carries_basis_there() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100), t("2024-05-01", "tax", "sell", 10, "X", 80, tid="s"),
            t("2024-05-10", "spouse", "buy", 10, "X", 81, lot="r"))
    assert disp(s, "s").permanent == 0
    r = lot(s, "r")
    assert (r.account, r.basis, r.adjustment) == ("spouse", D(1010), D(200))


def test_other_households_never_interact() -> None:
    trades = [t("2024-01-02", "tax", "buy", 10, "X", 100), t("2024-05-01", "tax", "sell", 10, "X", 80, tid="s"),
              t("2024-05-10", "other", "buy", 10, "X", 81, lot="r")]
    assert disp(run(*trades), "s").adjustment == 0
    assert lot(run(*trades, household="g"), "r").adjustment == 0


def test_identical_group_from_configuration_voo_ivv() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "VOO", 400), t("2024-05-01", "tax", "sell", 10, "VOO", 380, tid="s"),
            t("2024-05-02", "tax", "buy", 10, "IVV", 381, lot="r"))
    assert disp(s, "s").adjustment == D(200)


def test_different_indexes_are_not_identical_vti_itot() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "VTI", 200), t("2024-05-01", "tax", "sell", 10, "VTI", 180, tid="s"),
            t("2024-05-02", "tax", "buy", 10, "ITOT", 100, lot="r"))
    assert disp(s, "s").adjustment == 0


def test_dividend_reinvestment_washes_fractionally() -> None:
    s = run(t("2024-01-02", "tax", "buy", 100, "X", 50), t("2024-06-03", "tax", "sell", 100, "X", 40, tid="s"),
            t("2024-06-20", "ira", "reinvest", "0.347", "X", 41, lot="div"))
    d = disp(s, "s")
    assert d.washed_quantity == D("0.347")
    assert d.adjustment == d.permanent == D("3.47")
    assert lot(s, "div").reinvested


# --- Chains and holding periods -----------------------------------------------------------------------------
def test_chain_washed_replacement_sold_at_a_loss_and_washed_again() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100, lot="a"), t("2024-03-01", "tax", "sell", 10, "X", 90,
            tid="s1"), t("2024-03-05", "tax", "buy", 10, "X", 90, lot="b"),
            t("2024-03-20", "tax", "sell", 10, "X", 85, lot="b", tid="s2"),
            t("2024-04-01", "tax", "buy", 10, "X", 86, lot="c"))
    assert disp(s, "s1").adjustment == D(100)
    s2 = disp(s, "s2")
    assert s2.cost_basis == D(1000) and s2.adjustment == D(150)
    c = lot(s, "c")
    assert c.basis == D(860 + 150)
    # a held 2024-01-02..03-01 (59 days) -> b acquired 03-05 - 59; b sold 03-20 -> c acquired 04-01 - (03-20 - b.acq)
    b_acq = date(2024, 3, 5) - (date(2024, 3, 1) - date(2024, 1, 2))
    assert c.acquired == date(2024, 4, 1) - (date(2024, 3, 20) - b_acq)


def _every_cut_equals_replay(events: tuple[Trade, ...], policy: LedgerPolicy | None = None) -> LedgerState:
    """The replay of `events`, after checking that booking them in two batches, cut after any of their
    days, gives the same state."""
    whole = run(*events, policy=policy)
    for cut in sorted({x.date for x in events}):
        first = apply(LedgerState(household="h"), [x for x in events if x.date <= cut], ACCOUNTS, IDENTICAL, policy)
        later = [x for x in events if x.date > cut]
        assert apply(first, later, ACCOUNTS, IDENTICAL, policy) == whole, f"batch boundary after {cut}"
    return whole


# Under "adjust", L (a loss) takes shares of P already sold by S at cost as its replacement: S's basis takes
# L's disallowed loss, and S, sold on 12-04, is now a loss sale itself ("Chains"). L's own purchase (R) is
# never S's replacement: L's loss flowed from R into S (no wash in a circle).
_ADJUSTED_INTO_A_LOSS = (t("2023-12-02", "tax", "buy", 1, "X", 50, lot="P"),
                         t("2023-12-04", "tax", "sell", 0.25, "X", 50, tid="S"),
                         t("2023-12-05", "spouse", "buy", 1, "X", 51, lot="R"),
                         t("2023-12-08", "spouse", "sell", 0.25, "X", 50, tid="L"))


def test_a_sale_adjusted_into_a_loss_is_washed_by_a_later_purchase_in_its_window() -> None:
    s = _every_cut_equals_replay((*_ADJUSTED_INTO_A_LOSS, t("2023-12-09", "ira", "buy", 1, "X", 50, lot="I")))
    assert (disp(s, "L").adjustment, disp(s, "L").washed_quantity) == (D("0.25"), D("0.25"))
    adjusted = disp(s, "S")
    assert (adjusted.replacement_adjustment, adjusted.loss) == (D("0.25"), D("0.25"))
    # The IRA purchase on 12-09 (inside S's window, 11-04 .. 01-03) washes S's loss, permanently.
    assert (adjusted.washed_quantity, adjusted.adjustment, adjusted.permanent, adjusted.gain) == (
        D("0.25"), D("0.25"), D("0.25"), D(0))
    assert [(m.lot_id, m.quantity, m.permanent) for m in s.matches if m.disposition_id == adjusted.disposition_id] \
        == [("I.1", D("0.25"), True)]
    # Washed into an IRA: no basis carried (Rev. Rul. 2008-5).
    assert (lot(s, "I.1").quantity, lot(s, "I.1").basis, lot(s, "I.1").acquired) == (D("0.25"), D("12.5"),
                                                                                    date(2023, 12, 9))


def test_a_sale_adjusted_into_a_loss_looks_back_at_free_acquisitions_in_its_window() -> None:
    # Q bought on 12-03 (before S's sale) is still free when L is washed by S's shares: it washes S's new
    # loss, as it would any loss sold on 12-04, and takes the basis; the IRA purchase after finds nothing.
    s = _every_cut_equals_replay((*_ADJUSTED_INTO_A_LOSS, t("2023-12-03", "hifo", "buy", 1, "X", 50, lot="Q"),
                                  t("2023-12-09", "ira", "buy", 1, "X", 50, lot="I")))
    adjusted = disp(s, "S")
    assert (adjusted.washed_quantity, adjusted.adjustment, adjusted.permanent, adjusted.gain) == (
        D("0.25"), D("0.25"), D(0), D(0))
    assert [(m.lot_id, m.quantity, m.permanent) for m in s.matches if m.disposition_id == adjusted.disposition_id] \
        == [("Q.1", D("0.25"), False)]
    assert (lot(s, "Q.1").basis, lot(s, "Q.1").acquired) == (D("12.75"), date(2023, 12, 3) - (
        date(2023, 12, 4) - adjusted.acquired))
    assert lot(s, "I").adjustment == 0 and not lot(s, "I").absorbed


def test_a_sale_adjusted_into_a_loss_is_never_washed_by_the_purchase_whose_loss_made_it() -> None:
    # R's open shares (bought 12-05, in S's window) are what L sold: L's loss flowed from R into S.
    s = _every_cut_equals_replay(_ADJUSTED_INTO_A_LOSS)
    adjusted = disp(s, "S")
    assert (adjusted.loss, adjusted.washed_quantity, adjusted.gain) == (D("0.25"), D(0), D("-0.25"))
    assert adjusted.washed_from == frozenset({"R"})
    assert lot(s, "R").adjustment == 0 and lot(s, "P").adjustment == 0


@pytest.mark.parametrize(("sold", "term"), [("2025-03-15", Term.SHORT), ("2025-03-16", Term.LONG)])
def test_long_term_means_more_than_one_year(sold: str, term: Term) -> None:
    s = run(t("2024-03-15", "tax", "buy", 1, "X", 10), t(sold, "tax", "sell", 1, "X", 12, tid="s"))
    assert disp(s, "s").term is term


def test_tacked_holding_period_can_make_a_replacement_long_term() -> None:
    s = run(t("2023-01-03", "tax", "buy", 10, "X", 100, lot="a"), t("2023-12-01", "tax", "sell", 10, "X", 90,
            tid="s1"), t("2023-12-10", "tax", "buy", 10, "X", 90, lot="b"),
            t("2024-02-01", "tax", "sell", 10, "X", 95, lot="b", tid="s2"))
    # b held 53 days itself, but acquired 2023-12-10 - 332 days = 2023-01-12: sold 2024-02-01 -> long.
    assert disp(s, "s2").acquired == date(2023, 1, 12)
    assert disp(s, "s2").term is Term.LONG


# --- Lot relief -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("account", "relieved"), [("tax", "p1"), ("lifo", "p3"), ("hifo", "p2")])
def test_lot_relief_by_account_method(account: str, relieved: str) -> None:
    s = run(t("2024-01-02", account, "buy", 5, "X", 10, lot="p1"),
            t("2024-01-03", account, "buy", 5, "X", 30, lot="p2"),
            t("2024-01-04", account, "buy", 5, "X", 20, lot="p3"),
            t("2024-06-03", account, "sell", 5, "X", 25, tid="s"))
    assert disp(s, "s").lot_id == relieved


def test_specific_lot_named_on_the_sell_row() -> None:
    s = run(t("2024-01-02", "tax", "buy", 5, "X", 10, lot="p1"), t("2024-01-03", "tax", "buy", 5, "X", 30, lot="p2"),
            t("2024-06-03", "tax", "sell", 3, "X", 25, lot="p2", tid="s"))
    assert disp(s, "s").lot_id == "p2" and lot(s, "p2").quantity == D(2)


def test_sell_spanning_lots_splits_proceeds_and_fees_exactly() -> None:
    s = run(t("2024-01-02", "tax", "buy", 1, "X", 10, fees=1), t("2024-01-03", "tax", "buy", 2, "X", 10),
            t("2024-06-03", "tax", "sell", 3, "X", 11, fees=1, tid="s"))
    made = [d for d in s.dispositions if d.trade_id == "s"]
    assert [d.quantity for d in made] == [D(1), D(2)]
    assert sum(d.proceeds for d in made) == D(32)
    assert sum(d.cost_basis for d in made) == D(31)


def test_sell_more_than_held_is_an_error() -> None:
    with pytest.raises(LedgerError, match="holds 5"):
        run(t("2024-01-02", "tax", "buy", 5, "X", 10), t("2024-06-03", "tax", "sell", 6, "X", 25))


def test_unknown_lot_is_an_error() -> None:
    with pytest.raises(LedgerError, match="no open lot 'nope'"):
        run(t("2024-01-02", "tax", "buy", 5, "X", 10), t("2024-06-03", "tax", "sell", 1, "X", 25, lot="nope"))


@pytest.mark.parametrize("prune_at", [0, None])
def test_a_washed_sale_split_as_a_replacement_already_sold_keeps_its_matches_when_the_book_prunes(
        prune_at: int | None) -> None:
    # S1 (a loss of lot A) is washed by R1; later L2 (a loss of C) takes 4 of S1's sold shares as its
    # replacement ("adjust"): S1 splits 4 / 6 and its match with R1 splits with it. In between, a wash of Y
    # adds to the book's index of match positions, which (pruned at every new loss here) must keep S1's.
    from unittest.mock import patch

    from daemon.ledger import book, washing

    events = (t("2024-01-02", "tax", "buy", 10, "X", 100, lot="A"),
              t("2024-01-03", "tax", "buy", 5, "Y", 100, lot="Y1"),
              t("2024-01-10", "tax", "sell", 10, "X", 90, tid="S1"),
              t("2024-01-12", "spouse", "buy", 10, "X", 90, lot="R1"),
              t("2024-01-13", "tax", "sell", 5, "Y", 90, tid="SY"),
              t("2024-01-14", "spouse", "buy", 5, "Y", 90, lot="RY"),
              t("2024-01-15", "tax", "buy", 10, "X", 100, lot="C"),
              t("2024-01-20", "tax", "sell", 4, "X", 90, tid="L2"))
    limit = washing.MATCH_AT_PRUNED if prune_at is None else prune_at
    with patch.object(washing, "MATCH_AT_PRUNED", limit), patch.object(book, "MATCH_AT_PRUNED", limit):
        s = run(*events)
        # In two batches (the second book indexes the first's matches itself): the same state.
        first = apply(LedgerState(household="h"), events[:6], ACCOUNTS, IDENTICAL)
        assert apply(first, events[6:], ACCOUNTS, IDENTICAL) == s
    pieces = sorted((d for d in s.dispositions if d.trade_id == "S1"), key=lambda d: d.disposition_id)
    assert [(d.disposition_id, d.quantity, d.absorbed) for d in pieces] == [
        ("S1#A.1", D(4), True), ("S1#A.2", D(6), False)]
    assert sorted((m.disposition_id, m.lot_id, m.quantity, m.disallowed) for m in s.matches
                  if m.disposition_id.startswith("S1")) == [("S1#A.1", "R1", D(4), D(40)),
                                                            ("S1#A.2", "R1", D(6), D(60))]
    assert disp(s, "L2").adjustment == D(40)


def test_a_wash_split_never_takes_a_lot_id_in_use() -> None:
    """A lot named `A.1` (here by its trade) beside a lot `A`: when a wash splits `A`, its children take the
    next free ids, `A.2` and `A.3`; the closed lot `A.1`, whose sale names it, is never replaced."""
    events = [t("2024-01-02", "tax", "buy", 3, "VTI", 50, tid="A.1"), t("2024-01-03", "tax", "sell", 3, "VTI", 55,
                                                                       tid="s0"),
              t("2024-03-01", "tax", "buy", 5, "VOO", 100, tid="B"), t("2024-03-10", "tax", "buy", 10, "IVV", 99,
                                                                       tid="A"),
              t("2024-03-20", "tax", "sell", 5, "VOO", 80, tid="loss")]  # washed by 5 of A's 10
    state = run(*events)
    lots = {x.lot_id: x for x in state.lots}
    assert (lots["A.1"].symbol, lots["A.1"].quantity, lots["A.1"].trade_id) == ("VTI", 0, "A.1")
    assert (lots["A.2"].quantity, lots["A.2"].absorbed, lots["A.2"].parent_id) == (5, True, "A")
    assert (lots["A.3"].quantity, lots["A.3"].absorbed, lots["A.3"].parent_id) == (5, False, "A")
    assert lots["A"].quantity == 0
    (sold,) = [d for d in state.dispositions if d.trade_id == "s0"]
    assert lots[sold.lot_id].symbol == sold.symbol == "VTI"
    for cut in (date(2024, 3, 10), date(2024, 3, 1), date(2024, 1, 3)):  # incremental: the same ids
        assert apply(run(*(e for e in events if e.date <= cut)), [e for e in events if e.date > cut], ACCOUNTS,
                     IDENTICAL) == state
