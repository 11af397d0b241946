"""Rebalancing and raising cash: which lots, in which order, how much from which asset class, never a sale
that a recent purchase would turn into a wash sale (checked by booking the sales through the real ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from daemon.engine import rebalance as rb
from daemon.engine.benefit import Rates
from daemon.engine.holdings import GroupIndex, index
from daemon.engine.quotes import Prices
from daemon.ledger import LedgerState, Side, Trade, WashMatch, apply
from tests.engine.helpers import ACCOUNTS, AS_OF, IDENTICAL, TAX, D, harvest, ledger, quotes, t

GROUPS = GroupIndex(IDENTICAL)
CLASSES = {"VTI": "us", "ITOT": "us", "VOO": "large", "IVV": "large", "VEA": "intl"}
RATES = Rates.of(TAX)  # short 40 %, long 20 %
PRICES = quotes(VTI=100, ITOT=50, VOO=400, IVV=400, VEA=50)


def _book(state: LedgerState, weights: dict[str, object], **kw: object) -> rb.Book:
    positions = index(state, AS_OF, GROUPS).positions.get("tax", {})
    return rb.Book("h", "tax", positions, {k: D(w) for k, w in weights.items()}, CLASSES.get, **kw)  # type: ignore[arg-type]


def _guard(state: LedgerState, bought_today: Sequence[str] = ()) -> rb.LossGuard:
    return rb.LossGuard(GROUPS, index(state, AS_OF, GROUPS).recent, frozenset(bought_today))


def _prices(spread_bps: object = 0) -> Prices:
    return Prices(PRICES, AS_OF, harvest(default_spread_bps=D(spread_bps)))


def _book_sales(state: LedgerState, sales: Sequence[rb.Sale]) -> list[WashMatch]:
    """Book the sales (at their bid) through the ledger: the wash matches they created."""
    trades = [Trade(f"s{i}", AS_OF, "tax", s.symbol, Side.SELL, s.quantity, s.price.close - s.price.half_spread,
                    lot_id=s.lot_id) for i, s in enumerate(sales)]
    after = apply(state, trades, ACCOUNTS, IDENTICAL)
    return list(after.matches[len(state.matches):])


def _lot_prices(state: LedgerState, sales: Sequence[rb.Sale]) -> list[Decimal]:
    cost = {lot.lot_id: lot.cost / lot.quantity for lot in state.lots}
    return [cost[s.lot_id] for s in sales]


def test_losses_first_then_the_least_tax_per_dollar_long_term_before_short_term() -> None:
    state = ledger(t(400, "tax", "buy", 10, "VTI", 120),  # long-term loss
                   t(100, "tax", "buy", 10, "VTI", 95),  # short-term gain of 5 %: 2 % of tax per dollar
                   t(401, "tax", "buy", 10, "VTI", 92),  # long-term gain of 8 %: 1.6 %
                   t(402, "tax", "buy", 10, "VTI", 90),  # long-term gain of 10 %: 2 %, as the short-term 5 %
                   t(101, "tax", "buy", 10, "VTI", 99))  # short-term gain of 1 %: 0.4 %
    book = _book(state, {"us": 1})
    sales = rb.choose(book, ["VTI"], D(3500), _prices(), RATES, _guard(state), AS_OF, "us", "cash")
    assert _lot_prices(state, sales) == [D(120), D(99), D(92), D(90)]
    assert [s.quantity for s in sales] == [D(10), D(10), D(10), D(5)]  # the last lot only for what is left
    assert sum(s.proceeds for s in sales) == D(3500)
    assert sales[0].sale.gain == D(-200)


def test_a_loss_that_a_recent_purchase_of_anything_identical_would_wash_is_kept() -> None:
    # VOO bought 60 days ago at 450 (a loss at 400); IVV, identical, bought 10 days ago in the spouse's account.
    trades = [t(60, "tax", "buy", 5, "VOO", 450), t(500, "tax", "buy", 5, "VOO", 300)]
    washing = ledger(*trades, t(10, "spouse", "buy", 1, "IVV", 390))
    sales = rb.choose(_book(washing, {"large": 1}), ["VOO"], D(1000), _prices(), RATES, _guard(washing), AS_OF,
                      "large", "rebalance")
    assert _lot_prices(washing, sales) == [D(300)]  # the gain instead
    assert _book_sales(washing, sales) == []
    # Without that purchase the loss goes first, and booking it washes nothing.
    clean = ledger(*trades)
    sales = rb.choose(_book(clean, {"large": 1}), ["VOO"], D(1000), _prices(), RATES, _guard(clean), AS_OF,
                      "large", "rebalance")
    assert _lot_prices(clean, sales) == [D(450)] and sales[0].sale.gain < 0
    assert _book_sales(clean, sales) == []


def test_a_lot_bought_days_ago_is_not_washed_by_its_own_purchase_but_is_by_one_today() -> None:
    state = ledger(t(10, "tax", "buy", 10, "VTI", 110))
    book = _book(state, {"us": 1})
    sales = rb.choose(book, ["VTI"], D(500), _prices(), RATES, _guard(state), AS_OF, "us", "tax")
    assert [s.quantity for s in sales] == [D(5)] and _book_sales(state, sales) == []
    assert rb.choose(book, ["VTI"], D(500), _prices(), RATES, _guard(state, ["VTI"]), AS_OF, "us", "tax") == []


def test_a_sale_within_a_cent_of_its_basis_counts_as_a_loss_for_the_guard() -> None:
    # Bought at 100 five days ago with another lot at 100 bought ten days ago: no gain to speak of at 100.
    state = ledger(t(10, "tax", "buy", 10, "VTI", 100), t(5, "tax", "buy", 10, "VTI", 100))
    assert rb.choose(_book(state, {"us": 1}), ["VTI"], D(500), _prices(), RATES, _guard(state), AS_OF, "us",
                     "tax") == []


def test_what_today_already_sold_and_whole_shares() -> None:
    state = ledger(t(400, "tax", "buy", 10, "VTI", 90))
    lot = state.lots[0].lot_id
    book = _book(state, {"us": 1}, sold_today={lot: D(8)}, whole_shares=True)
    sales = rb.choose(book, ["VTI"], D(150), _prices(), RATES, _guard(state), AS_OF, "us", "tax")
    assert [s.quantity for s in sales] == [D(2)]  # 1.5 shares asked: rounded up to whole shares, 2 left
    # At a 20 bps spread the sale is priced at the bid.
    sales = rb.choose(_book(state, {"us": 1}), ["VTI"], D(999), _prices(20), RATES, _guard(state), AS_OF, "us", "x")
    assert sales[0].sale.proceeds == (sales[0].quantity * D("99.9")).quantize(D("0.01"))


def test_rebalance_sells_only_above_the_threshold_and_only_what_is_over_its_target() -> None:
    state = ledger(t(400, "tax", "buy", 80, "VTI", 90), t(400, "tax", "buy", 40, "VEA", 40))
    book = _book(state, {"us": "0.6", "intl": "0.4"})  # $8,000 / $2,000: a drift of 20 points
    assert rb.drift(book, rb.position_values(book, _prices()), D(10000)) == D("0.2")
    assert rb.rebalance(book, D(0), D("0.25"), _prices(), RATES, _guard(state), AS_OF) == []
    sales = rb.rebalance(book, D(0), D("0.05"), _prices(), RATES, _guard(state), AS_OF)
    assert {s.symbol for s in sales} == {"VTI"}
    assert sum(s.proceeds for s in sales) == D(2000)
    assert "rebalance: us" in sales[0].reason and "threshold of 5.0" in sales[0].reason
    # Cash counts in the total: with $5,000 of cash both classes are under their targets (VEA by 26.7 points):
    # new money, not a sale, rebalances.
    assert rb.rebalance(book, D(5000), D("0.05"), _prices(), RATES, _guard(state), AS_OF) == []


def test_raise_cash_takes_from_what_is_over_target_then_pro_rata_or_neutral() -> None:
    state = ledger(t(400, "tax", "buy", 80, "VTI", 90), t(400, "tax", "buy", 40, "VEA", 40))
    book = _book(state, {"us": "0.6", "intl": "0.4"})
    sales = rb.raise_cash(book, D(0), D(3000), _prices(), RATES, _guard(state), AS_OF, reason="tax")
    assert {s.symbol for s in sales} == {"VTI"} and sum(s.proceeds for s in sales) == D(3000)
    # $5,000: VTI gives all it is over ($8,000 - 60 % of $5,000), the last $0 pro rata.
    sales = rb.raise_cash(book, D(0), D(5000), _prices(), RATES, _guard(state), AS_OF, reason="tax")
    by = {s: sum(x.proceeds for x in sales if x.symbol == s) for s in ("VTI", "VEA")}
    assert by == {"VTI": D(5000), "VEA": D(0)}
    # $8,000: $6,800 and $1,200 over their targets once it is gone (60 / 40 % of $2,000).
    sales = rb.raise_cash(book, D(0), D(8000), _prices(), RATES, _guard(state), AS_OF, reason="tax")
    by = {s: sum(x.proceeds for x in sales if x.symbol == s) for s in ("VTI", "VEA")}
    assert by == {"VTI": D(6800), "VEA": D(1200)}
    # A direct index keeps its mix: 80 / 20 of $1,000.
    sales = rb.raise_cash(book, D(0), D(1000), _prices(), RATES, _guard(state), AS_OF, neutral=True)
    by = {s: sum(x.proceeds for x in sales if x.symbol == s) for s in ("VTI", "VEA")}
    assert by == {"VTI": D(800), "VEA": D(200)}
    assert rb.raise_cash(book, D(0), D("0.5"), _prices(), RATES, _guard(state), AS_OF) == []


def test_what_the_overweight_class_may_not_sell_comes_pro_rata_from_the_rest() -> None:
    # VOO at a loss ($8,000 held at 400, bought at 450), IVV bought 10 days ago elsewhere in the household.
    state = ledger(t(60, "tax", "buy", 20, "VOO", 450), t(400, "tax", "buy", 40, "VEA", 40),
                   t(10, "spouse", "buy", 1, "IVV", 390))
    book = _book(state, {"large": "0.6", "intl": "0.4"})
    sales = rb.raise_cash(book, D(0), D(3000), _prices(), RATES, _guard(state), AS_OF, reason="tax")
    # large is $3,800 over its target but its only lot would be washed; its 80 % of the rest is kept too.
    assert {s.symbol for s in sales} == {"VEA"} and sum(s.proceeds for s in sales) == D(600)
    assert "in proportion to its value" in sales[0].reason
    assert _book_sales(state, sales) == []
    # A gain may be sold whatever was bought today.
    gain = ledger(t(400, "tax", "buy", 40, "VEA", 40))
    assert rb.choose(_book(gain, {"intl": 1}), ["VEA"], D(100), _prices(), RATES, _guard(gain, ["VEA"]), AS_OF,
                     "intl", "x") != []
