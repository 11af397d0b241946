"""The purchases accounts make by themselves, dated: what the engine's look-ahead and the do-not-buy list
need (daemon/engine/lookahead.py). The shell around the pure rule: the configuration's
`[[accounts.recurring]]` on the exchange calendar, and dividend reinvestment (`drip = true`) of the symbols an
account holds on the dates of the `[harvest] dividend_dates` file.

Dividend dates file (CSV, header required): `symbol,ex_date[,pay_date]`, dates YYYY-MM-DD. A reinvestment
buys on the pay date; without one, on the ex-dividend date (the earliest it could).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from daemon.config.models import AccountConfig, Settings
from daemon.engine.lookahead import recurring_dates
from daemon.engine.types import ScheduledPurchase
from daemon.ledger.money import plain


class DividendFileError(Exception):
    """A dividend dates file that cannot be read; `str()` names the file and line."""


@dataclass(frozen=True, slots=True)
class Dividend:
    symbol: str
    ex_date: date
    pay_date: date | None


def parse_dividends(text: str, name: str = "dividends") -> list[Dividend]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in ("symbol", "ex_date") if c not in fields]
    if missing:
        raise DividendFileError(f"{name}: line 1: missing column(s) {', '.join(missing)}; "
                                "expected symbol,ex_date[,pay_date]")
    out: list[Dividend] = []
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        symbol = row.get("symbol", "").upper()
        if not symbol:
            raise DividendFileError(f"{name}: line {line}: symbol is empty")
        try:
            ex = date.fromisoformat(row["ex_date"])
            pay = date.fromisoformat(row["pay_date"]) if row.get("pay_date") else None
        except ValueError as exc:
            raise DividendFileError(f"{name}: line {line}: not a YYYY-MM-DD date ({exc})") from None
        if pay is not None and pay < ex:
            raise DividendFileError(f"{name}: line {line}: pay_date {pay} is before ex_date {ex}")
        out.append(Dividend(symbol, ex, pay))
    return out


def load_dividends(path: Path) -> list[Dividend]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise DividendFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_dividends(text, str(path))


def _what(r: object) -> str:
    amount, quantity = getattr(r, "amount", None), getattr(r, "quantity", None)
    return f"${amount:,.2f}" if amount is not None else f"{plain(quantity)} sh"


def recurring(accounts: Iterable[AccountConfig], start: date, end: date,
              is_session: Callable[[date], bool]) -> list[ScheduledPurchase]:
    out: list[ScheduledPurchase] = []
    for a in accounts:
        for r in a.recurring:
            out += [ScheduledPurchase(a.household, a.id, r.symbol, day, "recurring", _what(r))
                    for day in recurring_dates(r.day_of_month, start, end, is_session)]
    return out


def reinvestments(accounts: Iterable[AccountConfig], held: Mapping[str, set[str]], dividends: Iterable[Dividend],
                  start: date, end: date) -> list[ScheduledPurchase]:
    """Reinvestments in `drip` accounts of the symbols they hold (`held`: account -> symbols) whose buy day
    falls from `start` to `end`."""
    dividends = list(dividends)
    out: list[ScheduledPurchase] = []
    for a in accounts:
        if not a.drip:
            continue
        for d in dividends:
            day = d.pay_date or d.ex_date
            if d.symbol in held.get(a.id, set()) and start <= day <= end:
                out.append(ScheduledPurchase(a.household, a.id, d.symbol, day, "drip", "dividend reinvestment",
                                             ex_date=d.ex_date))
    return out


def upcoming(settings: Settings, held: Mapping[str, set[str]], start: date, end: date,
             is_session: Callable[[date], bool] | None = None) -> list[ScheduledPurchase]:
    """Every scheduled purchase from `start` to `end`, on the configured exchange calendar. Raises
    DividendFileError when an account reinvests dividends and the dates file cannot be read."""
    if is_session is None:
        from daemon import market_calendar

        def is_session(day: date) -> bool:
            # Asked only when an account has recurring purchases; exchange_calendars' sessions of the years
            # around `day`, from market_calendar's cache file after the first time (no pandas to load).
            try:
                return market_calendar.is_session_day(day, settings.schedule.calendar)
            except ValueError:
                return day.weekday() < 5  # beyond what the calendar can answer: weekdays

    out = recurring(settings.accounts, start, end, is_session)
    path = settings.harvest.dividend_dates
    if path is not None and any(a.drip for a in settings.accounts):
        out += reinvestments(settings.accounts, held, load_dividends(Path(path)), start, end)
    return sorted(out, key=lambda p: (p.household, p.day, p.account, p.symbol))
