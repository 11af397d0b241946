"""Every corporate action kind and every kind of transfer, table by table, with the figures they must produce
(shared/reference/wash-sales.md, "Corporate actions")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon.ledger import (
    ActionKind,
    CorporateAction,
    IdenticalGroups,
    LedgerError,
    LedgerPolicy,
    LedgerState,
    Origin,
    ReplacementAlreadySold,
    Term,
    apply,
    replay,
    restrictions,
)
from daemon.ledger.book import Event
from tests.ledger.helpers import ACCOUNTS, IDENTICAL, D, disp, lot, run, t


def act(day: str, symbol: str, kind: str, *, account: str | None = None, ratio: object = None,
        new: str | None = None, cash: object = None, fraction: object = None, aid: str = "ca") -> CorporateAction:
    def dec(x: object) -> Decimal | None:
        return None if x is None else Decimal(str(x))

    return CorporateAction(aid, date.fromisoformat(day), symbol, ActionKind(kind), account=account,
                           ratio=dec(ratio), new_symbol=new, cash_per_share=dec(cash), basis_fraction=dec(fraction))


def test_forward_split_keeps_basis_and_dates_and_later_sales_relieve_post_split_shares() -> None:
    s = run(t("2022-03-01", "tax", "buy", 100, "NVDA", 400, lot="a"),
            act("2024-06-10", "NVDA", "split", ratio=4),
            t("2024-07-01", "tax", "sell", 300, "NVDA", 120, tid="s"))
    d = disp(s, "s")
    assert (d.quantity, d.cost_basis, d.acquired, d.term) == (D(300), D(30000), date(2022, 3, 1), Term.LONG)
    assert d.gain == D(6000)
    assert (lot(s, "a").quantity, lot(s, "a").basis) == (D(100), D(10000))
    assert dict(s.split_factors) == {"NVDA": D(4)}


def test_reverse_split_with_cash_in_lieu_sells_the_fraction_pro_rata() -> None:
    # 105 shares, 1:10 -> 10.5; the half share is paid at $50 a share ($25), basis 0.5/10.5 of $2,100.
    s = run(t("2023-01-03", "tax", "buy", 105, "X", 20, lot="a"),
            act("2024-06-10", "X", "split", ratio="0.1", cash=50))
    d = disp(s, "ca")
    assert (d.quantity, d.proceeds, d.cost_basis) == (D("0.5"), D(25), D(100))
    assert (lot(s, "a").quantity, lot(s, "a").basis) == (D(10), D(2000))


def test_loss_sold_before_a_split_is_washed_in_post_split_shares() -> None:
    # 100 sold at a $10/share loss, then a 2:1 split: 100 post-split shares bought are 50 pre-split shares.
    s = run(t("2023-01-03", "tax", "buy", 100, "X", 50, lot="a"),
            t("2024-06-03", "tax", "sell", 100, "X", 40, tid="s"),
            act("2024-06-10", "X", "split", ratio=2),
            t("2024-06-12", "tax", "buy", 100, "X", 20, lot="r"))
    d = disp(s, "s")
    assert (d.washed_quantity, d.adjustment) == (D(50), D(500))
    assert lot(s, "r").basis == D(2500)


def test_split_of_a_symbol_the_account_does_not_hold_is_an_error() -> None:
    with pytest.raises(LedgerError, match="holds no X"):
        run(t("2023-01-03", "tax", "buy", 1, "Y", 5), act("2024-06-10", "X", "split", ratio=2, account="tax"))


def test_symbol_change_carries_lots_windows_and_the_do_not_buy_list() -> None:
    s = run(t("2023-01-03", "tax", "buy", 100, "FB", 300, lot="a"),
            t("2023-02-01", "tax", "buy", 50, "FB", 300, lot="b"),
            t("2024-06-03", "tax", "sell", 50, "FB", 200, lot="b", tid="s"),
            act("2024-06-09", "FB", "symbol_change", new="META"),
            t("2024-06-20", "spouse", "buy", 20, "META", 210, lot="r"))
    assert lot(s, "a").symbol == "META" and lot(s, "a").basis == D(30000)
    assert disp(s, "s").washed_quantity == 20  # a META purchase washes the FB loss: one security
    assert s.current_symbol("FB") == "META"
    restricted = {r.symbol for r in restrictions.from_ledger(s, IDENTICAL, date(2024, 6, 21))}
    assert "META" in restricted


def test_symbol_change_into_an_identical_group_joins_it() -> None:
    s = run(t("2023-01-03", "tax", "buy", 10, "OLDSP", 400, lot="a"),
            t("2024-06-03", "tax", "sell", 10, "OLDSP", 300, tid="s"),
            act("2024-06-05", "OLDSP", "symbol_change", new="SPLG"),
            t("2024-06-20", "spouse", "buy", 10, "VOO", 300, lot="r"))
    assert disp(s, "s").washed_quantity == 10


TWO_GROUPS = IdenticalGroups(IDENTICAL.groups + (frozenset({"AAA", "AAB"}),))


def _two_groups(*events: Event, cut: str | None = None) -> LedgerState:
    """Replayed whole, or in two batches split after `cut` (the book rebuilt from a stored state between)."""
    if cut is None:
        return replay("h", events, ACCOUNTS, TWO_GROUPS)
    day = date.fromisoformat(cut)
    first = replay("h", [e for e in events if e.date <= day], ACCOUNTS, TWO_GROUPS)
    return apply(first, [e for e in events if e.date > day], ACCOUNTS, TWO_GROUPS)


@pytest.mark.parametrize("cut", [None, "2024-06-05"])
def test_symbol_change_into_another_identical_group_moves_only_its_own_losses(cut: str | None) -> None:
    # VOO is renamed to AAB, a member of another group: VOO's own loss follows it into AAB's group, IVV's
    # stays with the S&P 500 funds. A purchase of AAA washes VOO's loss, not IVV's; one of SPY washes IVV's.
    s = _two_groups(t("2024-01-02", "tax", "buy", 10, "IVV", 100, lot="i"),
                    t("2024-01-02", "spouse", "buy", 10, "VOO", 100, lot="v"),
                    t("2024-06-03", "tax", "sell", 10, "IVV", 80, tid="si"),
                    t("2024-06-03", "spouse", "sell", 10, "VOO", 80, tid="sv"),
                    act("2024-06-05", "VOO", "symbol_change", new="AAB"),
                    t("2024-06-20", "tax", "buy", 4, "AAA", 40, lot="a"),
                    t("2024-06-21", "tax", "buy", 3, "SPY", 80, lot="p"),
                    cut=cut)
    washed = {d.trade_id: (d.washed_quantity, d.adjustment) for d in s.dispositions}
    assert washed["sv"] == (D(4), D(80)) and washed["si"] == (D(3), D(60))
    assert {(m.disposition_id, m.lot_id) for m in s.matches} == {
        (disp(s, "sv").disposition_id, "a"), (disp(s, "si").disposition_id, "p")}


@pytest.mark.parametrize("cut", [None, "2024-06-05"])
@pytest.mark.parametrize("policy", ["adjust", "ignore"])
def test_symbol_change_into_another_identical_group_moves_only_its_own_purchases(cut: str | None,
                                                                                  policy: str) -> None:
    # A loss on AAA after VOO became AAB looks back at VOO's purchase (now AAB's, its group), never at the
    # IVV shares bought in the window, held (i2) or already sold (i3, a replacement under "adjust").
    events = (t("2024-01-02", "spouse", "buy", 10, "AAA", 50, lot="x"),
              t("2024-06-03", "tax", "buy", 3, "IVV", 80, lot="i3"),
              t("2024-06-03", "lifo", "buy", 5, "IVV", 80, lot="i2"),
              t("2024-06-04", "tax", "sell", 3, "IVV", 90, tid="g"),
              t("2024-06-04", "ira", "buy", 2, "VOO", 80, lot="v2"),
              act("2024-06-05", "VOO", "symbol_change", new="AAB"),
              t("2024-06-10", "spouse", "sell", 10, "AAA", 40, tid="sx"))
    pol = LedgerPolicy(ReplacementAlreadySold(policy))
    if cut is None:
        s = replay("h", events, ACCOUNTS, TWO_GROUPS, pol)
    else:
        first = replay("h", [e for e in events if e.date <= date.fromisoformat(cut)], ACCOUNTS, TWO_GROUPS, pol)
        s = apply(first, [e for e in events if e.date > date.fromisoformat(cut)], ACCOUNTS, TWO_GROUPS, pol)
    loss = disp(s, "sx")
    assert (loss.washed_quantity, loss.permanent) == (D(2), D(20))  # the IRA's purchase: permanent
    assert [m.lot_id for m in s.matches] == ["v2"]
    assert lot(s, "i2").adjustment == 0 and disp(s, "g").cost_basis == D(240)


def test_cash_merger_is_a_sale_of_every_lot() -> None:
    s = run(t("2021-01-04", "tax", "buy", 10, "TWTR", 30, lot="a"),
            t("2022-05-02", "tax", "buy", 10, "TWTR", 50, lot="b"),
            act("2022-10-28", "TWTR", "cash_merger", cash="54.20"))
    sold = sorted((d for d in s.dispositions if d.trade_id == "ca"), key=lambda d: d.lot_id)
    assert [(d.quantity, d.proceeds, d.gain, d.term) for d in sold] == [
        (D(10), D(542), D(242), Term.LONG), (D(10), D(542), D(42), Term.SHORT)]
    assert not s.open_lots


def test_stock_merger_carries_basis_and_dates_and_boot_is_a_gain() -> None:
    s = run(t("2021-01-04", "tax", "buy", 100, "ATVI", 90, lot="a"),
            act("2023-10-13", "ATVI", "stock_merger", ratio="0.5", new="MSFT", cash=2))
    merged = lot(s, "a")
    assert (merged.symbol, merged.quantity, merged.basis, merged.acquired) == ("MSFT", D(50), D(9000),
                                                                                date(2021, 1, 4))
    boot = disp(s, "ca")
    assert (boot.quantity, boot.gain, boot.term) == (D(0), D(200), Term.LONG)


def test_spinoff_allocates_basis_by_the_form_8937_fraction_and_keeps_dates() -> None:
    s = run(t("2020-02-03", "tax", "buy", 100, "GE", 100, lot="a"),
            act("2023-01-04", "GE", "spinoff", ratio="0.25", new="GEHC", fraction="0.2"))
    parent, child = lot(s, "a"), lot(s, "a>GEHC")
    assert (parent.quantity, parent.basis) == (D(100), D(8000))
    assert (child.symbol, child.quantity, child.basis, child.acquired, child.origin) == (
        "GEHC", D(25), D(2000), date(2020, 2, 3), Origin.SPINOFF)


def test_return_of_capital_reduces_basis_and_beyond_zero_is_a_gain() -> None:
    s = run(t("2023-01-03", "tax", "buy", 10, "X", 5, lot="a"),
            act("2023-06-01", "X", "return_of_capital", cash=3, aid="r1"),
            act("2024-06-01", "X", "return_of_capital", cash=3, aid="r2"))
    assert lot(s, "a").basis == D(0)
    gain = disp(s, "r2")
    assert (gain.proceeds, gain.gain, gain.term) == (D(10), D(10), Term.LONG)


def test_worthless_security_is_a_sale_at_zero_on_the_last_day_of_the_year() -> None:
    s = run(t("2024-01-03", "tax", "buy", 10, "BBBY", 5, lot="a"), act("2024-05-03", "BBBY", "worthless"))
    d = disp(s, "ca")
    assert (d.proceeds, d.gain, d.sold, d.term) == (D(0), D(-50), date(2024, 12, 31), Term.SHORT)


@pytest.mark.parametrize(("kind", "fields"), [
    ("split", {}), ("symbol_change", {}), ("cash_merger", {}), ("stock_merger", {"ratio": 1}),
    ("spinoff", {"ratio": 1, "new": "Y"}), ("return_of_capital", {})])
def test_actions_missing_what_their_kind_needs_are_errors(kind: str, fields: dict[str, object]) -> None:
    with pytest.raises(LedgerError, match="required"):
        run(t("2023-01-03", "tax", "buy", 10, "X", 5), act("2024-06-10", "X", kind, **fields))  # type: ignore[arg-type]


# --- transfers ---------------------------------------------------------------------------------------------
def test_acats_in_keeps_original_basis_and_date() -> None:
    s = run(t("2024-06-03", "tax", "transfer_in", 10, "X", 0, lot="in", acquired="2019-05-01", basis=1234.5),
            t("2024-07-01", "tax", "sell", 10, "X", 150, tid="s"))
    d = disp(s, "s")
    assert (d.cost_basis, d.acquired, d.term, d.gain) == (D("1234.5"), date(2019, 5, 1), Term.LONG, D("265.5"))


@pytest.mark.parametrize(("price", "gain"), [(130, 30), (70, -10), (90, 0)])
def test_gift_below_donor_basis_has_two_bases(price: int, gain: int) -> None:
    # Donor basis $100/share, value at the gift $80: a sale above $100 gains from $100, below $80 loses from
    # $80, in between neither.
    s = run(t("2024-03-01", "tax", "gift_in", 1, "X", 80, lot="g", acquired="2015-01-02", basis=100),
            t("2024-06-03", "tax", "sell", 1, "X", price, tid="s"))
    d = disp(s, "s")
    assert d.gain == D(gain)
    assert d.term is (Term.SHORT if gain < 0 else Term.LONG)  # the FMV basis starts a new holding period


def test_inherited_shares_are_stepped_up_and_always_long_term() -> None:
    s = run(t("2024-06-03", "tax", "inherited", 10, "X", 100, lot="i"),
            t("2024-06-04", "tax", "sell", 10, "X", 101, tid="s"))
    d = disp(s, "s")
    assert (d.cost_basis, d.gain, d.term, d.origin) == (D(1000), D(10), Term.LONG, Origin.INHERITED)


def test_gift_and_inheritance_are_not_purchases_so_they_never_wash() -> None:
    s = run(t("2023-01-03", "tax", "buy", 10, "X", 100, lot="a"),
            t("2024-06-03", "tax", "sell", 10, "X", 80, tid="s"),
            t("2024-06-10", "spouse", "inherited", 10, "X", 80),
            t("2024-06-11", "spouse", "gift_in", 10, "X", 80, acquired="2020-01-02", basis=500))
    assert disp(s, "s").adjustment == 0


def test_transfer_out_removes_shares_without_gain_or_loss() -> None:
    s = run(t("2020-01-02", "tax", "buy", 10, "X", 50, lot="a"),
            t("2024-12-01", "tax", "transfer_out", 4, "X", 0, tid="gift"))
    d = disp(s, "gift")
    assert (d.kind, d.taxable, d.gain, d.quantity) == ("transfer_out", False, D(0), D(4))
    assert lot(s, "a").quantity == 6


@pytest.mark.parametrize("replacement", [4, 12])
def test_cash_merger_of_two_accounts_sells_the_lots_one_account_washed_in_the_other(replacement: int) -> None:
    # The merger sells the second account's lots after the first account's loss took them as its
    # replacement (all of them, or 10 of 12: a split): that sale carries the disallowed loss in its basis and
    # no share of the symbol stays open.
    s = run(t("2024-01-02", "spouse", "buy", 10, "X", 100, lot="a"),
            t("2024-03-01", "tax", "buy", replacement, "X", 60, lot="r"),
            act("2024-03-10", "X", "cash_merger", cash=50))
    washed = min(replacement, 10)
    [loss] = [d for d in s.dispositions if d.account == "spouse"]
    assert (loss.washed_quantity, loss.adjustment) == (D(washed), D(50 * washed))
    replaced = [d for d in s.dispositions if d.account == "tax"]
    assert sum(d.quantity for d in replaced) == D(replacement)
    assert sum(d.cost_basis for d in replaced) == D(60 * replacement + 50 * washed)
    assert not [x for x in s.lots if x.symbol == "X" and x.quantity > 0]


@pytest.mark.parametrize(("kind", "bought", "cash"), [("cash_merger", "2024-03-01", 50),
                                                      ("worthless", "2024-12-10", None)])
@pytest.mark.parametrize(("first", "second"), [("spouse", "tax"), ("tax", "spouse")])
def test_multi_account_sale_settles_losses_by_acquisition_never_by_account_id(kind: str, bought: str,
                                                                               cash: int | None, first: str,
                                                                               second: str) -> None:
    # The account holding the earlier-acquired shares is settled first whichever id sorts first: its loss
    # looks back at the other account's purchase inside the window (still open) and is washed by it.
    s = run(t("2024-01-02", first, "buy", 10, "X", 100, lot="a"),
            t(bought, second, "buy", 4, "X", 60, lot="r"),
            act("2024-12-20" if kind == "worthless" else "2024-03-10", "X", kind, cash=cash))
    [loss] = [d for d in s.dispositions if d.account == first]
    per_share = 50 if cash else 100  # the loss per share of lot a
    assert (loss.washed_quantity, loss.adjustment) == (D(4), D(4 * per_share))
    [replaced] = [d for d in s.dispositions if d.account == second]
    assert replaced.cost_basis == D(240 + 4 * per_share)
