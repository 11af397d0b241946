"""Interactive Brokers Flex reports (an Activity Flex Query's "Trades" section, saved as XML) as trades.

`ib_async.FlexReport` reads the file and `extract("Trade")` gives one object per `<Trade>` element, its
attributes as fields. We extract with `parseNumbers=False`: otherwise ib_async turns every attribute that
`float()` accepts into a float (or int), which loses decimal exactness ("187.4312"), turns the date
"20240315" into an int and a symbol such as "NAN" or "INF" into a float nan/inf.

Only executions of stocks and ETFs are booked: rows with assetCategory STK and, when the query sets a level
of detail, levelOfDetail EXECUTION (order-level rows are `<Order>` elements and closed lots `<Lot>`
elements, which `extract("Trade")` never returns). IB writes sells with a negative quantity and commissions
as negative amounts; trades carry IB's account code (accountId), which the caller maps to our account id.
"""

from __future__ import annotations

import xml.etree.ElementTree as et
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ib_async import FlexReport

from daemon.bookkeeping import ImportedAction
from daemon.importers import flex_actions, numbers
from daemon.importers.broker_activities import ImportReport
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger.types import Side, Trade

SOURCE = "ibkr"
TOPIC = "Trade"
_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class _Where:
    line: int  # the XML line of the <Trade> element
    statement_account: str | None  # the enclosing FlexStatement's accountId


def _positions(data: bytes, topic: str = TOPIC) -> list[_Where]:
    """Line and statement account of every `topic` element, in document order (the order of extract)."""
    found: list[_Where] = []
    statement: list[str | None] = [None]
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "FlexStatement":
            statement[0] = attrs.get("accountId")
        elif name == topic:
            found.append(_Where(parser.CurrentLineNumber, statement[0]))

    parser.StartElementHandler = start
    parser.Parse(data, True)
    return found


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _decimal(row: Mapping[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    raw = _text(row, name)
    if not raw:
        if required:
            raise ValueError(f"{name}: missing")
        return None
    return numbers.number(raw, name, limit=numbers.MAX_QUANTITY if name == "quantity" else numbers.MAX_AMOUNT)


def _time_of(stamp: str) -> time | None:
    """The time part of a Flex `dateTime` ("20240603;093015", "2024-06-03;09:30:15", "2024-06-03 09:30:15"):
    IB reports it on the exchange's clock (Eastern) by default. None when absent or unreadable."""
    for sep in (";", " ", ","):
        if sep in stamp:
            part = stamp.split(sep, 1)[1].strip().replace(":", "")
            if len(part) >= 4 and part[:6].isdigit():
                hour, minute = int(part[0:2]), int(part[2:4])
                second = int(part[4:6]) if len(part) >= 6 else 0
                if hour < 24 and minute < 60 and second < 60:
                    return time(hour, minute, second)
            return None
    return None


def _date(raw: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"tradeDate: expected YYYYMMDD (the Flex query's default date format), got {raw!r}")


def _wanted(row: Mapping[str, Any]) -> bool:
    if _text(row, "assetCategory").upper() != "STK":
        return False
    detail = _text(row, "levelOfDetail").upper()
    return detail in ("", "EXECUTION")


def _convert(row: Mapping[str, Any], where: _Where, accounts_by_code: Mapping[str, str]) -> tuple[Trade, str]:
    code = _text(row, "accountId") or (where.statement_account or "")
    if not code:
        raise ValueError("accountId: missing (add Account ID to the Flex query's Trades fields)")
    account = accounts_by_code.get(code)
    if account is None:
        known = ", ".join(sorted(accounts_by_code)) or "none"
        raise ValueError(f"accountId: IB account {code!r} is not the broker_account of any configured "
                         f"account (configured: {known})")
    currency = _text(row, "currency").upper()
    if currency and currency != "USD":
        raise ValueError(f"currency: {currency} trades are not supported (USD only)")
    buy_sell = _text(row, "buySell").upper()
    if buy_sell not in ("BUY", "SELL"):
        raise ValueError(f"buySell: expected BUY or SELL, got {buy_sell!r} (cancelled or corrected "
                         "executions are not supported)")
    side = Side.BUY if buy_sell == "BUY" else Side.SELL
    if side is Side.SELL and _text(row, "openCloseIndicator").upper() == "O":
        raise ValueError("a sell that opens a position (a short sale) is not supported: the ledger books "
                         "long positions only")
    raw_date = _text(row, "tradeDate")
    if not raw_date:
        raise ValueError("tradeDate: missing")
    day = numbers.not_future(_date(raw_date), "tradeDate")
    symbol = " ".join(_text(row, "symbol").upper().split()).replace(" ", ".")  # "BRK B" -> "BRK.B"
    if not symbol:
        raise ValueError("symbol: missing")
    quantity = abs(_decimal(row, "quantity") or Decimal(0))  # sells are negative
    if quantity == 0:
        raise ValueError("quantity: must not be zero")
    if quantity != quantity.quantize(Decimal("1e-9")):
        raise ValueError(f"quantity: at most 9 decimal places, got {_text(row, 'quantity')}")
    price = _decimal(row, "tradePrice")
    assert price is not None
    if price < 0:
        raise ValueError(f"tradePrice: must not be negative, got {_text(row, 'tradePrice')}")
    commission = _decimal(row, "ibCommission", required=False) or Decimal(0)
    if commission > 0:
        raise ValueError(f"ibCommission: a commission credit ({commission}) is not supported")
    fees = Decimal(0) - commission  # not -commission: that gives Decimal("-0") for no commission
    external_id = _text(row, "ibExecID") or _text(row, "tradeID")
    if not external_id:
        raise ValueError("ibExecID and tradeID: both missing (add one to the Flex query's Trades fields)")
    order = _text(row, "ibOrderID") or _text(row, "orderID") or None
    trade = Trade(trade_id=f"{SOURCE}-{external_id}", date=day, account=account, symbol=symbol, side=side,
                  quantity=quantity, price=price, fees=fees, time=_time_of(_text(row, "dateTime")), order_id=order)
    return trade, external_id


def _open(path: Path) -> FlexReport:
    name = str(path)
    try:
        report = FlexReport(path=str(path))
    except OSError as exc:
        raise TradeImportError(name, None, f"cannot read: {exc.strerror}") from None
    except et.ParseError as exc:
        raise TradeImportError(name, exc.position[0], f"not valid XML: {exc}") from None
    if report.root.tag != "FlexQueryResponse":
        raise TradeImportError(name, None, f"not a Flex report: the root element is <{report.root.tag}>, "
                                           "expected <FlexQueryResponse>")
    return report


def _trades(report: FlexReport, name: str, accounts_by_code: Mapping[str, str]) -> list[ImportedTrade]:
    rows = report.extract(TOPIC, parseNumbers=False)
    places = _positions(report.data)
    if len(places) != len(rows):  # pragma: no cover - both walk the same document in order
        raise TradeImportError(name, None, "internal error: <Trade> elements counted differently")
    out: list[ImportedTrade] = []
    seen: dict[str, tuple[int, Trade]] = {}
    for n, (obj, where) in enumerate(zip(rows, places, strict=True), start=1):
        row = vars(obj)
        if not _wanted(row):
            continue
        try:
            trade, external_id = _convert(row, where, accounts_by_code)
        except ValueError as exc:
            raise TradeImportError(name, where.line, f"Trade {n}: {exc}") from None
        if external_id in seen:  # overlapping statements repeat an execution: once is enough
            line, earlier = seen[external_id]
            if earlier != trade:
                raise TradeImportError(name, where.line, f"Trade {n}: execution {external_id!r} already "
                                                         f"appears on line {line} with different contents")
            continue
        seen[external_id] = (where.line, trade)
        out.append(ImportedTrade(trade=trade, source=SOURCE, external_id=external_id, line=where.line))
    return out


def read(path: Path, accounts_by_code: Mapping[str, str]) -> list[ImportedTrade | ImportedAction]:
    """Every STK execution, corporate action and transfer in the report, or nothing: the first bad one
    raises TradeImportError naming the file and the element's line, and so does one that cannot be mapped
    (`read_report` hands those back for the quarantine instead). `accounts_by_code` maps IB account codes
    to our account ids."""
    report = read_report(path, accounts_by_code)
    if report.unmapped:
        line, activity = report.unmapped[0]
        raise TradeImportError(str(path), line, activity.problem or "cannot be mapped")
    return report.imported


def read_report(path: Path, accounts_by_code: Mapping[str, str]) -> ImportReport:
    """The report's trades, corporate actions ("Corporate Actions" section) and transfers ("Transfers"), and
    the actions/transfers that cannot be mapped (with their line), for the quarantine."""
    name = str(path)
    report = _open(path)
    out = ImportReport(imported=list(_trades(report, name, accounts_by_code)))
    for line, activity in [*flex_actions.corporate_actions(report, name, accounts_by_code),
                           *flex_actions.transfers(report, name, accounts_by_code)]:
        out.add(activity, SOURCE, line)
    return out


def accounts_by_code(accounts: Iterable[Any]) -> dict[str, str]:
    """{IB account code: our account id} from configured accounts (objects with `id` and `broker_account`).

    Raises ValueError when two accounts claim the same code."""
    out: dict[str, str] = {}
    for account in accounts:
        code = (getattr(account, "broker_account", None) or "").strip()
        if not code:
            continue
        if code in out and out[code] != account.id:
            raise ValueError(f"accounts {out[code]!r} and {account.id!r} both have broker_account {code!r}")
        out[code] = account.id
    return out
