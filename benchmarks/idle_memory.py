"""Resident memory of the idle daemon (goal: under 150 MB).

Starts `tlh run` on a demo-like configuration (the sample household of config/demo.toml, built-in paper
broker, paper mode, SQLite in a temporary folder), waits until it is idle (its log shows `next_harvest`),
reads VmRSS (and the peak, VmHWM) from /proc/<pid>/status, then stops it with SIGTERM and reports how long
the clean exit took.

Run:  .venv/bin/python benchmarks/idle_memory.py [--settle SECONDS] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TLH = Path(sys.executable).parent / "tlh"
GOAL_MB = 150

CONFIG = """
database_url = "sqlite:///tlh.db"
mode = "paper"

[[accounts]]
id = "demo-taxable"
type = "taxable"
household = "demo"
broker = "paper"
lot_method = "fifo"

[[accounts]]
id = "demo-ira"
type = "traditional_ira"
household = "demo"
broker = "paper"
lot_method = "fifo"

[brokers.paper]
prices = {prices}
"""


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def wait_idle(log: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"tlh run exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        for line in log.read_text().splitlines():
            if "next_harvest" in line:
                return json.loads(line)
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"tlh run did not become idle within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after start-up (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tlh-idle-"))
    cfg = work / "tlh.toml"
    cfg.write_text(CONFIG.format(prices=json.dumps(str(ROOT / "config/demo/prices.csv"))))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TLH_", "ALPACA_"))}
    subprocess.run([str(TLH), "--config", str(cfg), "import", str(ROOT / "config/demo/trades.csv")], env=env,
                   check=True, capture_output=True)

    log = work / "daemon.log"
    started = time.monotonic()
    with log.open("w") as err:
        proc = subprocess.Popen([str(TLH), "--config", str(cfg), "--log-json", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            nxt = wait_idle(log, proc)
            ready = time.monotonic() - started
            time.sleep(args.settle)
            rss, peak = status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM")
        finally:
            proc.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            code = proc.wait(timeout=30)
            stop_s = time.monotonic() - stopping

    print(f"idle after        {ready:.1f} s  (next_harvest={nxt['next_harvest']}, next_sync={nxt['next_sync']})")
    print(f"idle RSS          {rss / 1024:.1f} MB  (goal < {GOAL_MB} MB: {'ok' if rss / 1024 < GOAL_MB else 'OVER'})")
    print(f"peak RSS (VmHWM)  {peak / 1024:.1f} MB")
    print(f"SIGTERM → exit    {code} in {stop_s:.2f} s")
    if args.keep:
        print(f"kept {work}")
    else:
        for p in sorted(work.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        work.rmdir()
    if code != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
