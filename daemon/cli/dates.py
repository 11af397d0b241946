"""One notion of "today" for every command: the exchange's current trading date (the date in
`[schedule] timezone`, America/New_York by default), or `--as-of` / the TLH_AS_OF environment variable.

`tlh harvest`, `tlh restrictions`, `tlh report` (and its default year), `tlh lots` (prices and terms) and
`tlh status` all look from the same day, so what a harvest restricted is what `restrictions` shows right
after it. A price file that ends before today (the demo's, a backtest's) is not "today": plan on its last
day with `--as-of` (or `export TLH_AS_OF=2022-12-30` for a whole session of commands).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from daemon.config.models import Settings

AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", envvar="TLH_AS_OF", help="The day to look from, YYYY-MM-DD (default: the exchange's current "
                                        "trading date; env TLH_AS_OF).")]


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


def as_of(settings: Settings, value: str | None) -> date:
    """`--as-of` when given, else the exchange's current trading date."""
    return parse_day("--as-of", value) if value else exchange_today(settings)
