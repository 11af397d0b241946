"""The benchmark script still runs (a tiny book; the real figures come from running it by hand)."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "engine_plan.py"


def test_the_benchmark_runs_on_a_tiny_book(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("engine_plan_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--accounts", "4"])
    assert figures["lots"] == 4 * 50 * 10 and figures["pairs"] > 0
    assert "plan:" in capsys.readouterr().out
    assert gc.isenabled()  # the engine turns the cycle collector off while planning, then back on
