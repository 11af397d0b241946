"""How the dashboard's templates show values: money with its sign, prices, percentages, times, table cells."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent
MONEY_KEYS = {"cost_basis", "wash_sale_adjustment", "unrealized_gain", "proceeds", "adjustment", "gain",
              "estimated_loss", "estimated_benefit", "estimated_cost", "buy_notional", "notional",
              "permanently_disallowed", "(d) proceeds", "(e) cost basis", "(g) adjustment", "(h) gain or loss",
              "harvested", "tax_saved", "cash", "excess_cash", "short_term_net", "long_term_net", "net",
              "ordinary_income_offset", "carryforward_short", "carryforward_long", "disallowed"}
PRICE_KEYS = {"price", "filled_avg_price", "sell_price", "buy_price"}
BADGE_KEYS = {"status", "severity"}

def money(value: Any) -> Markup | str:
    if value is None or value == "":
        return "–"
    v = Decimal(value)
    text = f"${abs(v):,.2f}"
    return Markup('<span class="neg">−{}</span>').format(text) if v < 0 else text


def price(value: Any) -> str:
    return "–" if value is None or value == "" else f"${Decimal(value):,.4f}".rstrip("0").rstrip(".")


def pct(value: Any) -> str:
    return "–" if value is None else f"{Decimal(value) * 100:.1f} %"


def dt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def cell(value: Any, column: str) -> Markup | str:
    if value is None or value == "":
        return "" if column in {"error", "(g) adjustment", "code"} else "–"
    if column in MONEY_KEYS:
        return money(value)
    if column in PRICE_KEYS:
        return price(value)
    if column == "run_id":
        return Markup('<a href="/runs/{}">{}</a>').format(quote(str(value), safe=""), value)
    if column in BADGE_KEYS:
        return Markup('<span class="badge {0}">{0}</span>').format(value)
    if isinstance(value, datetime) or column in {"created_at", "updated_at", "started_at", "finished_at"}:
        return dt(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return Markup("<br>").join(str(v) for v in value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    return str(value)


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(money=money, price=price, pct=pct, dt=dt, cell=cell)
    return env
