"""`tlh import` then `tlh gains --format json` on a fresh SQLite store, end to end (issues 14 and 12).

A seeded trade history (benchmarks/ledger_recompute.py's generator: one household, three taxable accounts
with FIFO, HIFO and LIFO relief and a traditional IRA; buys, sells never above the holding, fractional
dividend reinvestments, fees; losses, wash sales and permanent IRA washes all occur) is written as our trade
CSV, then imported and reported by `tlh` processes.

Goals (2 cores): 10,000 trades over 50 symbols, import + gains <= 1 s together; 100,000 trades, <= 5 s and
<= 300 MB peak (issue 14); 200,000 trades imported in <= 20 s (issue 12, finding 11). Printed for each
command: wall clock, CPU time and peak memory; beside the import, the ratios it is held to: against the time
to read the rows (`csv_trades.read`: parse and validate the file into trades, what any importer must do)
and against the pure ledger's replay of the same trades (the ledger core alone), CPU time to CPU time.

Python runs with its bytecode cache, as an installed tlh does (pip compiles every module at install time),
and as benchmarks/cli_commands.py measures: the cache goes to a temporary PYTHONPYCACHEPREFIX and
PYTHONDONTWRITEBYTECODE is removed from the children's environment (set in the container and on the
development machine, it would make every `tlh` process compile the daemon's modules again: about 0.2 s of
CPU a command). One uncounted warm-up import and gains, of a small file into a throw-away store, writes the
cache first. --no-bytecode measures without it.

Run:  .venv/bin/python benchmarks/import_gains.py [--sizes 10000,100000,200000] [--symbols 50] [--repeat 3]
                                                 [--no-bytecode]
(sizes above 100,000 run once: each takes minutes on a loaded machine)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ledger_recompute as gen  # noqa: E402
from _timing import TLH, best, load_average, run  # noqa: E402

from daemon.importers import csv_trades  # noqa: E402
from daemon.ledger import replay  # noqa: E402

# trades -> (what the seconds are for, seconds, peak MB)
GOALS = {10_000: ("import + gains", 1.0, None), 100_000: ("import + gains", 5.0, 300.0),
         200_000: ("import", 20.0, None)}
LARGE = 100_000  # above this, one run per size

CONFIG = """database_url = "sqlite:///{db}"
{accounts}
{identical}
"""


def config_text(db: Path, symbols: list[str]) -> str:
    types = {"t-fifo": ("taxable", "fifo"), "t-hifo": ("taxable", "hifo"), "t-lifo": ("taxable", "lifo"),
             "ira": ("traditional_ira", "fifo")}
    accounts = "\n".join(f'[[accounts]]\nid = "{a}"\ntype = "{t}"\nhousehold = "{gen.HOUSEHOLD}"\n'
                         f'broker = "paper"\nlot_method = "{m}"\n' for a, (t, m) in types.items())
    pairs = [group for group in gen.IDENTICAL.groups if group <= set(symbols)]
    identical = "\n".join(f'[[identical]]\nsymbols = {sorted(group)!r}\n'.replace("'", '"') for group in pairs)
    return CONFIG.format(db=db, accounts=accounts, identical=identical)


def write_csv(path: Path, trades: list) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "account", "symbol", "side", "quantity", "price", "fees"])
        for t in trades:
            w.writerow([t.date.isoformat(), t.account, t.symbol, t.side.value, t.quantity, t.price, t.fees])


def generate(n: int, symbols: int, seed: int) -> list:
    # The generator's universe, narrowed to the first `symbols` (its identical pairs come first).
    saved = gen.SYMBOLS, gen.N_SYMBOLS
    gen.SYMBOLS, gen.N_SYMBOLS = gen.SYMBOLS[:symbols], symbols
    try:
        return gen.generate(n, seed, 25)
    finally:
        gen.SYMBOLS, gen.N_SYMBOLS = saved


def _cpu_timed(fn):  # noqa: ANN001, ANN202
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def prepare(n: int, symbols: int, seed: int, folder: Path) -> dict[str, float]:
    """Write the trade CSV into `folder` and time the two baselines. Run in a child process: a process's
    peak memory counts its parent's pages until it execs, so the `tlh` processes are started from a parent
    that never held the trades."""
    trades = generate(n, symbols, seed)
    trades_csv = folder / "trades.csv"
    write_csv(trades_csv, trades)
    del trades
    rows, read_s, read_cpu = _cpu_timed(lambda: csv_trades.read(trades_csv, set(gen.ACCOUNTS)))
    events = [r.trade for r in rows]
    del rows
    state, ledger_s, ledger_cpu = _cpu_timed(partial(replay, gen.HOUSEHOLD, events, gen.ACCOUNTS, gen.IDENTICAL))
    return {"read_s": read_s, "read_cpu": read_cpu, "ledger_s": ledger_s, "ledger_cpu": ledger_cpu,
            "dispositions": len(state.dispositions), "lots": len(state.lots),
            "washed": sum(1 for d in state.dispositions if d.washed_quantity > 0)}


def warm_up(env: dict[str, str], symbols: int, seed: int) -> None:
    """One import and gains of a small file into a throw-away store: writes the bytecode cache (and anything
    else a first run writes) before anything is timed."""
    with tempfile.TemporaryDirectory(prefix="tlh-warm-") as tmp:
        folder = Path(tmp)
        trades_csv = folder / "trades.csv"
        write_csv(trades_csv, generate(200, symbols, seed))
        cfg = folder / "tlh.toml"
        cfg.write_text(config_text(folder / "tlh.db", gen.SYMBOLS[:symbols]))
        run([TLH, "--config", str(cfg), "db", "upgrade"], env)
        run([TLH, "--config", str(cfg), "--log-level", "warning", "import", str(trades_csv)], env)
        run([TLH, "--config", str(cfg), "gains", "--format", "json"], env)


def bench(n: int, symbols: int, repeat: int, seed: int, env: dict[str, str]) -> None:
    repeat = repeat if n <= LARGE else 1
    with tempfile.TemporaryDirectory(prefix="tlh-import-") as tmp:
        folder = Path(tmp)
        trades_csv = folder / "trades.csv"
        child = subprocess.run([sys.executable, __file__, "--prepare", str(n), "--folder", str(folder),
                                "--symbols", str(symbols), "--seed", str(seed)],
                               check=True, capture_output=True, text=True, env=env)
        base = json.loads(child.stdout)
        read_s, read_cpu, ledger_s, ledger_cpu = (base[k] for k in ("read_s", "read_cpu", "ledger_s", "ledger_cpu"))
        counts = (base["dispositions"], base["washed"], base["lots"])
        imports, gains = [], []
        for i in range(repeat):  # a fresh store each time: the first import of the file is what is timed
            db = folder / f"tlh{i}.db"
            cfg = folder / f"tlh{i}.toml"
            cfg.write_text(config_text(db, gen.SYMBOLS[:symbols]))
            run([TLH, "--config", str(cfg), "db", "upgrade"], env)
            imports.append(run([TLH, "--config", str(cfg), "--log-level", "warning", "import", str(trades_csv)],
                               env))
            gains.append(best([TLH, "--config", str(cfg), "gains", "--format", "json"], 1, env))
            for f in folder.glob(f"tlh{i}.db*"):
                f.unlink()
        imp = min(imports, key=lambda r: r.wall)
        gai = min(gains, key=lambda r: r.wall)
    what, goal_s, goal_mb = GOALS.get(n, (None, None, None))
    total = imp.wall + gai.wall
    print(f"{n:,} trades, {symbols} symbols: {counts[0]:,} dispositions, {counts[1]:,} washed, {counts[2]:,} lots "
          f"(best of {repeat})")
    print(f"  read the rows (csv_trades.read)   {read_s:6.3f} s  (cpu {read_cpu:5.2f} s)")
    print(f"  ledger core (replay)              {ledger_s:6.3f} s  (cpu {ledger_cpu:5.2f} s)")
    print(f"  tlh import                        {imp}  cpu {imp.cpu / read_cpu:.1f}x reading the rows, "
          f"{imp.cpu / ledger_cpu:.2f}x the ledger core")
    print(f"  tlh gains --format json           {gai}")
    peak = max(imp.rss_mb, gai.rss_mb)
    print(f"  import + gains                    {total:6.3f} s  (cpu {imp.cpu + gai.cpu:5.2f} s, peak {peak:5.0f} MB)")
    if goal_s is not None:
        seconds, cpu = (total, imp.cpu + gai.cpu) if what == "import + gains" else (imp.wall, imp.cpu)
        line = f"  goal: {what} <= {goal_s:g} s: {'met' if seconds <= goal_s else 'NOT met'} by the wall clock, " \
               f"{'met' if cpu <= goal_s else 'NOT met'} by CPU time"
        if goal_mb is not None:
            line += f"; peak <= {goal_mb:.0f} MB: {'met' if peak <= goal_mb else 'NOT met'}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,200000")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240315)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="no bytecode cache: every run compiles the modules whose .pyc is missing")
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)  # the child process of `bench`
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.prepare, args.symbols, args.seed, args.folder)))
        return 0
    how = "without bytecode cache" if args.no_bytecode else "with bytecode cache"
    print(f"tlh import + gains ({load_average()}; best of {args.repeat} fresh stores up to {LARGE:,} trades; "
          f"{how})")
    with tempfile.TemporaryDirectory(prefix="tlh-pycache-") as pycache:
        env = {**os.environ}
        env.pop("TLH_CONFIG", None)
        if not args.no_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
        warm_up(env, args.symbols, args.seed)
        for n in (int(s) for s in args.sizes.split(",")):
            bench(n, args.symbols, args.repeat, args.seed, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
