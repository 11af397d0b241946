"""`tlh substitutes check`: rate the configured asset classes' members as stand-ins for each other."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_csv, print_json, print_table

app = typer.Typer(no_args_is_help=True)

SHARED_PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices" / "close.csv.gz"


@app.command("check")
def check(
    ctx: typer.Context,
    prices: Annotated[Path | None, typer.Option("--prices", help="Daily closes (wide or long CSV, .gz ok); "
                                                "default: [brokers.paper] prices, else shared/data/prices.")]
    = None,
    start: Annotated[str | None, typer.Option("--start", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day (YYYY-MM-DD).")] = None,
    min_correlation: Annotated[float, typer.Option("--min-correlation")] = 0.95,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Correlation of daily returns for every pair in each asset class; flags pairs below the minimum and
    funds on the same index placed as alternates. Exits 1 when anything is flagged."""
    from daemon.config.loader import identical_groups
    from daemon.engine import check_substitutes
    from daemon.prices import PriceFileError
    from daemon.prices import load as load_prices

    settings = context(ctx).settings
    path = prices or settings.brokers.paper.prices or (SHARED_PRICES if SHARED_PRICES.exists() else None)
    if path is None:
        fail("no price history: pass --prices FILE")
        return
    try:
        book = load_prices(Path(path))
        lo = date.fromisoformat(start) if start else date.min
        hi = date.fromisoformat(end) if end else date.max
    except (PriceFileError, ValueError) as exc:
        fail(str(exc))
        return
    members = {m for c in settings.asset_classes for m in c.members}
    closes = {s: book.closes(s, lo, hi) for s in members}
    checks = check_substitutes(closes, settings.asset_classes, identical_groups(settings),
                               min_correlation=min_correlation)
    rows = [c.to_dict() for c in checks]
    columns = ["asset_class", "first", "second", "correlation", "days", "flags", "detail"]
    if fmt is Format.JSON:
        print_json(rows)
    elif fmt is Format.CSV:
        print_csv(rows, columns)
    else:
        for row in rows:
            row["flags"] = ", ".join(row["flags"]) or "ok"
        print_table(f"Substitutes ({path})", rows, columns, right=["correlation", "days"])
    if any(c.flagged for c in checks):
        raise typer.Exit(1)
