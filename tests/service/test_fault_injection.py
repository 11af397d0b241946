"""Kill the daemon for real (SIGKILL) at each step of a pair, restart it, and check that the broker got
every order exactly once and the ledger agrees with the broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from daemon.store.db import make_engine, transaction
from daemon.store.migrate import upgrade
from daemon.store.models import OrderIntent, PaperOrder
from tests.service.helpers import household, seed

TLH = str(Path(sys.executable).parent / "tlh")


def _tlh(cfg: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TLH_FAULT"}
    if fault:
        env["TLH_FAULT"] = fault
    return subprocess.run([TLH, "--config", str(cfg), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["after_intents", "after_sell_submit", "after_sell_fill", "after_buy_submit"])
def test_killed_at_any_point_then_restarted_sends_each_order_once(tmp_path: Path, point: str) -> None:
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(db_url)
    settings, _, cfg = household(tmp_path, db_url)
    engine = make_engine(db_url)
    seed(engine, settings)

    crashed = _tlh(cfg, "harvest", "--as-of", "2024-05-29", fault=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    restarted = _tlh(cfg, "harvest", "--as-of", "2024-05-29", "--format", "json")
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    with transaction(engine) as session:
        orders = session.scalars(sa.select(PaperOrder)).all()
        intents = session.scalars(sa.select(OrderIntent)).all()
    # One sell of VTI and one buy of SCHB, each received once, both from the first run's pair p1.
    assert sorted((o.side, o.symbol) for o in orders) == [("buy", "SCHB"), ("sell", "VTI")]
    first_run = {i.run_id for i in intents if i.client_order_id == orders[0].client_order_id}
    assert {o.client_order_id.rsplit("-", 2)[0] for o in orders} == {f"tlh-{r}" for r in first_run}
    assert {i.status for i in intents if i.run_id in first_run} == {"filled"}
    assert all(o.status == "filled" for o in orders)

    synced = _tlh(cfg, "sync", "--format", "json")
    assert synced.returncode == 0, synced.stdout + synced.stderr[-2000:]  # exit 0 only when in sync
    lots = _tlh(cfg, "lots", "--format", "json")
    assert '"symbol": "SCHB"' in lots.stdout and '"symbol": "VTI"' not in lots.stdout
    engine.dispose()
