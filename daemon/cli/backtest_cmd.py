"""`tlh backtest PORTFOLIO.toml`: the harvest engine over real price history, with vs without harvesting."""

from __future__ import annotations

import enum
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daemon import files

if TYPE_CHECKING:
    from daemon.backtest import History, Portfolio, Result

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PRICES = REPO.parent / "shared" / "data" / "prices" / "close.csv.gz"


def fail(message: str) -> None:
    from daemon.cli.main import fail as main_fail  # noqa: PLC0415 (main imports this module)

    main_fail(message)


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Losses(enum.StrEnum):
    LIMITED = "limited"
    OUTSIDE_GAINS = "outside_gains"


class Output(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a YYYY-MM-DD date: {value!r}")
        raise


def backtest_cmd(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio file (TOML), e.g. config/backtests/three_fund.toml.")],
    prices: Annotated[Path | None, typer.Option("--prices", help="Wide CSV of daily closes (gzip ok). Default: "
                                                "../shared/data/prices/close.csv.gz beside the repository.")]
    = None,
    start: Annotated[str | None, typer.Option("--start", help="First day YYYY-MM-DD (default: the file's).")]
    = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day YYYY-MM-DD (default: the file's).")] = None,
    frequency: Annotated[Frequency, typer.Option("--frequency", help="How often the engine runs.")]
    = Frequency.DAILY,
    fmt: Annotated[Output, typer.Option("--format")] = Output.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report here (default: stdout).")]
    = None,
    windows: Annotated[str | None, typer.Option("--windows", help="Run every window of this length (e.g. 10y) "
                                                "and report the distribution across start dates.")] = None,
    step: Annotated[str, typer.Option("--step", help="Windows start this far apart (e.g. 1y, 6m).")] = "1y",
    rates: Annotated[str | None, typer.Option("--rates", help="Short-term/long-term rates in percent, e.g. "
                                              "35/15 (default: the portfolio file's).")] = None,
    losses: Annotated[Losses | None, typer.Option("--losses", help="limited: $3,000 a year against ordinary "
                                                  "income, the rest carried; outside_gains: offset in full.")]
    = None,
    placebo: Annotated[bool, typer.Option("--placebo", help="Also run a placebo: the same swaps on random days "
                                          "instead of at losses (what the data's selection alone does).")]
    = False,
) -> None:
    """Step the harvest engine and the paper broker's fills day by day over real prices, next to the same
    portfolio without harvesting; report harvested losses, wash sales, taxes, after-tax values and tax alpha."""
    from daemon.backtest import BacktestError, load_history, load_portfolio  # noqa: PLC0415 (numpy: lazily)
    from daemon.cli.main import startup_done  # noqa: PLC0415 (main imports this module)
    from daemon.config import ConfigError  # noqa: PLC0415
    from daemon.prices import PriceFileError  # noqa: PLC0415

    startup_done()  # the collector runs as usual for the backtest itself
    first, last = _day(start, "--start"), _day(end, "--end")
    try:
        spec = load_portfolio(portfolio)
    except ConfigError as exc:
        fail(str(exc))
        return
    path = prices if prices is not None else DEFAULT_PRICES
    if not path.exists():
        where = "--prices" if prices is not None else f"the default price file ({DEFAULT_PRICES})"
        fail(f"{where}: {path} not found; pass --prices FILE (a wide CSV of daily closes, as "
             f"shared/data/prices/close.csv.gz)")
        return
    from daemon.backtest import windows as by_window  # noqa: PLC0415

    try:
        spec = by_window.with_rates(spec, rates, losses.value if losses is not None else None)
        if windows is not None:
            length, every = by_window.parse_span(windows, "--windows"), by_window.parse_span(step, "--step")
            history = load_history(path)
            data = by_window.run_windows(spec, history, first, last, length, every, frequency.value,
                                         placebo=placebo, paths=fmt is Output.HTML)
            _write_windows(data, fmt, output)
            return
        history = load_history(path)
        result = _run(spec, history, first, last, frequency.value)
        data = result.to_dict()
        if placebo:
            from daemon.backtest.placebo import run_placebo  # noqa: PLC0415

            fake = run_placebo(spec, history, first, last, frequency.value, data["pairs"])
            data["placebo"] = {**fake, "before_tax_difference_beyond_placebo": round(
                data["pre_tax_difference_annual"] - fake["before_tax_difference"], 6)}
    except (PriceFileError, BacktestError) as exc:
        fail(str(exc))
        return
    _write(data, fmt, output)


def _write_windows(data: dict[str, Any], fmt: Output, output: Path | None) -> None:
    from daemon.backtest import html, render  # noqa: PLC0415

    if fmt in (Output.JSON, Output.HTML):
        text = json.dumps(data, indent=2) + "\n" if fmt is Output.JSON else html.render_windows(data)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        return
    if output is None:
        render.print_windows(data)
        return
    with output.open("w", encoding="utf-8") as fh:
        render.print_windows(data, fh)


def _run(spec: Portfolio, history: History, first: date | None, last: date | None, frequency: str) -> Result:
    """Run with a progress bar on stderr when it is a terminal."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from daemon.backtest import run  # noqa: PLC0415

    console = Console(stderr=True)
    with Progress(TextColumn(f"backtest {spec.name}"), BarColumn(), TextColumn("{task.completed}/{task.total} days"),
                  TimeRemainingColumn(), console=console, disable=not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task("days", total=None)

        def progress(done: int, total: int) -> None:
            if done % 20 == 0 or done == total:
                bar.update(task, completed=done, total=total)

        return run(spec, history, first, last, frequency, progress)


def _write(data: dict[str, Any], fmt: Output, output: Path | None) -> None:
    from daemon.backtest import html, render  # noqa: PLC0415

    if fmt is Output.JSON:
        text = json.dumps(data, indent=2) + "\n"
    elif fmt is Output.HTML:
        text = html.render(data)
    else:
        if output is None:
            render.print_report(data)
            return
        with output.open("w", encoding="utf-8") as fh:
            render.print_report(data, fh)
        return
    if output is None:
        sys.stdout.write(text)
    else:
        files.write_text(output, text)


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest_cmd)
