"""What the harvest engine takes in and gives back: plain frozen records, no I/O.

Inputs: `EngineInput` (households with their accounts and ledger state, market data, settings, active
do-not-buy-until restrictions). Output: `HarvestPlan` (pairs, skipped candidates with a reason, new
restrictions, alerts), whose `to_dict()` is the JSON contract of `tlh harvest --dry-run --format json`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from daemon import gc_pause
from daemon.config.constituents import Constituent
from daemon.config.models import AssetClass, HarvestConfig, TaxConfig
from daemon.ledger.money import cents
from daemon.ledger.types import ZERO, Account, IdenticalGroups, LedgerState, Term
from daemon.prices import Quote

# Planning (and serializing a plan) makes many small acyclic records, freed by reference counting; left on,
# the cyclic garbage collector would traverse the whole book (a million lots) again and again for nothing.
without_cycle_collection = gc_pause.paused


class SkipReason(enum.StrEnum):
    BELOW_LOSS_THRESHOLD = "below_loss_threshold"
    BELOW_BENEFIT_THRESHOLD = "below_benefit_threshold"
    WASH_SALE_LOOKBACK = "wash_sale_lookback"
    NO_ELIGIBLE_REPLACEMENT = "no_eligible_replacement"
    SPREAD_TOO_WIDE = "spread_too_wide"
    MISSING_PRICE = "missing_price"
    STALE_PRICE = "stale_price"
    LOT_RELIEF_GAIN = "lot_relief_gain"
    CIRCUIT_BREAKER = "circuit_breaker"
    MAX_PAIRS_REACHED = "max_pairs_reached"
    TURNOVER_CAP = "turnover_cap"
    RECONCILE_MISMATCH = "reconcile_mismatch"
    BROKER_UNAVAILABLE = "broker_unavailable"  # positions, cash or fills not read in this run
    PAUSED = "paused"  # `tlh pause`, or a fill far from its quote, until `tlh resume`
    ALREADY_HARVESTED = "already_harvested"  # an earlier run traded the account this trading day
    GAIN_BUDGET = "gain_budget"  # direct index: a swap back would realize more gain than the year's budget
    INSUFFICIENT_CASH = "insufficient_cash"
    HOUSEHOLD_OUT_OF_SYNC = "household_out_of_sync"
    SCHEDULED_PURCHASE = "scheduled_purchase"  # a recurring purchase or dividend reinvestment would wash it


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a candidate (or one of its legs) cannot be harvested."""

    reason: SkipReason
    detail: str


class PairKind(enum.StrEnum):
    HARVEST = "harvest"  # sell at a loss, buy a replacement
    SWAP_BACK = "swap_back"  # 31+ days later: sell the replacement, buy the asset class's primary again


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# -- inputs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the account's broker can do. Without specific-lot sells the broker relieves lots FIFO."""

    fractional_shares: bool = True
    specific_lot_sells: bool = True


@dataclass(frozen=True, slots=True)
class AccountInput:
    account: Account
    cash: Decimal
    in_sync: bool = True  # False: the last reconciliation found a mismatch; the account is not traded
    capabilities: Capabilities = Capabilities()
    # Why the account is not traded today, whatever its positions: the broker could not be read in this run,
    # a pause is in force, or an earlier run already harvested it today (each None when it does not apply).
    unavailable: str | None = None
    paused: str | None = None
    harvested_by: str | None = None
    # Why the account's ledger cannot be trusted besides a reconcile mismatch (e.g. quarantined activity the
    # ledger could not book); an account out of sync or with one stops every loss sale in its household.
    quarantined: str | None = None
    sync_detail: str | None = None  # what the last reconciliation found, for messages

    @property
    def trusted(self) -> bool:
        """Its ledger holds every purchase: in sync, nothing quarantined, its broker read in this run."""
        return self.in_sync and self.quarantined is None and self.unavailable is None

    def distrust(self) -> str:
        """Why the account cannot be trusted (for a skip's detail)."""
        if not self.in_sync:
            return "is out of sync with its broker" + (f" ({self.sync_detail})" if self.sync_detail else "")
        if self.unavailable is not None:
            return f"could not be read in this run ({self.unavailable})"
        return f"has quarantined activity ({self.quarantined})"


@dataclass(frozen=True, slots=True)
class HouseholdInput:
    """One household: every account (IRAs included: their purchases wash losses too) and its ledger."""

    household: str
    accounts: tuple[AccountInput, ...]
    ledger: LedgerState


@dataclass(frozen=True, slots=True)
class MarketData:
    """The latest quote per symbol (its `day` tells how old it is) and, for the circuit breaker, the
    benchmarks' daily closes in date order (at least 22 days up to the run's day)."""

    quotes: Mapping[str, Quote]
    benchmark_closes: Mapping[str, Sequence[tuple[date, Decimal]]] = field(default_factory=dict)
    # Trailing daily returns of the direct indexes' stocks (replacement ranking, tracking error).
    returns: TrailingReturns | None = None


class TrailingReturns:
    """Daily returns over a trailing window: `matrix[day, column]` for `symbols[column]`, 0 on days a stock
    was not listed. Correlations are statistics, not money: floats. The standardized matrix is computed once
    (a backtest hands the same window to many runs)."""

    __slots__ = ("_z", "column", "matrix", "symbols")

    def __init__(self, symbols: Sequence[str], matrix: Any):
        import numpy as np

        self.symbols = tuple(symbols)
        self.column = {s: i for i, s in enumerate(self.symbols)}
        self.matrix = np.asarray(matrix, dtype=float).reshape(-1, len(self.symbols))
        self._z: Any = None

    @property
    def days(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def z(self) -> Any:
        """Returns standardized per column (0 for a column without variation)."""
        if self._z is None:
            import numpy as np

            m = self.matrix
            sd = m.std(axis=0) if len(m) else np.zeros(m.shape[1])
            live = sd > 0
            self._z = np.where(live, (m - m.mean(axis=0)) / np.where(live, sd, 1.0), 0.0)
        return self._z


@dataclass(frozen=True, slots=True)
class DirectIndexInput:
    """An account configured with `[accounts.direct_index]`: the index's stocks, what may never be bought,
    the tracking-error limit and the tax year's gain budget. `gains_realized`: gains realized in the account
    so far this tax year (None: summed from the ledger's dispositions)."""

    account: str
    constituents: tuple[Constituent, ...]
    exclude: tuple[str, ...] = ()
    tracking_error_budget: Decimal = Decimal("0.01")
    realized_gain_budget_usd: Decimal = Decimal("0")
    gains_realized: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TargetsInput:
    """A book of ETFs with target weights per asset class (`[accounts] targets`): the engine invests its cash
    above `cash_max_pct` toward them, most underweight class first (new_money.py)."""

    account: str
    weights: tuple[tuple[str, Decimal], ...]  # asset class name, weight (the weights add up to 1)


@dataclass(frozen=True, slots=True)
class Restriction:
    """Do not buy `symbol` in `household` before `until`: the first day a purchase no longer washes `sale`."""

    household: str
    symbol: str
    until: date
    sale: str

    def to_dict(self) -> dict[str, Any]:
        return {"household": self.household, "symbol": self.symbol, "until": self.until.isoformat(),
                "sale": self.sale}


@dataclass(frozen=True, slots=True)
class ScheduledPurchase:
    """A purchase already scheduled in an account: a recurring contribution (`kind` "recurring") or a
    dividend reinvestment ("drip", on the pay date, `ex_date` its ex-dividend date)."""

    household: str
    account: str
    symbol: str
    day: date
    kind: str
    what: str  # "$500", "2 sh", "dividend reinvestment"
    ex_date: date | None = None

    def describe(self) -> str:
        label = "recurring purchase" if self.kind == "recurring" else "dividend reinvestment"
        if self.kind == "recurring":
            size = f" ({self.what})"
        else:
            size = f" (ex-dividend {self.ex_date})" if self.ex_date else ""
        return f"{self.account}'s {label} of {self.symbol} on {self.day}{size}"

    def to_dict(self) -> dict[str, Any]:
        return {"household": self.household, "account": self.account, "symbol": self.symbol,
                "date": self.day.isoformat(), "kind": self.kind, "what": self.what,
                "ex_date": self.ex_date.isoformat() if self.ex_date else None}


@dataclass(frozen=True, slots=True)
class Uninvested:
    """Cash an earlier harvest raised and never reinvested: its sale filled, its buy did not."""

    household: str
    account: str
    sold_symbol: str
    meant_symbol: str  # the replacement the pair meant to buy
    amount: Decimal  # the sale's proceeds
    sold_on: date
    source: str  # the buy order intent it stands for ("tlh-<run>-<pair>-buy")


@dataclass(frozen=True, slots=True)
class EngineInput:
    run_id: str
    as_of: date
    households: tuple[HouseholdInput, ...]
    market: MarketData
    harvest: HarvestConfig
    tax: TaxConfig
    identical: IdenticalGroups
    asset_classes: tuple[AssetClass, ...]
    restrictions: tuple[Restriction, ...] = ()  # active do-not-buy-until entries (from earlier runs)
    mode: str = "dry-run"
    direct_indexes: tuple[DirectIndexInput, ...] = ()
    scheduled: tuple[ScheduledPurchase, ...] = ()  # purchases due from as_of on (look-ahead)
    uninvested: tuple[Uninvested, ...] = ()  # earlier harvests' idle cash, to reinvest today
    targets: tuple[TargetsInput, ...] = ()  # books of ETFs whose new money the engine invests


# -- outputs ----------------------------------------------------------------------------------------------


def percent(fraction: Decimal) -> str:
    """0.05 -> "5"; for messages ("5 %")."""
    return format((fraction * 100).normalize(), "f")


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    return format(cents(value), "f")


@dataclass(frozen=True, slots=True)
class LotSale:
    """`quantity` shares of one open lot sold at the plan's price: what the ledger will book for them."""

    lot_id: str
    purchase_id: str
    quantity: Decimal
    basis: Decimal  # the shares' adjusted basis (cost + wash-sale adjustment), as the ledger prorates it
    proceeds: Decimal
    term: Term
    acquired: date
    purchased: date
    seq: int
    # The purchases whose washed losses flowed into the lot (the ledger's `Lot.washed_from`): their shares
    # are never this sale's replacement.
    washed_from: frozenset[str] = frozenset()

    @property
    def gain(self) -> Decimal:
        """Negative for a loss."""
        return self.proceeds - self.basis

    def to_dict(self) -> dict[str, Any]:
        return {"lot_id": self.lot_id, "quantity": _num(self.quantity), "gain": _money(self.gain),
                "term": self.term.value}


@dataclass(frozen=True, slots=True)
class Pair:
    """One sell leg and one buy leg in one account. Losses are net per term (negative: a net gain).

    `lots` are listed in the order the sells are to be booked (the broker's relief order, or the order of
    the specific-lot instructions): the wash-sale estimate of `lookback_policy = "unwashed_only"` relies
    on it. `buy_notional` is the order amount; `buy_quantity_estimate` the shares it buys at the ask (a
    whole-share broker: the share count to order)."""

    pair_id: str
    kind: PairKind
    household: str
    account: str
    sell_symbol: str
    sell_quantity: Decimal
    sell_price: Decimal
    lots: tuple[LotSale, ...]
    estimated_short_loss: Decimal
    estimated_long_loss: Decimal
    washed_loss: Decimal  # loss a recent purchase will wash (lookback_policy "unwashed_only"): not counted
    estimated_benefit: Decimal
    estimated_cost: Decimal
    buy_symbol: str
    buy_price: Decimal
    buy_notional: Decimal
    buy_quantity_estimate: Decimal
    partial: Rejection | None = None  # why the sale is smaller than the harvest wanted (e.g. the turnover cap)

    @property
    def estimated_loss(self) -> Decimal:
        return self.estimated_short_loss + self.estimated_long_loss

    @property
    def net_benefit(self) -> Decimal:
        return self.estimated_benefit - self.estimated_cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair_id": self.pair_id, "kind": self.kind.value, "household": self.household,
            "account": self.account, "sell_symbol": self.sell_symbol,
            "sell_quantity": _num(self.sell_quantity), "sell_price": _num(self.sell_price),
            "lots": [s.lot_id for s in self.lots], "lot_sales": [s.to_dict() for s in self.lots],
            "estimated_loss": _money(self.estimated_loss),
            "estimated_short_loss": _money(self.estimated_short_loss),
            "estimated_long_loss": _money(self.estimated_long_loss),
            "washed_loss": _money(self.washed_loss),
            "estimated_benefit": _money(self.estimated_benefit),
            "estimated_cost": _money(self.estimated_cost),
            "net_benefit": _money(self.net_benefit),
            "buy_symbol": self.buy_symbol, "buy_price": _num(self.buy_price),
            "buy_notional": _money(self.buy_notional),
            "buy_quantity_estimate": _num(self.buy_quantity_estimate),
            "partial": None if self.partial is None else {"reason": self.partial.reason.value,
                                                          "detail": self.partial.detail},
        }


@dataclass(frozen=True, slots=True)
class Purchase:
    """A buy without a sale: new money for a direct index's underweight stock or a book of ETFs' underweight
    asset class."""

    purchase_id: str
    household: str
    account: str
    symbol: str
    price: Decimal
    notional: Decimal
    quantity_estimate: Decimal
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"purchase_id": self.purchase_id, "household": self.household, "account": self.account,
                "symbol": self.symbol, "price": _num(self.price), "notional": _money(self.notional),
                "quantity_estimate": _num(self.quantity_estimate), "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Reinvestment:
    """A buy without a sale: an earlier harvest's idle cash put into its replacement (`source` names the buy
    that never filled)."""

    reinvestment_id: str
    household: str
    account: str
    symbol: str
    price: Decimal
    notional: Decimal
    quantity_estimate: Decimal
    sold_symbol: str
    source: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"reinvestment_id": self.reinvestment_id, "household": self.household, "account": self.account,
                "symbol": self.symbol, "price": _num(self.price), "notional": _money(self.notional),
                "quantity_estimate": _num(self.quantity_estimate), "sold_symbol": self.sold_symbol,
                "source": self.source, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Skip:
    household: str
    account: str
    symbol: str  # "*" when the whole account is skipped
    reason: SkipReason
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"household": self.household, "account": self.account, "symbol": self.symbol,
                "reason": self.reason.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    severity: Severity
    message: str
    data: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity.value, "message": self.message,
                "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class HarvestPlan:
    run_id: str
    as_of: date
    mode: str
    pairs: tuple[Pair, ...] = ()
    skipped: tuple[Skip, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    alerts: tuple[Alert, ...] = ()
    paused: str | None = None  # "circuit_breaker" when nothing may be harvested today
    purchases: tuple[Purchase, ...] = ()  # new money: direct indexes' underweight stocks, books' underweight classes
    note: str | None = None  # why a plan is empty, when nothing else says so (no positions, no prices)
    reinvestments: tuple[Reinvestment, ...] = ()  # earlier harvests' idle cash, bought back in

    @property
    def estimated_loss(self) -> Decimal:
        return sum((p.estimated_loss for p in self.pairs), ZERO)

    def to_dict(self) -> dict[str, Any]:
        with without_cycle_collection():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "as_of": self.as_of.isoformat(), "mode": self.mode,
            "paused": self.paused, "note": self.note,
            "pairs": [p.to_dict() for p in self.pairs],
            "skipped": [s.to_dict() for s in self.skipped],
            "restrictions": [r.to_dict() for r in self.restrictions],
            "alerts": [a.to_dict() for a in self.alerts],
            "purchases": [b.to_dict() for b in self.purchases],
            "reinvestments": [r.to_dict() for r in self.reinvestments],
        }
