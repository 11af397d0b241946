"""Turning a candidate into a pair inside one household's plan.

`HouseholdPlan` holds what the pairs planned so far in the household have done (shares sold per lot,
identical groups sold and bought, cash and turnover left per account) and enforces, pair after pair:
- no pair sells a group an earlier pair buys, and no pair buys a group any pair sells (two accounts
  harvesting the same fund on the same day never buy each other's sold fund);
- first what blocks a harvest whatever the budget: the look-back (recent identical purchases still held
  after today's sales; `lookback_policy`), the replacement (asset class walk, no identical, pending-loss or
  restricted symbol);
- then the budget, so that a budget reason is only ever given for a harvest that would otherwise trade:
  `max_pairs_per_run`, the turnover cap (`max_turnover_pct` of the account's value sold per run; 1 = off),
  which may cut a sale short (the pair then says so in `partial`), and the cash;
- benefit − cost >= `min_net_benefit_usd`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from daemon.config.models import HarvestConfig, TaxConfig
from daemon.engine.benefit import Rates, buy_cost, sell_cost
from daemon.engine.candidates import passes
from daemon.engine.cash import SHARE_QUANTUM, size_buy
from daemon.engine.conflicts import BuyGuard, Wash, describe, lookback, washed_by_term
from daemon.engine.holdings import GroupIndex, Holdings
from daemon.engine.quotes import Price, Prices
from daemon.engine.replacement import AssetClasses, Choice, choose, unscheduled_first
from daemon.engine.selection import Selection, select
from daemon.engine.types import AccountInput, Pair, PairKind, Rejection, Restriction, SkipReason, percent
from daemon.ledger.types import ZERO, Lot, LotMethod

RESTRICTION_DAYS = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Run:
    """What every household's planning shares in one run."""

    as_of: date
    harvest: HarvestConfig
    tax: TaxConfig
    rates: Rates
    groups: GroupIndex
    classes: AssetClasses
    prices: Prices


@dataclass(frozen=True, slots=True)
class Candidate:
    household: str
    account: AccountInput
    symbol: str
    lots: Sequence[Lot]  # the position's open lots
    price: Price
    selection: Selection
    score: Decimal  # estimated net benefit, for ranking
    members: tuple[str, ...] | None = None  # replacements to try instead of the asset class (direct index)
    members_name: str | None = None  # what `members` are, for a skip's detail


def _shares(quantity: Decimal) -> str:
    return format(quantity.normalize(), ",f")


def lot_method(account: AccountInput) -> LotMethod:
    """The relief the broker will apply: specific-lot sells fall back to FIFO where the broker can't."""
    method = account.account.lot_method
    if method is LotMethod.SPECIFIC and not account.capabilities.specific_lot_sells:
        return LotMethod.FIFO
    return method


class HouseholdPlan:
    def __init__(self, household: str, holdings: Holdings, guard: BuyGuard, run: Run):
        self.household = household
        self.holdings = holdings
        self.guard = guard
        self.run = run
        self.cash: dict[str, Decimal] = {}
        self.limit: dict[str, Decimal] = {}
        self.value: dict[str, Decimal] = {}  # account value at the start of the run (cash included)
        self.turnover_left: dict[str, Decimal] = {}
        self.sold: dict[str, str] = {}  # identical group key -> the pair that sells it
        self.bought: dict[str, str] = {}  # identical group key -> the pair that buys it
        self.washing: set[str] = set()  # groups sold by a pair that counts on a partial wash
        self.scheduled: frozenset[str] = frozenset()  # identical groups the household buys on a schedule soon
        self.sold_qty: dict[str, Decimal] = {}  # lot id -> shares sold by this plan
        self.traded: set[tuple[str, str]] = set()  # (account, symbol) sold by a pair
        self.restrictions: list[Restriction] = []
        self.values: dict[str, dict[str, Decimal]] = {}  # account -> symbol -> position at its latest price

    def open_account(self, account: AccountInput, value: Decimal) -> None:
        h = self.run.harvest
        self.cash[account.account.id] = account.cash
        self.limit[account.account.id] = h.cash_max_pct * value
        self.value[account.account.id] = value
        self.turnover_left[account.account.id] = h.max_turnover_pct * value

    # -- checks ------------------------------------------------------------------------------------------
    def sell_conflict(self, symbol: str) -> Rejection | None:
        key = self.run.groups.key(symbol)
        if key in self.bought:
            return Rejection(SkipReason.WASH_SALE_LOOKBACK,
                             f"{symbol} is identical to the buy of {self.bought[key]} today, which would "
                             f"wash the loss")
        if key in self.washing:
            return Rejection(SkipReason.WASH_SALE_LOOKBACK,
                             f"{self.sold[key]} already sells {symbol}'s identical group today counting on "
                             f"a partial wash; a second sale would change which loss is washed")
        return None

    def washes(self, symbol: str, selection: Selection) -> list[Wash]:
        selling = {s.lot_id: s.quantity for s in selection.sales}
        recent = self.holdings.recent.get(self.run.groups.key(symbol), ())
        # Shares another pair sells today still count: their purchase is an acquisition in the window, and
        # that pair's fill may come after this one. Only this pair's own sale (one order) is not a replacement.
        return lookback(selection.sales, [(lot, lot.quantity - selling.get(lot.lot_id, ZERO)) for lot in recent])

    # -- harvest -----------------------------------------------------------------------------------------
    def harvest(self, candidate: Candidate, pair_id: str, pairs_left: int) -> Pair | Rejection:
        """The pair for `candidate`, or why not. What would block the harvest whatever the budget (an
        identical buy today, the look-back, no replacement) is decided first, on the full sale; only a
        candidate that would otherwise trade meets the budget reasons (max pairs, turnover cap, cash)."""
        run, h = self.run, self.run.harvest
        account, symbol = candidate.account, candidate.symbol
        conflict = self.sell_conflict(symbol)
        if conflict is not None:
            return conflict
        selection = candidate.selection
        washes = self.washes(symbol, selection)
        if washes:
            blocked = self._wash_block(symbol, selection, washes)
            if blocked is not None:
                return blocked
        members = candidate.members
        if self.scheduled:
            listed = members if members is not None else getattr(run.classes.of(symbol), "members", None)
            members = None if listed is None else unscheduled_first(listed, self.scheduled, run.groups)
        choice = choose(symbol, run.classes, run.groups, run.prices,
                        lambda member: self.guard.conflict(member, self.sold), members=members,
                        name=candidate.members_name)
        if isinstance(choice, Rejection):
            return choice
        # -- budget reasons: this candidate would trade but for them --
        if pairs_left <= 0:
            return Rejection(SkipReason.MAX_PAIRS_REACHED,
                             f"{symbol}: max_pairs_per_run {h.max_pairs_per_run} reached (a harvest of "
                             f"${selection.loss:,.2f}, estimated net benefit ${candidate.score:,.2f})")
        partial: Rejection | None = None
        wanted = ""
        left = self.turnover_left[account.account.id]
        if h.max_turnover_pct < 1 and selection.proceeds > left:
            # Say what the full harvest would have been, then what fits under the cap.
            wanted = (f"{symbol}: a harvest of ${selection.loss:,.2f} would sell {_shares(selection.quantity)} "
                      f"shares for ${selection.proceeds:,.2f}, but {account.account.id} has "
                      f"${max(left, ZERO):,.2f} of turnover left this run "
                      f"(max_turnover_pct {percent(h.max_turnover_pct)} %)")
            capped = select(symbol, candidate.lots, lot_method(account), candidate.price, run.as_of, h,
                            run.rates, whole_shares=not account.capabilities.fractional_shares,
                            max_shares=(max(left, ZERO) / candidate.price.close).quantize(
                                SHARE_QUANTUM, rounding=ROUND_DOWN))
            if isinstance(capped, Rejection):
                room = max(left, ZERO) >= candidate.price.close  # at least one share fits under the cap
                return Rejection(SkipReason.TURNOVER_CAP,
                                 f"{wanted}; within the cap: {capped.detail}" if room else wanted)
            washes = self.washes(symbol, capped)
            if washes and self._wash_block(symbol, capped, washes) is not None:
                return Rejection(SkipReason.TURNOVER_CAP,
                                 f"{wanted}; within the cap: {describe(washes, symbol)}, leaving too little loss")
            partial = Rejection(SkipReason.TURNOVER_CAP,
                                f"{wanted}: sells {_shares(capped.quantity)} of {_shares(selection.quantity)} "
                                f"shares (loss ${capped.loss:,.2f}); the other "
                                f"{_shares(selection.quantity - capped.quantity)} stay for a later run")
            selection = capped
        washed = washed_by_term(washes) if washes else (ZERO, ZERO)
        out = self.finish(pair_id, PairKind.HARVEST, candidate.account, symbol, candidate.price, selection,
                          washes, washed, choice, check_benefit=True, partial=partial)
        if isinstance(out, Rejection) and partial is not None:
            return Rejection(SkipReason.TURNOVER_CAP, f"{wanted}; within the cap: {out.detail}")
        return out

    def _wash_block(self, symbol: str, selection: Selection, washes: list[Wash]) -> Rejection | None:
        """Why the look-back blocks this sale (`lookback_policy`), or None when the unwashed part is worth it."""
        h = self.run.harvest
        if h.lookback_policy == "skip" or self.run.groups.key(symbol) in self.sold:
            return Rejection(SkipReason.WASH_SALE_LOOKBACK, describe(washes, symbol))
        washed = washed_by_term(washes)
        allowed = selection.loss - washed[0] - washed[1]
        if not passes(allowed, selection.basis, h):
            return Rejection(SkipReason.WASH_SALE_LOOKBACK,
                             f"{describe(washes, symbol)}; the ${max(allowed, ZERO):,.2f} left is below "
                             f"the loss thresholds")
        return None

    def finish(self, pair_id: str, kind: PairKind, account: AccountInput, symbol: str, price: Price,
               selection: Selection, washes: list[Wash], washed: tuple[Decimal, Decimal], choice: Choice,
               *, check_benefit: bool, partial: Rejection | None = None) -> Pair | Rejection:
        """Size the buy, weigh benefit against cost and, when the pair stands, record it."""
        run, h = self.run, self.run.harvest
        account_id = account.account.id
        spread = price.half_spread * selection.quantity
        buy = size_buy(self.cash[account_id], selection.proceeds, spread, self.limit[account_id],
                       choice.price, h, not account.capabilities.fractional_shares)
        if buy.quantity <= 0:
            return Rejection(SkipReason.INSUFFICIENT_CASH,
                             f"{account_id}: the sale of {symbol} (${selection.proceeds:,.2f}) with "
                             f"${self.cash[account_id]:,.2f} of cash leaves too little to buy {choice.symbol} "
                             f"at ${choice.price.close:,.2f}")
        short, long = selection.short_loss - washed[0], selection.long_loss - washed[1]
        benefit = run.rates.value(short, long)
        cost = sell_cost(price, selection.quantity, h) + buy_cost(choice.price, buy.notional, h)
        if check_benefit and benefit - cost < h.min_net_benefit_usd:
            return Rejection(SkipReason.BELOW_BENEFIT_THRESHOLD,
                             f"{symbol}: estimated benefit ${benefit:,.2f} - cost ${cost:,.2f} is below "
                             f"min_net_benefit_usd ${h.min_net_benefit_usd}")
        self._record(pair_id, account_id, symbol, selection, washes, choice.symbol)
        self.cash[account_id] = buy.cash_after
        return Pair(pair_id=pair_id, kind=kind, household=self.household, account=account_id,
                    sell_symbol=symbol, sell_quantity=selection.quantity, sell_price=price.close,
                    lots=selection.sales, estimated_short_loss=short, estimated_long_loss=long,
                    washed_loss=washed[0] + washed[1], estimated_benefit=benefit, estimated_cost=cost,
                    buy_symbol=choice.symbol, buy_price=choice.price.close, buy_notional=buy.notional,
                    buy_quantity_estimate=buy.quantity, partial=partial)

    def _record(self, pair_id: str, account_id: str, symbol: str, selection: Selection, washes: list[Wash],
                buy_symbol: str) -> None:
        groups = self.run.groups
        key = groups.key(symbol)
        for s in selection.sales:
            self.sold_qty[s.lot_id] = self.sold_qty.get(s.lot_id, ZERO) + s.quantity
        self.sold.setdefault(key, f"{pair_id} ({symbol} in {account_id})")
        self.bought.setdefault(groups.key(buy_symbol), f"{pair_id} ({buy_symbol} in {account_id})")
        if washes:
            self.washing.add(key)
        self.turnover_left[account_id] -= selection.proceeds
        self.traded.add((account_id, symbol))
        losses = [s for s in selection.sales if s.gain < 0]
        if losses:
            loss = -sum((s.gain for s in losses), ZERO)
            sale = (f"{pair_id}: {account_id} sells {selection.quantity.normalize():f} {symbol} on "
                    f"{self.run.as_of} at an estimated loss of ${loss:,.2f}")
            until = self.run.as_of + RESTRICTION_DAYS
            for member in sorted(groups.members(symbol)):
                self.restrictions.append(Restriction(self.household, member, until, sale))
