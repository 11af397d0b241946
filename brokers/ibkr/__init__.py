"""Interactive Brokers through TWS / IB Gateway and ib_async (pinned: ib_async==2.1.0).

Modules: broker (IbkrBroker, the protocol surface), session (the connection and its thread, errors),
execution (accounts, positions, fills, orders), data (contracts, quotes, closes, clock), parsing (ib_async
types <-> ours). Tests run the real ib_async against tests/fakes/tws_server.py.
"""

from brokers.ibkr.broker import IbkrBroker

__all__ = ["IbkrBroker"]
