"""Table layout at 80-200 columns (the pane-level check at 100 and 200 is tests/cli/test_terminal.py): what is
dropped first, what folds, and that no line ever passes the edge or loses a border."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import daemon.cli.main  # noqa: F401  (the app first: the command modules import it)
from daemon.cli.orders_cmd import ORDER_PRIORITY
from daemon.cli.render import build_table

ORDERS = [{"pair_id": "p1", "leg": "sell", "account": "joint-taxable", "symbol": "VXUS", "status": "filled",
           "quantity": "192.5", "notional": None, "filled_quantity": "192.5", "filled_avg_price": "46.5607",
           "created_at": "2026-11-25 20:45:01 UTC", "error": None, "run_id": "r20261125-9d52ea",
           "client_order_id": "tlh-r20261125-9d52ea-p1-sell", "broker_order_id": "paper-1-0-0",
           "updated_at": "2026-11-25 20:45:02 UTC"},
          {"pair_id": "p1", "leg": "buy", "account": "joint-taxable", "symbol": "IXUS", "status": "rejected",
           "quantity": None, "notional": "8960.69", "filled_quantity": "0", "filled_avg_price": None,
           "created_at": "2026-11-25 20:45:02 UTC",
           "error": "insufficient buying power: the account has $12.40 of cash and the order needs $8,960.69",
           "run_id": "r20261125-9d52ea", "client_order_id": "tlh-r20261125-9d52ea-p1-buy",
           "broker_order_id": "paper-1-0-1", "updated_at": "2026-11-25 20:45:03 UTC"}]
COLUMNS = list(ORDERS[0])


def render(width: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    console.print(build_table("Orders", ORDERS, COLUMNS, width=width, priority=ORDER_PRIORITY))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160, 200])
def test_every_line_fits_between_its_borders(width: int) -> None:
    lines = render(width)
    table = [line.rstrip() for line in lines if line.strip() and line.lstrip()[0] in "┏┃┡│└"]
    assert table and all(len(line) <= width for line in lines)
    assert len({len(line) for line in table}) == 1
    assert all(line[-1] in "┓┃┩│┘" for line in table)
    assert "…" not in "\n".join(lines)


def test_narrow_terminals_drop_ids_first_and_fold_the_error() -> None:
    narrow = "\n".join(render(80))
    assert "pair" in narrow and "rejected" in narrow and "joint-taxable" in narrow and "sell" in narrow
    assert "tlh-r20261125-9d52ea-p1-sell" not in narrow and "paper-1-0-0" not in narrow
    assert "not shown at 80 columns:" in narrow and "broker_order_id" in narrow
    # the error folds over several lines instead of widening the table
    assert "insufficient" in narrow and "buying power" in narrow
    assert sum("│" in line for line in narrow.splitlines()) > 3
    wide = "\n".join(render(200))
    assert "tlh-r20261125-9d52ea-p1-sell" in wide and "$8,960.69" in wide and "$46.5607" in wide
