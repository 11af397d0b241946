"""The replacement bought with a harvest's proceeds: the first eligible member of the sold symbol's asset
class, in the configured order (primary, secondary, tertiary...).

A symbol's asset class is the one that lists it or a symbol identical to it (IVV belongs to the class that
lists VOO). A member is passed over when it is identical to the sold symbol, when buying it would create a
wash-sale conflict (the caller's `conflict` says why), or when its price fails the sanity checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from daemon.config.models import AssetClass
from daemon.engine.holdings import GroupIndex
from daemon.engine.quotes import Price, Prices
from daemon.engine.types import Rejection, SkipReason


class AssetClasses:
    def __init__(self, classes: Sequence[AssetClass], groups: GroupIndex):
        self._of: dict[str, AssetClass] = {}
        for asset_class in classes:
            for member in asset_class.members:
                for symbol in sorted(groups.members(member)):
                    self._of.setdefault(symbol, asset_class)

    def of(self, symbol: str) -> AssetClass | None:
        return self._of.get(symbol)


def unscheduled_first(members: Sequence[str], scheduled: frozenset[str], groups: GroupIndex) -> list[str]:
    """`members` in their order, those the household buys on a schedule (identical groups in `scheduled`: an
    IRA's monthly contribution, a dividend reinvestment) last: a replacement bought every month could never
    be harvested in its turn, since each of its losses would be washed by those purchases."""
    if not scheduled:
        return list(members)
    return sorted(members, key=lambda m: groups.key(m) in scheduled)


@dataclass(frozen=True, slots=True)
class Choice:
    symbol: str
    price: Price


def choose(sold: str, classes: AssetClasses, groups: GroupIndex, prices: Prices,
           conflict: Callable[[str], str | None], members: Sequence[str] | None = None,
           name: str | None = None) -> Choice | Rejection:
    """Walk the asset class of `sold` (or just `members`, when given: `name` says what they are) and return
    the first eligible one."""
    asset_class = classes.of(sold)
    if members is None:
        if asset_class is None:
            return Rejection(SkipReason.NO_ELIGIBLE_REPLACEMENT,
                             f"{sold} is in no asset class: there is nothing to buy instead")
        members = asset_class.members
    passed: list[str] = []
    for member in members:
        if groups.identical(member, sold):
            continue
        why = conflict(member)
        if why is not None:
            passed.append(f"{member}: {why}")
            continue
        price = prices.get(member)
        if isinstance(price, Rejection):
            passed.append(price.detail)
            continue
        return Choice(member, price)
    if name is None:
        name = asset_class.name if asset_class is not None else "its asset class"
    return Rejection(SkipReason.NO_ELIGIBLE_REPLACEMENT,
                     f"no member of {name} can replace {sold}" + (": " + "; ".join(passed) if passed else ""))
