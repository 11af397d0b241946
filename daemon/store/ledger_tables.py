"""The ledger's tables as `daemon.store.sql` sees them: each column's name and kind, without SQLAlchemy.

`daemon.store.tables` is the one definition of the schema (migrations come from it). These descriptions
repeat what the ledger's SQL needs of it, and tests/store/test_sql.py checks each one against
`tables.plain(...)` of its table, so the two cannot drift apart.
"""

from __future__ import annotations

from daemon.store.sql import BOOL, DATE, DATETIME, DECIMAL, INT, JSON, TEXT, TIME, Column, Table

HOUSEHOLDS = Table("households", (
    Column("id", TEXT),
))

ACCOUNTS = Table("accounts", (
    Column("id", TEXT),
    Column("household_id", TEXT),
    Column("type", TEXT),
    Column("broker", TEXT),
    Column("lot_method", TEXT),
    Column("broker_account", TEXT, nullable=True),
    Column("basis_reported", BOOL, default=True, server_default=True),
    Column("in_sync", BOOL, default=True, server_default=True),
    Column("sync_detail", TEXT, nullable=True),
    Column("sync_cursor", TEXT, nullable=True),
    Column("synced_at", DATETIME, nullable=True),
))

TRADES = Table("trades", (
    Column("trade_id", TEXT),
    Column("household_id", TEXT),
    Column("account_id", TEXT),
    Column("date", DATE),
    Column("symbol", TEXT),
    Column("side", TEXT),
    Column("quantity", DECIMAL),
    Column("price", DECIMAL),
    Column("fees", DECIMAL),
    Column("lot_id", TEXT, nullable=True),
    Column("source", TEXT),
    Column("external_id", TEXT),
    Column("imported_at", DATETIME),
    Column("seq", INT),
    Column("time", TIME, nullable=True),
    Column("acquired", DATE, nullable=True),
    Column("basis", DECIMAL, nullable=True),
    Column("order_id", TEXT, nullable=True),
))

CORPORATE_ACTIONS = Table("corporate_actions", (
    Column("action_id", TEXT),
    Column("household_id", TEXT),
    Column("account_id", TEXT, nullable=True),
    Column("date", DATE),
    Column("time", TIME, nullable=True),
    Column("symbol", TEXT),
    Column("kind", TEXT),
    Column("ratio", DECIMAL, nullable=True),
    Column("new_symbol", TEXT, nullable=True),
    Column("cash_per_share", DECIMAL, nullable=True),
    Column("basis_fraction", DECIMAL, nullable=True),
    Column("source", TEXT),
    Column("external_id", TEXT),
    Column("imported_at", DATETIME),
    Column("seq", INT),
))

LOTS = Table("lots", (
    Column("household_id", TEXT),
    Column("lot_id", TEXT),
    Column("purchase_id", TEXT),
    Column("parent_id", TEXT, nullable=True),
    Column("account_id", TEXT),
    Column("symbol", TEXT),
    Column("quantity", DECIMAL),
    Column("cost", DECIMAL),
    Column("adjustment", DECIMAL),
    Column("purchased", DATE),
    Column("acquired", DATE),
    Column("absorbed", BOOL),
    Column("seq", INT),
    Column("trade_id", TEXT),
    Column("reinvested", BOOL),
    Column("origin", TEXT, default=True, server_default=True),
    Column("washed_from", TEXT, nullable=True),
    Column("loss_basis", DECIMAL, nullable=True),
))

DISPOSITIONS = Table("dispositions", (
    Column("household_id", TEXT),
    Column("disposition_id", TEXT),
    Column("trade_id", TEXT),
    Column("account_id", TEXT),
    Column("symbol", TEXT),
    Column("lot_id", TEXT),
    Column("purchase_id", TEXT),
    Column("quantity", DECIMAL),
    Column("proceeds", DECIMAL),
    Column("cost_basis", DECIMAL),
    Column("acquired", DATE),
    Column("purchased", DATE),
    Column("sold", DATE),
    Column("taxable", BOOL),
    Column("seq", INT),
    Column("washed_quantity", DECIMAL),
    Column("adjustment", DECIMAL),
    Column("permanent", DECIMAL),
    Column("kind", TEXT, default=True, server_default=True),
    Column("lot_seq", INT, default=True, server_default=True),
    Column("origin", TEXT, default=True, server_default=True),
    Column("washed_from", TEXT, nullable=True),
    Column("absorbed", BOOL, default=True, server_default=True),
    Column("split_factor", DECIMAL, nullable=True),
    Column("replacement_adjustment", DECIMAL, nullable=True),
    Column("time", TIME, nullable=True),
    Column("order_id", TEXT, nullable=True),
))

WASH_MATCHES = Table("wash_matches", (
    Column("id", INT),
    Column("household_id", TEXT),
    Column("position", INT),
    Column("disposition_id", TEXT),
    Column("lot_id", TEXT),
    Column("account_id", TEXT),
    Column("symbol", TEXT),
    Column("quantity", DECIMAL),
    Column("disallowed", DECIMAL),
    Column("permanent", BOOL),
    Column("replacement_date", DATE),
    Column("replacement_disposition", TEXT, nullable=True),
))

LEDGER_STATES = Table("ledger_states", (
    Column("household_id", TEXT),
    Column("through", DATE, nullable=True),
    Column("next_seq", INT),
    Column("securities", JSON, nullable=True),
))
