"""New money in a book of ETFs (an account with `targets`): its cash goes to the asset classes furthest
below their target weights, so that contributions rebalance the account and fewer rebalancing sales (which realize
gains) are needed.

- Amounts: the classes are taken most underweight first (held value minus target); when the cash does not
  cover every shortfall it is shared in proportion to them, otherwise each shortfall is filled and the rest
  is spread by target weight.
- The fund bought in a class: its first member, in the configured order (primary, secondary, ...), that a
  purchase today would not wash: not identical to a loss of the last 30 days, not under a do-not-buy-until
  restriction, not sold at a loss by today's plan. So after a harvest the money goes back to the primary
  as soon as it may, not into the replacement: shares bought there would wash that replacement's own
  harvest in the next 30 days (and more swap backs follow). Backtests of the three-fund portfolio agree:
  buying the class's current holding instead harvested no more and lost 0.06 %/yr of tax alpha (median of
  ten ten-year windows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal

from daemon.config.models import AssetClass, HarvestConfig
from daemon.engine.cash import CENT, SHARE_QUANTUM
from daemon.engine.quotes import Price, Prices
from daemon.engine.replacement import AssetClasses
from daemon.engine.types import Purchase, Rejection, percent
from daemon.ledger.types import ZERO, Lot

MIN_PURCHASE_USD = Decimal("1")  # smaller amounts wait for the next contribution


@dataclass(frozen=True, slots=True)
class Book:
    """One account's book of ETFs, as new money sees it."""

    household: str
    account: str
    positions: Mapping[str, Sequence[Lot]]  # open lots per symbol
    weights: Mapping[str, Decimal]  # asset class name -> target weight (the classes bought; sum 1)
    classes: Mapping[str, AssetClass]  # by name
    whole_shares: bool = False


def held_values(book: Book, index: AssetClasses, prices: Prices) -> dict[str, Decimal]:
    """Value held per asset class of the targets (symbols in no target class are not counted)."""
    out: dict[str, Decimal] = {}
    for symbol, lots in book.positions.items():
        asset_class = index.of(symbol)
        mark = prices.mark(symbol)
        if asset_class is None or asset_class.name not in book.weights or mark is None:
            continue
        out[asset_class.name] = out.get(asset_class.name, ZERO) + sum((lot.quantity for lot in lots), ZERO) * mark
    return out


def fund_for(asset_class: AssetClass, prices: Prices, conflict: Callable[[str], str | None]
             ) -> tuple[str, Price] | None:
    """The fund new money buys in `asset_class`: its first member, in the configured order, that a purchase
    today would not wash and that has a sound price; None when there is none."""
    for symbol in asset_class.members:
        if conflict(symbol) is not None:
            continue
        price = prices.get(symbol)
        if isinstance(price, Rejection):
            continue
        return symbol, price
    return None


def plan_new_money(book: Book, budget: Decimal, total: Decimal, index: AssetClasses,
                   prices: Prices, harvest: HarvestConfig, conflict: Callable[[str], str | None],
                   first_id: int = 1) -> list[Purchase]:
    """Purchases spending about `budget` (cash to invest) toward the targets of an account worth `total`
    once it is invested (holdings plus `budget`)."""
    if budget < MIN_PURCHASE_USD or not book.weights:
        return []
    values = held_values(book, index, prices)
    order = sorted(book.weights, key=lambda k: (values.get(k, ZERO) - book.weights[k] * total, k))
    chosen: list[tuple[str, str, Price, Decimal, Decimal]] = []  # class, symbol, price, shortfall, weight
    for name in order:
        asset_class = book.classes.get(name)
        found = None if asset_class is None else fund_for(asset_class, prices, conflict)
        if found is not None:
            shortfall = max(book.weights[name] * total - values.get(name, ZERO), ZERO)
            chosen.append((name, found[0], found[1], shortfall, book.weights[name]))
    if not chosen:
        return []
    shortfalls = sum((c[3] for c in chosen), ZERO)
    weights = sum((c[4] for c in chosen), ZERO)
    commission = harvest.commission_usd
    spendable = budget - commission * len(chosen)
    out: list[Purchase] = []
    for name, symbol, price, shortfall, weight in chosen:
        if spendable <= 0:
            break
        if shortfalls >= spendable:
            amount = spendable * shortfall / shortfalls
        else:
            amount = shortfall + (spendable - shortfalls) * weight / weights
        notional = amount.quantize(CENT, rounding=ROUND_DOWN)
        ask = price.close + price.half_spread
        if book.whole_shares:
            quantity = (notional / ask).to_integral_value(rounding=ROUND_FLOOR)
            notional = quantity * ask
        else:
            quantity = (notional / ask).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
        if quantity <= 0 or notional < MIN_PURCHASE_USD:
            continue
        held = values.get(name, ZERO)
        out.append(Purchase(f"b{first_id + len(out)}", book.household, book.account, symbol, price.close, notional,
                            quantity,
                            f"{name}: ${held:,.2f} held against a target of ${book.weights[name] * total:,.2f} "
                            f"({percent(book.weights[name].quantize(Decimal('0.0001')))} % of ${total:,.2f}); "
                            f"buys {symbol}"))
    return out
