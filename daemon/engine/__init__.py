"""The harvest engine: pure functions from lots, prices and settings to an explained harvest plan.

`plan(EngineInput) -> HarvestPlan` decides which lots to sell at a loss and what to buy instead, without
creating a wash sale anywhere in the household and without leaving cash idle. `check_substitutes` rates
the configured asset classes (`tlh substitutes check`). Nothing here reads the clock, a database, a broker
or a file.
"""

from daemon.engine.plan import plan
from daemon.engine.substitutes import PairCheck, check_substitutes
from daemon.engine.types import (
    AccountInput,
    Alert,
    Capabilities,
    EngineInput,
    HarvestPlan,
    HouseholdInput,
    LotSale,
    MarketData,
    Pair,
    PairKind,
    Restriction,
    Severity,
    Skip,
    SkipReason,
)

__all__ = [
    "AccountInput", "Alert", "Capabilities", "EngineInput", "HarvestPlan", "HouseholdInput", "LotSale",
    "MarketData", "Pair", "PairCheck", "PairKind", "Restriction", "Severity", "Skip", "SkipReason",
    "check_substitutes", "plan",
]
