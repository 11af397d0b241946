"""The scheduler's clock, injected so that tests can start the daemon at any moment and run it faster.

`SystemClock` is the wall clock. `ScaledClock` starts at a chosen instant and runs `speed` times faster than
real time (`tlh run --clock-start 2026-11-25T15:44:30-05:00 --clock-speed 10`): a real process fires a real
harvest within seconds. `FakeClock` only moves when slept on, so a whole simulated week of scheduling runs
in milliseconds.

The scheduler itself (APScheduler) waits on real time, so each clock also says when one of its instants
happens in real time (`to_real`): the scheduler sets its timers there, and the job then reads this clock.

Only scheduling reads this clock. The lease heartbeat, order timestamps and fill timeouts stay on the wall
clock: other processes (a standby daemon, `tlh health`) compare them with their own wall clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of this clock's time pass."""
        ...

    def wait(self, seconds: float, event: threading.Event) -> bool:
        """Sleep like `sleep`, but return early once `event` is set; returns whether it is set."""
        ...

    def to_real(self, at: datetime) -> datetime:
        """The real (wall-clock) instant at which this clock reads `at`, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))

    def wait(self, seconds: float, event: threading.Event) -> bool:
        return event.wait(max(seconds, 0.0))

    def to_real(self, at: datetime) -> datetime:
        return at


class ScaledClock:
    """Starts at `start` now (real time) and runs `speed` times as fast as the wall clock."""

    def __init__(self, start: datetime, speed: float = 1.0):
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"clock start must be timezone-aware, got {start.isoformat()}")
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.start, self.speed = start, speed
        self._origin = time.monotonic()  # monotonic: wall-clock jumps must not move the simulated clock
        self.real_start = datetime.now(UTC)  # the same moment on the wall clock, for `to_real`

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) / self.speed)

    def wait(self, seconds: float, event: threading.Event) -> bool:
        return event.wait(max(seconds, 0.0) / self.speed)

    def to_real(self, at: datetime) -> datetime:
        """The inverse of `now`'s linear map: real = real_start + (at - start) / speed."""
        return self.real_start + (at - self.start) / self.speed


class FakeClock:
    """Stands still until slept on; sleeping moves it forward at once."""

    def __init__(self, start: datetime):
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"clock start must be timezone-aware, got {start.isoformat()}")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=max(seconds, 0.0))

    def wait(self, seconds: float, event: threading.Event) -> bool:
        if not event.is_set():
            self.sleep(seconds)
        return event.is_set()

    def to_real(self, at: datetime) -> datetime:
        """An instant already reached was reached that long ago, as if the clock had run in real time; a later
        one is reached as soon as something waits for it (`sleep`/`wait` jump there), so its real time is now."""
        return datetime.now(UTC) + min(at - self.current, timedelta(0))

    def advance(self, delta: timedelta) -> None:
        self.current += delta


def make_clock(start: str | None = None, speed: float | None = None) -> Clock:
    """The clock `tlh run` uses: the wall clock, unless a start (ISO 8601 with offset) or a speed is given."""
    if start is None and (speed is None or speed == 1):
        return SystemClock()
    if start is None:
        origin = datetime.now(UTC)
    else:
        try:
            origin = datetime.fromisoformat(start)
        except ValueError:
            raise ValueError(f"--clock-start: not an ISO 8601 date-time: {start!r}") from None
        if origin.tzinfo is None:
            raise ValueError(f"--clock-start: needs a UTC offset (e.g. 2026-11-25T15:44:30-05:00), got {start!r}")
    return ScaledClock(origin, speed or 1.0)
