"""[giving] and [location]: the shipped location table, overrides by name, errors that name file and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_settings

BASE = """
[[accounts]]
id = "tax"
household = "h"
"""


def _write(tmp_path: Path, text: str, name: str = "tlh.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_shipped_table_loads_and_your_classes_win_by_name(tmp_path: Path) -> None:
    shipped = load_settings(_write(tmp_path, BASE))
    reits = next(c for c in shipped.location.asset_classes if c.name == "us_reits")
    assert reits.placement == "tax_advantaged" and reits.typical_yield > 0
    own = load_settings(_write(tmp_path, BASE + """
[location]
min_annual_savings_usd = 20
[[location.asset_classes]]
name = "us_reits"
placement = "tax_advantaged"
typical_yield = 0.05
ordinary = 1
"""))
    mine = [c for c in own.location.asset_classes if c.name == "us_reits"]
    assert len(mine) == 1 and mine[0].typical_yield == Decimal("0.05")
    assert len(own.location.asset_classes) == len(shipped.location.asset_classes)
    assert own.location.min_annual_savings_usd == 20


def test_a_table_of_your_own_replaces_the_shipped_one(tmp_path: Path) -> None:
    _write(tmp_path, '[[asset_classes]]\nname = "bonds"\nplacement = "tax_advantaged"\ntypical_yield = 0.04\n'
                     'ordinary = 1\nmembers = ["bnd"]\n', "mine.toml")
    s = load_settings(_write(tmp_path, BASE + '[location]\ntable = "mine.toml"\n'))
    assert [(c.name, c.members) for c in s.location.asset_classes] == [("bonds", ["BND"])]
    assert s.location.table == str(tmp_path / "mine.toml")
    assert load_settings(_write(tmp_path, BASE + '[location]\ntable = ""\n')).location.asset_classes == []


@pytest.mark.parametrize(("extra", "message"), [
    ("[giving]\nagi_limit_pct = 30\n", "giving.agi_limit_pct: must be between 0 and 1, got 30"),
    ("[giving]\nagi_usd = -1\n", "giving.agi_usd:"),
    ('[[location.asset_classes]]\nname = "x"\nplacement = "ira"\ntypical_yield = 0.01\n',
     "location.asset_classes[0].placement:"),
    ('[[location.asset_classes]]\nname = "x"\nplacement = "taxable"\ntypical_yield = 0.01\nordinary = 0.6\n'
     'qualified = 0.6\n', "x: ordinary + section_199a + qualified + exempt must not exceed 1"),
    ('[location]\ntable = "missing.toml"\n', "missing.toml: file not found"),
])
def test_errors_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, BASE + extra))
    assert message in str(err.value)


def test_an_error_in_a_table_file_names_that_file(tmp_path: Path) -> None:
    _write(tmp_path, '[[asset_classes]]\nname = "x"\nplacement = "taxable"\ntypical_yield = 2\n', "bad.toml")
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, BASE + '[location]\ntable = "bad.toml"\n'))
    assert "bad.toml: asset_classes[0].typical_yield: must be between 0 and 1, got 2" in str(err.value)
