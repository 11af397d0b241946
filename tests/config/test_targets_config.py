"""`[accounts.targets]`: a book of ETFs' target weight per asset class; errors name file and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_settings

BASE = """
[[accounts]]
id = "tax"
household = "h"
lot_method = "specific"
"""


def _load(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "tlh.toml"
    p.write_text(BASE + body)
    return load_settings(p)


def test_targets_name_shipped_asset_classes(tmp_path: Path) -> None:
    s = _load(tmp_path, "[accounts.targets]\nus_total_market = 0.6\nintl_total_market = 0.25\n"
                        "us_aggregate_bonds = 0.15\n")
    assert s.accounts[0].targets == {"us_total_market": Decimal("0.6"), "intl_total_market": Decimal("0.25"),
                                     "us_aggregate_bonds": Decimal("0.15")}


@pytest.mark.parametrize(("body", "key", "part"), [
    ("[accounts.targets]\nus_total_market = 0.6\nintl_total_market = 0.3\n", "accounts[0]: targets", "add up to 1"),
    ("[accounts.targets]\nus_total_market = 0.6\nmoon_rocks = 0.4\n", "accounts[0].targets", "moon_rocks"),
    ("[accounts.targets]\nus_total_market = 1.5\n", "accounts[0].targets.us_total_market", "between 0 and 1"),
])
def test_bad_targets_name_the_key(tmp_path: Path, body: str, key: str, part: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, body)
    text = str(err.value)
    assert "tlh.toml" in text and key in text and part in text


def test_targets_and_a_direct_index_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="either targets or direct_index"):
        _load(tmp_path, '[accounts.targets]\nus_total_market = 1\n[accounts.direct_index]\n'
                        'constituents = "sp500.csv"\n')
