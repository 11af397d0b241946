"""The configuration files the project ships: they load, and the substitute groups are consistent with each
other and with the index each fund tracks (shared/data/prices/securities.csv)."""

from __future__ import annotations

import csv
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from pydantic import BaseModel

from daemon.config import load_settings
from daemon.config.loader import SHIPPED_SUBSTITUTES, load_substitutes
from daemon.config.models import (
    AccountConfig,
    AlertsConfig,
    AlpacaBrokerConfig,
    AssetClass,
    DashboardConfig,
    GivingConfig,
    HarvestConfig,
    HouseholdConfig,
    IbkrBrokerConfig,
    IdenticalGroup,
    LocationConfig,
    PaperBrokerConfig,
    ScheduleConfig,
    Settings,
    TaxConfig,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
PRICES = ROOT.parent / "shared" / "data" / "prices"


@pytest.fixture(scope="module")
def shipped() -> tuple[list[IdenticalGroup], list[AssetClass]]:
    return load_substitutes(CONFIG / "substitutes.toml")


@pytest.fixture(scope="module")
def etfs() -> list[dict[str, str]]:
    path = PRICES / "securities.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared price data, expected beside the project in "
                    "../shared/data/prices): cannot check the groups against the funds' indexes")
    with path.open(newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["kind"] == "etf"]


def test_package_link_points_at_the_shipped_file() -> None:
    assert SHIPPED_SUBSTITUTES.resolve() == (CONFIG / "substitutes.toml").resolve()


@pytest.mark.parametrize("name", ["example.toml", "demo.toml"])
def test_shipped_configuration_loads(name: str) -> None:
    settings = load_settings(CONFIG / name)
    assert settings.accounts
    assert settings.substitutes, "the shipped substitute groups are loaded"
    households = {a.household for a in settings.accounts}
    assert len(households) == 1 and len(settings.accounts) >= 2


def test_example_groups_do_not_split_a_shipped_group(shipped: tuple[list[IdenticalGroup], list[AssetClass]]
                                                     ) -> None:
    # A symbol the user lists leaves its shipped group: the example's groups must take whole groups.
    groups, _ = shipped
    settings = load_settings(CONFIG / "example.toml")
    effective = [frozenset(g.symbols) for g in settings.identical]
    for group in groups:
        assert frozenset(group.symbols) in effective, f"shipped group {group.symbols} was split"


def test_demo_paths_resolve_inside_the_repository() -> None:
    settings = load_settings(CONFIG / "demo.toml")
    assert settings.database_url == f"sqlite:///{ROOT / 'var' / 'demo.db'}"
    assert settings.brokers.paper.prices == CONFIG / "demo" / "prices.csv"
    assert settings.brokers.paper.prices.stat().st_size < 200_000


def test_demo_trades_use_the_demo_prices() -> None:
    with (CONFIG / "demo" / "prices.csv").open(newline="") as fh:
        closes = {row["date"]: row for row in csv.DictReader(fh)}
    accounts = {a.id for a in load_settings(CONFIG / "demo.toml").accounts}
    with (CONFIG / "demo" / "trades.csv").open(newline="") as fh:
        trades = list(csv.DictReader(fh))
    assert trades
    for t in trades:
        assert t["account"] in accounts
        assert closes[t["date"]][t["symbol"]] == t["price"], t


def test_no_symbol_in_two_identical_groups(shipped: tuple[list[IdenticalGroup], list[AssetClass]]) -> None:
    groups, _ = shipped
    owner: dict[str, int] = {}
    for i, group in enumerate(groups):
        assert len(set(group.symbols)) == len(group.symbols), f"duplicate in {group.symbols}"
        for symbol in group.symbols:
            assert symbol not in owner, f"{symbol} is in identical groups {owner[symbol]} and {i}"
            owner[symbol] = i


def test_no_asset_class_lists_two_identical_funds(shipped: tuple[list[IdenticalGroup], list[AssetClass]]
                                                  ) -> None:
    groups, classes = shipped
    group_of = {s: i for i, g in enumerate(groups) for s in g.symbols}
    names = [c.name for c in classes]
    assert len(names) == len(set(names)), "asset class names repeat"
    member_of: dict[str, str] = {}
    for c in classes:
        assert len(set(c.members)) == len(c.members), f"{c.name}: a member repeats"
        seen: dict[int, str] = {}
        for m in c.members:
            assert m not in member_of, f"{m} is in asset classes {member_of[m]} and {c.name}"
            member_of[m] = c.name
            if m in group_of:
                g = group_of[m]
                assert g not in seen, f"{c.name}: {seen[g]} and {m} are identical (same index)"
                seen[g] = m


def test_funds_on_one_index_share_an_identical_group(
        etfs: list[dict[str, str]], shipped: tuple[list[IdenticalGroup], list[AssetClass]]) -> None:
    groups, _ = shipped
    group_of = {s: i for i, g in enumerate(groups) for s in g.symbols}
    by_index: dict[str, list[str]] = defaultdict(list)
    for row in etfs:
        by_index[row["index"]].append(row["symbol"])
    for index, symbols in by_index.items():
        if len(symbols) < 2:
            continue
        found = {group_of.get(s) for s in symbols}
        assert len(found) == 1 and None not in found, f"{index}: {symbols} are not one identical group"


def test_identical_groups_track_one_index(
        etfs: list[dict[str, str]], shipped: tuple[list[IdenticalGroup], list[AssetClass]]) -> None:
    groups, _ = shipped
    index_of = {row["symbol"]: row["index"] for row in etfs}
    for group in groups:
        indexes = {index_of[s] for s in group.symbols if s in index_of}
        assert len(indexes) <= 1, f"{group.symbols} track different indexes: {sorted(indexes)}"


def test_every_etf_has_its_asset_class(
        etfs: list[dict[str, str]], shipped: tuple[list[IdenticalGroup], list[AssetClass]]) -> None:
    # Each ETF of the data is a member of the class its `asset_class` names, or identical to one.
    groups, classes = shipped
    group_of = {s: i for i, g in enumerate(groups) for s in g.symbols}
    members = {c.name: c.members for c in classes}
    for row in etfs:
        symbol, name = row["symbol"], row["asset_class"]
        assert name in members, f"no asset class {name!r} (for {symbol})"
        reachable = set(members[name]) | {s for m in members[name] if m in group_of
                                          for s in groups[group_of[m]].symbols}
        assert symbol in reachable, f"{symbol} is not in asset class {name} nor identical to a member"


def test_distinct_indexes_within_an_asset_class(
        etfs: list[dict[str, str]], shipped: tuple[list[IdenticalGroup], list[AssetClass]]) -> None:
    _, classes = shipped
    index_of = {row["symbol"]: row["index"] for row in etfs}
    for c in classes:
        known = [index_of[m] for m in c.members if m in index_of]
        assert len(known) == len(set(known)), f"{c.name}: two members track one index"


def test_example_documents_every_key() -> None:
    # Each key appears as `key = ...`, set or commented out, under its [section] (or [[accounts]]).
    text = (CONFIG / "example.toml").read_text()
    section, keys = "", set()
    for line in text.splitlines():
        line = line.lstrip("# ").strip()
        if m := re.match(r"^\[\[?([a-z_.]+)\]\]?$", line):
            section = m.group(1)
        elif m := re.match(r"^([a-z_]+) = ", line):
            keys.add(f"{section}.{m.group(1)}" if section else m.group(1))
    sections: dict[str, type[BaseModel]] = {
        "accounts": AccountConfig, "identical": IdenticalGroup, "asset_classes": AssetClass,
        "tax": TaxConfig, "harvest": HarvestConfig, "schedule": ScheduleConfig, "alerts": AlertsConfig,
        "brokers.paper": PaperBrokerConfig, "brokers.alpaca": AlpacaBrokerConfig,
        "brokers.ibkr": IbkrBrokerConfig,
        "households": HouseholdConfig,
        "giving": GivingConfig, "location": LocationConfig, "dashboard": DashboardConfig,
    }
    expected = {f"{name}.{key}" for name, model in sections.items() for key in model.model_fields}
    expected |= set(Settings.model_fields) - set(sections) - {"brokers"}
    missing = expected - keys
    assert not missing, f"config/example.toml does not document {sorted(missing)}"


def test_example_values_are_the_defaults() -> None:
    # The example says its values are the defaults: keep it true.
    with (CONFIG / "example.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    defaults = Settings()
    assert raw["database_url"] == defaults.database_url and raw["mode"] == defaults.mode
    for path, model, values in [
        *((name, getattr(defaults, name), raw[name]) for name in ("tax", "harvest", "schedule", "alerts")),
        *((f"brokers.{name}", getattr(defaults.brokers, name), raw["brokers"][name])
          for name in ("paper", "alpaca", "ibkr")),
    ]:
        for key, value in values.items():
            given = type(model).model_validate({key: value})
            assert getattr(given, key) == getattr(model, key), f"[{path}] {key} = {value!r}: not the default"
