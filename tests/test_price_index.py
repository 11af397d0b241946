"""The price file's index: the same quotes as parsing the file, rebuilt when the file changes, written beside
the file or in the cache folder, never half written, and no index at all for a bad file."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon import price_index
from daemon.prices import IndexedPriceBook, PriceBook, PriceFileError, Quote, load, parse

WIDE = """date,VTI,ITOT,NEW
2024-01-02,230.10,101.5,
2024-01-03,229.00,101.25,
2024-01-05,231.75,,10
2024-01-08,232.00,102.00,10.5
"""

LONG = """date,symbol,close,bid,ask
2024-01-03,vti,229.00,228.90,229.10
2024-01-02,VTI,230.10,,
2024-01-02,BND,72.5,72.4,72.6
2024-01-03,VTI,229.05,228.95,229.15
"""


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def indexes(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and price_index.SUFFIX in p.name)


def same_book(a: PriceBook, b: PriceBook, days: list[date]) -> None:
    assert a.symbols == b.symbols
    assert a.last_day() == b.last_day()
    for symbol in a.symbols + ["MISSING"]:
        assert a.days(symbol) == b.days(symbol)
        assert a.closes(symbol, date.min, date.max) == b.closes(symbol, date.min, date.max)
        for day in days:
            assert a.quote(symbol, day) == b.quote(symbol, day)


@pytest.mark.parametrize("text", [WIDE, LONG], ids=["wide", "long"])
def test_the_second_load_reads_the_index_and_answers_as_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    first = load(path)
    assert indexes(tmp_path) == ["prices.csv.tlh-index"]
    second = load(path)
    assert isinstance(second, IndexedPriceBook)
    days = [date(2024, 1, d) for d in range(1, 10)]
    same_book(parse(text), first, days)
    same_book(parse(text), second, days)


def test_quotes_keep_the_files_decimals_and_bid_ask(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress(LONG.encode()))
    load(path)
    book = load(path)
    assert isinstance(book, IndexedPriceBook)
    assert book.quote("VTI", date(2024, 1, 4)) == Quote(date(2024, 1, 3), Decimal("229.05"), Decimal("228.95"),
                                                        Decimal("229.15"))
    assert book.quote("VTI", date(2024, 1, 2)) == Quote(date(2024, 1, 2), Decimal("230.10"))
    assert book.quote("VTI", date(2024, 1, 1)) is None
    book.add("VTI", date(2024, 1, 4), "230")  # a broker's quote on top of the file's (as the daemon does)
    book.add("QQQ", date(2024, 1, 9), "400")
    assert book.quote("VTI", date(2024, 1, 4)).close == Decimal("230")
    assert book.closes("VTI", date(2024, 1, 2), date(2024, 1, 3))[0] == (date(2024, 1, 2), Decimal("230.10"))
    assert book.last_day() == date(2024, 1, 9)
    assert book.symbols == ["BND", "QQQ", "VTI"]


def test_a_changed_file_is_read_again_even_at_the_same_size(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(WIDE)
    assert load(path).quote("VTI", date(2024, 1, 8)).close == Decimal("232.00")
    stat = path.stat()
    path.write_text(WIDE.replace("232.00", "233.00"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime: a corrected price
    assert load(path).quote("VTI", date(2024, 1, 8)).close == Decimal("233.00")
    assert indexes(tmp_path) == ["prices.csv.tlh-index"]


def test_a_book_already_open_keeps_reading_the_index_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(WIDE)
    load(path)
    old = load(path)  # from the index; nothing read yet
    path.write_text(WIDE.replace("232.00", "299.00") + "2024-01-09,240,103,11\n")
    new = load(path)  # rebuilds and replaces the index under the open book
    assert old.quote("VTI", date(2024, 1, 9)).close == Decimal("232.00")
    assert new.quote("VTI", date(2024, 1, 9)).close == Decimal("240")
    assert old.last_day() == date(2024, 1, 8) and new.last_day() == date(2024, 1, 9)


def test_a_read_only_folder_gets_no_index_the_cache_folder_does(tmp_path: Path, cache_home: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "close.csv").write_text(WIDE)
    shared.chmod(0o555)
    try:
        load(shared / "close.csv")
        book = load(shared / "close.csv")
    finally:
        shared.chmod(0o755)
    assert isinstance(book, IndexedPriceBook)
    assert indexes(shared) == []
    [name] = indexes(cache_home)
    assert name.startswith("close.csv.") and name.endswith(price_index.SUFFIX)
    assert book.quote("ITOT", date(2024, 1, 8)).close == Decimal("102.00")


def test_nowhere_to_write_still_loads_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "close.csv").write_text(WIDE)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the cache home is a file: no folder can be made under it
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    shared.chmod(0o555)
    try:
        book = load(shared / "close.csv")
    finally:
        shared.chmod(0o755)
    assert not isinstance(book, IndexedPriceBook)
    same_book(parse(WIDE), book, [date(2024, 1, 8)])
    assert indexes(tmp_path) == []


def test_a_bad_file_names_the_line_and_leaves_no_index(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(WIDE.replace("229.00", "-1"))
    with pytest.raises(PriceFileError, match=r"prices.csv:3: price must be positive"):
        load(path)
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache-home"] == ["prices.csv"]
    assert indexes(tmp_path) == []
    with pytest.raises(PriceFileError, match="cannot read"):
        load(tmp_path / "missing.csv")


def test_a_stale_or_foreign_index_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(WIDE)
    (tmp_path / "prices.csv.tlh-index").write_text("not a database")
    assert load(path).quote("NEW", date(2024, 1, 8)).close == Decimal("10.5")
    assert isinstance(load(path), IndexedPriceBook)


PROBE = """
import sys
from datetime import date
from pathlib import Path
from daemon.prices import load
book = load(Path(sys.argv[1]))
print(book.quote("VTI", date(2024, 12, 31)).close, len(book.symbols))
"""


def test_processes_building_the_same_index_at_once_all_read_it_right(tmp_path: Path) -> None:
    lines = ["date," + ",".join(f"S{i}" for i in range(60)) + ",VTI"]
    lines += [f"2024-{m:02d}-{d:02d}," + ",".join(f"{i + d}.5" for i in range(60)) + f",{m}{d}.25"
              for m in range(1, 13) for d in range(1, 29)]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    procs = [subprocess.Popen([sys.executable, "-c", PROBE, str(path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs == ["1228.25 61"] * 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache-home") == \
        ["prices.csv", "prices.csv.tlh-index"]  # no temporary file left behind


CELLS = ["", "", "1", "0.5", "12.25", "7.", ".5", "100", " 3", "0", "0.00", "-1", "abc", "1e2", "٣"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["VTI", "itot", "BND", "VTI ", "", "date", "Symbol", "close"]), min_size=1,
                max_size=4),
       st.lists(st.tuples(st.integers(1, 40), st.lists(st.sampled_from(CELLS), max_size=6)), max_size=12),
       st.booleans())
def test_the_fast_wide_reader_agrees_with_the_parser_or_declines(header: list[str],
                                                                 rows: list[tuple[int, list[str]]],
                                                                 blank_lines: bool) -> None:
    lines = [",".join(["date", *header])]
    for day, cells in rows:
        lines.append(",".join([(date(2024, 1, 1) + timedelta(days=day)).isoformat(), *cells]))
        if blank_lines:
            lines.append("")
    text = "\n".join(lines) + "\n"
    fast = price_index.from_wide_text(text)
    try:
        book = parse(text)
    except PriceFileError:
        assert fast is None  # never an index of a file the parser refuses
        return
    if fast is not None:
        assert fast == price_index.from_book(book)


def test_the_fast_reader_takes_the_shared_layout_and_many_rows(tmp_path: Path) -> None:
    symbols = [f"S{i}" for i in range(30)]
    lines = ["date," + ",".join(symbols)]
    day = date(2000, 1, 3)
    for n in range(1500):  # several chunks, listings starting late, blank lines between chunks
        lines.append(day.isoformat() + "," + ",".join("" if n < 40 * i else f"{10 + (n * i) % 97}.{n % 100:02d}"
                                                      for i in range(30)))
        if n % 300 == 0:
            lines += [""] * 300
        day += timedelta(days=1 + n % 3)
    text = "\n".join(lines) + "\n"
    fast = price_index.from_wide_text(text)
    assert fast is not None
    assert fast == price_index.from_book(parse(text))


def test_a_file_that_is_not_utf8_or_not_gzip_is_a_clear_error(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(WIDE.encode() + b"2024-01-10,caf\xe9\n")
    with pytest.raises(PriceFileError, match=rf"latin.csv:{WIDE.count(chr(10)) + 1}: not UTF-8 text"):
        load(latin)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(WIDE.encode())[:30])
    with pytest.raises(PriceFileError, match="broken.csv.gz: not a readable gzip file"):
        load(broken)
    assert indexes(tmp_path) == []


def test_a_damaged_index_says_it_is_a_cache_to_delete(tmp_path: Path) -> None:
    """A damaged index (a disk error, a stray write) fails the read that meets it, naming the index and what to
    do, never passing for an error of the store's database (both are SQLite files)."""
    path = tmp_path / "prices.csv"
    path.write_text(WIDE)
    load(path)
    index = tmp_path / "prices.csv.tlh-index"
    with index.open("r+b") as fh:  # the series table's page (the 4th; meta, still readable, before it)
        fh.seek(3 * 4096)
        fh.write(b"\xff" * 4096)
    book = load(path)
    assert isinstance(book, IndexedPriceBook)
    with pytest.raises(price_index.CorruptIndex, match=r"price index .*prices\.csv\.tlh-index: DatabaseError: .*"
                                                        r"delete it and run the command again"):
        book.quote("VTI", date(2024, 1, 3))
