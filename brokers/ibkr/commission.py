"""IB's commission on a US stock order, estimated before the order (IBKR Pro "Fixed" pricing).

Fixed: USD 0.005 a share, at least USD 1.00 an order, at most 1 % of the trade's value. We cannot tell from the
API whether the login is on Fixed, Tiered (less, plus pass-through fees) or IBKR Lite (none): Fixed is the
default and, for our order sizes, the most an order is charged, so an estimate by it is never short of the
real commission and a buy sized with it is not refused for want of cash.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

PER_SHARE = Decimal("0.005")
MINIMUM = Decimal("1.00")
MAXIMUM_RATE = Decimal("0.01")  # of the trade's value
CENT = Decimal("0.01")


def commission(quantity: Decimal, price: Decimal) -> Decimal:
    """Fixed pricing's commission on `quantity` shares at `price`, rounded up to the cent (an estimate must
    not fall short); nothing for no shares (no order)."""
    if quantity <= 0:
        return Decimal(0)
    fee = min(max(MINIMUM, quantity * PER_SHARE), quantity * price * MAXIMUM_RATE)
    return fee.quantize(CENT, ROUND_UP)
