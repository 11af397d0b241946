"""Cash a harvest raised and never reinvested (its buy was not placed or never filled, e.g. the sale filled
late, after the daemon had given up on it): the next run buys the replacement the pair meant to buy, or the
next eligible member of the sold fund's asset class (one the household buys on a schedule last, as for a
harvest's replacement); when it cannot, an alert says why, so the cash is never left idle without a word.

Reinvestments are planned before the day's harvests: what they buy counts as bought today (no pair may
sell its identical group at a loss today, which the purchase would wash) and their cash is spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_FLOOR

from daemon.engine.cash import CENT, SHARE_QUANTUM
from daemon.engine.pairs import HouseholdPlan
from daemon.engine.replacement import choose, unscheduled_first
from daemon.engine.types import AccountInput, Alert, Reinvestment, Rejection, Severity, Skip, Uninvested
from daemon.ledger.types import ZERO


def _alert(u: Uninvested, why: str) -> Alert:
    return Alert("uninvested_cash", Severity.WARNING,
                 f"{u.account}: ${u.amount:,.2f} from the sale of {u.sold_symbol} on {u.sold_on} ({u.source}) "
                 f"stays in cash: {why}",
                 {"household": u.household, "account": u.account, "amount": f"{u.amount:.2f}",
                  "source": u.source})


def plan_reinvestments(households: Sequence[tuple[HouseholdPlan, Sequence[AccountInput]]],
                       uninvested: Sequence[Uninvested], skipped: Mapping[tuple[str, str], Skip],
                       first_id: int = 1) -> tuple[list[Reinvestment], list[Alert]]:
    """`households`: each household's plan with its accounts traded in this run; `skipped`: the account-wide
    skip of each account that is not (why it cannot be reinvested today)."""
    tradable = {(hp.household, a.account.id): (hp, a) for hp, accounts in households for a in accounts}
    out: list[Reinvestment] = []
    alerts: list[Alert] = []
    for u in sorted(uninvested, key=lambda x: (x.household, x.account, x.sold_on, x.source)):
        found = tradable.get((u.household, u.account))
        if found is None:
            skip = skipped.get((u.household, u.account))
            alerts.append(_alert(u, f"the account is not traded today ({skip.reason.value}: {skip.detail})"
                                 if skip is not None else "the account is not traded today"))
            continue
        household, account = found
        run = household.run
        asset_class = run.classes.of(u.sold_symbol)
        others: Sequence[str] = asset_class.members if asset_class else ()
        if household.scheduled:  # as for a harvest's replacement: not a fund bought on a schedule when avoidable
            others = unscheduled_first(others, household.scheduled, run.groups)
        members = list(dict.fromkeys([u.meant_symbol, *others]))
        choice = choose(u.sold_symbol, run.classes, run.groups, run.prices,
                        lambda member, h=household: h.guard.conflict(member, h.sold), members=members)
        if isinstance(choice, Rejection):
            alerts.append(_alert(u, choice.detail))
            continue
        account_id = account.account.id
        commission = run.harvest.commission_usd
        budget = min(u.amount, household.cash[account_id] - commission)
        ask = choice.price.close + choice.price.half_spread
        if not account.capabilities.fractional_shares:
            quantity = (max(budget, ZERO) / ask).to_integral_value(rounding=ROUND_FLOOR)
            notional = quantity * ask
        else:
            notional = max(budget, ZERO).quantize(CENT, rounding=ROUND_DOWN)
            quantity = (notional / ask).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
        if quantity <= 0 or notional < 1:
            alerts.append(_alert(u, f"the account's cash (${household.cash[account_id]:,.2f}) does not buy a share "
                                    f"of {choice.symbol} at {ask}"))
            continue
        reinvestment_id = f"r{first_id + len(out)}"
        household.cash[account_id] -= notional + commission
        household.bought.setdefault(run.groups.key(choice.symbol), f"{reinvestment_id} ({choice.symbol} in "
                                                                   f"{account_id})")
        why = ("the replacement the pair meant to buy" if choice.symbol == u.meant_symbol
               else f"{u.meant_symbol} cannot be bought today; the next eligible member")
        out.append(Reinvestment(reinvestment_id=reinvestment_id, household=u.household, account=account_id,
                                symbol=choice.symbol, price=choice.price.close, notional=notional,
                                quantity_estimate=quantity, sold_symbol=u.sold_symbol, source=u.source,
                                detail=f"reinvests ${u.amount:,.2f} from the sale of {u.sold_symbol} on {u.sold_on} "
                                       f"({u.source}) in {choice.symbol}: {why}"))
    return out, alerts
