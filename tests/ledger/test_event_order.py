"""Events in the order they happened (shared/reference/wash-sales.md, "Order", "replacements already sold",
"identical funds at different prices"): the same-day cases the former "purchases first, then by account id"
order got wrong, with the figures they must produce."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.ledger import (
    Account,
    AccountType,
    IdenticalMatch,
    LedgerPolicy,
    LotMethod,
    ReplacementAlreadySold,
    Term,
    replay,
)
from daemon.ledger.gains import rows
from tests.ledger.helpers import ACCOUNTS, IDENTICAL, D, disp, run, t

IGNORE = LedgerPolicy(replacement_already_sold=ReplacementAlreadySold.IGNORE)


def test_hifo_sale_before_a_same_day_purchase_relieves_the_old_lot() -> None:
    # Sold at 10:00, bought at 11:00: the sale cannot relieve shares that did not exist yet. The 1099-B shows
    # a long-term gain of $1,000 on the 2020 lot; "purchases first" made it a short-term loss of $500.
    s = run(t("2020-01-02", "hifo", "buy", 10, "X", 100, lot="old"),
            t("2024-06-03", "hifo", "sell", 10, "X", 200, tid="s", at="10:00"),
            t("2024-06-03", "hifo", "buy", 10, "X", 250, lot="new", at="11:00"))
    d = disp(s, "s")
    assert (d.lot_id, d.gain, d.term) == ("old", D(1000), Term.LONG)


@pytest.mark.parametrize("roth_name", ["a-ira", "z-ira"])
@pytest.mark.parametrize(("roth_at", "tax_at", "permanent"), [("10:00", "11:00", 400), ("11:00", "10:00", 0)])
def test_which_same_day_replacement_comes_first_is_the_clock_not_the_account_name(
        roth_name: str, roth_at: str, tax_at: str, permanent: int) -> None:
    accounts = {**ACCOUNTS, roth_name: Account(roth_name, "h", AccountType.ROTH_IRA)}
    s = run(t("2023-01-03", "tax", "buy", 10, "VOO", 400, lot="old"),
            t("2024-06-03", "tax", "sell", 10, "VOO", 360, tid="s", at="09:45"),
            t("2024-06-03", roth_name, "buy", 10, "IVV", 360, at=roth_at),
            t("2024-06-03", "tax", "buy", 10, "VOO", 361, lot="r", at=tax_at), accounts=accounts)
    d = disp(s, "s")
    assert (d.adjustment, d.permanent) == (D(400), D(permanent))
    carried = next(x for x in s.lots if x.purchase_id == "r" and x.absorbed) if permanent == 0 else None
    assert carried is None or carried.adjustment == D(400)


@pytest.mark.parametrize(("policy", "permanent"), [(LedgerPolicy(), 6000), (IGNORE, 0)])
def test_ira_replacement_bought_and_sold_before_the_taxable_loss_sale(policy: LedgerPolicy, permanent: int) -> None:
    # The IRA bought 100 IVV at 09:40 and sold them at 10:00; the taxable account sold 100 VOO at a $6,000
    # loss at 15:00. The statute counts the acquisition: permanently disallowed (the default policy).
    s = run(t("2022-01-03", "tax", "buy", 100, "VOO", 500, lot="old"),
            t("2024-06-03", "ira", "buy", 100, "IVV", 440, at="09:40"),
            t("2024-06-03", "ira", "sell", 100, "IVV", 441, at="10:00"),
            t("2024-06-03", "tax", "sell", 100, "VOO", 440, tid="s", at="15:00"), policy=policy)
    d = disp(s, "s")
    assert (d.loss, d.adjustment, d.permanent) == (D(6000), D(permanent), D(permanent))


@pytest.mark.parametrize(("mode", "washed", "disallowed"),
                         [(IdenticalMatch.SHARES, D(75), D(1500)),
                          (IdenticalMatch.VALUE, D("11.842105263158"), D("236.842105263160"))])
def test_identical_funds_at_different_prices(mode: IdenticalMatch, washed: object, disallowed: object) -> None:
    # 100 VOO sold at $380 (a $20/share loss); 75 SPLG bought at $60 ($4,500). Share for share they wash 75
    # loss shares; by value only $4,500 / $380 = 11.84 shares' worth.
    s = run(t("2023-01-03", "tax", "buy", 100, "VOO", 400, lot="old"),
            t("2024-06-03", "tax", "sell", 100, "VOO", 380, tid="s"),
            t("2024-06-10", "spouse", "buy", 75, "SPLG", 60, lot="r"), policy=LedgerPolicy(identical_match=mode))
    d = disp(s, "s")
    assert (d.washed_quantity, d.adjustment) == (washed, disallowed)
    carried = sum((x.adjustment for x in s.lots if x.purchase_id == "r"), D(0))
    assert carried == disallowed
    if mode is IdenticalMatch.VALUE:
        assert sum((x.quantity for x in s.lots if x.purchase_id == "r"), D(0)) == 75  # no share lost


def test_same_security_always_matches_share_for_share_even_by_value() -> None:
    s = run(t("2023-01-03", "tax", "buy", 100, "VOO", 400, lot="old"),
            t("2024-06-03", "tax", "sell", 100, "VOO", 380, tid="s"),
            t("2024-06-10", "tax", "buy", 50, "VOO", 300, lot="r"),
            policy=LedgerPolicy(identical_match=IdenticalMatch.VALUE))
    assert disp(s, "s").washed_quantity == 50


def test_no_wash_runs_in_a_circle() -> None:
    # lot2's loss (day 3) is washed by lot1, still held; lot1 then sold at a loss (day 5) must not be washed
    # by lot2's sold shares: lot2's own loss already flowed into lot1.
    s = run(t("2024-03-01", "tax", "buy", 100, "X", 10, lot="lot1"),
            t("2024-03-03", "tax", "buy", 100, "X", 10, lot="lot2"),
            t("2024-03-04", "tax", "sell", 100, "X", 8, lot="lot2", tid="s2"),
            t("2024-03-06", "tax", "sell", 100, "X", 8, lot="lot1", tid="s1"))
    assert disp(s, "s2").adjustment == D(200)
    s1 = disp(s, "s1")
    assert (s1.loss, s1.adjustment) == (D(400), D(0))
    assert disp(s, "s2").replacement_adjustment == 0


def test_untimed_trades_keep_their_input_order_within_the_day() -> None:
    # No times: the file's row order is the order. Sell first, then buy: the sale relieves the old lot.
    lifo = {**ACCOUNTS, "l": Account("l", "h", AccountType.TAXABLE, LotMethod.LIFO)}
    sell_first = run(t("2020-01-02", "l", "buy", 10, "X", 100, lot="old"),
                     t("2024-06-03", "l", "sell", 10, "X", 200, tid="s"),
                     t("2024-06-03", "l", "buy", 10, "X", 250, lot="new"), accounts=lifo)
    buy_first = run(t("2020-01-02", "l", "buy", 10, "X", 100, lot="old"),
                    t("2024-06-03", "l", "buy", 10, "X", 250, lot="new"),
                    t("2024-06-03", "l", "sell", 10, "X", 200, tid="s"), accounts=lifo)
    assert disp(sell_first, "s").lot_id == "old"
    assert disp(buy_first, "s").lot_id == "new"


def test_a_replacement_sold_before_the_loss_moves_an_earlier_years_figures() -> None:
    # Bought Dec 20, sold Dec 27 at a gain; the loss sale on Jan 10 is washed by that December purchase:
    # the 2023 sale's basis takes the disallowed loss (an amendment-worthy change the row shows).
    s = run(t("2022-01-03", "tax", "buy", 10, "X", 100, lot="old"),
            t("2023-12-20", "tax", "buy", 10, "X", 70, lot="dec"),
            t("2023-12-27", "tax", "sell", 10, "X", 75, lot="dec", tid="early"),
            t("2024-01-10", "tax", "sell", 10, "X", 70, lot="old", tid="s"))
    assert disp(s, "s").adjustment == D(300)
    early = disp(s, "early")
    assert early.replacement_adjustment == D(300) and early.sold == date(2023, 12, 27)
    assert [r.gain for r in rows([early])] == [D(-250)]


def test_the_fold_takes_events_off_its_own_list_not_the_callers() -> None:
    # apply lets each event go as it books it (its sorted copy ends empty): the list it was given stays whole,
    # and a one-shot iterator gives the same state.
    events = [t("2024-06-03", "tax", "sell", 5, "VOO", 360, tid="s"),
              t("2024-01-02", "tax", "buy", 10, "VOO", 400, lot="a"),
              t("2024-06-10", "tax", "buy", 5, "VOO", 361, lot="r")]
    before = list(events)
    state = run(*events)
    assert events == before and all(x is y for x, y in zip(events, before, strict=True))
    assert replay("h", iter(events), ACCOUNTS, IDENTICAL) == state
    assert disp(state, "s").adjustment == D(200)
