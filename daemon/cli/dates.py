"""One notion of "today" for every command: the exchange's current trading date (the date in
`[schedule] timezone`, America/New_York by default), or `--as-of` / the TLH_AS_OF environment variable.

With a price file (`[brokers.paper] prices`), the file is the market: when it ends before today (the demo's,
a backtest's, a file refreshed after the close), "today" is its last day, for every command alike.

`tlh harvest`, `tlh restrictions`, `tlh report` (and its default year), `tlh lots` (prices and terms) and
`tlh status` all look from the same day, so what a harvest restricted is what `restrictions` shows right
after it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from daemon.config.models import Settings
    from daemon.prices import PriceBook

AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", envvar="TLH_AS_OF", help="The day to look from, YYYY-MM-DD (default: the exchange's current "
                                        "trading date, or the price file's last day if earlier; env TLH_AS_OF).")]


def exchange_today(settings: Settings, now: datetime | None = None) -> date:
    """The trading date in the exchange's time zone at `now` (default: the wall clock)."""
    moment = now or datetime.now(UTC)
    return moment.astimezone(ZoneInfo(settings.schedule.timezone)).date()


def parse_day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        from daemon.cli.main import fail

        fail(f"{option}: not a YYYY-MM-DD date: {value!r}")
        raise


def today(settings: Settings, prices: PriceBook | None = None, now: datetime | None = None) -> date:
    """The exchange's current trading date, or the price file's last day when that is earlier. `prices`:
    the price file, if the caller has loaded it already (else it is read here, when configured)."""
    day = exchange_today(settings, now)
    if prices is None and settings.brokers.paper.prices is not None:
        from daemon.prices import PriceFileError, load

        try:
            prices = load(Path(settings.brokers.paper.prices))
        except (PriceFileError, OSError):
            prices = None  # the commands that need prices say what is wrong with the file
    last = prices.last_day() if prices is not None else None
    return last if last is not None and last < day else day


def as_of(settings: Settings, value: str | None, prices: PriceBook | None = None) -> date:
    """`--as-of` when given, else `today`."""
    return parse_day("--as-of", value) if value else today(settings, prices)
