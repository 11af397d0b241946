"""The engine's prices from a broker: the benchmarks' closes are asked for only when the circuit breaker
needs them, so a broker that cannot give them still gives the day's quotes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from brokers.protocol import BrokerError, Quote
from daemon.config import load_settings
from daemon.service.market import book_from_brokers

TODAY = date(2026, 11, 27)
CONFIG = """database_url = "sqlite:///{db}"
[harvest]
circuit_breaker = {breaker}
circuit_breaker_benchmarks = ["SPY", "VTI"]
[[accounts]]
id = "taxable"
type = "taxable"
household = "h"
broker = "ibkr"
broker_account = "U1"
"""


class NoBenchmarkData:
    """A broker whose market data covers the account's funds but not the benchmarks (as an IB login without
    that subscription): asking for their closes fails."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        return {s: Quote(s, Decimal("100"), Decimal("99.9"), Decimal("100.1"), TODAY) for s in symbols}

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        self.asked.append(tuple(symbols))
        if {"SPY", "VTI"} & set(symbols):
            raise BrokerError("no market data permissions for SPY")
        return {}


def _settings(tmp_path: Path, breaker: bool):  # type: ignore[no-untyped-def]
    path = tmp_path / "tlh.toml"
    path.write_text(CONFIG.format(db=tmp_path / "tlh.db", breaker=str(breaker).lower()))
    return load_settings(path)


def test_with_the_breaker_off_the_benchmarks_are_not_asked_for(tmp_path: Path) -> None:
    broker = NoBenchmarkData()
    book = book_from_brokers({"ibkr": broker}, {"VTI", "ITOT"}, _settings(tmp_path, False), TODAY)  # type: ignore[dict-item]
    assert broker.asked == []
    quote = book.quote("ITOT", TODAY)
    assert quote is not None and quote.close == Decimal("100") and quote.ask == Decimal("100.1")


def test_with_the_breaker_on_a_broker_without_them_gives_nothing(tmp_path: Path) -> None:
    # The breaker cannot judge the day without the benchmarks: that broker's prices are not used (the engine
    # then has no quote and trades nothing), rather than harvesting blind.
    broker = NoBenchmarkData()
    book = book_from_brokers({"ibkr": broker}, {"VTI", "ITOT"}, _settings(tmp_path, True), TODAY)  # type: ignore[dict-item]
    assert broker.asked == [("SPY", "VTI")]
    assert book.quote("ITOT", TODAY) is None


class Closes:
    """A broker whose data covers every constituent: each session's close, over whatever span is asked."""

    def __init__(self, days: Sequence[date]) -> None:
        self.days = days

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        return {s: Quote(s, Decimal("100"), Decimal("99.9"), Decimal("100.1"), self.days[-1]) for s in symbols}

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        return {s: [(d, Decimal(100 + (n % 7) * (k + 1))) for n, d in enumerate(self.days) if start <= d <= end]
                for k, s in enumerate(symbols)}


def test_a_direct_indexs_closes_from_a_broker_cover_the_whole_window_late_in_a_month(tmp_path: Path) -> None:
    """The trailing returns end on the month's first trading day (daemon.direct_index.window_end): on the 28th
    the broker must be asked for closes from `correlation_days` sessions before the 1st, not before the 28th,
    or the ranking runs on a window shorter by the month's days (and unlike the backtest's)."""
    from daemon import direct_index
    from daemon.market_calendar import sessions

    (tmp_path / "index.csv").write_text("symbol,weight,sector,sub_industry\nAAA,,Energy,Oil\nBBB,,Energy,Oil\n")
    (tmp_path / "tlh.toml").write_text(CONFIG.format(db=tmp_path / "tlh.db", breaker="false")
                                       + 'lot_method = "specific"\n[accounts.direct_index]\n'
                                         'constituents = "index.csv"\ncorrelation_days = 20\n')
    settings = load_settings(tmp_path / "tlh.toml")
    as_of = date(2024, 3, 28)
    days = [s.day for s in sessions(date(2023, 11, 1), as_of)]
    book = book_from_brokers({"ibkr": Closes(days)}, set(), settings, as_of)  # type: ignore[dict-item]
    found = direct_index.returns(settings, book, direct_index.inputs(settings), as_of, set())
    assert found is not None and found.symbols == ("AAA", "BBB")
    assert found.matrix.shape == (20, 2)
