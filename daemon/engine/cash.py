"""Sizing the buy leg so that no cash is left idle: the replacement gets the sale's proceeds plus the
account's cash above `cash_max_pct` of its value, so that cash after the pair stays between zero and that
limit (a whole-share broker leaves less than one share's price over)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal

from daemon.config.models import HarvestConfig
from daemon.engine.quotes import Price, Prices
from daemon.engine.types import Alert, Severity, percent
from daemon.ledger.types import ZERO, Lot

CENT = Decimal("0.01")
SHARE_QUANTUM = Decimal("0.000001")


def position_values(positions: Mapping[str, Sequence[Lot]], prices: Prices) -> dict[str, Decimal]:
    """Each position at its latest price (at basis when there is no price at all)."""
    out: dict[str, Decimal] = {}
    mark_of = prices.mark
    for symbol, lots in positions.items():
        mark = mark_of(symbol)
        if mark is None:
            out[symbol] = sum((lot.cost + lot.adjustment for lot in lots), ZERO)
        else:
            shares = ZERO  # (as sum() would add them: the same Decimal, a loop is cheaper on every run)
            for lot in lots:
                shares += lot.quantity
            out[symbol] = shares * mark
    return out


def account_value(cash: Decimal, positions: Mapping[str, Sequence[Lot]], prices: Prices,
                  values: Mapping[str, Decimal] | None = None) -> Decimal:
    """Cash plus holdings at their latest price (`values`: `position_values`, when already computed)."""
    total = cash
    for value in (position_values(positions, prices) if values is None else values).values():
        total += value
    return total


@dataclass(frozen=True, slots=True)
class Buy:
    notional: Decimal
    quantity: Decimal  # estimate at the ask (close + half the spread)
    cash_after: Decimal


def size_buy(cash: Decimal, proceeds: Decimal, sell_spread: Decimal, limit: Decimal, price: Price,
             harvest: HarvestConfig, whole_shares: bool) -> Buy:
    """`proceeds` at the reference price; `sell_spread` what the sale gives up to the bid."""
    commission = harvest.commission_usd
    target = min(max(cash, ZERO), limit)
    budget = cash + proceeds - sell_spread - 2 * commission - target
    ask = price.close + price.half_spread
    if budget <= 0:
        return Buy(ZERO, ZERO, cash + proceeds - sell_spread - commission)
    if whole_shares:
        quantity = (budget / ask).to_integral_value(rounding=ROUND_FLOOR)
        notional = quantity * ask
    else:
        notional = budget.quantize(CENT, rounding=ROUND_DOWN)
        quantity = (notional / ask).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
    spent = notional + commission if quantity > 0 else ZERO
    return Buy(notional if quantity > 0 else ZERO, quantity,
               cash + proceeds - sell_spread - commission - spent)


def cash_alert(household: str, account: str, cash: Decimal, value: Decimal,
               harvest: HarvestConfig) -> Alert | None:
    limit = harvest.cash_max_pct * value
    if cash <= limit:
        return None
    pct = cash / value * 100 if value > 0 else Decimal(100)
    return Alert("cash_above_limit", Severity.WARNING,
                 f"{account}: cash ${cash:,.2f} is {pct:.1f} % of the account value ${value:,.2f}, above "
                 f"cash_max_pct {percent(harvest.cash_max_pct)} %",
                 {"household": household, "account": account, "cash": f"{cash:.2f}",
                  "limit": f"{limit:.2f}", "account_value": f"{value:.2f}"})
