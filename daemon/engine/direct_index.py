"""Direct indexing: an account that holds an index's stocks one by one (`[accounts.direct_index]`).

Inside `plan()`, one `Book` per such account:
- Harvest: a position at a loss is harvested as a fund is (selection.py, pairs.py); its replacement is the
  first eligible of the sold stock's peers: same GICS sub-industry, then same sector, each ranked by the
  correlation of trailing daily returns, those under their targets before those at or over them. Never a
  stock the config excludes, never one the account holds at a harvestable loss (buying it would forgo that
  harvest and wash it later), never one identical to a pending loss, restricted or sold today (`BuyGuard`).
- Swap back, per lot: a position more than `DRIFT` over its target (a stand-in bought for a harvested
  stock; a stock or fund outside the index: the transition) sells lots bought 31+ days ago and buys its
  most underweight peer, when that realizes a loss or a gain within what is left of the tax year's
  `realized_gain_budget_usd`. Lots at a loss first, then long-term gains, each by gain per dollar;
  short-term gains only while the tracking error is over `tracking_error_budget`, which is a hard limit:
  over it, swap backs may also realize gains beyond the budget with lots whose gain is at most
  `OVER_LIMIT_GAIN` (1 %) of their value, until the estimate is back under it (stand_ins.py).
- New money: cash above `cash_max_pct` of the account buys the most underweight stocks, never an excluded,
  restricted, pending-loss or sold-today stock, nor one held at a harvestable loss.
Targets are the constituents' weights over the stocks not excluded (renormalized) times the account's value,
cash included. The tracking error is ex ante: the annualized standard deviation that the difference between
today's weights and the targets would have had over the trailing daily returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

from daemon.config.constituents import Constituent
from daemon.engine.candidates import lot_sale
from daemon.engine.cash import CENT, SHARE_QUANTUM, position_values
from daemon.engine.pairs import Candidate, HouseholdPlan, lot_method
from daemon.engine.stand_ins import DRIFT as DRIFT
from daemon.engine.stand_ins import HELD, MIN_TRADE_USD, RANKED, SwapBacks
from daemon.engine.stand_ins import OVER_LIMIT_GAIN as OVER_LIMIT_GAIN
from daemon.engine.tracking import DAYS_PER_YEAR, correlation_order
from daemon.engine.types import (
    AccountInput,
    Alert,
    DirectIndexInput,
    Pair,
    Purchase,
    Rejection,
    Severity,
    Skip,
    SkipReason,
    TrailingReturns,
    percent,
)
from daemon.ledger.types import ZERO, LedgerState, Term


def excluded_symbols(spec: DirectIndexInput) -> set[str]:
    sectors = {x.split(":", 1)[1] for x in spec.exclude if x.startswith("sector:")}
    symbols = {x for x in spec.exclude if not x.startswith("sector:")}
    return symbols | {c.symbol for c in spec.constituents if c.sector in sectors}


def targets(constituents: Sequence[Constituent], excluded: set[str]) -> dict[str, Decimal]:
    """Target weights of the stocks not excluded, renormalized to add up to 1."""
    kept = [c for c in constituents if c.symbol not in excluded]
    total = sum((c.weight for c in kept), ZERO)
    return {c.symbol: c.weight / total for c in kept} if total > 0 else {}


def gains_this_year(ledger: LedgerState, account: str, year: int) -> Decimal:
    """Gains realized in `account` in the calendar year: each sold lot's gain, losses not netted (the
    budget bounds what swap backs give back, not the net result)."""
    return sum((d.gain for d in ledger.dispositions
                if d.account == account and d.sold.year == year and d.taxable and d.gain > 0), ZERO)


class Index:
    """What a direct index's constituents and exclusions give (the stocks by symbol, the excluded ones, the
    target weights, the peers by sub-industry and sector), the same for every run on them: `index_of` keeps
    the last few (a backtest hands the same constituents to thousands of runs). Read-only."""

    __slots__ = ("by_sector", "by_sub", "constituents", "exclude", "excluded", "info", "weights", "_floats",
                 "_vectors")

    def __init__(self, spec: DirectIndexInput):
        self.constituents, self.exclude = spec.constituents, spec.exclude
        self.info = {c.symbol: c for c in spec.constituents}
        self.excluded = excluded_symbols(spec)
        self.weights = targets(spec.constituents, self.excluded)
        self.by_sub: dict[str, list[str]] = {}
        self.by_sector: dict[str, list[str]] = {}
        for c in spec.constituents:
            if c.symbol in self.weights:
                if c.sub_industry:
                    self.by_sub.setdefault(c.sub_industry, []).append(c.symbol)
                if c.sector:
                    self.by_sector.setdefault(c.sector, []).append(c.symbol)
        self._vectors: tuple[TrailingReturns, Any] | None = None
        self._floats: dict[str, float] | None = None

    def float_weights(self) -> dict[str, float]:
        """The target weights as floats (for bounds and estimates, never for a decision's arithmetic)."""
        if self._floats is None:
            self._floats = {s: float(w) for s, w in self.weights.items()}
        return self._floats

    def minus_weights(self, returns: TrailingReturns) -> Any:
        """The target weights, negated, by the columns of `returns` (the start of the active weights)."""
        if self._vectors is None or self._vectors[0] is not returns:
            import numpy as np

            d = np.zeros(len(returns.symbols))
            for s, w in self.weights.items():
                c = returns.column.get(s)
                if c is not None:
                    d[c] -= float(w)
            self._vectors = (returns, d)
        return self._vectors[1]


_INDEXES: list[Index] = []


def index_of(spec: DirectIndexInput) -> Index:
    for found in _INDEXES:
        if found.constituents is spec.constituents and found.exclude == spec.exclude:
            return found
    made = Index(spec)
    _INDEXES[:] = [made, *_INDEXES[:3]]
    return made


class Book(SwapBacks):
    """One direct-index account inside one run: targets, what is held, and what the plan changes."""

    def __init__(self, spec: DirectIndexInput, account: AccountInput, plan: HouseholdPlan,
                 returns: TrailingReturns | None, ledger: LedgerState, taxable: frozenset[str] = frozenset()):
        self.spec, self.account, self.plan, self.run = spec, account, plan, plan.run
        self.id = account.account.id
        self.returns = returns
        self.index = index_of(spec)
        self.info, self.excluded, self.weights = self.index.info, self.index.excluded, self.index.weights
        self.by_sub, self.by_sector = self.index.by_sub, self.index.by_sector
        self.positions = plan.holdings.positions.get(self.id, {})
        prices = self.run.prices
        values = plan.values.get(self.id)
        self.held: dict[str, Decimal] = dict(values) if values is not None else \
            position_values(self.positions, prices)
        # The household's taxable positions (this account's always), for `at_loss`, asked of a few symbols.
        self._taxable = [p for a in sorted({self.id} | taxable) if (p := plan.holdings.positions.get(a))]
        self._at_loss: dict[str, bool] = {}
        self.value = account.cash + sum(self.held.values(), ZERO)
        self.targets = {s: w * self.value for s, w in self.weights.items()}
        self._order: list[str] | None = None  # the index's stocks, most underweight first
        self._active: Any = None
        self._te: float | None = None  # tracking_error(), until the next move
        self.limit_pct = percent(spec.tracking_error_budget)  # for messages
        self.cutoff = self.run.as_of - HELD  # lots bought on or before it may be swapped back
        self.by_lot = lot_method(account).value == "specific"  # swap backs go lot by lot
        realized = spec.gains_realized
        if realized is None:
            realized = gains_this_year(ledger, self.id, self.run.as_of.year)
        self.gain_left = spec.realized_gain_budget_usd - realized
        # Stand-ins keep their cash: new money goes to underweights (purchases), not into replacements.
        plan.limit[self.id] = max(plan.limit[self.id], account.cash)

    # -- weights -----------------------------------------------------------------------------------------
    def target(self, symbol: str) -> Decimal:
        return self.targets.get(symbol, ZERO)

    def deficit(self, symbol: str) -> Decimal:
        return self.targets.get(symbol, ZERO) - self.held.get(symbol, ZERO)

    def excess(self, symbol: str) -> Decimal:
        return self.held.get(symbol, ZERO) - self.targets.get(symbol, ZERO)

    def move(self, symbol: str, delta: Decimal) -> None:
        """A planned trade changes what is held: keep the ordering and the tracking error current."""
        self.held[symbol] = self.held.get(symbol, ZERO) + delta
        self._order = None
        self._te = None
        r = self.returns
        if self._active is not None and r is not None:
            c = r.column.get(symbol)
            if c is not None:
                self._active += r.matrix[:, c] * (float(delta) / float(self.value))

    def tracking_error(self) -> float | None:
        r = self.returns
        if r is None or r.days < 20 or self.value <= 0:
            return None
        if self._te is not None:
            return self._te
        if self._active is None:  # the active weights' daily returns, updated by `move`
            import numpy as np

            d = self.index.minus_weights(r).copy()
            value = float(self.value)
            column = r.column
            cols, shares = [], []
            for s, v in self.held.items():
                c = column.get(s)
                if c is not None:
                    cols.append(c)
                    shares.append(float(v) / value)
            d[np.array(cols, dtype=np.intp)] += shares  # one symbol a column: each weight gets one addition
            self._active = r.matrix @ d
        self._te = float(self._active.std()) * math.sqrt(DAYS_PER_YEAR)
        return self._te

    def over_limit(self) -> bool:
        if self._te is None:
            te = self.tracking_error()
            return te is not None and te > float(self.spec.tracking_error_budget)
        return self._te > float(self.spec.tracking_error_budget)

    def buyable(self, symbol: str) -> str | None:
        """Why the account may not buy `symbol` (beyond the household's wash-sale guard), or None."""
        if symbol in self.excluded:
            return f"{symbol} is excluded by the direct index's config"
        if symbol not in self.weights:
            return f"{symbol} is not in the index"
        if self.at_loss(symbol):
            return f"{symbol} is itself held at a harvestable loss in the household"
        return None

    def at_loss(self, symbol: str) -> bool:
        """Whether `symbol` is held at a harvestable loss in a taxable account of the household: a lot at
        least min_loss_pct below its basis, q * mark <= (1 - pct) * basis."""
        found = self._at_loss.get(symbol)
        if found is None:
            mark = self.run.prices.mark(symbol)
            found = False
            if mark is not None:
                keep = 1 - self.run.harvest.min_loss_pct
                found = any((lot.cost + lot.adjustment) * keep >= lot.quantity * mark
                            for positions in self._taxable for lot in positions.get(symbol, ()))
            self._at_loss[symbol] = found
        return found

    def _conflict(self, symbol: str) -> str | None:
        return self.buyable(symbol) or self.plan.guard.conflict(symbol, self.plan.sold)

    # -- harvest replacements ----------------------------------------------------------------------------
    def peers(self, symbol: str) -> tuple[list[str], list[str]]:
        c = self.info.get(symbol)
        if c is None:
            return [], []
        sub = [s for s in self.by_sub.get(c.sub_industry, []) if s != symbol] if c.sub_industry else []
        inside = set(sub)
        sector = [s for s in self.by_sector.get(c.sector, []) if s != symbol and s not in inside] \
            if c.sector else []
        return sub, sector

    def replacements(self, symbol: str) -> tuple[tuple[str, ...], str]:
        """The stocks to try, in order, as the replacement of `symbol`, and how to name them in a skip."""
        sub, sector = self.peers(symbol)
        c = self.info.get(symbol)
        if c is None or symbol in self.excluded or not (c.sector or c.sub_industry):
            # Outside the index (the transition), excluded, or no GICS data: the most underweight stocks.
            ranked = [s for s in self.underweights() if self.buyable(s) is None]
            return tuple(ranked[:RANKED]), f"the underweight stocks of {self.id}'s direct index"
        # By correlation, sub-industry then sector, the buyable ones; in that order the stocks under their
        # targets first: buying one already at its target would concentrate the index in the stocks most
        # often chosen, while one under it (typically a stock harvested 31+ days ago) returns toward its
        # weight. Ranked as far as it takes to find RANKED under their targets (the rest are not tried).
        under: list[str] = []
        at_or_over: list[str] = []
        for peers in (sub, sector):
            for s in correlation_order(symbol, peers, self.returns):
                if self.buyable(s) is None:
                    (under if self.deficit(s) > 0 else at_or_over).append(s)
                    if len(under) == RANKED:
                        return tuple(under), self._peers_name(symbol, c)
        return tuple([*under, *at_or_over][:RANKED]), self._peers_name(symbol, c)

    @staticmethod
    def _peers_name(symbol: str, c: Constituent) -> str:
        return f"{symbol}'s sub-industry ({c.sub_industry}) and sector ({c.sector})"

    def _by_deficit(self, symbols: Sequence[str]) -> list[str]:
        """Largest deficit first, then by symbol (held - target ascending: the same order, one pass)."""
        held, targets = self.held, self.targets
        return [s for _, s in sorted([(held.get(s, ZERO) - targets.get(s, ZERO), s) for s in symbols])]

    def underweights(self) -> list[str]:
        if self._order is None:
            self._order = self._by_deficit(list(self.weights))
        return self._order

    # -- new money ---------------------------------------------------------------------------------------
    def purchases(self, first: int) -> list[Purchase]:
        """New money above `cash_max_pct` of the account to the most underweight stocks it may buy."""
        run, h = self.run, self.run.harvest
        cash = self.plan.cash[self.id]
        reserve = h.cash_max_pct * self.value
        budget = cash - reserve
        if budget < MIN_TRADE_USD:
            return []
        out: list[Purchase] = []
        for symbol in self.underweights():
            if budget - h.commission_usd < MIN_TRADE_USD:
                break
            deficit = self.deficit(symbol)
            if deficit < MIN_TRADE_USD:
                break
            if self._conflict(symbol) is not None:
                continue
            price = run.prices.get(symbol)
            if isinstance(price, Rejection):
                continue
            ask = price.close + price.half_spread
            notional = min(deficit, budget - h.commission_usd).quantize(CENT, rounding=ROUND_DOWN)
            if self.account.capabilities.fractional_shares:
                quantity = (notional / ask).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
            else:
                quantity = (notional / ask).to_integral_value(rounding=ROUND_FLOOR)
                notional = quantity * ask
            if quantity <= 0 or notional < MIN_TRADE_USD:
                continue
            weight = self.weights[symbol]
            held = self.held.get(symbol, ZERO)
            out.append(Purchase(f"b{first + len(out)}", self.plan.household, self.id, symbol, price.close,
                                notional, quantity,
                                f"{symbol}: ${held:,.2f} held against a target of ${self.target(symbol):,.2f} "
                                f"({percent(weight.quantize(Decimal('0.0001')))} % of ${self.value:,.2f})"))
            budget -= notional + h.commission_usd
            self.move(symbol, notional)
        self.plan.cash[self.id] = reserve + budget
        return out

    def alert(self) -> Alert | None:
        te = self.tracking_error()
        if te is None or te <= float(self.spec.tracking_error_budget):
            return None
        return Alert("tracking_error_over_budget", Severity.WARNING,
                     f"{self.id}: estimated tracking error {te * 100:.2f} % against the direct index is over "
                     f"tracking_error_budget {percent(self.spec.tracking_error_budget)} %: swap backs may "
                     f"realize gains beyond the year's budget until it is back under",
                     {"household": self.plan.household, "account": self.id, "tracking_error": f"{te:.6f}"})

    def transition(self) -> Alert | None:
        """What moving the holdings outside the index (or excluded) into it would cost in tax today: the
        gains and losses of selling all of them, the estimated tax at the configured rates, and what this
        year's gain budget allows. None when everything held is in the index."""
        run = self.run
        outside = sorted(s for s in self.positions if s not in self.weights)
        if not outside:
            return None
        short = long = value = ZERO
        for symbol in outside:
            mark = run.prices.mark(symbol)
            if mark is None:
                continue
            for lot in self.positions[symbol]:
                sale = lot_sale(lot, lot.quantity, mark, run.as_of)
                value += sale.proceeds
                if sale.term is Term.SHORT:
                    short += sale.gain
                else:
                    long += sale.gain
        tax = run.rates.value(short, long)  # (of gains: the rates applied to gains, positive = tax owed)
        names = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
        return Alert("direct_index_transition", Severity.INFO,
                     f"{self.id}: ${value:,.2f} is held outside the direct index ({names}); selling it all today "
                     f"would realize ${short:,.2f} short-term and ${long:,.2f} long-term, an estimated tax of "
                     f"${max(tax, ZERO):,.2f}" + (f" (a saving of ${-tax:,.2f})" if tax < 0 else "")
                     + f". It moves in losses first, then small gains, within "
                       f"${max(self.gain_left, ZERO):,.2f} of realized_gain_budget_usd left for {run.as_of.year}",
                     {"household": self.plan.household, "account": self.id, "value": f"{value:.2f}",
                      "short_term_gain": f"{short:.2f}", "long_term_gain": f"{long:.2f}",
                      "estimated_tax": f"{tax:.2f}", "gain_budget_left": f"{self.gain_left:.2f}"})



def books_for(specs: Sequence[DirectIndexInput]) -> dict[str, DirectIndexInput]:
    return {d.account: d for d in specs}


def with_replacements(book: Book, candidate: Candidate) -> Candidate:
    members, name = book.replacements(candidate.symbol)
    return replace(candidate, members=members, members_name=name)


def finish(books: Sequence[Book], pairs: list[Pair], skipped: list[Skip], max_pairs: int,
           quiet: set[SkipReason], alerts: list[Alert]) -> tuple[Purchase, ...]:
    """After the harvests: each direct index's swap backs (a swap back, or why it is blocked, replaces the
    position's "not worth harvesting" entry), then its new money; an alert when its tracking error is over
    the limit."""
    purchases: list[Purchase] = []
    for book in books:
        for p in pairs:
            if p.account == book.id:
                book.move(p.sell_symbol, -p.sell_quantity * p.sell_price)
                book.move(p.buy_symbol, p.buy_notional)
        for alert in (book.alert(), book.transition()):  # as found, before today's swap backs
            if alert is not None:
                alerts.append(alert)
        reported = {s.symbol for s in skipped if s.account == book.id and s.reason not in quiet}
        decided = book.swap_backs(pairs, skipped, max_pairs, reported)
        skipped[:] = [s for s in skipped if not (s.account == book.id and s.symbol in decided and s.reason in quiet)]
        purchases.extend(book.purchases(len(purchases) + 1))
    return tuple(purchases)
