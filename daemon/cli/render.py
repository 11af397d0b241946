"""Output for people (rich tables) and for scripts (JSON, CSV)."""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")


def print_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([to_jsonable(row.get(c, "")) for c in columns])


def print_table(title: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                right: Sequence[str] = (), footer: Mapping[str, Any] | None = None) -> None:
    table = Table(title=title, show_footer=footer is not None)
    for c in columns:
        table.add_column(c, justify="right" if c in right else "left",
                         footer=str(to_jsonable(footer.get(c, ""))) if footer else "")
    for row in rows:
        table.add_row(*(str(to_jsonable(row.get(c, ""))) if row.get(c) is not None else "" for c in columns))
    Console(width=200).print(table)
