"""Output for people (rich tables sized to the terminal) and for scripts (JSON, CSV).

A table is laid out for the terminal it is printed on (rich measures it; piped output uses $COLUMNS or
80): every column keeps its natural width; when they do not all fit, long text columns (details,
messages) fold, and then the least important columns are left out, most dispensable first, and the
caption names them (`--format json` or `csv` shows everything). Nothing is ever cut mid-value or wrapped
past the terminal's edge.

Values are formatted by column name: money as `$1,240.87` (negative `-$1,014.77`, losses in red), prices
with the cents that matter, share quantities to at most four decimals, dates as dates, lists as
comma-separated text. JSON and CSV keep the full precision.
"""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

# rich (about 40 ms to import) is loaded by the functions that draw tables: JSON and CSV output never need it.


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


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
    sys.stdout.write(dumps(value) + "\n")


def print_json_rows(rows: Iterable[Any]) -> None:
    """`print_json(list(rows))`, written as the rows come: a 100,000-row report is never one list or one
    string in memory."""
    write = sys.stdout.write
    out: list[str] = []
    first = True
    for row in rows:
        out.append("[\n  " if first else ",\n  ")
        first = False
        mark = len(out)
        try:
            _encode(row, "\n  ", out)
        except _Unusual:
            del out[mark:]
            out.append(json.dumps(to_jsonable(row), indent=2).replace("\n", "\n  "))  # strings hold no raw \n
        if len(out) >= 8_192:
            write("".join(out))
            out.clear()
    out.append("[]\n" if first else "\n]\n")
    write("".join(out))


def dumps(value: Any) -> str:
    """`json.dumps(to_jsonable(value), indent=2)`, several times faster for the usual rows (dicts of str,
    numbers, Decimals and dates): with an indent, json falls back to its pure-Python encoder, which with
    to_jsonable's copy took seconds for 10,000 gains rows. Anything else takes the general path."""
    out: list[str] = []
    try:
        _encode(value, "\n", out)
    except _Unusual:
        return json.dumps(to_jsonable(value), indent=2)
    return "".join(out)


class _Unusual(Exception):
    pass


_STRING = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _encode(value: Any, newline: str, out: list[str]) -> None:
    kind = value.__class__
    if kind is str:
        out.append(_STRING(value))
    elif kind is Decimal:
        out.append(_STRING(str(value)))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        flat = _flat_dict(value, newline)
        if flat is not None:
            out.append(flat)
            return
        inner = newline + "  "
        out.append("{")
        first = True
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Unusual
            out.append(inner if first else "," + inner)
            first = False
            out.append(_STRING(key))
            out.append(": ")
            _encode(item, inner, out)
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        out.append("[")
        for i, item in enumerate(value):
            out.append("," + inner if i else inner)
            _encode(item, inner, out)
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is date or kind is datetime:
        out.append(_STRING(value.isoformat()))
    elif kind is float and value == value and value not in (float("inf"), float("-inf")):
        out.append(float.__repr__(value))
    else:  # enums, subclasses, other mappings, NaN: the general path decides
        raise _Unusual


# A dict of scalars (a report row) is one `%` format: its keys and layout cached by key and value types,
# its values put in by C code. JSON text of each value type; None: str(value) in quotes, or as it is.
_SCALARS: dict[type, tuple[str, Callable[[Any], str] | None]] = {
    str: ("%s", _STRING), Decimal: ('"%s"', None), date: ('"%s"', None), int: ("%s", None),
    bool: ("%s", lambda v: "true" if v else "false"), type(None): ("null", None)}
_LAYOUTS: dict[tuple[Any, ...], tuple[str, tuple[int, ...], tuple[Callable[[Any], str], ...], bool]] = {}


def _flat_dict(value: dict[Any, Any], newline: str) -> str | None:
    values = list(value.values())
    key = (newline, *value, *map(type, values))
    layout = _LAYOUTS.get(key)
    if layout is None:
        if any(k.__class__ is not str for k in value) or any(type(v) not in _SCALARS for v in values):
            return None
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        inner = newline + "  "
        parts = [inner + _STRING(k).replace("%", "%%") + ": " + _SCALARS[type(v)][0] for k, v in value.items()]
        converted = [(i, _SCALARS[type(v)][1]) for i, v in enumerate(values) if _SCALARS[type(v)][1] is not None]
        layout = _LAYOUTS[key] = ("{" + ",".join(parts) + newline + "}", tuple(i for i, _ in converted),
                                  tuple(c for _, c in converted if c is not None), None in value.values())
    template, positions, converters, has_none = layout
    for i, convert in zip(positions, converters, strict=True):
        values[i] = convert(values[i])
    if has_none:
        values = [v for v in values if v is not None]
    return template % tuple(values)


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(_csv_value(v)) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(to_jsonable(value), sort_keys=True)
    return to_jsonable(value)


def print_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        value = [row.get(c) for c in columns]
        writer.writerow(["" if v is None else _csv_value(v) for v in value])


# -- what each column is, by name -----------------------------------------------------------------------

MONEY = frozenset({
    "cost_basis", "wash_sale_adjustment", "unrealized_gain", "proceeds", "adjustment", "gain", "amount",
    "estimated_loss", "estimated_short_loss", "estimated_long_loss", "estimated_benefit", "estimated_cost",
    "net_benefit", "washed_loss", "buy_notional", "notional", "permanently_disallowed", "harvested",
    "harvested_short", "harvested_long", "tax_saved", "realized", "realized_short", "realized_long",
    "disallowed", "disallowed_deferred", "disallowed_permanent", "carryforward", "carryforward_short",
    "carryforward_long", "cash", "equity", "excess_cash", "value", "loss", "benefit",
    "ytd_harvested", "ytd_tax_saved", "carryforward_in_short", "carryforward_in_long", "short_term_net",
    "long_term_net", "net", "ordinary_income_offset", "(d) proceeds", "(e) cost basis", "(g) adjustment",
    "(h) gain or loss", "deduction", "tax_avoided", "annual_tax_drag", "estimated_annual_savings",
})
# Money columns whose positive amount is a loss (shown in red like a negative gain).
LOSS = frozenset({"estimated_loss", "estimated_short_loss", "estimated_long_loss", "washed_loss", "harvested",
                  "harvested_short", "harvested_long", "ytd_harvested", "loss", "disallowed",
                  "disallowed_deferred", "disallowed_permanent", "permanently_disallowed"})
PRICE = frozenset({"price", "sell_price", "buy_price", "filled_avg_price", "close"})
QUANTITY = frozenset({"quantity", "sell_quantity", "filled_quantity", "buy_quantity_estimate", "shares",
                      "buy_quantity"})
PERCENT = frozenset({"cash_pct"})
# Long free text: folds onto several lines rather than widening the table.
TEXT = frozenset({"detail", "message", "sale", "error", "lots", "note", "source", "paused", "sync", "why",
                  "state", "outcome", "quarantine", "(a) description", "item", "reason"})
# What goes first when the terminal is narrow: the higher, the sooner (1: never).
PRIORITY = {
    "broker_order_id": 6, "client_order_id": 5, "updated_at": 5, "finished_at": 4, "purchased": 4,
    "run_id": 4, "created_at": 3, "lots": 3, "estimated_cost": 3, "price_date": 5, "term": 3,
    "wash_sale_adjustment": 2, "estimated_benefit": 2, "notional": 2, "filled_avg_price": 2, "delivered": 3,
    "code": 2, "acquired": 2, "price": 2, "household": 3, "sale_date": 3, "source": 2, "started_at": 2,
    "kind": 2, "lot_id": 2, "leg": 2, "mode": 2, "paused": 2, "permanently_disallowed": 4,
    "carryforward_in_short": 3, "carryforward_in_long": 3, "ordinary_income_offset": 2, "disallowed": 2,
    "carryforward_long": 2,
}
# Shorter headers where the column name is long and its values short.
HEADERS = {"carryforward_short": "carry fwd short", "carryforward_long": "carry fwd long",
           "carryforward_in_short": "carried in short", "carryforward_in_long": "carried in long",
           "ordinary_income_offset": "income offset", "wash_sale_adjustment": "wash sale adj",
           "buy_quantity_estimate": "buy quantity", "permanently_disallowed": "lost for good",
           "annual_tax_drag": "tax drag a year", "estimated_annual_savings": "saving a year"}
RIGHT = MONEY | PRICE | QUANTITY | PERCENT | {"pairs", "id", "count", "open", "age", "harvest_sales"}


def money(value: Any, *, sign: bool = True) -> str:
    """$1,240.87; -$1,014.77. Rounds half to even to the cent, as every table of the daemon does."""
    d = _decimal(value)
    if d is None:
        return str(value)
    d = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = f"${abs(d):,.2f}"
    return f"-{text}" if d < 0 and sign else text


def price(value: Any) -> str:
    """$270.00, $182.3680: the cents, or four decimals when the price has more."""
    d = _decimal(value)
    if d is None:
        return str(value)
    places = 2 if d == d.quantize(Decimal("0.01")) else 4
    d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"${abs(d):,.{places}f}"
    return f"-{text}" if d < 0 else text


def quantity(value: Any) -> str:
    """200, 58.3333, 1,250.5: whole shares as integers, fractions to at most four decimals."""
    d = _decimal(value)
    if d is None:
        return str(value)
    rounded = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    if rounded == 0 and d != 0:  # a sliver: show it rather than a misleading 0
        rounded = d
    return format(rounded.normalize(), ",f")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None
    return None


def text_of(value: Any) -> str:
    """A value as a person reads it: lists as comma-separated text, no Python reprs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("" if value.tzinfo is None else f" {value.tzname()}")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value.normalize(), ",f")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text_of(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def cell(column: str, value: Any) -> Text:
    """One table cell: formatted and, for money, coloured (losses red)."""
    from rich.text import Text

    if value is None or value == "":
        return Text("")
    if column in MONEY and _decimal(value) is not None:
        d = _decimal(value)
        assert d is not None
        loss = d > 0 if column in LOSS else d < 0
        return Text(money(d), style="red" if loss and d != 0 else "")
    if column in PRICE and _decimal(value) is not None:
        return Text(price(value))
    if column in QUANTITY and _decimal(value) is not None:
        return Text(quantity(value))
    if column in PERCENT and _decimal(value) is not None:
        d = _decimal(value)
        assert d is not None
        return Text(f"{d * 100:.1f} %")
    if isinstance(value, Text):
        return value
    return Text(text_of(value))


# -- the table ---------------------------------------------------------------------------------------------


@dataclass
class _Column:
    name: str
    header: str
    cells: list[Text]
    footer: Text | None
    fold: bool
    right: bool
    priority: int
    index: int

    @property
    def natural(self) -> int:
        widths = [cell_len(c.plain) for c in self.cells]
        if self.footer is not None:
            widths.append(cell_len(self.footer.plain))
        return max([self.header_min, *widths])

    def header_lines(self, width: int) -> str:
        """The header's words packed into lines of at most `width` (a header never widens a column)."""
        lines: list[str] = []
        for word in self.header.split():
            if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width:
                lines[-1] += " " + word
            else:
                lines.append(word)
        return "\n".join(lines)

    @property
    def header_min(self) -> int:
        return max((cell_len(w) for w in self.header.split()), default=1)

    fold_min: int = 0  # set by `build_table`: how narrow a folding column may get

    @property
    def minimum(self) -> int:
        if not self.fold:
            return self.natural
        return min(self.natural, max(self.header_min, self.fold_min or FOLD_MIN))

    @property
    def longest_word(self) -> int:
        return max([self.header_min, *(cell_len(w) for c in self.cells for w in c.plain.split())])

    @property
    def empty(self) -> bool:
        return not any(c.plain for c in self.cells) and (self.footer is None or not self.footer.plain)


FOLD_MIN = 16  # a folding column is never narrower (unless its content is)


def cell_len(text: str) -> int:
    """The cells `text` takes on a terminal (rich's measure)."""
    from rich.cells import cell_len as measure

    return measure(text)


def _width(columns: Iterable[_Column], attr: str) -> int:
    cols = list(columns)
    # Heavy-head box: a border before each column and after the last, one space of padding each side.
    return sum(getattr(c, attr) for c in cols) + 3 * len(cols) + 1


def console() -> Console:
    """A console sized to the terminal (or $COLUMNS, or 80 when the output is not a terminal)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def build_table(title: str | None, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                right: Sequence[str] = (), footer: Mapping[str, Any] | None = None, *, width: int,
                priority: Mapping[str, int] | None = None, keep_empty: bool = False) -> Table:
    """The table laid out for `width` terminal columns (see the module's docstring)."""
    from rich import box
    from rich.table import Table

    prio = {**PRIORITY, **(priority or {})}
    cols = [_Column(name=c, header=HEADERS.get(c, c.replace("_", " ")), cells=[cell(c, row.get(c)) for row in rows],
                    footer=cell(c, footer.get(c)) if footer is not None else None, fold=c in TEXT,
                    right=c in right or c in RIGHT, priority=prio.get(c, 1), index=i)
            for i, c in enumerate(columns)]
    if rows and not keep_empty:
        cols = [c for c in cols if not c.empty] or cols[:1]
    hidden: list[str] = []
    folded = False
    while _width(cols, "minimum") > width and len(cols) > 1:
        droppable = [c for c in cols if c.priority > 1]
        if not droppable and not folded:
            # Nothing dispensable left: let text fold down to its longest word, then (a very narrow
            # terminal) give up columns from the right rather than break values across lines.
            folded = True
            for c in cols:
                if c.fold:
                    c.fold_min = c.longest_word
            continue
        victim = max(droppable or cols[1:], key=lambda c: (c.priority, c.index))
        cols.remove(victim)
        hidden.append(victim.name)
    caption = None
    if hidden:
        caption = (f"not shown at {width} columns: {', '.join(sorted(hidden, key=columns.index))} "
                   f"(--format json or csv shows every column)")
    table = Table(title=title, caption=caption, show_footer=footer is not None, box=box.HEAVY_HEAD,
                  title_justify="left", caption_justify="left", collapse_padding=False)
    fits = _width(cols, "minimum") <= width
    for c in cols:
        table.add_column(c.header_lines(c.natural if not c.fold else c.minimum),
                         justify="right" if c.right else "left", footer=c.footer or "",
                         no_wrap=not c.fold and fits, overflow="fold",
                         min_width=c.minimum if fits else None)
    for i in range(len(rows)):
        table.add_row(*(c.cells[i] for c in cols))
    return table


def print_table(title: str | None, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                right: Sequence[str] = (), footer: Mapping[str, Any] | None = None, *,
                priority: Mapping[str, int] | None = None, empty: str | None = None) -> None:
    """Print `rows` as a table fitted to the terminal; `empty`: a line to print instead when there are none."""
    out = console()
    if not rows and empty is not None:
        out.print(f"{title}: {empty}" if title else empty)
        return
    out.print(build_table(title, rows, columns, right, footer, width=out.width, priority=priority))
