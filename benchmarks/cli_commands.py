"""What a person waits for: `tlh` commands end to end, each a fresh process (issue 14, rows 1-3).

1. Start-up: `tlh --help` against a bare `python -c pass`. Goal <= 0.3 s.
2. Read commands on the demo household (config/demo.toml: SQLite, 14 trades, the demo's price file).
   Goal <= 0.6 s each.
3. `lots`, `harvest --dry-run` and `report` on the same household with the 538-symbol, 26-year price file
   (shared/data/prices/close.csv.gz; skipped when absent). Goal <= 1.5 s each. The first command after the
   file changes parses it and writes its index (daemon/price_index.py); that one-off is printed apart.

Everything runs in a temporary folder (database, a copy of the demo prices, and XDG_CACHE_HOME, where the
read-only shared file's index and the exchange sessions go), so the first load is always cold. Figures are
the best of --repeat runs after one warm-up run (wall clock; the CPU time and peak memory of that run beside
it): the machine is shared, and the best run is the one least disturbed. The load average is printed for
context.

Python runs with its bytecode cache, as an installed tlh does (pip compiles every module at install time):
the cache goes to a temporary PYTHONPYCACHEPREFIX, so a PYTHONDONTWRITEBYTECODE=1 in the environment (an
editable install in a container) does not make every run compile the daemon's modules again (about 0.2 s of
CPU a command). --no-bytecode measures that case instead.

Run:  .venv/bin/python benchmarks/cli_commands.py [--repeat 5] [--prices FILE] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import ROOT, SHARED_PRICES, TLH, Run, best, load_average, run, verdict  # noqa: E402

STARTUP_GOAL, READ_GOAL, BIG_GOAL = 0.3, 0.6, 1.5
READ_COMMANDS = [["lots"], ["gains"], ["orders"], ["runs"], ["alerts"], ["restrictions"], ["status"]]
BIG_COMMANDS = [["lots"], ["harvest", "--dry-run"], ["report"]]


def config(folder: Path, prices: Path) -> Path:
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace("sqlite:///../var/demo.db", f"sqlite:///{folder / 'tlh.db'}")
    text = text.replace('prices = "demo/prices.csv"', f"prices = {str(prices)!r}")
    path = folder / f"tlh-{prices.stem.split('.')[0]}.toml"
    path.write_text(text)
    return path


def has_command(name: str, env: dict[str, str]) -> bool:
    return subprocess.run([TLH, name, "--help"], env=env, capture_output=True).returncode == 0


def warm_best(args: list[str], repeat: int, env: dict[str, str]) -> Run:
    """`best` after one run that is not counted (it writes the bytecode and the caches a later run reads)."""
    run(args, env)
    return best(args, repeat, env)


def line(label: str, r: Run, extra: str = "") -> None:
    print(f"  {label:<28} {r}  {extra}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prices", type=Path, default=SHARED_PRICES, help="the large price file")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="no bytecode cache: every run compiles the modules whose .pyc is missing")
    args = parser.parse_args()
    how = "without bytecode cache" if args.no_bytecode else "with bytecode cache"
    print(f"tlh command benchmarks ({load_average()}; best of {args.repeat} after a warm-up run; {how})")
    with tempfile.TemporaryDirectory(prefix="tlh-bench-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
        env.pop("TLH_CONFIG", None)
        if not args.no_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")

        print("1. start-up")
        bare = warm_best([sys.executable, "-c", "pass"], args.repeat, env)
        line("python -c pass", bare)
        helped = warm_best([TLH, "--help"], args.repeat, env)
        line("tlh --help", helped,
             f"{helped.wall / bare.wall:.1f}x python -c pass; {verdict(helped.wall, STARTUP_GOAL)}")

        print("2. read commands, demo household")
        shutil.copy(ROOT / "config" / "demo" / "prices.csv", folder / "prices.csv")
        demo = config(folder, folder / "prices.csv")
        run([TLH, "--config", str(demo), "import", str(ROOT / "config" / "demo" / "trades.csv")], env)
        run([TLH, "--config", str(demo), "harvest", "--dry-run"], env)  # a run, its plan and alerts to list
        worst = 0.0
        for command in READ_COMMANDS:
            if not has_command(command[0], env):
                print(f"  {' '.join(command):<28} (no such command here)")
                continue
            r = warm_best([TLH, "--config", str(demo), *command], args.repeat, env)
            worst = max(worst, r.wall)
            line(" ".join(command), r, verdict(r.wall, READ_GOAL))
        print(f"  slowest {worst:.3f} s: {verdict(worst, READ_GOAL)}")

        print(f"3. the {args.prices.name} price file")
        if not args.prices.exists():
            print(f"  skipped: {args.prices} not found (the shared data folder is absent)")
            return 0
        big = config(folder, args.prices)
        cold = run([TLH, "--config", str(big), "lots"], env)
        line("lots, first (builds index)", cold, "one-off per price file version")
        worst = 0.0
        for command in BIG_COMMANDS:
            r = warm_best([TLH, "--config", str(big), *command], args.repeat, env)
            worst = max(worst, r.wall)
            line(" ".join(command), r, verdict(r.wall, BIG_GOAL))
        print(f"  slowest {worst:.3f} s: {verdict(worst, BIG_GOAL)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
