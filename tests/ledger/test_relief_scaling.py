"""Issue 12, finding 11: a sell must not re-sort the account's open lots (200k-row imports did not finish
when every sell sorted them). Counted, not timed: how often the relief order's key is computed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from daemon.ledger import relief
from tests.ledger.helpers import run, t

N = 400


@pytest.mark.parametrize(("account", "first_sold"), [("tax", 0), ("lifo", N - 1), ("hifo", 6)])
def test_selling_lot_by_lot_computes_each_lots_order_once(monkeypatch: pytest.MonkeyPatch, account: str,
                                                         first_sold: int) -> None:
    calls = [0]
    real = relief.relief_key

    def counting(method):  # type: ignore[no-untyped-def]
        key = real(method)

        def counted(lot):  # type: ignore[no-untyped-def]
            calls[0] += 1
            return key(lot)
        return counted

    monkeypatch.setattr(relief, "relief_key", counting)
    start = date(2020, 1, 1)
    buys = [t(str(start + timedelta(days=i)), account, "buy", 1, "VTI", 100 + i % 7, tid=f"b{i}")
            for i in range(N)]
    sells = [t(str(start + timedelta(days=N + 40 + i)), account, "sell", 1, "VTI", 200, tid=f"s{i}")
             for i in range(N)]
    state = run(*buys, *sells)
    assert len(state.dispositions) == N and not any(lot.quantity for lot in state.lots)
    first = min(state.dispositions, key=lambda d: d.sold)
    assert first.purchase_id == f"b{first_sold}"
    # Sorting the open lots at every sell would compute the key about N * N / 2 times (80,000 here).
    assert calls[0] <= 4 * N, calls[0]
