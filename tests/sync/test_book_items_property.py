"""Nothing dropped, nothing blocked: a page of fills (some selling more than is held) is split into what the
ledger books and what it refuses, every item in exactly one; the ledger then equals a replay of the booked
items alone; and a refused item never keeps a later, valid one out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokers.protocol import Fill, OrderSide
from daemon.config.models import Settings
from daemon.service import quarantine
from daemon.store import ledger_repo, migrate
from daemon.store.db import make_engine, transaction

SETTINGS = Settings.model_validate({"substitutes": "", "accounts": [{"id": "tax", "household": "h"}]})
START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)

steps = st.lists(st.tuples(st.sampled_from(["VTI", "BND"]), st.booleans(), st.integers(1, 30)),
                 min_size=1, max_size=12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_every_item_is_booked_or_refused_and_the_ledger_is_the_booked_ones(tmp_path: Path,
                                                                           steps: list[tuple[str, bool, int]]) -> None:
    url = f"sqlite:///{tmp_path / f'p{abs(hash(tuple(steps)))}.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        fills = [Fill(fill_id=f"f{n}", account="tax", symbol=symbol, side=OrderSide.BUY if buy else OrderSide.SELL,
                      quantity=Decimal(qty), price=Decimal(100), time=START + timedelta(hours=n * 7))
                 for n, (symbol, buy, qty) in enumerate(steps)]
        outcome = quarantine.book_items(engine, SETTINGS, fills, "prop", "property")
        booked = {f.fill_id for f in outcome.booked}
        refused = {f.fill_id for f, _ in outcome.refused}
        assert booked | refused == {f.fill_id for f in fills} and not booked & refused
        # Sequentially, a sale is refused exactly when it sells more than the booked items hold then.
        held: dict[str, Decimal] = {}
        for f in fills:
            have = held.get(f.symbol, Decimal(0))
            ok = f.side is OrderSide.BUY or f.quantity <= have
            assert (f.fill_id in booked) == ok, (f, held)
            if ok:
                held[f.symbol] = have + (f.quantity if f.side is OrderSide.BUY else -f.quantity)
        with transaction(engine) as session:
            state = ledger_repo.load_ledger(session, "h")
        open_shares: dict[str, Decimal] = {}
        for lot in state.open_lots:
            open_shares[lot.symbol] = open_shares.get(lot.symbol, Decimal(0)) + lot.quantity
        assert {s: q for s, q in open_shares.items() if q} == {s: q for s, q in held.items() if q}
    finally:
        engine.dispose()
