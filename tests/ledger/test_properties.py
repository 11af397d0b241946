"""Invariants over random event histories (hypothesis): trades with and without execution times, both
replacement policies, and corporate actions interleaved.

LEDGER_EXAMPLES=N in the environment runs N examples of each property instead of the committed count (a long
local run before landing a ledger change)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.ledger import (
    ActionKind,
    CorporateAction,
    LedgerPolicy,
    LedgerState,
    ReplacementAlreadySold,
    Side,
    Trade,
    apply,
    replay,
)
from daemon.ledger.book import Event
from daemon.ledger.wash_sales import in_window
from tests.ledger.helpers import ACCOUNTS, IDENTICAL

HOUSEHOLD_ACCOUNTS = ["tax", "spouse", "ira", "lifo", "hifo"]
SYMBOLS = ["VOO", "IVV", "VTI", "X"]
START = date(2023, 12, 1)
# Crowded histories: one security and its identical group, trades days apart, prices near one another, many
# sells. Sales at cost, small losses and shares sold soon after they were bought are common, so a loss often
# takes shares already sold as its replacement ("adjust") and a wash can turn that sale into a loss.
CROWDED_SYMBOLS = ["X", "X", "X", "VOO", "IVV"]
POLICIES = st.sampled_from([LedgerPolicy(), LedgerPolicy(replacement_already_sold=ReplacementAlreadySold.IGNORE)])


@st.composite
def histories(draw: st.DrawFn, actions: bool = False, crowded: bool = False) -> list[Event]:
    """Valid histories: sells never exceed what the account holds of the symbol. Each event gets a distinct
    execution time (minutes into the session) so that input order does not decide anything. `crowded`: see
    CROWDED_SYMBOLS."""
    symbols, most_days, lowest, highest = (CROWDED_SYMBOLS, 3, 48, 52) if crowded else (SYMBOLS, 12, 50, 150)
    n = draw(st.integers(1, 40))
    held: Counter[tuple[str, str]] = Counter()
    day = START
    minute = 0
    events: list[Event] = []
    for i in range(n):
        step = draw(st.integers(0, most_days))
        if step:
            day += timedelta(days=step)
            minute = 0
        minute += 1
        at = time(9 + (30 + minute) // 60, (30 + minute) % 60)
        if actions and draw(st.integers(0, 9)) == 0:
            symbol = draw(st.sampled_from(["VTI", "X"]))
            if any(held[(a, symbol)] for a in HOUSEHOLD_ACCOUNTS):
                ratio = draw(st.sampled_from([Decimal(2), Decimal(4), Decimal("0.5")]))
                kind = draw(st.sampled_from([ActionKind.SPLIT, ActionKind.RETURN_OF_CAPITAL]))
                if kind is ActionKind.SPLIT:
                    for a in HOUSEHOLD_ACCOUNTS:
                        held[(a, symbol)] *= ratio
                    events.append(CorporateAction(f"a{i}", day, symbol, kind, ratio=ratio, time=at))
                else:
                    events.append(CorporateAction(f"a{i}", day, symbol, kind, cash_per_share=Decimal(3), time=at))
                continue
        account = draw(st.sampled_from(HOUSEHOLD_ACCOUNTS))
        symbol = draw(st.sampled_from(symbols))
        price = Decimal(draw(st.integers(lowest, highest)))
        have = held[(account, symbol)]
        if have > 0 and (draw(st.integers(0, 2)) > 0 if crowded else draw(st.booleans())):
            qty = Decimal(draw(st.integers(1, max(1, int(have * 4))))) / 4
            qty = min(qty, have)
            held[(account, symbol)] -= qty
            side = Side.SELL
        else:
            qty = Decimal(draw(st.integers(1, 40))) / draw(st.sampled_from([1, 4, 1000]))
            held[(account, symbol)] += qty
            side = draw(st.sampled_from([Side.BUY, Side.BUY, Side.REINVEST]))
        fees = Decimal(draw(st.sampled_from([0, 0, 1])))
        events.append(Trade(f"t{i}", day, account, symbol, side, qty, price, fees if side is Side.SELL else 0,
                            time=at))
    return events


PROPS = settings(max_examples=int(os.environ.get("LEDGER_EXAMPLES", 150)), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _basis_in_equals_basis_out(events: list[Event], s: LedgerState) -> None:
    bought = sum((x.quantity * x.price + x.fees for x in events if isinstance(x, Trade) and x.side.acquires),
                 Decimal(0))
    carried = sum((d.adjustment - d.permanent for d in s.dispositions), Decimal(0))
    left = sum((lot.basis for lot in s.lots), Decimal(0))
    relieved = sum((d.cost_basis for d in s.dispositions), Decimal(0))
    # Basis goes only to open lots, to sales, or back to the owner as a return of capital.
    assert bought + carried == left + relieved + _returned_basis(events)


def _returned_basis(events: list[Event]) -> Decimal:
    """Basis taken off the lots by returns of capital: per lot held then, the cash up to the lot's basis."""
    total = Decimal(0)
    for a in events:
        if isinstance(a, CorporateAction) and a.kind is ActionKind.RETURN_OF_CAPITAL:
            before = replay("h", [e for e in events if _before(e, a)], ACCOUNTS, IDENTICAL)
            assert a.cash_per_share is not None
            cash = sum((min(lot.basis, (lot.quantity * a.cash_per_share).quantize(Decimal("1e-12")))
                        for lot in before.open_lots if lot.symbol == a.symbol), Decimal(0))
            total += cash
    return total


def _before(e: Event, a: CorporateAction) -> bool:
    return (e.date, e.time or time.min) < (a.date, a.time or time.min)


@PROPS
@given(histories() | histories(crowded=True), POLICIES)
def test_basis_plus_disallowed_is_conserved(events: list[Event], policy: LedgerPolicy) -> None:
    s = replay("h", events, ACCOUNTS, IDENTICAL, policy)
    _basis_in_equals_basis_out(events, s)
    # Shares too: per account and symbol, bought - sold == open.
    net: Counter[tuple[str, str]] = Counter()
    for x in events:
        assert isinstance(x, Trade)
        net[(x.account, x.symbol)] += x.quantity if x.side.acquires else -x.quantity
    open_: Counter[tuple[str, str]] = Counter()
    for lot in s.open_lots:
        open_[(lot.account, lot.symbol)] += lot.quantity
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in open_.items() if v}


@PROPS
@given(histories(actions=True))
def test_basis_is_conserved_through_corporate_actions(events: list[Event]) -> None:
    s = replay("h", events, ACCOUNTS, IDENTICAL)
    _basis_in_equals_basis_out(events, s)


@PROPS
@given(histories() | histories(crowded=True), POLICIES)
def test_no_replacement_share_absorbs_more_than_one_loss_share(events: list[Event], policy: LedgerPolicy) -> None:
    s = replay("h", events, ACCOUNTS, IDENTICAL, policy)
    lots = {lot.lot_id: lot for lot in s.lots}
    disps = {d.disposition_id: d for d in s.dispositions}
    sources: dict[str, set[tuple[str, str]]] = {}
    for m in s.matches:
        d = disps[m.disposition_id]
        key = m.replacement_disposition or m.lot_id
        # A loss sale split later (as another loss's sold replacement) shares its matches between its pieces.
        sources.setdefault(key, set()).add((d.trade_id, d.lot_id))
        r = disps[m.replacement_disposition] if m.replacement_disposition else lots[m.lot_id]
        assert r.absorbed and r.purchase_id != d.purchase_id
        assert in_window(d.sold, m.replacement_date)
        assert IDENTICAL.key(r.symbol) == IDENTICAL.key(d.symbol)
        assert m.permanent is (not ACCOUNTS[r.account].type.taxable)
        if policy.replacement_already_sold is ReplacementAlreadySold.IGNORE:
            assert m.replacement_disposition is None
    assert all(len(v) == 1 for v in sources.values()), "a replacement piece washed two losses"
    for d in s.dispositions:
        ms = [m for m in s.matches if m.disposition_id == d.disposition_id]
        assert sum((m.quantity for m in ms), Decimal(0)) == d.washed_quantity <= d.quantity
        assert sum((m.disallowed for m in ms), Decimal(0)) == d.adjustment
        assert d.adjustment == 0 or d.taxable


@PROPS
@given(histories(actions=True), st.data(), POLICIES)
def test_incremental_equals_recomputation_with_actions_interleaved(events: list[Event], data: st.DataObject,
                                                                    policy: LedgerPolicy) -> None:
    days = sorted({x.date for x in events})
    cuts = sorted(set(data.draw(st.lists(st.sampled_from(days), max_size=4))))
    state = LedgerState(household="h")
    lo = None
    for cut in [*cuts, days[-1]]:
        batch = [x for x in events if (lo is None or x.date > lo) and x.date <= cut]
        state = apply(state, batch, ACCOUNTS, IDENTICAL, policy)
        lo = cut
    assert state == replay("h", events, ACCOUNTS, IDENTICAL, policy)


@PROPS
@given(histories(actions=True, crowded=True))
def test_incremental_equals_recomputation_at_every_batch_boundary_in_crowded_windows(events: list[Event]) -> None:
    # Policy "adjust" (the default), cut after each day in turn: a wash that reaches back to shares already
    # sold must come out the same whichever batch its events fall in.
    whole = replay("h", events, ACCOUNTS, IDENTICAL)
    for cut in sorted({x.date for x in events})[:-1]:
        first = replay("h", [x for x in events if x.date <= cut], ACCOUNTS, IDENTICAL)
        assert apply(first, [x for x in events if x.date > cut], ACCOUNTS, IDENTICAL) == whole, cut


@PROPS
@given(histories(actions=True), st.randoms(use_true_random=False))
def test_time_order_does_not_depend_on_input_order_or_account_listing(events: list[Event], rnd) -> None:  # type: ignore[no-untyped-def]
    base = replay("h", events, ACCOUNTS, IDENTICAL)
    names = list(ACCOUNTS)
    rnd.shuffle(names)
    shuffled_accounts = {k: ACCOUNTS[k] for k in names}
    mixed = list(events)
    rnd.shuffle(mixed)  # every event has its own execution time: the input order is irrelevant
    assert replay("h", mixed, shuffled_accounts, IDENTICAL) == base
