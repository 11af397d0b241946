"""Shared by the command benchmarks: run a process, its wall time, CPU time and peak memory (best of N)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TLH = str(Path(sys.executable).parent / "tlh")
SHARED_PRICES = ROOT.parent / "shared" / "data" / "prices" / "close.csv.gz"


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process
    rss_mb: float  # peak resident memory

    def __str__(self) -> str:
        return f"{self.wall:6.3f} s  (cpu {self.cpu:5.2f} s, peak {self.rss_mb:5.0f} MB)"


def run(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def best(args: list[str], repeat: int, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """The fastest of `repeat` runs (the least disturbed by the other work on a shared machine)."""
    return min((run(args, env, cwd) for _ in range(repeat)), key=lambda r: r.wall)


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    except OSError:
        return "load average unknown"


def verdict(seconds: float, goal: float) -> str:
    return f"goal <= {goal:g} s: " + ("met" if seconds <= goal else "NOT met")
