"""One harvest run of the live engine (`daemon.engine.plan`) on a simulated account, and its pairs turned into
trades at the paper broker's fills.

The engine gets the account's in-memory ledger state, the day's quotes (made on demand), the benchmark closes
for its circuit breaker, the portfolio's harvest and tax settings, the identical groups, the day's asset
classes and the active do-not-buy-until restrictions from earlier runs. Cash is passed as zero: a pair's buy
is its sale's proceeds, and new money is invested by the allocation rules instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from daemon.backtest.account import SimAccount
from daemon.backtest.allocate import Allocation
from daemon.backtest.data import DayQuotes, History
from daemon.backtest.direct import at_loss
from daemon.backtest.records import PairRecord, Replaced
from daemon.config.models import AssetClass, HarvestConfig, TaxConfig
from daemon.engine import (
    AccountInput,
    EngineInput,
    HarvestPlan,
    HouseholdInput,
    LotSale,
    MarketData,
    PairKind,
    Restriction,
    plan,
)
from daemon.ledger.types import ZERO, IdenticalGroups

BREAKER_CLOSES = 22
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Settings:
    harvest: HarvestConfig
    tax: TaxConfig
    identical: IdenticalGroups


def run_engine(acct: SimAccount, history: History, t: int, settings: Settings, classes: Sequence[AssetClass],
               restrictions: Sequence[Restriction], only: set[str] | None = None) -> HarvestPlan:
    """The engine's plan for the account. With `only`, the engine sees just those positions (and every sale
    of the last 31 days): the turnover cap, a share of the account's value, is rescaled so that it is the
    same as with the whole book. With the cash passed as zero nothing else depends on the other positions,
    so the plan is the same; only faster for a book of hundreds of stocks."""
    day = history.dates[t]
    h = settings.harvest
    state = acct.state(only)
    if only is not None:
        prices = history.priced[t]
        part = sum(float(acct.fshares[acct.col[s]] * prices[acct.col[s]]) for s in only)
        if part > 0:
            scale = Decimal(repr(float(acct.fshares @ prices) / part))
            h = h.model_copy(update={"max_turnover_pct": h.max_turnover_pct * scale})
    benchmarks = {}
    if h.circuit_breaker:
        for symbol in h.circuit_breaker_benchmarks:
            if history.listed(t, symbol):
                benchmarks[symbol] = history.closes(symbol, t, BREAKER_CLOSES)
                break
    household = HouseholdInput(acct.account.household, (AccountInput(acct.account, ZERO),), state)
    quotes: DayQuotes = DayQuotes(history, t)
    return plan(EngineInput(run_id=f"{acct.account.household}-{day}", as_of=day, households=(household,),
                            market=MarketData(quotes, benchmarks), harvest=h, tax=settings.tax,
                            identical=settings.identical, asset_classes=tuple(classes),
                            restrictions=tuple(restrictions)))


def book(acct: SimAccount, result: HarvestPlan, day: date, provenance: dict[str, Replaced] | None
         ) -> list[PairRecord]:
    """Fill the plan's pairs (sell legs lot by lot, then the buy with the proceeds). In a direct index the
    replacement remembers which stock it stands in for (`provenance`, by purchase id): the buy is split in
    one lot per stock the sold lots stood for (the sold stock itself, or the stock a sold replacement lot
    stood in for), so that each can be swapped back to where it belongs."""
    records: list[PairRecord] = []
    for pair in result.pairs:
        held = {lot.lot_id: lot for lot in acct.lots.get(pair.sell_symbol, ())}
        kind = pair.kind.value
        before = acct.cash
        for sale in pair.lots:
            acct.sell(day, held[sale.lot_id], sale.quantity, pair.sell_price, kind)
        proceeds = acct.cash - before
        notional = min(pair.buy_notional, proceeds)
        records.append(PairRecord(day, kind, pair.sell_symbol, pair.buy_symbol, float(pair.estimated_loss)))
        if provenance is None or pair.kind is not PairKind.HARVEST:
            acct.buy(day, pair.buy_symbol, notional, pair.buy_price, kind)
            continue
        homes = _homes(pair.lots, pair.sell_symbol, provenance)
        total = sum((part for part, _ in homes.values()), Decimal(0))
        for home, (part, shares) in sorted(homes.items()):
            amount = (notional * part / total).quantize(CENT, rounding=ROUND_DOWN) if total > 0 else notional
            trade = acct.buy(day, pair.buy_symbol, amount, pair.buy_price, kind)
            if trade is not None and home != pair.buy_symbol:  # (buying the stock it stood for: home again)
                provenance[trade.trade_id] = Replaced(pair.buy_symbol, home, day, trade.quantity, shares)
    return records


def _homes(sales: Sequence[LotSale], sold: str, provenance: dict[str, Replaced]
           ) -> dict[str, tuple[Decimal, Decimal]]:
    """Per stock the sold lots stood for: the proceeds, and the shares of that stock they stood for."""
    homes: dict[str, tuple[Decimal, Decimal]] = {}
    for s in sales:
        r = provenance.get(s.purchase_id)
        home, shares = (r.home, r.standing_for(s.quantity)) if r is not None else (sold, s.quantity)
        proceeds, total = homes.get(home, (Decimal(0), Decimal(0)))
        homes[home] = (proceeds + s.proceeds, total + shares)
    return homes


def may_act(acct: SimAccount, alloc: Allocation, history: History, t: int, h: HarvestConfig) -> bool:
    """Whether the engine could plan anything today for a book of ETFs: a lot at least `min_loss_pct` below
    its basis, or (with swap backs) a non-primary fund held 31+ days whose sale would not realize more than
    `swap_back_max_gain_usd`. A cheap superset of the engine's own tests: days without either are skipped."""
    if at_loss(acct, history, t, float(h.min_loss_pct), float(h.min_loss_usd)):
        return True
    if not h.swap_back:
        return False
    cutoff = history.dates[t] - timedelta(days=31)
    for symbol, lots in acct.lots.items():
        key = alloc.key_of(symbol)
        members = alloc.members(key, t) if key is not None else []
        if not members or acct.key(members[0]) == acct.key(symbol):
            continue
        price = history.price(t, symbol)
        old = [lot for lot in lots if lot.purchased <= cutoff]
        gain = sum(float(lot.quantity) * price - float(lot.basis) for lot in old)
        if old and gain <= float(h.swap_back_max_gain_usd) + 1.0:
            return True
    return False


def active(restrictions: list[Restriction], new: Sequence[Restriction], day: date) -> list[Restriction]:
    """Yesterday's restrictions still in force plus the plan's new ones."""
    return [r for r in [*restrictions, *new] if r.until > day]


def restricted_keys(acct: SimAccount, restrictions: Sequence[Restriction], day: date) -> set[str]:
    return {acct.key(r.symbol) for r in restrictions if r.until > day}
