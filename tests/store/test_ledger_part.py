"""Booking a batch on the part of a stored ledger it can change (`ledger_repo.load_part`), on SQLite and
PostgreSQL: the store ends exactly as booking the batch on the whole state leaves it, and a batch that
reaches further back than the part is booked on the whole ledger."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers import ImportedTrade
from daemon.ledger import LedgerError, LedgerPolicy, LedgerState, Part, Unloaded, apply, replay
from daemon.ledger.book import Event, _Loaded
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.ledger_repo import load_ledger, load_part, save_ledger
from tests.ledger.helpers import ACCOUNTS, IDENTICAL, t
from tests.ledger.test_properties import POLICIES, histories

PART = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _book_on_part(engine: Any, batch: list[Event], policy: LedgerPolicy) -> str:
    """What bookkeeping.book does with a batch after the stored last day: book it on the part, else (it
    reaches a record left out, or is refused) on the whole ledger; save over what was loaded."""
    with transaction(engine) as session:
        stored = load_part(session, "h")
        try:
            state, how = apply(stored, batch, ACCOUNTS, IDENTICAL, policy), "part"
        except (Unloaded, LedgerError):
            stored = load_ledger(session, "h")
            state, how = apply(stored, batch, ACCOUNTS, IDENTICAL, policy), "whole"
        save_ledger(session, state, policy, previous=stored)
    return how


@PART
@given(histories(actions=True), st.data(), POLICIES)
def test_a_batch_booked_on_the_part_leaves_what_booking_it_on_the_whole_state_leaves(
        engine: Any, events: list[Event], data: st.DataObject, policy: LedgerPolicy) -> None:
    days = sorted({x.date for x in events})
    cut = data.draw(st.sampled_from(days))
    whole = replay("h", [x for x in events if x.date <= cut], ACCOUNTS, IDENTICAL, policy)
    with transaction(engine) as session:  # replaces whatever an earlier example stored
        save_ledger(session, whole, policy)
    lo = cut
    # One batch or several (each after the last one's day), like a daemon booking day after day; the same
    # batches applied to the whole state in memory are what the store must end with.
    for end in [*sorted(set(data.draw(st.lists(st.sampled_from(days), max_size=2)))), days[-1]]:
        batch = [x for x in events if lo < x.date <= end]
        if batch:
            _book_on_part(engine, batch, policy)
            whole = apply(whole, batch, ACCOUNTS, IDENTICAL, policy)
        lo = max(lo, end)
    with transaction(engine) as session:
        assert load_ledger(session, "h") == whole


def test_the_part_holds_open_lots_recent_sales_and_their_matches_on(engine: Any) -> None:
    events = [
        t("2024-01-02", "tax", "buy", 10, "VOO", 100, tid="old"),
        t("2024-01-03", "tax", "buy", 5, "VOO", 100, tid="kept"),
        t("2024-02-01", "tax", "sell", 10, "VOO", 80, tid="old-sale"),  # a loss, washed by "mid"
        t("2024-03-01", "tax", "buy", 4, "VOO", 90, tid="mid"),
        t("2024-05-01", "tax", "sell", 9, "VOO", 70, tid="recent-loss"),  # "kept" and "mid": both closed
        t("2024-05-10", "tax", "buy", 2, "IVV", 68, tid="replacement"),  # washes 2 of its 9 shares
    ]
    whole = replay("h", events, ACCOUNTS, IDENTICAL)
    with transaction(engine) as session:
        save_ledger(session, whole)
        part = load_part(session, "h")
        assert load_ledger(session, "h") == whole
    assert part.through == whole.through == date(2024, 5, 10)
    assert part.next_seq == whole.next_seq
    assert [lot.lot_id for lot in part.lots] == [lot.lot_id for lot in whole.open_lots] == ["replacement"]
    assert part.part is not None
    assert part.part.lots_left_out == {"old", "kept", "mid"}
    # Sold or purchased on or after 2024-04-10 (30 days before the last day): the recent loss's two lots.
    assert {d.trade_id for d in part.dispositions} == {"recent-loss"} and len(part.dispositions) == 2
    recent = {d.disposition_id for d in part.dispositions}
    first = min(n for n, m in enumerate(whole.matches) if m.disposition_id in recent)
    assert first > 0 and all(m.disposition_id.startswith("old-sale#") for m in whole.matches[:first])
    assert part.part.first_match == first
    assert part.matches == whole.matches[first:]
    assert sum(d.washed_quantity for d in part.dispositions) == 2


def test_an_empty_store_loads_the_whole_empty_state(engine: Any) -> None:
    with transaction(engine) as session:
        assert load_part(session, "h") == LedgerState(household="h")


def test_a_state_loaded_in_part_is_never_saved_in_place_of_the_whole(engine: Any) -> None:
    events = [t("2024-01-02", "tax", "buy", 10, "VOO", 100), t("2024-01-03", "tax", "sell", 10, "VOO", 100)]
    with transaction(engine) as session:
        save_ledger(session, replay("h", events, ACCOUNTS, IDENTICAL))
        part = load_part(session, "h")
        with pytest.raises(ValueError, match="loaded in part"):
            save_ledger(session, part)
        other = load_part(session, "h")
        with pytest.raises(ValueError, match="loaded in part"):
            save_ledger(session, part, previous=LedgerState(household="h", part=Part(frozenset(), 5)))
        with pytest.raises(ValueError, match="loaded in part"):
            save_ledger(session, load_ledger(session, "h"), previous=part)  # a whole over a part
        save_ledger(session, part, previous=other)  # the same part: fine, and nothing changes
        assert load_ledger(session, "h") == replay("h", events, ACCOUNTS, IDENTICAL)


def test_a_record_left_out_is_never_answered_with_a_guess() -> None:
    lots = _Loaded({"open": "lot"}, frozenset({"closed"}))
    assert lots["open"] == "lot" and lots.get("open") == "lot"
    assert "closed" in lots  # in use: a new lot may not take the id
    assert "new" not in lots and lots.get("new") is None and lots.get("new", 1) == 1
    with pytest.raises(Unloaded):
        lots.get("closed")
    with pytest.raises(Unloaded):
        lots["closed"]  # noqa: B018
    with pytest.raises(KeyError):
        lots["new"]  # noqa: B018
    sales = _Loaded({"recent": "sale"}, None)  # which old sales are stored is not known: any miss may be one
    assert sales.get("recent") == "sale"
    for ask in (sales.get, sales.__getitem__, sales.__contains__):
        with pytest.raises(Unloaded):
            ask("older")


def _settings(db: str) -> Settings:
    # The accounts and identical group of tests.ledger.helpers that these tests use.
    return Settings.model_validate({"database_url": db, "accounts": [
        {"id": "tax", "household": "h", "type": "taxable"},
        {"id": "ira", "household": "h", "type": "traditional_ira"}],
        "identical": [{"symbols": sorted(IDENTICAL.groups[0])}]})


def _stored(db: str) -> LedgerState:
    """The whole ledger household "h" has stored in `db` (a URL)."""
    from daemon.store.db import make_engine

    engine = make_engine(db)
    try:
        with transaction(engine) as session:
            return load_ledger(session, "h")
    finally:
        engine.dispose()


def _imported(*trades: Any) -> list[ImportedTrade]:
    return [ImportedTrade(trade, "csv", trade.trade_id, n + 2) for n, trade in enumerate(trades)]


def test_bookkeeping_books_on_the_whole_ledger_when_the_part_falls_short(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that lacks what the batch needs (here, made so: its open lots dropped) never books a guess:
    the batch is booked on the whole ledger, and the store ends as a replay of everything."""
    db = f"sqlite:///{tmp_path / 'tlh.db'}"
    cfg = _settings(db)
    first = [t("2024-01-02", "tax", "buy", 10, "VOO", 100), t("2024-01-03", "ira", "buy", 3, "VTI", 50)]
    later = [t("2024-02-01", "tax", "sell", 4, "VOO", 90), t("2024-02-02", "tax", "buy", 1, "IVV", 91)]
    from daemon.store import migrate

    migrate.upgrade(db)
    bookkeeping.book(db, cfg, _imported(*first))
    real = ledger_repo.load_part
    loads: list[str] = []

    def short(session: Any, household: str) -> LedgerState:
        part = real(session, household)
        assert part.part is not None
        loads.append("part")
        left_out = part.part.lots_left_out | {lot.lot_id for lot in part.lots}
        return LedgerState(household, part.through, (), part.dispositions, part.matches, part.next_seq,
                           part=Part(left_out, part.part.first_match))

    monkeypatch.setattr(ledger_repo, "load_part", short)
    result = bookkeeping.book(db, cfg, _imported(*later), consume=True)
    assert result.added == 2 and loads == ["part"]
    whole = _stored(db)
    expected = replay("h", [*first, *later], ACCOUNTS, IDENTICAL)
    assert whole == expected
    assert whole.dispositions[0].washed_quantity == 1  # the IVV buy washed part of the VOO loss


def test_bookkeeping_books_a_day_on_the_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'tlh.db'}"
    cfg = _settings(db)
    from daemon.store import migrate

    migrate.upgrade(db)
    days = [t(f"2024-01-{d:02d}", "tax", side, 2, "VOO", 100 - d) for d in range(2, 28)
            for side in (("buy",) if d % 3 else ("buy", "sell"))]
    bookkeeping.book(db, cfg, _imported(*days[:-4]))
    loaded: list[LedgerState] = []
    real = ledger_repo.load_ledger
    monkeypatch.setattr(ledger_repo, "load_ledger", lambda s, h: loaded.append(real(s, h)) or loaded[-1])
    bookkeeping.book(db, cfg, _imported(*days[-4:]))
    assert loaded == []  # the whole ledger was never read
    assert _stored(db) == replay("h", days, ACCOUNTS, IDENTICAL)


def test_day_by_day_batches_book_on_the_part(tmp_path: Path) -> None:
    """A daemon's life: a long seeded history booked a few days at a time. Every batch books on the part
    (the log says where each was booked); none needs the whole ledger."""
    import random

    rnd = random.Random(20261128)
    held: Counter[tuple[str, str]] = Counter()
    trades: list[Any] = []
    day = date(2023, 1, 2)
    for n in range(400):
        day = date.fromordinal(day.toordinal() + rnd.choice((0, 1, 1, 2)))
        account, symbol = rnd.choice(("tax", "ira")), rnd.choice(("VOO", "IVV", "VTI"))
        price = Decimal(rnd.randint(80, 120))
        if held[(account, symbol)] and rnd.random() < 0.45:
            qty = min(held[(account, symbol)], Decimal(rnd.randint(1, 8)))
            held[(account, symbol)] -= qty
            trades.append(t(str(day), account, "sell", qty, symbol, price, tid=f"d{n}"))
        else:
            qty = Decimal(rnd.randint(1, 10))
            held[(account, symbol)] += qty
            trades.append(t(str(day), account, "buy", qty, symbol, price, tid=f"d{n}"))
    db = f"sqlite:///{tmp_path / 'tlh.db'}"
    cfg = _settings(db)
    from daemon.store import migrate

    migrate.upgrade(db)
    days = sorted({x.date for x in trades})
    loaded = []
    for first in range(0, len(days), 5):
        batch = [x for x in trades if x.date in days[first:first + 5]]
        with capture_logs() as logs:
            bookkeeping.book(db, cfg, _imported(*batch))
        loaded += [e["loaded"] for e in logs if e["event"] == "ledger.booked"]
    assert loaded[0] == "whole" and set(loaded[1:]) == {"part"}, loaded  # the first: nothing stored yet
    whole = _stored(db)
    assert whole == replay("h", trades, ACCOUNTS, IDENTICAL)
    assert any(d.washed_quantity for d in whole.dispositions) and len(whole.matches) > 10


def test_a_wash_split_beside_a_closed_lot_of_its_name_books_the_same_on_the_part(
        engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lot `A.1` (closed, left out of the part) and a wash splitting lot `A`: its children take free ids
    on the part as on the whole ledger, and the store holds what a replay gives."""
    history = [t("2024-01-02", "tax", "buy", 3, "VTI", 50, tid="A.1"), t("2024-01-03", "tax", "sell", 3, "VTI", 55,
                                                                        tid="s0"),
               t("2024-03-01", "tax", "buy", 5, "VOO", 100, tid="B"), t("2024-03-10", "tax", "buy", 10, "IVV", 99,
                                                                        tid="A")]
    day = [t("2024-03-20", "tax", "sell", 5, "VOO", 80, tid="loss")]
    with transaction(engine) as session:
        save_ledger(session, replay("h", history, ACCOUNTS, IDENTICAL), LedgerPolicy())
    assert _book_on_part(engine, day, LedgerPolicy()) == "part"
    with transaction(engine) as session:
        assert load_ledger(session, "h") == replay("h", history + day, ACCOUNTS, IDENTICAL)


@PART
@given(histories(actions=True), st.data(), POLICIES)
def test_the_narrow_readers_read_what_the_whole_ledger_holds(engine: Any, events: list[Event], data: st.DataObject,
                                                              policy: LedgerPolicy) -> None:
    """`load_open_lots` (tlh lots) and `load_dispositions` of a window of sale days (tlh status) give the
    whole ledger's open lots and sales of those days, in its order."""
    whole = replay("h", events, ACCOUNTS, IDENTICAL, policy)
    days = sorted({x.date for x in events})
    first, last = sorted((data.draw(st.sampled_from(days)), data.draw(st.sampled_from(days))))
    with transaction(engine) as session:
        save_ledger(session, whole, policy)
        assert ledger_repo.load_open_lots(session, "h") == tuple(lot for lot in whole.lots if lot.quantity != 0)
        assert ledger_repo.load_dispositions(session, "h") == whole.dispositions
        assert ledger_repo.load_dispositions(session, "h", (first, last)) == tuple(
            d for d in whole.dispositions if first <= d.sold <= last)
