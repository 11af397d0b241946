"""Which lots to give to a charity or donor-advised fund instead of cash (`tlh donate`).

A gift of shares held more than a year deducts their fair market value and their gain is never taxed; the
cash that would have been given buys the same exposure back at a fresh, higher basis. Shares held a year or
less deduct only their basis (IRC 170(e)(1)(A)), and a lot below its basis is better sold (the loss counts)
and the cash given: neither is ever chosen.

`rank` lists the eligible lots of a household's taxable accounts, largest gain per dollar first (the lowest
basis relative to the price); `choose` takes them in that order for about an amount of market value: whole
lots while they fit, then the shares of the next lots that still fit (whole shares unless
`[giving] whole_shares = false`), so the total never exceeds the amount and falls short of it by less than
one share of any lot left. Lots the open harvest plan sells are never chosen. Nothing here reads the clock,
a database, a broker or a file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from daemon.config.models import GivingConfig, TaxConfig
from daemon.engine.types import HarvestPlan
from daemon.ledger.money import cents, plain, prorate
from daemon.ledger.types import ZERO, Account, Lot, Term, add_one_year, term_of
from daemon.prices import Quote

FRACTION = Decimal("0.000001")  # the smallest fraction of a share given when whole_shares is off


@dataclass(frozen=True, slots=True)
class GiftLot:
    """`quantity` shares of one open lot, valued at `price`: what the charity receives."""

    account: str
    lot_id: str
    symbol: str
    quantity: Decimal
    price: Decimal
    cost_basis: Decimal  # the shares' adjusted basis (wash-sale adjustments included), as the ledger prorates it
    acquired: date  # the holding period's start (Form 8283 asks for it)

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price

    @property
    def gain(self) -> Decimal:
        return self.value - self.cost_basis

    @property
    def basis_ratio(self) -> Decimal:
        """Basis per dollar of value: the lower, the more gain each dollar given carries away untaxed."""
        return self.cost_basis / self.value

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "lot_id": self.lot_id, "symbol": self.symbol,
                "quantity": plain(self.quantity), "value": cents(self.value), "cost_basis": cents(self.cost_basis),
                "gain": cents(self.gain), "price": plain(self.price), "acquired": self.acquired}


@dataclass(frozen=True, slots=True)
class Ranking:
    """The lots that may be given, best first, and what was left out and why (one line per reason)."""

    lots: tuple[GiftLot, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gift:
    household: str
    as_of: date
    amount: Decimal
    lots: tuple[GiftLot, ...]
    rate: Decimal  # long_term_rate + niit_rate + state_rate
    notes: tuple[str, ...] = ()

    @property
    def deduction(self) -> Decimal:
        """Fair market value of the shares given (before the AGI limit)."""
        return sum((lot.value for lot in self.lots), ZERO)

    @property
    def gain(self) -> Decimal:
        return sum((lot.gain for lot in self.lots), ZERO)

    @property
    def tax_avoided(self) -> Decimal:
        """The capital-gains tax a sale of the same shares would have cost."""
        return self.gain * self.rate

    def to_dict(self) -> dict[str, Any]:
        # Totals from the printed cents, so that the lots add up to them.
        lots = [lot.to_dict() for lot in self.lots]
        return {"household": self.household, "as_of": self.as_of, "amount": cents(self.amount), "lots": lots,
                "deduction": sum((row["value"] for row in lots), ZERO),
                "gain": sum((row["gain"] for row in lots), ZERO),
                "tax_avoided": cents(self.tax_avoided), "notes": list(self.notes)}


def planned_lots(plan: HarvestPlan | None) -> frozenset[str]:
    """The lots a harvest plan sells (its pairs' sell legs)."""
    if plan is None:
        return frozenset()
    return frozenset(sale.lot_id for pair in plan.pairs for sale in pair.lots)


def rank(lots: Iterable[Lot], accounts: Mapping[str, Account], quotes: Mapping[str, Quote], as_of: date, *,
         max_price_age_days: int, exclude: Collection[str] = frozenset(),
         account: str | None = None) -> Ranking:
    """Open lots of taxable accounts (or of `account` only) that are long-term on `as_of` and worth more than
    their basis at the latest close, lowest basis per dollar of value first."""
    oldest = as_of - timedelta(days=max_price_age_days)
    eligible: list[GiftLot] = []
    short: list[Lot] = []
    losses = excluded = 0
    unpriced: set[str] = set()
    for lot in lots:
        held = accounts.get(lot.account)
        if not lot.quantity or held is None or not held.type.taxable or account not in (None, lot.account):
            continue
        if lot.lot_id in exclude:
            excluded += 1
            continue
        quote = quotes.get(lot.symbol)
        if quote is None or quote.close <= 0 or quote.day > as_of or quote.day < oldest:
            unpriced.add(lot.symbol)
            continue
        if quote.close * lot.quantity <= lot.basis:
            losses += 1
            continue
        if term_of(lot.acquired, as_of) is Term.SHORT:
            short.append(lot)
            continue
        eligible.append(GiftLot(lot.account, lot.lot_id, lot.symbol, lot.quantity, quote.close, lot.basis,
                                lot.acquired))
    eligible.sort(key=lambda g: (g.basis_ratio, g.account, g.symbol, g.acquired, g.lot_id))
    notes = []
    if short:
        first = min(add_one_year(lot.acquired) for lot in short) + timedelta(days=1)
        notes.append(f"{len(short)} short-term lot(s) at a gain left out: given, they deduct only their basis "
                     f"(the first turns long-term on {first})")
    if losses:
        notes.append(f"{losses} lot(s) at or below their basis left out: sell them and give the cash "
                     f"(the loss counts)")
    if excluded:
        notes.append(f"{excluded} lot(s) left out: the open harvest plan sells them")
    if unpriced:
        notes.append(f"no recent price (max_price_age_days {max_price_age_days}) for "
                     f"{', '.join(sorted(unpriced))}: their lots are left out")
    return Ranking(tuple(eligible), tuple(notes))


def choose(household: str, amount: Decimal, ranking: Ranking, as_of: date, tax: TaxConfig,
           giving: GivingConfig, rebuy_after: Mapping[str, date] | None = None) -> Gift:
    """The lots to give for about `amount` of market value, best first (see the module's docstring).
    `rebuy_after`: symbols the household must not buy before a day (a loss sale's wash-sale window)."""
    chosen: list[GiftLot] = []
    left = amount
    step = Decimal(1) if giving.whole_shares else FRACTION
    for lot in ranking.lots:
        if left <= 0:
            break
        if lot.value <= left and (not giving.whole_shares or lot.quantity == lot.quantity.to_integral_value()):
            chosen.append(lot)
            left -= lot.value
            continue
        shares = min((left / lot.price).quantize(step, rounding=ROUND_DOWN),
                     lot.quantity.quantize(step, rounding=ROUND_DOWN))
        if shares <= 0:
            continue
        part = GiftLot(lot.account, lot.lot_id, lot.symbol, shares, lot.price,
                       prorate(lot.cost_basis, shares, lot.quantity), lot.acquired)
        chosen.append(part)
        left -= part.value
    rate = tax.long_term_rate + tax.niit_rate + tax.state_rate
    gift = Gift(household, as_of, amount, tuple(chosen), rate)
    notes = list(ranking.notes)
    if gift.deduction < amount and sum((lot.value for lot in ranking.lots), ZERO) < amount:
        notes.append(f"the eligible lots are worth ${cents(gift.deduction):,} in all, short of ${cents(amount):,}")
    notes.append(agi_note(gift.deduction, giving))
    notes.append("values are at the latest close: the deduction is the shares' value on the day the charity "
                 "receives them (the mean of that day's high and low)")
    notes.append("buy the same exposure back with the cash you would have given: a fresh basis at today's price "
                 "(not a wash sale: no loss is sold)")
    blocked = sorted({(until, lot.symbol) for lot in chosen
                      if (until := (rebuy_after or {}).get(lot.symbol)) is not None and until > as_of})
    if blocked:
        notes.append("but not before a loss sale's wash-sale window closes: "
                     + ", ".join(f"{symbol} from {until}" for until, symbol in blocked)
                     + " (or buy a fund that is not identical)")
    return Gift(household, as_of, amount, tuple(chosen), rate, tuple(notes))


def agi_note(deduction: Decimal, giving: GivingConfig) -> str:
    pct = f"{(giving.agi_limit_pct * 100).normalize():f} %"
    rule = (f"appreciated long-term shares given to a public charity or donor-advised fund deduct at most "
            f"{pct} of AGI a year (itemized); the excess carries forward up to five years")
    if giving.agi_usd is None:
        return rule + " (set [giving] agi_usd to check this gift against it)"
    limit = giving.agi_usd * giving.agi_limit_pct
    if deduction <= limit:
        return rule + f": this gift (${cents(deduction):,}) is within this year's ${cents(limit):,}"
    return rule + (f": ${cents(limit):,} deductible this year, ${cents(deduction - limit):,} carried forward "
                   f"(less if other gifts use the limit too)")
