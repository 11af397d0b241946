"""Direct indexing: a basket of stocks, harvested stock by stock.

- Targets: equal weights over the listed stocks of the universe, or weights proportional to price.
- Replacements: the engine walks an asset class's members in order, so every day the engine runs, each stock
  at a harvestable loss gets a class of its own: itself, then its most correlated stocks (trailing daily
  returns, ranked once a month) in the same GICS sub-industry, then in the same sector. Stocks themselves at
  a harvestable loss are left out of every class (buying one would forgo its own harvest), which also keeps
  each candidate in exactly one class.
- Swap backs: the engine's swap back trades whole positions (and every stock here is also held for itself),
  so the simulator does it per lot. A replacement lot remembers the stock and the shares it stands for
  (`records.Replaced`, carried along when the replacement is harvested in turn). Once held 31+ days, the
  stock's shares are bought back, funded from the replacement's lowest-gain lots, when that realizes a loss
  or at most `swap_back_max_gain_usd` (while the tracking error against the portfolio without harvesting is
  over its budget: at most `over_budget_max_gain_pct` of the value sold), without a wash. Otherwise the lot
  stays and counts as part of its own stock (re-weighted); new money goes to underweights.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from daemon.backtest.account import SimAccount
from daemon.backtest.allocate import Allocation, choose
from daemon.backtest.data import History
from daemon.backtest.records import PairRecord, Replaced
from daemon.config.models import AssetClass

HELD = timedelta(days=31)
RANKED = 30  # ranked replacements kept per stock


class Basket(Allocation):
    def __init__(self, history: History, universe: Sequence[str], weighting: str, new_listings: bool, t0: int):
        super().__init__(history, [], {})
        self.universe = list(universe)
        self._in = set(self.universe)
        self.cols = np.array([history.col[s] for s in self.universe], dtype=int)
        self.weighting = weighting
        self.at_start = ~np.isnan(history.close[t0, self.cols])
        self.new_listings = new_listings
        self.neutral = True

    def key_of(self, symbol: str) -> str | None:
        return symbol if symbol in self._in else None

    def members(self, key: str, t: int) -> list[str]:
        return [key] if self.history.listed(t, key) else []

    def mask(self, t: int) -> np.ndarray:
        listed = ~np.isnan(self.history.close[t, self.cols])
        return listed if self.new_listings else listed & self.at_start

    def _targets(self, t: int) -> dict[str, float]:
        mask = self.mask(t)
        if self.weighting == "price":
            prices = np.where(mask, self.history.priced[t, self.cols], 0.0)
            w = prices / prices.sum()
        else:
            w = mask / mask.sum()
        return {s: float(x) for s, x, m in zip(self.universe, w, mask, strict=True) if m}

    def returns(self, t: int) -> float:
        """The basket's return from day t-1 to day t (stocks listed on both days)."""
        prev, cur = self.history.close[t - 1, self.cols], self.history.close[t, self.cols]
        ok = self.mask(t - 1) & ~np.isnan(prev) & ~np.isnan(cur)
        if not ok.any():
            return 0.0
        if self.weighting == "price":
            return float(cur[ok].sum() / prev[ok].sum() - 1)
        return float(np.mean(cur[ok] / prev[ok] - 1))


class Ranker:
    """Replacement candidates per stock: its sub-industry peers, then its other sector peers, each by the
    correlation of trailing daily returns (standardized once a month, ranked on demand)."""

    def __init__(self, history: History, universe: Sequence[str], days: int):
        self.history = history
        self.universe = list(universe)
        self.index = {s: i for i, s in enumerate(self.universe)}
        self.cols = np.array([history.col[s] for s in self.universe], dtype=int)
        self.days = days
        sec = history.securities
        by_sub: dict[str, list[int]] = {}
        by_sector: dict[str, list[int]] = {}
        for i, s in enumerate(self.universe):
            if s in sec and sec[s].sub_industry:
                by_sub.setdefault(sec[s].sub_industry, []).append(i)
            if s in sec and sec[s].sector:
                by_sector.setdefault(sec[s].sector, []).append(i)
        self._peers: list[tuple[np.ndarray, np.ndarray]] = []
        for i, s in enumerate(self.universe):
            sub = [j for j in by_sub.get(sec[s].sub_industry, []) if j != i] if s in sec else []
            taken = set(sub)
            sector = [j for j in by_sector.get(sec[s].sector, []) if j != i and j not in taken] if s in sec else []
            self._peers.append((np.array(sub, dtype=int), np.array(sector, dtype=int)))
        self._month: tuple[int, int] | None = None
        self._z = np.zeros((0, len(self.universe)))
        self._live = np.zeros(len(self.universe), dtype=bool)
        self._ranked: dict[str, list[str]] = {}

    def refresh(self, t: int) -> None:
        day = self.history.dates[t]
        if self._month == (day.year, day.month):
            return
        self._month = (day.year, day.month)
        window = self.history.close[max(0, t - self.days):t + 1, self.cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            rets = np.nan_to_num(window[1:] / window[:-1] - 1)
        sd = rets.std(axis=0) if len(rets) else np.zeros(len(self.cols))
        self._live = sd > 0
        self._z = np.where(self._live, (rets - rets.mean(axis=0)) / np.where(self._live, sd, 1.0), 0.0)
        self._ranked = {}

    def ranked(self, symbol: str) -> list[str]:
        found = self._ranked.get(symbol)
        if found is None:
            i = self.index.get(symbol)
            found = []
            if i is not None and len(self._z):
                for peers in self._peers[i]:
                    if peers.size:
                        corr = self._z[:, peers].T @ self._z[:, i] / len(self._z)
                        corr = np.where(self._live[peers], corr, -2.0)
                        found.extend(self.universe[j] for j in peers[np.argsort(-corr, kind="stable")][:RANKED])
            found = self._ranked[symbol] = found[:RANKED]
        return found


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


def classes(candidates: set[str], ranker: Ranker, history: History, t: int, acct: SimAccount,
            blocked: set[str], size: int) -> tuple[AssetClass, ...]:
    out: list[AssetClass] = []
    for symbol in sorted(candidates):
        members = [symbol]
        for other in ranker.ranked(symbol):
            if other in candidates or acct.key(other) in blocked or not history.listed(t, other):
                continue
            members.append(other)
            if len(members) > size:
                break
        out.append(AssetClass.model_construct(name=symbol, members=members))
    return tuple(out)


def swap_backs(acct: SimAccount, history: History, t: int, day: date, provenance: dict[str, Replaced],
               blocked: set[str], max_gain: float, max_gain_pct: float, limit: int) -> list[PairRecord]:
    """Swap replacement lots held 31+ days back into the stocks they replaced; returns how many.

    What the lot stands for (the shares of the stock sold for it, at today's price) is sold from the
    replacement's lots with the lowest gain per dollar (not necessarily the replacement lot itself) and the
    stock bought back, when that realizes a loss, at most `max_gain` dollars, or at most `max_gain_pct` of the
    value sold. The stock's share count is restored as if it had never been sold; the replacement's position
    absorbs the difference in performance over the weeks it stood in."""
    done: list[PairRecord] = []
    touched = {trade.symbol for trade in acct.trades}
    cutoff = day - HELD
    standing = set(provenance)
    for purchase_id, r in sorted(provenance.items()):
        if len(done) >= limit:
            break
        if r.bought >= day:
            continue
        pieces = [lot for lot in acct.lots.get(r.symbol, ()) if lot.purchase_id == purchase_id]
        if not pieces:  # sold since (harvested again)
            del provenance[purchase_id]
            continue
        if (r.symbol in touched or r.home in touched or pieces[0].purchased > cutoff
                or not history.listed(t, r.home) or acct.key(r.home) in blocked | acct.loss_groups):
            continue
        price = history.price(t, r.symbol)
        shares = r.standing_for(sum((p.quantity for p in pieces), Decimal(0)))
        value = float(shares) * history.price(t, r.home) * (1 + float(acct.spread) / 10_000)
        own = [(price, lot) for lot in acct.lots[r.symbol]
               if lot.purchase_id == purchase_id or lot.purchase_id not in standing]
        picks = choose(acct, day, own, value)
        sold = sum(float(q) * price for _, q, _ in picks)
        gain = sum(float(q / lot.quantity * (lot.quantity * Decimal(repr(price)) - lot.basis))
                   for lot, q, _ in picks)
        if sold < 0.5 * value or gain > max(max_gain, max_gain_pct * sold):
            continue
        close = history.decimal(t, r.symbol)
        before = acct.cash
        for lot, quantity, _ in picks:
            acct.sell(day, lot, quantity, close, "swap_back")
        acct.buy(day, r.home, acct.cash - before, history.decimal(t, r.home), "swap_back")
        touched |= {r.symbol, r.home}
        del provenance[purchase_id]
        done.append(PairRecord(day, "swap_back", r.symbol, r.home, -gain))
    return done
