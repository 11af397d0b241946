"""The dashboard: overview latency on a large household, and the memory it adds to the idle daemon.

1. Overview latency (goal ≤ 200 ms): a household of 500 stocks in one taxable account (three lots each, bought
   at the start of the year), a year of daily paper harvest runs (every trading day of 2025 sells two lots at a
   loss and buys two other stocks; each run's plan also lists 40 skipped candidates with reasons), each sale
   recorded as the daemon's filled order intents, the whole history booked by `tlh import` (the real ledger).
   `tlh serve` runs on it; GET / is timed over HTTP: the first request (cold: the report is computed), then
   median and 95th percentile of the next ones (the figures are reused until the store changes).
2. Memory (goal ≤ 40 MB): resident memory of the idle daemon, `tlh run` against `tlh run --serve`, on the demo
   household (as benchmarks/idle_memory.py), and of `tlh run --serve` again after 20 overview requests.

Run:  .venv/bin/python benchmarks/dashboard.py [--requests 30] [--skip-memory] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TLH = Path(sys.executable).parent / "tlh"
LATENCY_GOAL_MS = 200
MEMORY_GOAL_MB = 40
SYMBOLS = 500
SKIPS_PER_RUN = 40

CONFIG = """
database_url = "sqlite:///tlh.db"
mode = "paper"
substitutes = ""
[[accounts]]
id = "taxable"
household = "big"
[harvest]
circuit_breaker = false
[brokers.paper]
prices = "prices.csv"
"""


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TLH_", "ALPACA_"))}


def trading_days(year: int) -> list[date]:
    day, out = date(year, 1, 2), []
    while day.year == year:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def build_household(work: Path, seed: int = 20250101) -> dict[str, int]:
    rng = random.Random(seed)
    days = trading_days(2025)
    symbols = [f"S{i:03d}" for i in range(SYMBOLS)]
    # Prices: a random walk per stock, drifting down a little so that losses exist all year.
    price = {s: 50 + rng.random() * 150 for s in symbols}
    closes: dict[date, dict[str, float]] = {}
    for d in days:
        for s in symbols:
            price[s] *= 1 + rng.gauss(-0.0004, 0.02)
        closes[d] = {s: round(price[s], 2) for s in symbols}
    with (work / "prices.csv").open("w") as fh:
        fh.write("date," + ",".join(symbols) + "\n")
        for d in days:
            fh.write(d.isoformat() + "," + ",".join(str(closes[d][s]) for s in symbols) + "\n")
    trades = ["date,account,symbol,side,quantity,price,fees,lot_id"]
    lots: dict[str, list[tuple[str, int]]] = {s: [] for s in symbols}
    for s in symbols:
        for k, d in enumerate(days[:3]):
            lot_id = f"{s}-{k}"
            trades.append(f"{d},taxable,{s},buy,10,{closes[d][s]},,{lot_id}")
            lots[s].append((lot_id, 10))
    harvests: list[tuple[date, list[tuple[str, str, int, float, float]]]] = []
    for d in days[30:]:
        pairs = []
        for _ in range(2):
            sell = rng.choice([s for s in symbols if lots[s]])
            lot_id, qty = lots[sell].pop(0)
            buy = rng.choice(symbols)
            px = closes[d][sell]
            trades.append(f"{d},taxable,{sell},sell,{qty},{px},,{lot_id}")
            new_lot = f"{buy}-{d}-{len(pairs)}"
            trades.append(f"{d},taxable,{buy},buy,{qty},{closes[d][buy]},,{new_lot}")
            lots[buy].append((new_lot, qty))
            pairs.append((sell, buy, qty, px, closes[d][buy]))
        harvests.append((d, pairs))
    (work / "trades.csv").write_text("\n".join(trades) + "\n")
    (work / "tlh.toml").write_text(CONFIG)
    subprocess.run([str(TLH), "--config", str(work / "tlh.toml"), "import", str(work / "trades.csv")], env=env(),
                   check=True, capture_output=True)
    _record_runs(work, harvests, rng)
    return {"trades": len(trades) - 1, "runs": len(harvests)}


def _record_runs(work: Path, harvests: list[tuple[date, list[tuple[str, str, int, float, float]]]],
                 rng: random.Random) -> None:
    """The daemon's side of the year: a run per day with its plan, and its filled order intents; the sells
    become the broker's fills (trade source `paper`) so that the report counts them as harvests."""
    import sqlalchemy as sa

    from daemon.store.db import make_engine, transaction
    from daemon.store.models import HarvestRun, OrderIntent, TradeRow

    engine = make_engine(f"sqlite:///{work / 'tlh.db'}")
    reasons = ["below_loss_threshold", "wash_sale_lookback", "below_benefit_threshold", "lot_relief_gain"]
    with transaction(engine) as session:
        session.execute(sa.update(TradeRow).where(TradeRow.side == "sell").values(source="paper"))
        for d, pairs in harvests:
            run_id = f"r{d:%Y%m%d}-bench"
            at = datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=20, minutes=45)
            plan_pairs = [{"pair_id": f"p{i + 1}", "kind": "harvest", "household": "big", "account": "taxable",
                           "sell_symbol": sell, "sell_quantity": str(qty), "lots": [f"{sell}-lot"],
                           "estimated_loss": f"{rng.uniform(200, 900):.2f}", "estimated_benefit": "100.00",
                           "estimated_cost": "1.00", "buy_symbol": buy, "buy_notional": f"{qty * bpx:.2f}"}
                          for i, (sell, buy, qty, _px, bpx) in enumerate(pairs)]
            skipped = [{"household": "big", "account": "taxable", "symbol": f"S{rng.randrange(SYMBOLS):03d}",
                        "reason": rng.choice(reasons), "detail": "a loss of $12.34 (0.8 %) is below min_loss_pct 5 %"}
                       for _ in range(SKIPS_PER_RUN)]
            session.add(HarvestRun(id=run_id, household_id=None, as_of=d, mode="paper", status="executed",
                                   started_at=at, finished_at=at + timedelta(seconds=20),
                                   plan={"run_id": run_id, "as_of": d.isoformat(), "mode": "paper", "paused": None,
                                         "pairs": plan_pairs, "skipped": skipped, "restrictions": [],
                                         "alerts": []}))
            session.flush()
            for i, (sell, buy, qty, px, bpx) in enumerate(pairs):
                for leg, symbol, side, fill in (("sell", sell, "sell", px), ("buy", buy, "buy", bpx)):
                    session.add(OrderIntent(client_order_id=f"{run_id}-p{i + 1}-{leg}", run_id=run_id,
                                            pair_id=f"p{i + 1}", leg=leg, account_id="taxable", symbol=symbol,
                                            side=side, quantity=Decimal(qty), notional=None, lots=None,
                                            status="filled", broker_order_id=f"b-{run_id}-{i}-{leg}",
                                            filled_quantity=Decimal(qty), filled_avg_price=Decimal(str(fill)),
                                            error=None, created_at=at, updated_at=at))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer within {timeout:.0f} s")


def get(url: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return (time.perf_counter() - t0) * 1000, body


def latency(work: Path, requests: int) -> None:
    port = free_port()
    with (work / "serve.log").open("w") as log:
        proc = subprocess.Popen([str(TLH), "--config", str(work / "tlh.toml"), "serve", "--port", str(port)],
                                env=env(), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz", proc)
        first = get(base + "/")[0]  # the figures are computed now (or by the warm-up thread that started with it)
        get(base + "/")
        times = sorted(get(base + "/")[0] for _ in range(requests))
        report = json.loads(get(base + "/api/report")[1])
        other = {p: get(base + p)[0] for p in ("/runs", "/orders", "/lots", "/gains?year=2025", "/alerts")}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    median, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    (h,) = report["households"]
    print(f"household: {SYMBOLS} stocks, harvested {report['year']}: ${h['harvested']} in {h['harvest_sales']} "
          f"sale(s), tax saved ${h['tax_saved']}")
    print(f"first GET /       {first:.0f} ms (cold: the report computed from the store)")
    print(f"GET /             median {median:.0f} ms, p95 {p95:.0f} ms, min {times[0]:.0f} ms over {requests} "
          f"(goal ≤ {LATENCY_GOAL_MS} ms: {'ok' if median <= LATENCY_GOAL_MS else 'OVER'})")
    print("other pages       " + ", ".join(f"{p} {ms:.0f} ms" for p, ms in other.items()))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")


def idle_daemon(work: Path, serve: bool, settle: float) -> tuple[float, float | None]:
    """RSS of the idle `tlh run` (with --serve: also after 20 overview requests)."""
    from benchmarks.idle_memory import CONFIG as DEMO_CONFIG
    from benchmarks.idle_memory import wait_idle

    folder = work / ("serve" if serve else "plain")
    folder.mkdir()
    cfg = folder / "tlh.toml"
    cfg.write_text(DEMO_CONFIG.format(prices=json.dumps(str(ROOT / "config/demo/prices.csv"))))
    subprocess.run([str(TLH), "--config", str(cfg), "import", str(ROOT / "config/demo/trades.csv")], env=env(),
                   check=True, capture_output=True)
    port = free_port()
    args = [str(TLH), "--config", str(cfg), "--log-json", "run"] + (["--serve", "--port", str(port)] if serve else [])
    log = folder / "daemon.log"
    with log.open("w") as err:
        proc = subprocess.Popen(args, env=env(), stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_idle(log, proc)
        time.sleep(settle)
        idle = rss_mb(proc.pid)
        after = None
        if serve:
            for _ in range(20):
                get(f"http://127.0.0.1:{port}/")
            time.sleep(1)
            after = rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return idle, after


def memory(work: Path, settle: float) -> None:
    plain, _ = idle_daemon(work, False, settle)
    served, after = idle_daemon(work, True, settle)
    assert after is not None
    added, added_after = served - plain, after - plain
    verdict = "ok" if max(added, added_after) <= MEMORY_GOAL_MB else "OVER"
    print(f"idle RSS          tlh run {plain:.1f} MB; tlh run --serve {served:.1f} MB (+{added:.1f} MB), "
          f"after 20 overview requests {after:.1f} MB (+{added_after:.1f} MB) (goal ≤ {MEMORY_GOAL_MB} MB: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="timed overview requests (default 30)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before reading memory (default 3)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tlh-dashboard-"))
    try:
        t0 = time.monotonic()
        built = build_household(work)
        print(f"store             {built['trades']:,} trades, {built['runs']} runs, built in "
              f"{time.monotonic() - t0:.0f} s")
        latency(work, args.requests)
        if not args.skip_memory:
            memory(work, args.settle)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
