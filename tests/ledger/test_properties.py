"""Invariants over random trade histories (hypothesis)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.ledger import LedgerState, Side, Trade, apply, replay
from daemon.ledger.wash_sales import in_window
from tests.ledger.helpers import ACCOUNTS, IDENTICAL

HOUSEHOLD_ACCOUNTS = ["tax", "spouse", "ira", "lifo", "hifo"]
SYMBOLS = ["VOO", "IVV", "VTI", "X"]
START = date(2023, 12, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[Trade]:
    """Valid histories: sells never exceed what the account holds of the symbol."""
    n = draw(st.integers(1, 40))
    held: Counter[tuple[str, str]] = Counter()
    day = START
    trades: list[Trade] = []
    for i in range(n):
        day += timedelta(days=draw(st.integers(0, 12)))
        account = draw(st.sampled_from(HOUSEHOLD_ACCOUNTS))
        symbol = draw(st.sampled_from(SYMBOLS))
        price = Decimal(draw(st.integers(50, 150)))
        have = held[(account, symbol)]
        if have > 0 and draw(st.booleans()):
            qty = Decimal(draw(st.integers(1, max(1, int(have * 4))))) / 4
            qty = min(qty, have)
            held[(account, symbol)] -= qty
            side = Side.SELL
        else:
            qty = Decimal(draw(st.integers(1, 40))) / draw(st.sampled_from([1, 4, 1000]))
            held[(account, symbol)] += qty
            side = draw(st.sampled_from([Side.BUY, Side.BUY, Side.REINVEST]))
        fees = Decimal(draw(st.sampled_from([0, 0, 1])))
        trades.append(Trade(f"t{i}", day, account, symbol, side, qty, price, fees if side is Side.SELL else 0))
    return trades


def _replay(trades: list[Trade]) -> LedgerState:
    return replay("h", trades, ACCOUNTS, IDENTICAL)


PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(histories())
def test_basis_plus_disallowed_is_conserved(trades: list[Trade]) -> None:
    s = _replay(trades)
    bought = sum((x.quantity * x.price + x.fees for x in trades if x.side.acquires), Decimal(0))
    carried = sum((d.adjustment - d.permanent for d in s.dispositions), Decimal(0))
    left = sum((lot.basis for lot in s.lots), Decimal(0))
    relieved = sum((d.cost_basis for d in s.dispositions), Decimal(0))
    assert bought + carried == left + relieved
    # Shares too: per account and symbol, bought - sold == open.
    net: Counter[tuple[str, str]] = Counter()
    for x in trades:
        net[(x.account, x.symbol)] += x.quantity if x.side.acquires else -x.quantity
    open_: Counter[tuple[str, str]] = Counter()
    for lot in s.open_lots:
        open_[(lot.account, lot.symbol)] += lot.quantity
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in open_.items() if v}


@PROPS
@given(histories())
def test_no_replacement_share_absorbs_more_than_one_loss_share(trades: list[Trade]) -> None:
    s = _replay(trades)
    lots = {lot.lot_id: lot for lot in s.lots}
    disps = {d.disposition_id: d for d in s.dispositions}
    per_lot = Counter(m.lot_id for m in s.matches)
    assert all(n == 1 for n in per_lot.values()), "a replacement piece matched twice"
    for m in s.matches:
        d, r = disps[m.disposition_id], lots[m.lot_id]
        assert r.absorbed and r.purchase_id != d.purchase_id
        assert in_window(d.sold, m.replacement_date)
        assert IDENTICAL.key(r.symbol) == IDENTICAL.key(d.symbol)
        assert m.permanent is (not ACCOUNTS[r.account].type.taxable)
    for d in s.dispositions:
        ms = [m for m in s.matches if m.disposition_id == d.disposition_id]
        assert sum((m.quantity for m in ms), Decimal(0)) == d.washed_quantity <= d.quantity
        assert sum((m.disallowed for m in ms), Decimal(0)) == d.adjustment <= d.loss
        assert d.adjustment == 0 or d.taxable


@PROPS
@given(histories(), st.data())
def test_incremental_equals_recomputation(trades: list[Trade], data: st.DataObject) -> None:
    days = sorted({x.date for x in trades})
    cuts = sorted(set(data.draw(st.lists(st.sampled_from(days), max_size=4))))
    state = LedgerState(household="h")
    lo = None
    for cut in [*cuts, days[-1]]:
        batch = [x for x in trades if (lo is None or x.date > lo) and x.date <= cut]
        state = apply(state, batch, ACCOUNTS, IDENTICAL)
        lo = cut
    assert state == _replay(trades)


@PROPS
@given(histories(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_account_listing_order(trades: list[Trade], rnd) -> None:  # type: ignore[no-untyped-def]
    base = _replay(trades)
    names = list(ACCOUNTS)
    rnd.shuffle(names)
    shuffled_accounts = {k: ACCOUNTS[k] for k in names}
    # Interleave accounts differently too, keeping each account's own order.
    queues = {a: [x for x in trades if x.account == a] for a in names}
    mixed: list[Trade] = []
    while any(queues.values()):
        a = rnd.choice([k for k, v in queues.items() if v])
        mixed.append(queues[a].pop(0))
    mixed.sort(key=lambda x: x.date)
    assert replay("h", mixed, shuffled_accounts, IDENTICAL) == base
