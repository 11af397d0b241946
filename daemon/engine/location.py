"""Asset-location hints (`tlh location`): never trades, only what a swap of location would save a year.

Each holding's asset class comes from the location table's `members` or the [[asset_classes]] that list it
(or a symbol identical to it). Its yearly tax drag in a taxable account is the class's typical yield taxed by
character at the [tax] rates (config/asset_location.toml explains the formula and its sources); in an IRA,
401(k) or HSA it is zero. A swap moves X dollars of a tax-inefficient class (placement "tax_advantaged") held
in a taxable account into a tax-advantaged account of the same household, and X dollars of a tax-efficient
class (placement "taxable") held there out: sell X of each where it is, buy X of the other in its place, so
each account keeps its value; it saves X x (drag of the inefficient class - drag of the efficient one) a year.

Swaps pair the most inefficient taxable holdings with the most efficient tax-advantaged ones first. Every
misplaced holding gets a hint, naming its swaps (both holdings of a swap show the same saving) or saying
that there is nothing to swap with. The sale in the taxable account realizes that holding's gain: the hint
says how much, since it can outweigh years of savings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from daemon.config.models import AssetClass, LocationClass, TaxConfig
from daemon.engine.holdings import GroupIndex
from daemon.ledger.money import cents
from daemon.ledger.types import ZERO, Account, IdenticalGroups, Lot
from daemon.prices import Quote

TAXABLE, TAX_ADVANTAGED = "taxable", "tax_advantaged"
SECTION_199A_DEDUCTION = Decimal("0.2")


def drag(c: LocationClass, tax: TaxConfig) -> Decimal:
    """Yearly tax on the distributions of $1 of the class held in a taxable account."""
    extra = tax.niit_rate + tax.state_rate
    return c.typical_yield * (c.ordinary * (tax.short_term_rate + extra)
                              + c.section_199a * ((1 - SECTION_199A_DEDUCTION) * tax.short_term_rate + extra)
                              + c.qualified * (tax.long_term_rate + extra))


@dataclass(frozen=True, slots=True)
class Holding:
    household: str
    account: str
    taxable: bool
    symbol: str
    asset_class: LocationClass
    value: Decimal
    unrealized_gain: Decimal


@dataclass(frozen=True, slots=True)
class Swap:
    inefficient: Holding  # in a taxable account, moves into `efficient`'s account
    efficient: Holding  # in a tax-advantaged account, moves into `inefficient`'s account
    amount: Decimal
    saving: Decimal


@dataclass(frozen=True, slots=True)
class Hint:
    household: str
    account: str
    symbol: str
    asset_class: str
    suggestion: str
    estimated_annual_savings: Decimal
    placement: str  # where the class belongs
    value: Decimal
    annual_tax_drag: Decimal  # the holding's drag where it is now
    realized_gain: Decimal = ZERO  # a swap's sale in a taxable account realizes about this much gain

    def to_dict(self) -> dict[str, Any]:
        return {"household": self.household, "account": self.account, "symbol": self.symbol,
                "asset_class": self.asset_class, "suggestion": self.suggestion,
                "estimated_annual_savings": cents(self.estimated_annual_savings), "placement": self.placement,
                "value": cents(self.value), "annual_tax_drag": cents(self.annual_tax_drag),
                "realized_gain": cents(self.realized_gain)}


@dataclass(frozen=True, slots=True)
class LocationReport:
    hints: tuple[Hint, ...]
    swaps: tuple[Swap, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def estimated_annual_savings(self) -> Decimal:
        """Each swap once (its two hints show the same saving)."""
        return sum((s.saving for s in self.swaps), ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {"hints": [h.to_dict() for h in self.hints],
                "estimated_annual_savings": cents(self.estimated_annual_savings), "notes": list(self.notes)}


class ClassIndex:
    """Symbol -> location class: the table's `members` first, then the [[asset_classes]] of the same name."""

    def __init__(self, table: Sequence[LocationClass], asset_classes: Sequence[AssetClass],
                 identical: IdenticalGroups):
        groups = GroupIndex(identical)
        by_name = {c.name: c for c in table}
        self._of: dict[str, LocationClass] = {}
        for c in table:
            for member in c.members:
                for symbol in sorted(groups.members(member)):
                    self._of.setdefault(symbol, c)
        for ac in asset_classes:
            found = by_name.get(ac.name)
            if found is None:
                continue
            for member in ac.members:
                for symbol in sorted(groups.members(member)):
                    self._of.setdefault(symbol, found)

    def of(self, symbol: str) -> LocationClass | None:
        return self._of.get(symbol)


def holdings(household: str, lots: Iterable[Lot], accounts: Mapping[str, Account], quotes: Mapping[str, Quote],
             classes: ClassIndex, as_of: date) -> tuple[list[Holding], list[str]]:
    """Positions per account and symbol valued at the latest close on or before `as_of`; notes say what could
    not be placed (no price, no asset class)."""
    value: dict[tuple[str, str], Decimal] = {}
    basis: dict[tuple[str, str], Decimal] = {}
    unpriced: set[str] = set()
    for lot in lots:
        if not lot.quantity or lot.account not in accounts:
            continue
        quote = quotes.get(lot.symbol)
        if quote is None or quote.close <= 0 or quote.day > as_of:
            unpriced.add(lot.symbol)
            continue
        key = (lot.account, lot.symbol)
        value[key] = value.get(key, ZERO) + lot.quantity * quote.close
        basis[key] = basis.get(key, ZERO) + lot.basis
    out: list[Holding] = []
    unclassified: set[str] = set()
    for (account, symbol), v in sorted(value.items()):
        c = classes.of(symbol)
        if c is None:
            unclassified.add(symbol)
            continue
        out.append(Holding(household, account, accounts[account].type.taxable, symbol, c, v,
                           v - basis[(account, symbol)]))
    notes = []
    if unpriced:
        notes.append(f"{household}: no price for {_some(unpriced)}: not placed")
    if unclassified:
        notes.append(f"{household}: {_some(unclassified)} in no asset class of the location table: not placed "
                     f"(add them to a class's members under [[location.asset_classes]])")
    return out, notes


def _some(symbols: set[str], most: int = 10) -> str:
    """A list of symbols for a note: a direct-indexed account holds hundreds."""
    names = sorted(symbols)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def hints(held: Sequence[Holding], tax: TaxConfig, min_annual_savings: Decimal = ZERO,
          accounts: Mapping[str, Account] | None = None) -> LocationReport:
    """Hints for the misplaced holdings of one or more households (see the module's docstring). With
    `accounts`, a household without any account of the other kind gets no hint: there is nowhere to move to."""
    kinds: dict[str, set[bool]] = {}
    for a in (accounts or {}).values():
        kinds.setdefault(a.household, set()).add(a.type.taxable)
    swaps: list[Swap] = []
    hints_out: list[Hint] = []
    for household in sorted({h.household for h in held}):
        mine = [h for h in held if h.household == household]
        has = kinds.get(household, {True, False})
        rate = {c.name: drag(c, tax) for c in {id(h.asset_class): h.asset_class for h in mine}.values()}
        inefficient = sorted((h for h in mine if h.taxable and h.asset_class.placement == TAX_ADVANTAGED
                              and False in has), key=lambda h: (-rate[h.asset_class.name], h.account, h.symbol))
        efficient = sorted((h for h in mine if not h.taxable and h.asset_class.placement == TAXABLE
                            and True in has), key=lambda h: (rate[h.asset_class.name], h.account, h.symbol))
        room = [h.value for h in efficient]
        by_holding: dict[int, list[Swap]] = {}
        first = 0  # efficient holdings before this one have no room left
        for t in inefficient:
            left = t.value
            for k in range(first, len(efficient)):
                a = efficient[k]
                gap = rate[t.asset_class.name] - rate[a.asset_class.name]
                if gap <= 0:
                    break  # the rest are less efficient still
                amount = min(left, room[k])
                if amount <= 0 or amount * gap < min_annual_savings:
                    continue
                swap = Swap(t, a, amount, amount * gap)
                swaps.append(swap)
                by_holding.setdefault(id(t), []).append(swap)
                by_holding.setdefault(id(a), []).append(swap)
                left -= amount
                room[k] -= amount
                while first < len(room) and room[first] <= 0:
                    first += 1
                if left <= 0:
                    break
        hints_out += [_hint(h, by_holding.get(id(h), []), tax) for h in (*inefficient, *efficient)]
    hints_out.sort(key=lambda h: (h.household, -h.estimated_annual_savings, h.account, h.symbol))
    return LocationReport(tuple(hints_out), tuple(swaps))


def _hint(h: Holding, swaps: list[Swap], tax: TaxConfig) -> Hint:
    c = h.asset_class
    current_drag = h.value * drag(c, tax) if h.taxable else ZERO
    saving = sum((s.saving for s in swaps), ZERO)
    realized = ZERO
    if h.taxable:
        why = f"{c.name} is tax-inefficient (about ${cents(current_drag):,} of tax a year here)"
        moves = [f"sell ${cents(s.amount):,} of {h.symbol} here and buy {s.efficient.symbol}; in "
                 f"{s.efficient.account} sell ${cents(s.amount):,} of {s.efficient.symbol} and buy {h.symbol}"
                 for s in swaps]
        moved = sum((s.amount for s in swaps), ZERO)
        if moved and h.value:
            realized = h.unrealized_gain * moved / h.value
        nothing = (f"no tax-efficient holding in a tax-advantaged account of {h.household} to swap with: "
                   f"put new money for {c.name} in a tax-advantaged account")
    else:
        why = (f"{c.name} is tax-efficient: its place is a taxable account"
               + (" (tax-exempt interest is wasted here)" if c.exempt else ""))
        moves = [f"sell ${cents(s.amount):,} of {h.symbol} here and buy {s.inefficient.symbol}; in "
                 f"{s.inefficient.account} sell ${cents(s.amount):,} of {s.inefficient.symbol} and buy {h.symbol}"
                 for s in swaps]
        nothing = (f"no tax-inefficient holding in a taxable account of {h.household} to swap with: "
                   f"put new money for {c.name} in a taxable account")
    suggestion = why + (". Swap: " + "; ".join(moves) if moves else ". " + nothing[0].upper() + nothing[1:])
    if realized < 0:
        suggestion += (f" (the sale realizes a loss: buying {h.symbol} or anything identical in the "
                       f"tax-advantaged account within 30 days would wash it for good; buy another fund of "
                       f"{c.name} there)")
    elif realized > 0:
        suggestion += (f" (the sale realizes about ${cents(realized):,} of gain: swap with new money, losses "
                       f"or a gift of the lots instead if that tax outweighs the yearly saving)")
    return Hint(h.household, h.account, h.symbol, c.name, suggestion, saving, c.placement, h.value,
                current_drag, realized)
