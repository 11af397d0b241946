"""A backtest's price file is parsed once: the matrix is cached beside it (or in the cache folder when its
folder is read-only), used while the file is unchanged, and rebuilt when the file changes or the cache is
damaged."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from daemon.backtest import data, load_history, matrix_cache
from daemon.prices import PriceFileError

CSV = "date,AAA,BBB\n2024-01-02,10.5,\n2024-01-03,11.0,20.25\n2024-01-04,,21.0\n"


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def _prices(folder: Path, text: str = CSV) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "close.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    return path


def _same(a: data.History, b: data.History) -> None:
    assert a.dates == b.dates and a.symbols == b.symbols
    np.testing.assert_array_equal(a.raw, b.raw)  # NaN where the file has no close
    np.testing.assert_array_equal(a.close, b.close)


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> None:
        raise AssertionError(f"{path} parsed again")

    monkeypatch.setattr(data, "_parse", refuse)


def test_an_unchanged_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _prices(tmp_path / "prices")
    first = load_history(path)
    assert (tmp_path / "prices" / "close.csv.gz.tlh-matrix.npz").exists()
    _no_parse(monkeypatch)
    again = load_history(path)
    _same(first, again)
    assert again.dates[0].isoformat() == "2024-01-02" and again.symbols == ["AAA", "BBB"]
    assert np.isnan(again.raw[0, 1]) and again.close[2, 0] == 11.0  # carried forward over the gap


def test_a_changed_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _prices(tmp_path / "prices")
    load_history(path)
    stat = path.stat()
    _prices(tmp_path / "prices", CSV.replace("20.25", "30.75"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_history(path).raw[1, 1] == 30.75
    _no_parse(monkeypatch)  # and that version is cached in turn
    assert load_history(path).raw[1, 1] == 30.75


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    path = _prices(tmp_path / "prices")
    first = load_history(path)
    cached = tmp_path / "prices" / "close.csv.gz.tlh-matrix.npz"
    cached.write_bytes(b"not a numpy file")
    _same(first, load_history(path))
    assert matrix_cache.read(path) is not None


def test_a_read_only_folder_caches_in_the_cache_home(tmp_path: Path, cache_home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shared"
    path = _prices(folder)
    folder.chmod(0o555)
    try:
        first = load_history(path)
        assert list(folder.iterdir()) == [path]
        assert [p.name.endswith(".tlh-matrix.npz") for p in (cache_home / "tlh-daemon" / "prices").iterdir()] == [True]
        _no_parse(monkeypatch)
        _same(first, load_history(path))
    finally:
        folder.chmod(0o755)


def test_a_bad_file_is_refused_every_time_and_never_cached(tmp_path: Path) -> None:
    path = _prices(tmp_path / "prices", "date,AAA\n2024-01-02,10\n2024-01-03,-1\n")
    for _ in range(2):
        with pytest.raises(PriceFileError, match="positive"):
            load_history(path)
    assert not (tmp_path / "prices" / "close.csv.gz.tlh-matrix.npz").exists()
