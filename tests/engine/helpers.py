"""Terse builders for engine scenarios. Ledger states come from the real ledger (`replay` of trades)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from daemon.config.models import AssetClass, HarvestConfig, TaxConfig
from daemon.engine import (
    AccountInput,
    Capabilities,
    EngineInput,
    HarvestPlan,
    HouseholdInput,
    MarketData,
    Restriction,
    Skip,
    plan,
)
from daemon.ledger import (
    Account,
    AccountType,
    IdenticalGroups,
    LedgerState,
    LotMethod,
    Side,
    Trade,
    WashMatch,
    apply,
    replay,
)
from daemon.prices import Quote

AS_OF = date(2026, 11, 20)
_ids = itertools.count(1)

ACCOUNTS = {
    "tax": Account("tax", "h", AccountType.TAXABLE, LotMethod.SPECIFIC),
    "spouse": Account("spouse", "h", AccountType.TAXABLE, LotMethod.SPECIFIC),
    "fifo": Account("fifo", "h", AccountType.TAXABLE, LotMethod.FIFO),
    "lifo": Account("lifo", "h", AccountType.TAXABLE, LotMethod.LIFO),
    "hifo": Account("hifo", "h", AccountType.TAXABLE, LotMethod.HIFO),
    "ira": Account("ira", "h", AccountType.TRADITIONAL_IRA),
    "roth": Account("roth", "h", AccountType.ROTH_IRA),
    "other": Account("other", "g", AccountType.TAXABLE, LotMethod.SPECIFIC),
}
IDENTICAL = IdenticalGroups((frozenset({"VOO", "IVV", "SPY", "SPLG"}), frozenset({"IWB", "VONE"})))
ASSET_CLASSES = (
    AssetClass(name="us_total_market", members=["VTI", "ITOT", "SCHB", "IWV"]),
    AssetClass(name="us_large_cap", members=["VOO", "VV", "SCHX", "IWB"]),
    AssetClass(name="intl_developed", members=["VEA", "IEFA", "SCHF"]),
)
# A tax profile with round numbers: short-term 40 %, long-term 20 % (NIIT and state included).
TAX = TaxConfig(short_term_rate=Decimal("0.35"), long_term_rate=Decimal("0.15"), niit_rate=Decimal("0.05"),
                state_rate=Decimal("0"))


def D(x: object) -> Decimal:  # noqa: N802
    return Decimal(str(x))


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def t(when: date | int, account: str, side: str, qty: object, symbol: str, price: object, *,
      lot: str | None = None, tid: str | None = None) -> Trade:
    """A trade `when` days before AS_OF (or on a date)."""
    day = ago(when) if isinstance(when, int) else when
    return Trade(trade_id=tid or f"t{next(_ids)}", date=day, account=account, symbol=symbol,
                 side=Side(side), quantity=D(qty), price=D(price), lot_id=lot)


def ledger(*trades: Trade, household: str = "h") -> LedgerState:
    return replay(household, [x for x in trades if ACCOUNTS[x.account].household == household], ACCOUNTS,
                  IDENTICAL)


def quotes(day: date = AS_OF, **prices: object) -> dict[str, Quote]:
    return {symbol: Quote(day, D(p)) for symbol, p in prices.items()}


def harvest(**overrides: Any) -> HarvestConfig:
    """Shipped defaults, but the circuit breaker off (scenarios have no benchmark history) and no turnover
    cap (so that a scenario sells whole positions unless it tests the cap)."""
    return HarvestConfig(**{"circuit_breaker": False, "max_turnover_pct": Decimal(1), **overrides})


def account(name: str, cash: object = 0, *, in_sync: bool = True, fractional: bool = True,
            specific: bool = True) -> AccountInput:
    return AccountInput(ACCOUNTS[name], D(cash), in_sync, Capabilities(fractional, specific))


def make_input(state: LedgerState, prices: Mapping[str, Quote], *,
               accounts: Sequence[AccountInput] | None = None, config: HarvestConfig | None = None,
               restrictions: Sequence[Restriction] = (), benchmarks: Mapping[str, Any] | None = None,
               tax: TaxConfig = TAX) -> EngineInput:
    if accounts is None:
        accounts = [account(a) for a, acc in ACCOUNTS.items() if acc.household == state.household]
    return EngineInput(run_id="run-1", as_of=AS_OF,
                       households=(HouseholdInput(state.household, tuple(accounts), state),),
                       market=MarketData(dict(prices), dict(benchmarks or {})), harvest=config or harvest(),
                       tax=tax, identical=IDENTICAL, asset_classes=ASSET_CLASSES,
                       restrictions=tuple(restrictions))


def run(state: LedgerState, prices: Mapping[str, Quote], **kw: Any) -> HarvestPlan:
    return plan(make_input(state, prices, **kw))


def skip_of(p: HarvestPlan, account: str, symbol: str) -> Skip:
    found = [s for s in p.skipped if s.account == account and s.symbol == symbol]
    assert len(found) == 1, (found, p.skipped)
    return found[0]


def plan_trades(p: HarvestPlan) -> list[Trade]:
    """The plan as trades dated AS_OF: one sell per lot (naming it) at the pair's sell price, and a buy of
    buy_notional / buy_price shares."""
    trades: list[Trade] = []
    for pair in p.pairs:
        for sale in pair.lots:
            trades.append(Trade(f"{pair.pair_id}-sell-{sale.lot_id}", AS_OF, pair.account, pair.sell_symbol,
                                Side.SELL, sale.quantity, pair.sell_price, lot_id=sale.lot_id,
                                order_id=f"{pair.pair_id}-sell"))
        quantity = (pair.buy_notional / pair.buy_price).quantize(Decimal("0.000001"))
        trades.append(Trade(f"{pair.pair_id}-buy", AS_OF, pair.account, pair.buy_symbol, Side.BUY, quantity,
                            pair.buy_price))
    return trades


def execute(state: LedgerState, p: HarvestPlan) -> tuple[LedgerState, list[WashMatch]]:
    """Book the plan on the ledger; returns the new state and the wash matches the plan created."""
    after = apply(state, plan_trades(p), ACCOUNTS, IDENTICAL)
    return after, list(after.matches[len(state.matches):])
