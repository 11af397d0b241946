"""Numbers and dates in imported files, read strictly: every value accepted means what it says.

"1,5" is refused (a decimal comma, or a typo: it must not become 15); commas are read as thousands
separators only in groups of three ("1,500", "1,500.25", "1,234,567"), as the US exports write them. Values beyond
any real trade (1e30 shares) and dates after today are refused, each with the field's name.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

MAX_QUANTITY = Decimal(10) ** 12  # shares in one trade
MAX_AMOUNT = Decimal(10) ** 12  # dollars: a price or fee

_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def number(raw: str, name: str, *, limit: Decimal = MAX_AMOUNT) -> Decimal:
    text = raw.strip()
    if "$" in text or "," in text:  # the common plain number skips these steps (every amount of an import)
        text = text.replace("$", "")
        if "," in text:
            if _GROUPED.match(text) is None:
                raise ValueError(f"{name}: ambiguous number {raw!r} (a decimal comma?); write it with a point, "
                                 f"e.g. 1.5")
            text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name}: not a number: {raw!r}")
    if abs(value) >= limit:
        raise ValueError(f"{name}: {raw!r} is out of range (at most {limit:,.0f})")
    return value


def not_future(day: date, name: str, today: date | None = None) -> date:
    today = today or date.today()
    if day > today:
        raise ValueError(f"{name}: {day} is in the future (today is {today})")
    return day
