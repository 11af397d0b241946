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

The floor: after the timed imports, the rows the import stored in trades, lots, dispositions and
wash_matches are read back as plain tuples and inserted with executemany into a fresh file with the same
tables and indexes (from sqlite_master) and the store's connection settings (`daemon.store.sqlite.connect`),
in one transaction (inserts and commit timed apart; in a child process). Reading the rows, the ledger core
and SQLite alone inserting what the import stores add up to what no import keeping one row per lot,
disposition and wash match can beat, before start-up, value conversion and `gains`: set beside the goal, it
says whether the goal is reachable by faster code or only by storing less.

A day onto the history: the same trades split before their last whole days (at least 250 trades), the
history imported into a store first (not timed), then `tlh import` of those days timed on copies of it:
what a daily import onto a long history costs. It books on the part of the stored ledger a new day can
change (`ledger_repo.load_part`), so it grows with the open lots, not with the history. Then `lots`,
`status`, `gains --summary` and `gains --format json` on that store (its whole history).

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
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ledger_recompute as gen  # noqa: E402
from _timing import TLH, Run, best, load_average, run  # noqa: E402

from daemon.importers import csv_trades  # noqa: E402
from daemon.ledger import replay  # noqa: E402
from daemon.store import sqlite as sqlite_store  # noqa: E402

# trades -> (what the seconds are for, seconds, peak MB)
GOALS = {10_000: ("import + gains", 1.0, None), 100_000: ("import + gains", 5.0, 300.0),
         200_000: ("import", 20.0, None)}
LARGE = 100_000  # above this, one run per size
DAY_TRADES = 250  # the least trades of "a day onto the history" (whole days from the end)
STORED = ("trades", "lots", "dispositions", "wash_matches")  # what an import writes, row by row

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
    # The same trades as a history and the last days after it (at least DAY_TRADES trades, whole days):
    # what a daily import onto a long history books.
    last = sorted({t.date for t in trades}, reverse=True)
    cut = next((d for d in last if sum(1 for t in trades if t.date >= d) >= DAY_TRADES), last[-1])
    write_csv(folder / "history.csv", [t for t in trades if t.date < cut])
    write_csv(folder / "day.csv", [t for t in trades if t.date >= cut])
    del trades
    rows, read_s, read_cpu = _cpu_timed(lambda: csv_trades.read(trades_csv, set(gen.ACCOUNTS)))
    events = [r.trade for r in rows]
    del rows
    state, ledger_s, ledger_cpu = _cpu_timed(partial(replay, gen.HOUSEHOLD, events, gen.ACCOUNTS, gen.IDENTICAL))
    return {"read_s": read_s, "read_cpu": read_cpu, "ledger_s": ledger_s, "ledger_cpu": ledger_cpu,
            "dispositions": len(state.dispositions), "lots": len(state.lots),
            "washed": sum(1 for d in state.dispositions if d.washed_quantity > 0)}


def _parents(db: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """The tables `tables` reference by foreign key, transitively (the fresh file needs them and their
    rows: the store checks its foreign keys on every insert)."""
    found: list[str] = []
    todo = list(tables)
    while todo:
        for ref in db.execute("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", (todo.pop(),)):
            if ref[0] not in found and ref[0] not in tables:
                found.append(ref[0])
                todo.append(ref[0])
    return found


def _rows(db: sqlite3.Connection, table: str) -> tuple[str, list[tuple]]:
    """The INSERT of `table` and its rows as tuples, in the order they were inserted. A column NULL in every
    row (and without a default) is left out, as the store's bulk insert leaves it out."""
    info = db.execute('SELECT name, "notnull", dflt_value FROM pragma_table_info(?)', (table,)).fetchall()
    rows = db.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    kept = [i for i, (name, _, default) in enumerate(info)
            if default is not None or not rows or any(row[i] is not None for row in rows)]
    if len(kept) < len(info):
        rows = [tuple(row[i] for i in kept) for row in rows]
    names = ", ".join(f'"{info[i][0]}"' for i in kept)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(kept))})', rows


def sqlite_alone(store: Path, folder: Path) -> dict[str, float]:
    """SQLite alone inserting the rows the import stored: read them back from `store` as plain tuples, then
    time their executemany into a fresh file with the same tables, indexes and connection settings, in one
    transaction, and its commit. Run in a child process (after the timed commands: its memory is its own)."""
    source = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    parents = _parents(source, STORED)
    schema = source.execute(
        f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({', '.join('?' * (len(parents) + len(STORED)))}) "
        "AND sql IS NOT NULL ORDER BY type = 'index'", (*parents, *STORED)).fetchall()
    given = [_rows(source, t) for t in parents]
    stored = [_rows(source, t) for t in STORED]
    source.close()
    target = sqlite_store.connect(folder / "alone.db")
    for (statement,) in schema:
        target.execute(statement)
    target.execute("PRAGMA foreign_keys = OFF")  # in any order: they were checked when stored
    target.execute("BEGIN")
    for insert, rows in given:  # a household and its accounts: a few rows, not timed
        target.executemany(insert, rows)
    target.execute("COMMIT")
    target.execute("PRAGMA foreign_keys = ON")
    target.execute("BEGIN IMMEDIATE")  # as the import's write transaction
    (_, insert_s, insert_cpu) = _cpu_timed(lambda: [target.executemany(insert, rows) for insert, rows in stored])
    (_, commit_s, commit_cpu) = _cpu_timed(lambda: target.execute("COMMIT"))
    target.close()
    for f in folder.glob("alone.db*"):
        f.unlink()
    return {"rows": sum(len(rows) for _, rows in stored), "insert_s": insert_s, "insert_cpu": insert_cpu,
            "commit_s": commit_s, "commit_cpu": commit_cpu}


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


def onto_history(folder: Path, symbols: int, repeat: int,
                 env: dict[str, str]) -> tuple[Run, int, int, dict[str, Run]]:
    """`tlh import` of the last days' trades (day.csv) onto a store holding every earlier one (history.csv,
    imported first, not timed): the best of `repeat`, each on a copy of the same store. Also returns the
    trade counts of the two files, and the read commands' times on the store then."""
    db, base = folder / "onto.db", folder / "onto-history.db"
    cfg = folder / "onto.toml"
    cfg.write_text(config_text(db, gen.SYMBOLS[:symbols]))
    run([TLH, "--config", str(cfg), "db", "upgrade"], env)
    run([TLH, "--config", str(cfg), "--log-level", "warning", "import", str(folder / "history.csv")], env)
    shutil.copyfile(db, base)  # the last connection closed: the WAL is checkpointed into the file
    runs = []
    for _ in range(repeat):
        for f in folder.glob("onto.db*"):
            f.unlink()
        shutil.copyfile(base, db)
        runs.append(run([TLH, "--config", str(cfg), "--log-level", "warning", "import", str(folder / "day.csv")],
                        env))
    counts = [sum(1 for _ in (folder / name).open()) - 1 for name in ("day.csv", "history.csv")]
    # What a person then asks of that store (its whole history): each command's best of `repeat`.
    commands = {" ".join(c): best([TLH, "--config", str(cfg), *c], repeat, env)
                for c in (("lots",), ("status",), ("gains", "--summary"), ("gains", "--format", "json"))}
    return min(runs, key=lambda r: r.wall), counts[0], counts[1], commands


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
            if i < repeat - 1:  # the last store is kept for the floor
                for f in folder.glob(f"tlh{i}.db*"):
                    f.unlink()
        child = subprocess.run([sys.executable, __file__, "--sqlite-alone", str(db), "--folder", str(folder)],
                               check=True, stdout=subprocess.PIPE, text=True, env=env)
        alone = json.loads(child.stdout)
        for f in folder.glob(f"tlh{repeat - 1}.db*"):
            f.unlink()
        day, day_trades, history_trades, commands = onto_history(folder, symbols, repeat, env)
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
    print(f"  SQLite alone, the import's {alone['rows']:,} rows from ready tuples   {alone['insert_s']:.2f} s "
          f"+ commit {alone['commit_s']:.2f} s  (cpu {alone['insert_cpu']:.2f} + {alone['commit_cpu']:.2f} s)")
    floor = read_s + ledger_s + alone["insert_s"] + alone["commit_s"]
    floor_cpu = read_cpu + ledger_cpu + alone["insert_cpu"] + alone["commit_cpu"]
    goal = "" if goal_s is None else f"goal {goal_s:g} s; " if what == "import + gains" else \
        f"goal: {what} {goal_s:g} s; "
    print(f"  floor: read the rows + ledger core + SQLite alone = {floor:.1f} s (cpu {floor_cpu:.1f} s; {goal}"
          "before start-up, value conversion and gains)")
    print(f"  a day onto the history: tlh import of the last {day_trades:,} trades onto {history_trades:,}   {day}")
    for command, timed in commands.items():
        print(f"    then tlh {command:30}{timed}")


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
    parser.add_argument("--sqlite-alone", type=Path, help=argparse.SUPPRESS)  # the floor's child process
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.prepare, args.symbols, args.seed, args.folder)))
        return 0
    if args.sqlite_alone:
        print(json.dumps(sqlite_alone(args.sqlite_alone, args.folder)))
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
