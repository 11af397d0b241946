"""`plan(input) -> HarvestPlan`: the harvest engine's single entry point.

1. Circuit breaker (or the manual halt flag): when tripped, nothing is harvested today and every candidate
   is reported as skipped with reason `circuit_breaker`.
2. Per household, the ledger is indexed once (holdings.py); per taxable account in sync, every position
   with a loss at today's price becomes a candidate if its price is sane and the lots the broker would
   sell pass the loss thresholds (selection.py) and the estimated benefit beats the cost. When any account
   of the household (an IRA included) is out of sync or has quarantined activity, every such candidate is
   skipped with reason `household_out_of_sync` naming that account, and the household is not traded.
3. Candidates of all households are taken best estimated net benefit first; each one is checked against
   what earlier pairs of its household did (pairs.py): first the wash-sale look-back and the replacement,
   then the budget (`max_pairs_per_run`, turnover cap, cash), then the benefit.
4. Swap backs (optional) follow, under the same limits.
5. Accounts with a direct index (direct_index.py): replacements from the sold stock's peers, per-lot swap
   backs within the tax year's gain budget, new money to underweight stocks.
6. Books of ETFs with target weights (new_money.py): the cash to the most underweight asset classes, never
   into a fund a purchase today would wash.
Pair ids are "p1", "p2", ... in plan order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from daemon.engine import breaker, direct_index, lookahead, new_money
from daemon.engine.benefit import Rates, estimated_cost
from daemon.engine.candidates import has_loss
from daemon.engine.cash import account_value, cash_alert, position_values
from daemon.engine.conflicts import BuyGuard
from daemon.engine.holdings import GroupIndex, index
from daemon.engine.pairs import RESTRICTION_DAYS, Candidate, HouseholdPlan, Run, lot_method
from daemon.engine.quotes import Prices
from daemon.engine.reinvest import plan_reinvestments
from daemon.engine.replacement import AssetClasses
from daemon.engine.selection import select
from daemon.engine.swap_back import swap_back
from daemon.engine.types import (
    AccountInput,
    Alert,
    EngineInput,
    HarvestPlan,
    Pair,
    Purchase,
    Rejection,
    Restriction,
    ScheduledPurchase,
    Severity,
    Skip,
    SkipReason,
    without_cycle_collection,
)
from daemon.ledger.types import ZERO, Lot

# Reasons that only say "not worth it": such a position may still be swapped back.
_QUIET = {SkipReason.BELOW_LOSS_THRESHOLD, SkipReason.BELOW_BENEFIT_THRESHOLD}


def plan(inp: EngineInput) -> HarvestPlan:
    """The harvest plan for `inp.as_of`: pairs to trade, skipped candidates (each with a reason and a
    detail), new do-not-buy-until restrictions and alerts. Deterministic; touches nothing outside."""
    with without_cycle_collection():
        return _plan(inp)


def _plan(inp: EngineInput) -> HarvestPlan:
    h = inp.harvest
    groups = GroupIndex(inp.identical)
    run = Run(inp.as_of, h, inp.tax, Rates.of(inp.tax), groups, AssetClasses(inp.asset_classes, groups),
              Prices(inp.market.quotes, inp.as_of, h))
    alerts: list[Alert] = []
    reading = breaker.check(inp.market.benchmark_closes, h, inp.as_of)
    breaker_alert = reading.alert()
    if breaker_alert is not None:
        alerts.append(breaker_alert)

    skipped: list[Skip] = []
    directs = direct_index.books_for(inp.direct_indexes)
    books: list[direct_index.Book] = []
    households: list[tuple[HouseholdPlan, list[AccountInput]]] = []
    candidates: list[tuple[Candidate, HouseholdPlan]] = []
    warned: dict[tuple[str, str, str], list[ScheduledPurchase]] = {}  # scheduled_purchases = "warn"
    targeted = {t.account for t in inp.targets} - set(directs)
    mark_of = run.prices.mark
    for data in inp.households:
        holdings = index(data.ledger, inp.as_of, groups)
        household = HouseholdPlan(data.household, holdings,
                                  BuyGuard(holdings, inp.restrictions, inp.as_of, groups), run)
        household.scheduled = frozenset(groups.key(p.symbol) for p in inp.scheduled if p.household == data.household)
        tradable: list[AccountInput] = []
        untrusted = [a for a in sorted(data.accounts, key=lambda a: a.account.id) if not a.trusted]
        for account in sorted(data.accounts, key=lambda a: a.account.id):
            if not account.account.type.taxable:
                continue
            positions = holdings.positions.get(account.account.id, {})
            values = position_values(positions, run.prices)
            value = account_value(account.cash, positions, run.prices, values)
            household.open_account(account, value)
            household.values[account.account.id] = values
            if account.account.id in targeted:  # replacements keep to their proceeds: new money goes to targets
                household.limit[account.account.id] = max(household.limit[account.account.id], account.cash)
            blocked = _blocked(data.household, account)
            if blocked is not None and blocked.reason is SkipReason.BROKER_UNAVAILABLE:
                skipped.append(blocked)  # its cash is unknown: no cash alert either
                continue
            alert = cash_alert(data.household, account.account.id, account.cash, value, h)
            invests = account.account.id in targeted and blocked is None and account.in_sync and not untrusted
            if alert is not None and not invests:  # (a book with targets invests its cash in this run)
                alerts.append(alert)
            if blocked is not None:
                skipped.append(blocked)
                continue
            if not account.in_sync:
                skipped.append(Skip(data.household, account.account.id, "*", SkipReason.RECONCILE_MISMATCH,
                                    f"{account.account.id}: the broker's positions do not match the ledger; "
                                    f"reconcile before harvesting"))
                continue
            if not untrusted:  # a household with an untrusted account trades nothing
                tradable.append(account)
            spec = directs.get(account.account.id)
            book = None if spec is None else direct_index.Book(
                spec, account, household, inp.market.returns, data.ledger,
                frozenset(a.account.id for a in data.accounts if a.account.type.taxable))
            if book is not None and not untrusted:
                books.append(book)
            for symbol in sorted(positions):
                lots = positions[symbol]
                mark = mark_of(symbol)
                if mark is not None and not has_loss(lots, mark):
                    continue  # `_evaluate`'s first test, here: most positions of a large book stop at it
                found = _evaluate(run, data.household, account, symbol, lots)
                if isinstance(found, Skip):
                    skipped.append(found)
                elif found is not None and untrusted:
                    skipped.append(_out_of_sync(found, untrusted))
                elif found is not None:
                    ahead = _look_ahead(inp, data.household, found, positions[symbol], groups)
                    if ahead and h.scheduled_purchases == "skip":
                        skipped.append(_scheduled_skip(found, ahead))
                        continue
                    if ahead:
                        warned[(data.household, account.account.id, symbol)] = ahead
                    if book is not None:
                        found = direct_index.with_replacements(book, found)
                    candidates.append((found, household))
        households.append((household, tradable))

    if reading.tripped:
        alerts.extend(Alert("uninvested_cash", Severity.WARNING,
                            f"{u.account}: ${u.amount:,.2f} from the sale of {u.sold_symbol} ({u.source}) stays in "
                            f"cash today: the circuit breaker paused harvesting ({reading.detail})",
                            {"household": u.household, "account": u.account, "source": u.source})
                      for u in inp.uninvested)
        skipped.extend(Skip(c.household, c.account.account.id, c.symbol, SkipReason.CIRCUIT_BREAKER,
                            reading.detail) for c, _ in candidates)
        return HarvestPlan(inp.run_id, inp.as_of, inp.mode, (), _sorted(skipped), (), tuple(alerts),
                           paused="circuit_breaker")

    # Earlier harvests' idle cash first: what it buys counts as bought today for the pairs below.
    reinvestments, idle_alerts = plan_reinvestments(
        households, inp.uninvested, {(s.household, s.account): s for s in skipped if s.symbol == "*"})
    alerts.extend(idle_alerts)

    pairs: list[Pair] = []
    candidates.sort(key=lambda c: (-c[0].score, c[0].household, c[0].account.account.id, c[0].symbol))
    for candidate, household in candidates:
        where = (candidate.household, candidate.account.account.id, candidate.symbol)
        out = household.harvest(candidate, f"p{len(pairs) + 1}", h.max_pairs_per_run - len(pairs))
        if isinstance(out, Rejection):
            skipped.append(Skip(*where, out.reason, out.detail))
        else:
            pairs.append(out)
            if where in warned:
                alerts.append(_scheduled_alert(out, warned[where], inp.as_of))

    if h.swap_back and inp.asset_classes:  # a swap back returns to its asset class's primary fund
        _swap_backs(households, pairs, skipped, h.max_pairs_per_run)
    purchases = direct_index.finish(books, pairs, skipped, h.max_pairs_per_run, _QUIET, alerts)
    purchases += _new_money(inp, run, households, {b.id for b in books}, len(purchases) + 1)

    restrictions: dict[tuple[str, str], Restriction] = {}
    for household, _ in households:
        for r in household.restrictions:
            restrictions.setdefault((r.household, r.symbol), r)
    return HarvestPlan(inp.run_id, inp.as_of, inp.mode, tuple(pairs), _sorted(skipped),
                       tuple(restrictions.values()), tuple(alerts), purchases=purchases,
                       reinvestments=tuple(reinvestments))


def _new_money(inp: EngineInput, run: Run, households: list[tuple[HouseholdPlan, list[AccountInput]]],
               direct: set[str], first: int) -> tuple[Purchase, ...]:
    """Each book of ETFs with targets (a tradable account, not a direct index): its cash after today's pairs,
    all of it, toward the targets (cash is not a target: `cash_max_pct` would hold back months of
    contributions of a large account)."""
    targets = {t.account: t for t in inp.targets}
    if not targets:
        return ()
    classes = {c.name: c for c in inp.asset_classes}
    out: list[Purchase] = []
    for household, tradable in households:
        for account in tradable:
            a = account.account.id
            spec = targets.get(a)
            if spec is None or a in direct:
                continue
            book = new_money.Book(household.household, a, household.holdings.positions.get(a, {}),
                                  dict(spec.weights), classes, not account.capabilities.fractional_shares)
            bought = new_money.plan_new_money(
                book, household.cash[a], household.value[a], run.classes, run.prices,
                run.harvest, lambda m, hp=household: hp.guard.conflict(m, hp.sold), first + len(out))
            for b in bought:
                household.cash[a] -= b.notional + run.harvest.commission_usd
                household.bought.setdefault(run.groups.key(b.symbol), f"{b.purchase_id} ({b.symbol} in {a})")
            out.extend(bought)
    return tuple(out)


def _look_ahead(inp: EngineInput, household: str, candidate: Candidate, lots: Sequence[Lot],
                groups: GroupIndex) -> list[ScheduledPurchase]:
    held = sum((lot.quantity for lot in lots), start=ZERO)
    return lookahead.conflicts(inp.scheduled, household, candidate.account.account.id, candidate.symbol,
                               candidate.selection.quantity >= held, inp.as_of, groups)


def _scheduled_skip(candidate: Candidate, ahead: Sequence[ScheduledPurchase]) -> Skip:
    return Skip(candidate.household, candidate.account.account.id, candidate.symbol, SkipReason.SCHEDULED_PURCHASE,
                f"{candidate.symbol}: {lookahead.describe(ahead)} would wash the loss (30 days ahead); pause it, "
                f"or set [harvest] scheduled_purchases = \"warn\" to harvest and be told what to pause")


def _scheduled_alert(pair: Pair, ahead: Sequence[ScheduledPurchase], as_of: date) -> Alert:
    until = as_of + RESTRICTION_DAYS
    return Alert("scheduled_purchase", Severity.WARNING,
                 f"{pair.pair_id}: {pair.account} sells {pair.sell_symbol} at a loss of ${pair.estimated_loss:,.2f}; "
                 f"pause {lookahead.describe(ahead)}: do not buy before {until} or it washes the loss",
                 {"household": pair.household, "account": pair.account, "pair": pair.pair_id,
                  "symbol": pair.sell_symbol, "until": until.isoformat(),
                  "pause": "; ".join(p.describe() for p in ahead)})


def _blocked(household: str, account: AccountInput) -> Skip | None:
    """The whole account is not traded today: its broker could not be read, it is paused, or an earlier run
    harvested it today."""
    a = account.account.id
    if account.unavailable is not None:
        return Skip(household, a, "*", SkipReason.BROKER_UNAVAILABLE,
                    f"{a}: not traded, the broker could not be read in this run: {account.unavailable}")
    if account.paused is not None:
        return Skip(household, a, "*", SkipReason.PAUSED, f"{a}: {account.paused}")
    if account.harvested_by is not None:
        return Skip(household, a, "*", SkipReason.ALREADY_HARVESTED,
                    f"{a}: already harvested this trading day by run {account.harvested_by}")
    return None


def _evaluate(run: Run, household: str, account: AccountInput, symbol: str,
              lots: Sequence[Lot]) -> Candidate | Skip | None:
    """A candidate, a skipped position (with why), or None for a position without any loss."""
    h = run.harvest
    # A usable price's close is the mark: a position without a loss at it is passed over, priced or not.
    mark = run.prices.mark(symbol)
    if mark is not None and not has_loss(lots, mark):
        return None
    price = run.prices.get(symbol)
    if isinstance(price, Rejection):
        return Skip(household, account.account.id, symbol, price.reason, price.detail)
    selection = select(symbol, lots, lot_method(account), price, run.as_of, h, run.rates,
                       whole_shares=not account.capabilities.fractional_shares)
    if isinstance(selection, Rejection):
        return Skip(household, account.account.id, symbol, selection.reason, selection.detail)
    benefit = run.rates.value(selection.short_loss, selection.long_loss)
    cost = estimated_cost(price, selection.quantity, h)
    if benefit - cost < h.min_net_benefit_usd:
        return Skip(household, account.account.id, symbol, SkipReason.BELOW_BENEFIT_THRESHOLD,
                    f"{symbol}: estimated benefit ${benefit:,.2f} - cost ${cost:,.2f} is below "
                    f"min_net_benefit_usd ${h.min_net_benefit_usd}")
    return Candidate(household, account, symbol, lots, price, selection, benefit - cost)


def _out_of_sync(candidate: Candidate, untrusted: Sequence[AccountInput]) -> Skip:
    """An unbooked purchase in any account of the household could wash this loss (permanently, in an IRA):
    no loss sale until every account of the household is trusted again."""
    names = "; ".join(f"{a.account.id} {a.distrust()}" for a in untrusted)
    return Skip(candidate.household, candidate.account.account.id, candidate.symbol,
                SkipReason.HOUSEHOLD_OUT_OF_SYNC,
                f"{candidate.symbol}: household {candidate.household}: {names}; no loss sale in the household "
                f"until it is reconciled (an unbooked purchase there could wash this loss)")


def _swap_backs(households: list[tuple[HouseholdPlan, list[AccountInput]]], pairs: list[Pair],
                skipped: list[Skip], max_pairs: int) -> None:
    """Swap backs for positions not otherwise reported; a swap back (or why it is blocked) replaces a
    position's "not worth harvesting" entry."""
    reported = {(s.household, s.account, s.symbol) for s in skipped if s.reason not in _QUIET}
    quiet = {(s.household, s.account, s.symbol): s for s in skipped if s.reason in _QUIET}
    replaced: set[int] = set()
    positions = ((household, account, symbol, lots)
                 for household, tradable in households for account in tradable
                 for symbol, lots in sorted(household.holdings.positions.get(account.account.id, {}).items()))
    for household, account, symbol, lots in positions:
        where = (household.household, account.account.id, symbol)
        if where in reported:
            continue
        if len(pairs) >= max_pairs:
            break
        out = swap_back(household, account, symbol, lots, f"p{len(pairs) + 1}")
        if out is None:
            continue
        if where in quiet:
            replaced.add(id(quiet[where]))
        if isinstance(out, Rejection):
            skipped.append(Skip(*where, out.reason, out.detail))
        else:
            pairs.append(out)
    skipped[:] = [s for s in skipped if id(s) not in replaced]


def _sorted(skipped: list[Skip]) -> tuple[Skip, ...]:
    return tuple(sorted(skipped, key=lambda s: (s.household, s.account, s.symbol)))

