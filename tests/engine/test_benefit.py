"""Tax value against trading cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.config.models import TaxConfig
from daemon.engine import SkipReason
from daemon.engine.benefit import Rates
from tests.engine.helpers import D, harvest, ledger, quotes, run, skip_of, t


def test_rates_add_niit_and_state_to_each_term() -> None:
    rates = Rates.of(TaxConfig(short_term_rate=D("0.32"), long_term_rate=D("0.15"), niit_rate=D("0.038"),
                               state_rate=D("0.05")))
    assert (rates.short, rates.long) == (D("0.408"), D("0.238"))
    assert rates.value(D(100), D(200)) == D("40.8") + D("47.6")
    assert rates.value(D(100), D(-50)) == D("40.8") - D("11.9")  # a net long-term gain counts against


@pytest.mark.parametrize(("commission", "harvested"), [("0", True), ("40", False)])
def test_a_harvest_must_beat_its_cost_by_min_net_benefit(commission: str, harvested: bool) -> None:
    # 250 of short-term loss at 40 % = 100 of benefit; cost = spreads + 2 commissions; threshold 25.
    state = ledger(t(100, "tax", "buy", 10, "VTI", 125))
    p = run(state, quotes(VTI=100, ITOT=50), config=harvest(commission_usd=Decimal(commission),
                                                            min_loss_usd=Decimal(0)))
    assert bool(p.pairs) is harvested
    if harvested:
        (pair,) = p.pairs
        assert pair.estimated_benefit == 100
        assert pair.estimated_cost == D("0.25") + pair.buy_notional * D("0.00025")
    else:
        skip = skip_of(p, "tax", "VTI")
        assert skip.reason is SkipReason.BELOW_BENEFIT_THRESHOLD
        assert "min_net_benefit_usd $25" in skip.detail


def test_a_long_term_loss_is_worth_less_than_a_short_term_one() -> None:
    state = ledger(t(500, "tax", "buy", 10, "VTI", 125), t(100, "spouse", "buy", 10, "VTI", 125))
    p = run(state, quotes(VTI=100, ITOT=50))
    by_account = {x.account: x for x in p.pairs}
    assert by_account["tax"].estimated_benefit == 50 and by_account["spouse"].estimated_benefit == 100
    assert [x.account for x in p.pairs] == ["spouse", "tax"]  # best net benefit first
