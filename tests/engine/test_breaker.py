"""The circuit breaker and the manual halt flag."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.engine import SkipReason
from daemon.engine.breaker import check
from tests.engine.helpers import AS_OF, D, harvest, ledger, quotes, run, t

STATE = ledger(t(200, "tax", "buy", 100, "VTI", 300))
PRICES = quotes(VTI=270, ITOT=100)


def closes(today_move: str, days: int = 30, end: date = AS_OF) -> list[tuple[date, Decimal]]:
    """Daily closes alternating +1 % / -1 % (stdev of returns ~1 %), then `today_move` on `end`."""
    out: list[tuple[date, Decimal]] = []
    price = D(100)
    for i in range(days, 0, -1):
        out.append((end - timedelta(days=i), price))
        price *= D("1.01") if i % 2 else D("0.99")
    out.append((end, out[-1][1] * (1 + D(today_move))))
    return out


@pytest.mark.parametrize(("move", "tripped"), [("0.02", False), ("-0.02", False), ("0.035", True),
                                               ("-0.05", True)])
def test_the_benchmark_move_is_compared_with_sigma_times_the_trailing_stdev(move: str, tripped: bool) -> None:
    reading = check({"SPY": closes(move)}, harvest(circuit_breaker=True), AS_OF)
    assert reading.tripped is tripped and reading.benchmark == "SPY"
    assert reading.stdev is not None and D("0.0099") < reading.stdev < D("0.0103")


def test_a_trip_pauses_the_whole_plan_with_the_reason_circuit_breaker() -> None:
    p = run(STATE, PRICES, config=harvest(circuit_breaker=True), benchmarks={"SPY": closes("-0.06")})
    assert p.pairs == () and p.paused == "circuit_breaker" and p.restrictions == ()
    (skip,) = p.skipped
    assert skip.reason is SkipReason.CIRCUIT_BREAKER and "SPY moved -6.00 %" in skip.detail
    (alert,) = p.alerts
    assert alert.kind == "circuit_breaker" and alert.data["benchmark"] == "SPY"
    assert p.to_dict()["paused"] == "circuit_breaker"


def test_a_calm_day_harvests() -> None:
    p = run(STATE, PRICES, config=harvest(circuit_breaker=True), benchmarks={"SPY": closes("0.001")})
    assert p.pairs and p.paused is None and p.alerts == ()


def test_the_next_benchmark_is_used_when_the_first_has_no_recent_prices() -> None:
    benchmarks = {"SPY": closes("-0.2", end=AS_OF - timedelta(days=10)), "VTI": closes("0.001")}
    reading = check(benchmarks, harvest(circuit_breaker=True), AS_OF)
    assert reading.benchmark == "VTI" and not reading.tripped
    short = {"SPY": closes("-0.2", days=15), "VTI": closes("0.2")}
    assert check(short, harvest(circuit_breaker=True), AS_OF).benchmark == "VTI"


def test_without_benchmark_prices_the_plan_goes_on_with_a_warning() -> None:
    p = run(STATE, PRICES, config=harvest(circuit_breaker=True))
    assert p.pairs
    (alert,) = p.alerts
    assert alert.kind == "circuit_breaker_unavailable" and "SPY, VTI" in alert.message


def test_the_breaker_can_be_turned_off_and_the_halt_flag_pauses_anyway() -> None:
    wild = {"SPY": closes("-0.2")}
    assert run(STATE, PRICES, config=harvest(circuit_breaker=False), benchmarks=wild).pairs
    p = run(STATE, PRICES, config=harvest(circuit_breaker=False, halt=True))
    assert p.paused == "circuit_breaker" and p.pairs == ()
    assert p.skipped[0].detail == "the manual halt flag is set (harvest.halt)"
