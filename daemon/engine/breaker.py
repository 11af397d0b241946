"""The circuit breaker: no harvesting on a day the market moves abnormally, or while the manual halt flag
is set.

The benchmark is the first of `harvest.circuit_breaker_benchmarks` with enough recent prices (22 closes,
the latest no older than `max_price_age_days`). Its latest daily return is compared with the sample
standard deviation of the 20 daily returns before it; |return| > `circuit_breaker_sigma` × stdev trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.config.models import HarvestConfig
from daemon.engine.types import Alert, Severity

TRAILING_DAYS = 20


@dataclass(frozen=True, slots=True)
class Reading:
    tripped: bool
    detail: str
    benchmark: str | None = None
    day: date | None = None
    today_return: Decimal | None = None
    stdev: Decimal | None = None

    def alert(self) -> Alert | None:
        if self.tripped:
            return Alert("circuit_breaker", Severity.WARNING, f"harvesting paused: {self.detail}",
                         self._data())
        if self.benchmark is None and self.detail.startswith("no benchmark"):
            return Alert("circuit_breaker_unavailable", Severity.WARNING, self.detail, {})
        return None

    def _data(self) -> dict[str, str]:
        data: dict[str, str] = {}
        if self.benchmark is not None:
            data["benchmark"] = self.benchmark
        if self.day is not None:
            data["day"] = self.day.isoformat()
        if self.today_return is not None:
            data["return"] = f"{self.today_return:.6f}"
        if self.stdev is not None:
            data["stdev"] = f"{self.stdev:.6f}"
        return data


def daily_returns(closes: Sequence[Decimal]) -> list[Decimal]:
    return [b / a - 1 for a, b in zip(closes, closes[1:], strict=False) if a > 0]


def stdev(values: Sequence[Decimal]) -> Decimal:
    mean = sum(values, Decimal(0)) / len(values)
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
    return variance.sqrt()


def check(closes_by_symbol: Mapping[str, Sequence[tuple[date, Decimal]]], harvest: HarvestConfig,
          as_of: date) -> Reading:
    if harvest.halt:
        return Reading(True, "the manual halt flag is set (harvest.halt)")
    if not harvest.circuit_breaker:
        return Reading(False, "the circuit breaker is off")
    oldest = as_of - timedelta(days=harvest.max_price_age_days)
    for symbol in harvest.circuit_breaker_benchmarks:
        series = sorted((d, c) for d, c in closes_by_symbol.get(symbol, ()) if d <= as_of)
        if len(series) < TRAILING_DAYS + 2 or series[-1][0] < oldest:
            continue
        window = series[-(TRAILING_DAYS + 2):]
        returns = daily_returns([c for _, c in window])
        if len(returns) < TRAILING_DAYS + 1:
            continue
        today, trailing = returns[-1], returns[:-1]
        sd = stdev(trailing)
        limit = harvest.circuit_breaker_sigma * sd
        day = window[-1][0]
        detail = (f"{symbol} moved {today * 100:+.2f} % on {day}; {harvest.circuit_breaker_sigma} × its "
                  f"{TRAILING_DAYS}-day stdev of daily returns is {limit * 100:.2f} %")
        return Reading(abs(today) > limit, detail, symbol, day, today, sd)
    return Reading(False, "no benchmark of harvest.circuit_breaker_benchmarks "
                          f"({', '.join(harvest.circuit_breaker_benchmarks) or 'none'}) has "
                          f"{TRAILING_DAYS + 2} daily closes up to {as_of}: the circuit breaker cannot run")
