"""Booking through the store, on SQLite and PostgreSQL: incremental == recomputation, backdated trades
recompute, a failed import leaves the store as it was."""

from __future__ import annotations

from typing import Any

import pytest

from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.csv_trades import TradeImportError, parse
from daemon.ledger import ReplacementAlreadySold, replay
from daemon.store import ledger_repo
from daemon.store.db import transaction

SETTINGS = Settings.model_validate({
    "accounts": [
        {"id": "tax", "household": "h", "type": "taxable"},
        {"id": "ira", "household": "h", "type": "roth_ira"},
        {"id": "solo", "household": "g", "type": "taxable", "lot_method": "hifo"},
    ],
    "identical": [{"symbols": ["VOO", "IVV"]}],
})
HEADER = "date,account,symbol,side,quantity,price,fees,lot_id\n"
ROWS = [
    "2024-01-02,tax,VOO,buy,10,400,,a",
    "2024-01-03,solo,VOO,buy,5,400,,",
    "2024-02-01,tax,VOO,buy,5,390,,b",
    "2024-03-01,tax,VOO,sell,10,350,1,a",
    "2024-03-05,ira,IVV,buy,4,351,,",
    "2024-03-20,tax,IVV,buy,3.5,352,,c",
    "2024-04-15,tax,VOO,sell,5,340,,b",
    "2024-04-20,solo,VOO,sell,5,330,,",
    "2024-05-01,tax,IVV,reinvest,0.25,360,,",
]


def _parse(rows: list[str], name: str = "t.csv") -> Any:
    return parse(HEADER + "\n".join(rows) + "\n", name, {a.id for a in SETTINGS.accounts})


def _state(engine: Any, household: str) -> Any:
    with transaction(engine) as session:
        return ledger_repo.load_ledger(session, household)


def test_incremental_import_equals_recomputation(engine: Any) -> None:
    for chunk in (ROWS[:3], ROWS[3:5], ROWS[5:]):
        result = bookkeeping.book(engine, SETTINGS, _parse(chunk))
        assert result.recomputed == ()
    stored = {h: _state(engine, h) for h in ("h", "g")}
    all_trades = [i.trade for i in _parse(ROWS)]
    accounts = bookkeeping.ledger_accounts(SETTINGS)
    for h in ("h", "g"):
        mine = [t for t in all_trades if accounts[t.account].household == h]
        assert stored[h] == replay(h, mine, accounts, bookkeeping.identical_groups(SETTINGS))
    assert [s.household for s in bookkeeping.recompute(engine, SETTINGS)] == ["g", "h"]
    assert {h: _state(engine, h) for h in ("h", "g")} == stored
    # The IRA replacement made part of the March loss permanent; the taxable one carried basis.
    washed = [d for d in stored["h"].dispositions if d.adjustment > 0]
    assert washed and any(d.permanent > 0 for d in washed)


def test_reimport_is_idempotent(engine: Any) -> None:
    first = bookkeeping.book(engine, SETTINGS, _parse(ROWS))
    before = _state(engine, "h")
    again = bookkeeping.book(engine, SETTINGS, _parse(ROWS))
    assert (first.added, again.added, again.skipped) == (len(ROWS), 0, len(ROWS))
    assert _state(engine, "h") == before


def test_backdated_trades_recompute_the_household(engine: Any) -> None:
    bookkeeping.book(engine, SETTINGS, _parse(ROWS[:1] + ROWS[3:6]))
    result = bookkeeping.book(engine, SETTINGS, _parse(ROWS[1:3]))  # 01-03 and 02-01: before 03-20
    assert result.recomputed == ("h",)  # g had nothing booked yet: nothing to recompute
    bookkeeping.book(engine, SETTINGS, _parse(ROWS[6:]))
    accounts = bookkeeping.ledger_accounts(SETTINGS)
    for h in ("h", "g"):
        mine = [i.trade for i in _parse(ROWS) if accounts[i.trade.account].household == h]
        assert _state(engine, h) == replay(h, mine, accounts, bookkeeping.identical_groups(SETTINGS))


def test_failed_import_names_the_line_and_leaves_the_store_unchanged(engine: Any) -> None:
    bookkeeping.book(engine, SETTINGS, _parse(ROWS[:3]))
    before = {h: _state(engine, h) for h in ("h", "g")}
    bad = ROWS[3:5] + ["2024-03-10,tax,VOO,sell,99,350,,"]
    with pytest.raises(TradeImportError, match=r"new.csv:4: sells 99 shares but the account holds 5"):
        bookkeeping.book(engine, SETTINGS, _parse(bad, "new.csv"), "new.csv")
    assert {h: _state(engine, h) for h in ("h", "g")} == before
    with transaction(engine) as session:
        assert len(ledger_repo.load_trades(session, "h")) == 2


def test_a_failed_first_import_leaves_the_store_empty(engine: Any) -> None:
    # The first import writes the households, accounts, trades and ledger rows in one Core transaction: the
    # ledger refusing a row of the second household booked undoes all of it, the first one's ledger too.
    import sqlalchemy as sa

    from daemon.store import tables

    bad = [*ROWS, "2024-06-03,tax,VOO,sell,99,330,,"]  # household h, after g (booked and saved first)
    with pytest.raises(TradeImportError, match=r"first.csv:11: "):
        bookkeeping.book(engine, SETTINGS, _parse(bad, "first.csv"), "first.csv")
    with engine.connect() as connection:
        for table in (tables.HOUSEHOLDS, tables.ACCOUNTS, tables.TRADES, tables.LOTS, tables.DISPOSITIONS,
                      tables.WASH_MATCHES, tables.LEDGER_STATES):
            assert connection.scalar(sa.select(sa.func.count()).select_from(table)) == 0, table.name


def test_a_policy_change_recomputes_the_ledger_at_the_next_booking(engine: Any) -> None:
    # The IRA buys IVV and sells it the same day before the taxable VOO loss: counted under "adjust" (the
    # default), ignored under "ignore". Switching the policy and booking anything recomputes the household.
    rows = ["2024-01-02,tax,VOO,buy,10,400,,a", "2024-03-01,ira,IVV,buy,10,350,,r",
            "2024-03-01,ira,IVV,sell,10,351,,r", "2024-03-01,tax,VOO,sell,10,350,,a"]
    bookkeeping.book(engine, SETTINGS, _parse(rows))
    (loss,) = [d for d in _state(engine, "h").dispositions if d.lot_id == "a"]
    assert loss.permanent == 500
    ignore = SETTINGS.model_copy(update={"tax": SETTINGS.tax.model_copy(
        update={"replacement_already_sold": ReplacementAlreadySold.IGNORE})})
    result = bookkeeping.book(engine, ignore, _parse(["2024-06-03,tax,VOO,buy,1,380,,"], "later.csv"))
    assert result.recomputed == ("h",)
    (loss,) = [d for d in _state(engine, "h").dispositions if d.lot_id == "a"]
    assert loss.permanent == 0


def test_a_consumed_batch_books_the_same_and_still_names_a_bad_line(engine: Any) -> None:
    # consume=True (the CLI's import): the list is emptied and each household's events are let go once
    # stored; the ledger is the one an unconsumed batch makes, and a refused row is still named by its line.
    batch = _parse(ROWS)
    result = bookkeeping.book(engine, SETTINGS, batch, consume=True)
    assert (batch, result.added, result.skipped) == ([], len(ROWS), 0)
    accounts = bookkeeping.ledger_accounts(SETTINGS)
    for h in ("h", "g"):
        mine = [i.trade for i in _parse(ROWS) if accounts[i.trade.account].household == h]
        assert _state(engine, h) == replay(h, mine, accounts, bookkeeping.identical_groups(SETTINGS))
    before = {h: _state(engine, h) for h in ("h", "g")}
    bad = ["2024-06-01,solo,VOO,buy,1,300,,", "2024-06-03,tax,IVV,buy,1,300,,",
           "2024-06-04,tax,VOO,sell,99,330,,", "2024-06-05,solo,VOO,sell,1,330,,"]
    with pytest.raises(TradeImportError, match=r"^more.csv:4: .*sells 99 shares"):
        bookkeeping.book(engine, SETTINGS, _parse(bad, "more.csv"), "more.csv", consume=True)
    assert {h: _state(engine, h) for h in ("h", "g")} == before


def test_the_booked_log_counts_a_consumed_batchs_events(engine: Any) -> None:
    """`consume` empties each household's events as the ledger books them: the log still counts them."""
    from structlog.testing import capture_logs

    with capture_logs() as logged:
        result = bookkeeping.book(engine, SETTINGS, list(_parse(ROWS[:3])), consume=True)
    assert result.added == 3
    assert {e["household"]: e["events"] for e in logged if e["event"] == "ledger.booked"} == {"h": 2, "g": 1}


def test_a_ledger_stored_under_an_earlier_edition_of_the_rules_is_recomputed(
        engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ledger.RULES` rises when the rules compute other records: a ledger stored under an earlier edition is
    replayed from its events (`recompute_stale`, and the next booking), never continued."""
    import sqlalchemy as sa

    accounts, identical = bookkeeping.ledger_accounts(SETTINGS), bookkeeping.identical_groups(SETTINGS)
    with monkeypatch.context() as m:
        m.setattr(ledger_repo, "RULES", 1)
        bookkeeping.book(engine, SETTINGS, _parse(ROWS))
    with transaction(engine) as session:
        assert ledger_repo.stale_rules(session, "h") and ledger_repo.stale_rules(session, "g")
        # What an earlier edition computed is not what this one does: here, its wash matches are gone.
        session.execute(sa.text("DELETE FROM wash_matches WHERE household_id = 'h'"))
    assert _state(engine, "h").matches == ()
    assert bookkeeping.recompute_stale(engine, SETTINGS) == ["g", "h"]
    mine = [i.trade for i in _parse(ROWS) if accounts[i.trade.account].household == "h"]
    assert _state(engine, "h") == replay("h", mine, accounts, identical)
    assert _state(engine, "h").matches != ()
    assert bookkeeping.recompute_stale(engine, SETTINGS) == []  # now of this edition

    with monkeypatch.context() as m:  # and the next booking recomputes a stale household it books into
        m.setattr(ledger_repo, "RULES", 1)
        bookkeeping.recompute(engine, SETTINGS)
    with transaction(engine) as session:
        session.execute(sa.text("DELETE FROM wash_matches WHERE household_id = 'h'"))
    result = bookkeeping.book(engine, SETTINGS, _parse(["2024-06-03,tax,VOO,buy,1,380,,"], "later.csv"))
    assert result.recomputed == ("h",)
    later = [*mine, *(i.trade for i in _parse(["2024-06-03,tax,VOO,buy,1,380,,"], "later.csv"))]
    assert _state(engine, "h") == replay("h", later, accounts, identical)
