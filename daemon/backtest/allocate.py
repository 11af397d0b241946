"""Target weights, and investing the cash of a direct index's twin without harvesting (deposits,
contributions, tax refunds). Which lots a rebalance or a tax payment sells is the engine's decision
(`daemon.engine.rebalance`, called through `harvest.rebalance` / `harvest.raise_cash`), as is new money for a
book of ETFs (`daemon.engine.new_money`).

A *key* is what a target weight is set on: a sleeve of ETFs (bought through its first listed member that is
not blocked: the engine's do-not-buy-until restrictions and pending losses are respected, the next member is
bought instead) or, in a direct index, one stock (bought itself or not at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from daemon.backtest.account import SimAccount
from daemon.backtest.data import History
from daemon.backtest.portfolio import Sleeve

CENT = Decimal("0.01")
MIN_TRADE = 1.0  # dollars


class Allocation:
    """Sleeves of ETFs. Subclassed for the direct index."""

    def __init__(self, history: History, sleeves: Sequence[Sleeve], groups: dict[str, list[str]]):
        self.history = history
        self.sleeves = list(sleeves)
        self.groups = groups
        self._key: dict[str, str] = {}
        for sleeve in self.sleeves:
            for member in sleeve.members:
                for symbol in groups.get(member, [member]):
                    self._key.setdefault(symbol, sleeve.name)
        self._members: tuple[int, dict[str, list[str]]] = (-1, {})
        self._weights: tuple[int, dict[str, float]] = (-1, {})
        self.neutral = False  # tax flows in proportion to holdings (direct index) rather than to targets

    def key_of(self, symbol: str) -> str | None:
        return self._key.get(symbol)

    def members(self, key: str, t: int) -> list[str]:
        """Buy order on day `t`: listed members; an unlisted one is replaced by a listed identical fund."""
        if self._members[0] != t:
            self._members = (t, {})
        found = self._members[1].get(key)
        if found is None:
            sleeve = next(s for s in self.sleeves if s.name == key)
            found = []
            for member in sleeve.members:
                pick = next((s for s in self.groups.get(member, [member]) if self.history.listed(t, s)), None)
                if pick is not None and pick not in found:
                    found.append(pick)
            self._members[1][key] = found
        return found

    def weights(self, t: int) -> dict[str, float]:
        """Targets on day `t` (cached for the day)."""
        if self._weights[0] != t:
            self._weights = (t, self._targets(t))
        return self._weights[1]

    def _targets(self, t: int) -> dict[str, float]:
        """A sleeve with nothing listed yet gives its weight to the others, pro rata."""
        live = {s.name: float(s.weight) for s in self.sleeves if self.members(s.name, t)}
        total = sum(live.values())
        return {k: w / total for k, w in live.items()} if total > 0 else {}


@dataclass
class Holdings:
    values: dict[str, float]  # per key
    total: float  # every holding plus cash


def holdings(acct: SimAccount, alloc: Allocation, t: int) -> Holdings:
    prices = alloc.history.priced[t]
    values: dict[str, float] = {}
    total = float(acct.cash)
    for symbol in acct.lots:
        c = acct.col[symbol]
        v = float(acct.fshares[c] * prices[c])
        total += v
        key = alloc.key_of(symbol)
        if key is not None:
            values[key] = values.get(key, 0.0) + v
    return Holdings(values, total)


def invest(acct: SimAccount, alloc: Allocation, t: int, day: date, blocked: set[str], max_buys: int,
           tag: str) -> None:
    """Spend the cash on the most underweight keys (up to `max_buys` of them)."""
    cash = float(acct.cash)
    if cash < MIN_TRADE:
        return
    weights = alloc.weights(t)
    held = holdings(acct, alloc, t)
    order = sorted(weights, key=lambda k: held.values.get(k, 0.0) - weights[k] * held.total)
    chosen: list[tuple[str, float, float]] = []  # symbol, deficit, weight
    for key in order:
        if len(chosen) >= max_buys:
            break
        symbol = next((m for m in alloc.members(key, t) if acct.key(m) not in blocked), None)
        if symbol is not None:
            chosen.append((symbol, max(weights[key] * held.total - held.values.get(key, 0.0), 0.0), weights[key]))
    if not chosen:
        return
    deficit = sum(d for _, d, _ in chosen)
    weight = sum(w for _, _, w in chosen)
    for symbol, d, w in chosen:
        amount = cash * d / deficit if deficit >= cash else d + (cash - deficit) * w / weight
        if amount >= MIN_TRADE:
            notional = min(Decimal(repr(amount)).quantize(CENT, rounding=ROUND_DOWN), acct.cash)
            acct.buy(day, symbol, notional, alloc.history.decimal(t, symbol), tag)


def pro_rata(acct: SimAccount, alloc: Allocation, t: int, day: date, blocked: set[str], tag: str) -> None:
    """Spend the cash in proportion to what is held (keys not blocked): the mix does not change."""
    cash = float(acct.cash)
    held = holdings(acct, alloc, t)
    picks = [(k, v) for k, v in held.values.items() if v > 0 and acct.key(alloc.members(k, t)[0]) not in blocked
             if alloc.members(k, t)]
    total = sum(v for _, v in picks)
    if cash < MIN_TRADE or total <= 0:
        return
    for key, value in sorted(picks):
        amount = cash * value / total
        if amount >= MIN_TRADE:
            symbol = alloc.members(key, t)[0]
            notional = min(Decimal(repr(amount)).quantize(CENT, rounding=ROUND_DOWN), acct.cash)
            acct.buy(day, symbol, notional, alloc.history.decimal(t, symbol), tag)
