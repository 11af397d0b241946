"""One harvest run of the live engine (`daemon.engine.plan`) on a simulated account, and its pairs (and, in a
direct index, its purchases) turned into trades at the paper broker's fills.

The engine gets the account's in-memory ledger state, the day's quotes (made on demand), the benchmark closes
for its circuit breaker, the portfolio's harvest and tax settings, the identical groups, the day's asset
classes and the active do-not-buy-until restrictions from earlier runs. Cash is passed as zero: a pair's buy
is its sale's proceeds, and new money is invested by the allocation rules instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from daemon.backtest.account import SimAccount
from daemon.backtest.allocate import Allocation, holdings
from daemon.backtest.data import DayQuotes, History
from daemon.backtest.records import PairRecord
from daemon.config.models import AssetClass, HarvestConfig, TaxConfig
from daemon.engine import (
    AccountInput,
    EngineInput,
    HarvestPlan,
    HouseholdInput,
    MarketData,
    Restriction,
    plan,
)
from daemon.engine import new_money as engine_new_money
from daemon.engine import rebalance as engine_rebalance
from daemon.engine.benefit import Rates
from daemon.engine.quotes import Prices
from daemon.engine.replacement import AssetClasses
from daemon.engine.types import DirectIndexInput, TrailingReturns
from daemon.ledger.types import ZERO, IdenticalGroups

BREAKER_CLOSES = 22
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Settings:
    harvest: HarvestConfig
    tax: TaxConfig
    identical: IdenticalGroups


def run_engine(acct: SimAccount, history: History, t: int, settings: Settings, classes: Sequence[AssetClass],
               restrictions: Sequence[Restriction], direct: DirectIndexInput | None = None,
               returns: TrailingReturns | None = None) -> HarvestPlan:
    """The engine's plan for the account. A direct index gets the account's cash (the engine invests new
    money) and its inputs; a book of ETFs gets zero cash (a pair's buy is its sale's proceeds; new money is
    invested by the allocation rules)."""
    return plan(engine_input(acct, history, t, settings, classes, restrictions, direct, returns))


def engine_input(acct: SimAccount, history: History, t: int, settings: Settings, classes: Sequence[AssetClass],
                 restrictions: Sequence[Restriction], direct: DirectIndexInput | None = None,
                 returns: TrailingReturns | None = None) -> EngineInput:
    """What `tlh harvest` would hand the engine for the account on day `t` (see `run_engine`)."""
    day = history.dates[t]
    h = settings.harvest
    state = acct.state()
    benchmarks = {}
    if h.circuit_breaker:
        for symbol in h.circuit_breaker_benchmarks:
            if history.listed(t, symbol):
                benchmarks[symbol] = history.closes(symbol, t, BREAKER_CLOSES)
                break
    cash = acct.cash if direct is not None else ZERO
    household = HouseholdInput(acct.account.household, (AccountInput(acct.account, cash),), state)
    quotes: DayQuotes = DayQuotes(history, t)
    return EngineInput(run_id=f"{acct.account.household}-{day}", as_of=day, households=(household,),
                       market=MarketData(quotes, benchmarks, returns), harvest=h, tax=settings.tax,
                       identical=settings.identical, asset_classes=tuple(classes), restrictions=tuple(restrictions),
                       direct_indexes=(direct,) if direct is not None else ())


def new_money(acct: SimAccount, history: History, t: int, settings: Settings, classes: Sequence[AssetClass],
              weights: Mapping[str, float], restrictions: Sequence[Restriction]) -> None:
    """Invest the account's cash as the engine's new money for a book of ETFs with targets decides
    (`daemon.engine.new_money`: most underweight class first, never into a fund a purchase would wash), and
    fill the purchases at the paper broker's rule."""
    day = history.dates[t]
    prices = Prices(DayQuotes(history, t), day, settings.harvest)
    groups = acct.groups
    blocked = acct.blocked(day, restrictions)
    total = acct.cash
    for symbol, lots in acct.lots.items():
        mark = prices.mark(symbol)
        if mark is not None:
            total += sum((lot.quantity for lot in lots), ZERO) * mark
    book = engine_new_money.Book(acct.account.household, acct.account.id, acct.lots,
                                 {k: Decimal(repr(w)) for k, w in weights.items()},
                                 {c.name: c for c in classes})
    purchases = engine_new_money.plan_new_money(
        book, acct.cash, total, AssetClasses(classes, groups), prices, settings.harvest,
        lambda m: "bought back too soon" if acct.key(m) in blocked else None)
    for purchase in purchases:
        notional = min(purchase.notional, acct.cash)
        if notional > 0:
            acct.buy(day, purchase.symbol, notional, purchase.price, "invest")


def _targets(acct: SimAccount, alloc: Allocation, t: int, settings: Settings
             ) -> tuple[engine_rebalance.Book, Prices, dict[str, Decimal]]:
    """The account as the engine's rebalancing sees it on day `t`: its lots (less what today's trades sold),
    the day's targets, prices, and each position's value at the day's close."""
    history = alloc.history
    day = history.dates[t]
    prices = history.priced[t]
    values = {s: Decimal(repr(float(acct.fshares[acct.col[s]] * prices[acct.col[s]]))) for s in acct.lots}
    book = engine_rebalance.Book(acct.account.household, acct.account.id, acct.lots,
                                 {k: Decimal(repr(w)) for k, w in alloc.weights(t).items()}, alloc.key_of,
                                 sold_today=dict(acct.sold_qty))
    return book, Prices(DayQuotes(history, t), day, settings.harvest), values


def _guard(acct: SimAccount, day: date) -> engine_rebalance.LossGuard:
    return engine_rebalance.LossGuard(acct.groups, acct.recent(day), frozenset(acct.bought_groups))


def _fill(acct: SimAccount, day: date, sales: Sequence[engine_rebalance.Sale], tag: str) -> None:
    for sale in sales:
        lot = next(lot for lot in acct.lots[sale.symbol] if lot.lot_id == sale.lot_id)
        acct.sell(day, lot, sale.quantity, sale.price.close, tag)


def rebalance(acct: SimAccount, alloc: Allocation, t: int, settings: Settings, threshold: Decimal) -> None:
    """Fill the engine's rebalancing sales (`daemon.engine.rebalance.rebalance`: its drift test, then the lots);
    new money then invests the proceeds. Days on which the drift in floats is clearly within the threshold
    are skipped without asking the engine (a cheap bound, as `may_act` is for harvests)."""
    held = holdings(acct, alloc, t)
    if held.total <= 0:
        return
    weights = alloc.weights(t)
    rough = max((abs(held.values.get(k, 0.0) / held.total - weights.get(k, 0.0))
                 for k in set(weights) | set(held.values)), default=0.0)
    if rough <= float(threshold) - 1e-6:
        return
    book, prices, values = _targets(acct, alloc, t, settings)
    day = alloc.history.dates[t]
    sales = engine_rebalance.rebalance(book, acct.cash, threshold, prices, Rates.of(settings.tax),
                                       _guard(acct, day), day, values)
    _fill(acct, day, sales, "rebalance")


def raise_cash(acct: SimAccount, alloc: Allocation, t: int, settings: Settings, need: Decimal, tag: str) -> None:
    """Fill the engine's sales for about `need` dollars (`daemon.engine.rebalance.raise_cash`): a direct index
    sells in proportion to its holdings, a book of ETFs from what is above its targets first."""
    book, prices, values = _targets(acct, alloc, t, settings)
    day = alloc.history.dates[t]
    sales = engine_rebalance.raise_cash(book, acct.cash, need, prices, Rates.of(settings.tax), _guard(acct, day),
                                        day, neutral=alloc.neutral, reason=tag, values=values)
    _fill(acct, day, sales, tag)


def book(acct: SimAccount, result: HarvestPlan, day: date) -> list[PairRecord]:
    """Fill the plan: each pair's sell legs lot by lot, then its buy with the proceeds; then the purchases
    (new money), each within the cash left."""
    records: list[PairRecord] = []
    for pair in result.pairs:
        held = {lot.lot_id: lot for lot in acct.lots.get(pair.sell_symbol, ())}
        kind = pair.kind.value
        before = acct.cash
        for sale in pair.lots:
            acct.sell(day, held[sale.lot_id], sale.quantity, pair.sell_price, kind)
        proceeds = acct.cash - before
        records.append(PairRecord(day, kind, pair.sell_symbol, pair.buy_symbol, float(pair.estimated_loss)))
        acct.buy(day, pair.buy_symbol, min(pair.buy_notional, proceeds), pair.buy_price, kind)
    for purchase in result.purchases:
        notional = min(purchase.notional, acct.cash).quantize(CENT, rounding=ROUND_DOWN)
        if notional > 0:
            acct.buy(day, purchase.symbol, notional, purchase.price, "invest")
    return records


def at_loss(acct: SimAccount, history: History, t: int, min_loss_pct: float, min_loss_usd: float) -> set[str]:
    """Held symbols the engine could harvest: a lot at least `min_loss_pct` below its basis, and losses of
    at least `min_loss_usd` over all lots at a loss (a cheap superset of the engine's thresholds)."""
    prices = history.close[t]
    edge = (1 - min_loss_pct) * (1 + 1e-9)
    out: set[str] = set()
    for s in acct.lots:
        price = prices[acct.col[s]]
        if price <= acct.max_basis.get(s, 0.0) * edge:
            shares, basis = acct.arrays[s]
            loss = basis - shares * price
            if loss[loss > 0].sum() >= min_loss_usd * (1 - 1e-9):
                out.add(s)
    return out


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
