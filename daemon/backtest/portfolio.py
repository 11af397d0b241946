"""A backtest's portfolio file (TOML, under config/backtests/): money in, target weights, rebalancing, taxes,
harvest settings, and either ETF sleeves or a direct index of stocks.

```toml
name = "three_fund"
initial_deposit = 100000
monthly_contribution = 1000
spread_bps = 2                      # fills at the close ± half of this (the paper broker's rule)

[rebalance]
rule = "threshold"                  # contributions | threshold | annual | none
threshold = 0.05                    # absolute drift of a sleeve's weight

[taxes]                             # TaxConfig keys, plus:
losses = "outside_gains"            # or "limited": $3,000 a year against ordinary income + carry-forward
paid_from = "portfolio"             # or "outside": taxes are paid / refunds kept outside the portfolio

[harvest]                           # HarvestConfig keys (min_loss_pct, swap_back, ...)

[[sleeves]]
name = "us_total_market"
weight = 0.6
members = ["VTI", "ITOT", "SCHB", "IWV"]   # buy order; unlisted members fall back to an identical fund
```
A direct index has a `[direct_index]` table instead of sleeves.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from daemon.config.loader import SHIPPED_SUBSTITUTES, ConfigError, load_substitutes
from daemon.config.models import Fraction, HarvestConfig, IdenticalGroup, NonNegative, Strict, TaxConfig
from daemon.ledger.types import IdenticalGroups


class Sleeve(Strict):
    name: Annotated[str, Field(min_length=1)]
    weight: Fraction
    members: Annotated[list[str], Field(min_length=1)]

    @field_validator("members")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return [s.strip().upper() for s in v]


class Rebalance(Strict):
    # contributions: new money (and tax refunds) buys the most underweight sleeves, nothing is sold;
    # threshold: also sell back to the targets when a sleeve drifts more than `threshold` from its weight;
    # annual: also sell back to the targets on the first trading day of `month`; none: buy at the targets.
    rule: Literal["contributions", "threshold", "annual", "none"] = "threshold"
    threshold: Fraction = Decimal("0.05")
    month: Annotated[int, Field(ge=1, le=12)] = 1


class Taxes(TaxConfig):
    # outside_gains: harvested losses offset gains realized elsewhere, fully, in the year (each term at its
    # rate); limited: net losses offset up to `ordinary_income_offset` of ordinary income a year at
    # `ordinary_rate`, the rest carries forward (IRS Schedule D).
    losses: Literal["outside_gains", "limited"] = "outside_gains"
    ordinary_rate: Fraction | None = None  # default: short_term_rate + state_rate
    paid_from: Literal["portfolio", "outside"] = "portfolio"
    settle_month: Annotated[int, Field(ge=1, le=12)] = 4  # a year's tax is paid (refund credited) on the
    settle_day: Annotated[int, Field(ge=1, le=28)] = 15  # first trading day on or after this date

    def tax_config(self) -> TaxConfig:
        return TaxConfig(**{k: getattr(self, k) for k in TaxConfig.model_fields})

    @property
    def ordinary(self) -> Decimal:
        return self.ordinary_rate if self.ordinary_rate is not None else self.short_term_rate + self.state_rate


class DirectIndex(Strict):
    """The stocks and the `[accounts.direct_index]` settings the engine runs the account with."""

    universe: list[str] = Field(default_factory=list)  # empty: every stock of securities.csv
    weighting: Literal["equal", "price"] = "equal"  # the basket the index tracks (no market caps in the data)
    new_listings: bool = True  # a stock listing after the start joins the targets (bought with new money)
    correlation_days: Annotated[int, Field(ge=20)] = 252  # trailing daily returns for replacement ranking
    # As in [accounts.direct_index]:
    exclude: list[str] = Field(default_factory=list)  # symbols, or "sector:<GICS sector>"
    tracking_error_budget: Fraction = Decimal("0.01")  # hard limit, annualized, estimated ex ante
    realized_gain_budget_usd: NonNegative = Decimal("0")  # gains swap backs may realize per tax year

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, v: list[str]) -> list[str]:
        return [x.strip() if x.strip().lower().startswith("sector:") else x.strip().upper() for x in v]


class Portfolio(Strict):
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    initial_deposit: Annotated[Decimal, Field(gt=0)]
    monthly_contribution: NonNegative = Decimal("0")
    spread_bps: NonNegative = Decimal("2")
    large_moves: Literal["flag", "exclude"] = "flag"  # exclude: leave such stocks out of a direct index
    substitutes: bool = True  # load the shipped identical groups (config/substitutes.toml)
    identical: list[IdenticalGroup] = Field(default_factory=list)
    rebalance: Rebalance = Field(default_factory=Rebalance)
    taxes: Taxes = Field(default_factory=Taxes)
    harvest: HarvestConfig = Field(default_factory=HarvestConfig)
    sleeves: list[Sleeve] = Field(default_factory=list)
    direct_index: DirectIndex | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Portfolio:
        if bool(self.sleeves) == (self.direct_index is not None):
            raise ValueError("give either [[sleeves]] or a [direct_index] table")
        if self.sleeves:
            total = sum((s.weight for s in self.sleeves), Decimal(0))
            if abs(total - 1) > Decimal("0.0001"):
                raise ValueError(f"sleeve weights must add up to 1, got {total}")
            names = [s.name for s in self.sleeves]
            if len(set(names)) != len(names):
                raise ValueError("sleeve names must be unique")
        return self

    def harvest_config(self) -> HarvestConfig:
        """The engine's settings: its spread estimate is the fill rule's spread."""
        return self.harvest.model_copy(update={"default_spread_bps": self.spread_bps})

    def _group_lists(self) -> list[list[str]]:
        groups = [list(g.symbols) for g in self.identical]
        if self.substitutes and SHIPPED_SUBSTITUTES.exists():
            own = {s for g in groups for s in g}
            shipped, _ = load_substitutes(SHIPPED_SUBSTITUTES)
            groups += [[s for s in g.symbols if s not in own] for g in shipped]
        return [g for g in groups if len(g) >= 2]

    def identical_groups(self) -> IdenticalGroups:
        return IdenticalGroups(tuple(frozenset(g) for g in self._group_lists()))

    def ordered_groups(self) -> dict[str, list[str]]:
        """Symbol -> its identical group in file order (an unlisted member falls back to the first listed)."""
        return {s: g for g in self._group_lists() for s in g}


def load_portfolio(path: Path | str) -> Portfolio:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, [("", "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [("", f"not valid TOML: {exc}")]) from None
    try:
        return Portfolio.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            key = ".".join(str(p) for p in e["loc"])
            msg = str(e["msg"]).removeprefix("Value error, ")
            problems.append((key, "unknown key" if e["type"] == "extra_forbidden" else msg))
        raise ConfigError(path, problems) from None
