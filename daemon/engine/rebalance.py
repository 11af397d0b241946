"""Sales that keep a book near its target weights (rebalancing) or raise an amount of cash (e.g. the year's
tax, paid from the portfolio on April 15): which lots to sell, decided here so that the backtest only fills
them (issue 16: one engine). What the proceeds buy is new money's decision (new_money.py).

- Which lots (`choose`): about the amount asked, at the bid. A lot whose sale would be a loss (or within a
  cent of one, as the fill may differ) is never sold when a purchase of anything identical in the last 30
  days, still held and not the lot's own purchase, or one made today, would wash it: such a sale would
  create a wash sale. The rest go in order of the tax a dollar of proceeds costs (gain per dollar times the
  rate of its term): losses first (the most tax saved per dollar first, so short-term losses before
  long-term ones of the same size), then the smallest gains per dollar, a long-term gain before a
  short-term gain of the same size (it is taxed at the lower rate).
- Rebalancing (`rebalance`): when some key (an asset class; in a direct index, a stock) is further than
  `threshold` from its target weight, every key above its target sells down to it.
- Raising cash (`raise_cash`): from the keys furthest above their targets once the amount has left the
  account, scaled to the amount; what they cannot give, from every key in proportion to its value. A
  direct index (`neutral`) sells from every stock in proportion to its value, so its mix does not change.

Only the backtest calls these today: `tlh harvest` and `tlh run` do not rebalance or raise cash (no config
key switches it on yet), so a live account's sales are still only harvest pairs and swap backs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_UP, Decimal

from daemon.engine.benefit import Rates
from daemon.engine.candidates import lot_sale
from daemon.engine.conflicts import lookback
from daemon.engine.holdings import GroupIndex
from daemon.engine.quotes import Price, Prices
from daemon.engine.types import LotSale, Rejection
from daemon.ledger.types import ZERO, Lot, Term

CENT = Decimal("0.01")
SHARE_QUANTUM = Decimal("1e-9")  # the smallest fraction of a share a sale names
MIN_SALE_USD = Decimal("1")  # smaller amounts are not worth an order


@dataclass(frozen=True, slots=True)
class Book:
    """One account's holdings as rebalancing sees them. `key_of(symbol)` names the key a symbol counts
    toward (its asset class; in a direct index, the stock itself), or None when it counts toward none."""

    household: str
    account: str
    positions: Mapping[str, Sequence[Lot]]  # open lots per symbol
    weights: Mapping[str, Decimal]  # key -> target weight (sum 1)
    key_of: Callable[[str], str | None]
    whole_shares: bool = False
    sold_today: Mapping[str, Decimal] = field(default_factory=dict)  # lot id -> shares today's plan already sells


@dataclass(frozen=True, slots=True)
class LossGuard:
    """Whether a sale at a loss today would be a wash sale: `recent` are the household's purchases of the
    last 30 days per identical-group key (`holdings.Holdings.recent`), `bought_today` the group keys bought
    today before these sales."""

    groups: GroupIndex
    recent: Mapping[str, Sequence[Lot]]
    bought_today: Collection[str] = ()

    def washes(self, symbol: str, sale: LotSale) -> bool:
        # A sale within a cent of its basis counts as a loss: the fill may fall below the bid.
        if sale.gain >= CENT:
            return False
        key = self.groups.key(symbol)
        if key in self.bought_today:
            return True
        as_loss = sale if sale.gain < 0 else LotSale(sale.lot_id, sale.purchase_id, sale.quantity,
                                                     sale.proceeds + CENT, sale.proceeds, sale.term,
                                                     sale.acquired, sale.purchased, sale.seq, sale.washed_from)
        return bool(lookback([as_loss], [(r, r.quantity) for r in self.recent.get(key, ())]))


@dataclass(frozen=True, slots=True)
class Sale:
    """`sale.quantity` shares of one lot of `symbol` to sell at `price`; `key` is what it was sold from."""

    symbol: str
    key: str
    price: Price
    sale: LotSale
    reason: str

    @property
    def lot_id(self) -> str:
        return self.sale.lot_id

    @property
    def quantity(self) -> Decimal:
        return self.sale.quantity

    @property
    def proceeds(self) -> Decimal:
        return self.sale.proceeds


def tax_per_dollar(sale: LotSale, rates: Rates) -> Decimal:
    """The tax a dollar of the sale's proceeds costs (negative: saves)."""
    return sale.gain * rates.rate(sale.term) / sale.proceeds if sale.proceeds > 0 else ZERO


def _bid(price: Price) -> Decimal:
    return price.close - price.half_spread


def position_values(book: Book, prices: Prices) -> dict[str, Decimal]:
    """Each position at its mark (positions without one are left out)."""
    out: dict[str, Decimal] = {}
    for symbol, lots in book.positions.items():
        mark = prices.mark(symbol)
        if mark is not None:
            out[symbol] = sum((lot.quantity for lot in lots), ZERO) * mark
    return out


def key_values(book: Book, values: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Value held per key (`values`: per symbol; symbols of no key are not counted)."""
    out: dict[str, Decimal] = {}
    for symbol, value in values.items():
        key = book.key_of(symbol)
        if key is not None:
            out[key] = out.get(key, ZERO) + value
    return out


def drift(book: Book, values: Mapping[str, Decimal], total: Decimal) -> Decimal:
    """The largest distance of a key's weight from its target (`values`: per symbol; `total`: the
    account's value, cash included)."""
    if total <= 0:
        return ZERO
    held = key_values(book, values)
    keys = set(book.weights) | set(held)
    return max((abs(held.get(k, ZERO) / total - book.weights.get(k, ZERO)) for k in keys), default=ZERO)


def choose(book: Book, symbols: Sequence[str], amount: Decimal, prices: Prices, rates: Rates, guard: LossGuard,
           as_of: date, key: str, reason: str) -> list[Sale]:
    """About `amount` dollars (at the bid) of the lots of `symbols`, in the order of the module's doc, never a
    loss a recent purchase would wash."""
    ranked: list[tuple[Decimal, int, Decimal, int, str, Lot, Price, Decimal]] = []
    for symbol in symbols:
        price = prices.get(symbol)
        if isinstance(price, Rejection):
            continue
        bid = _bid(price)
        for lot in book.positions.get(symbol, ()):
            available = lot.quantity - book.sold_today.get(lot.lot_id, ZERO)
            if available <= 0:
                continue
            whole = lot_sale(lot, available, bid, as_of)
            if guard.washes(symbol, whole):
                continue
            per_dollar = whole.gain / whole.proceeds if whole.proceeds > 0 else ZERO
            ranked.append((tax_per_dollar(whole, rates), 0 if whole.term is Term.LONG else 1, per_dollar,
                           lot.seq, symbol, lot, price, available))
    ranked.sort(key=lambda r: r[:5])
    out: list[Sale] = []
    left = amount
    for _, _, _, _, symbol, lot, price, available in ranked:
        if left < MIN_SALE_USD:
            break
        bid = _bid(price)
        want = left / bid
        quantity = want.to_integral_value(rounding=ROUND_CEILING) if book.whole_shares else \
            want.quantize(SHARE_QUANTUM, rounding=ROUND_UP)
        quantity = min(quantity, available)
        if quantity <= 0:
            continue
        sale = lot_sale(lot, quantity, bid, as_of)
        out.append(Sale(symbol, key, price, sale, reason))
        left -= sale.proceeds
    return out


def _sell_keys(book: Book, amounts: Mapping[str, Decimal], prices: Prices, rates: Rates, guard: LossGuard,
               as_of: date, reason: Callable[[str, Decimal], str]) -> list[Sale]:
    by_key: dict[str, list[str]] = {}
    for symbol in sorted(book.positions):
        key = book.key_of(symbol)
        if key is not None:
            by_key.setdefault(key, []).append(symbol)
    out: list[Sale] = []
    for key in sorted(amounts):
        amount = amounts[key]
        if amount >= MIN_SALE_USD and key in by_key:
            out += choose(book, by_key[key], amount, prices, rates, guard, as_of, key, reason(key, amount))
    return out


def rebalance(book: Book, cash: Decimal, threshold: Decimal, prices: Prices, rates: Rates, guard: LossGuard,
              as_of: date, values: Mapping[str, Decimal] | None = None) -> list[Sale]:
    """The sales that bring every key above its target back to it, when some key has drifted further than
    `threshold` from its target weight (0: always); the proceeds are new money's to invest."""
    values = position_values(book, prices) if values is None else values
    total = cash + sum(values.values(), ZERO)
    gap = drift(book, values, total)
    if total <= 0 or gap <= threshold:
        return []
    held = key_values(book, values)
    excess = {k: v - book.weights.get(k, ZERO) * total for k, v in held.items()}

    def why(key: str, amount: Decimal) -> str:
        target = book.weights.get(key, ZERO) * total
        return (f"rebalance: {key} ${held[key]:,.2f} held against a target of ${target:,.2f} (a drift of "
                f"{gap * 100:.1f} points is over the threshold of {threshold * 100:.1f}); sells ${amount:,.2f}")

    return _sell_keys(book, {k: e for k, e in excess.items() if e > 0}, prices, rates, guard, as_of, why)


def raise_cash(book: Book, cash: Decimal, need: Decimal, prices: Prices, rates: Rates, guard: LossGuard,
               as_of: date, neutral: bool = False, reason: str = "cash",
               values: Mapping[str, Decimal] | None = None) -> list[Sale]:
    """Sales for about `need` dollars (at the bid), as the module's doc says; fewer when not enough may be
    sold (losses a recent purchase would wash are kept)."""
    if need < MIN_SALE_USD:
        return []
    values = position_values(book, prices) if values is None else values
    held = key_values(book, values)
    invested = sum(held.values(), ZERO)
    out: list[Sale] = []
    if not neutral:
        after = cash + sum(values.values(), ZERO) - need
        excess = {k: v - book.weights.get(k, ZERO) * after for k, v in held.items()}
        positive = {k: e for k, e in excess.items() if e > 0}
        over = sum(positive.values(), ZERO)
        scale = min(need / over, Decimal(1)) if over > 0 else ZERO
        out += _sell_keys(book, {k: e * scale for k, e in positive.items()}, prices, rates, guard, as_of,
                          lambda k, a: f"{reason}: ${a:,.2f} from {k}, above its target once ${need:,.2f} is "
                                       f"withdrawn")
    rest = need - sum((s.proceeds for s in out), ZERO)
    if rest >= MIN_SALE_USD and invested > 0:
        taken = dict(book.sold_today)
        for s in out:
            taken[s.lot_id] = taken.get(s.lot_id, ZERO) + s.quantity
        left = Book(book.household, book.account, book.positions, book.weights, book.key_of, book.whole_shares,
                    taken)
        out += _sell_keys(left, {k: rest * v / invested for k, v in held.items()}, prices, rates, guard, as_of,
                          lambda k, a: f"{reason}: ${a:,.2f} from {k}, in proportion to its value")
    return out
