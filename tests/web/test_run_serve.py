"""`tlh run --serve`: the daemon and the dashboard in one process; SIGTERM stops both cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.web.test_browser import ROOT, TLH, clean_env, free_port, tlh

CONFIG = """
database_url = "sqlite:///tlh.db"
mode = "paper"
[[accounts]]
id = "demo-taxable"
household = "demo"
[brokers.paper]
prices = {prices}
"""


def test_run_serve_answers_while_the_daemon_runs_and_stops_with_it(tmp_path: Path) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(prices=json.dumps(str(ROOT / "config" / "demo" / "prices.csv"))))
    port = free_port()
    log = tmp_path / "daemon.log"
    with log.open("w") as err:
        proc = subprocess.Popen([str(TLH), "--config", str(cfg), "--log-json", "run", "--serve", "--port", str(port)],
                                env=clean_env(), stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 90
        while "next_harvest" not in log.read_text():  # the service is idle: its schedule is set
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.read() == b"ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=30) as r:
            assert json.loads(r.read()) == json.loads(tlh(cfg, "runs", "--format", "json", env=clean_env()))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert "daemon.stopped" in log.read_text()


def test_run_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(prices=json.dumps(str(ROOT / "config" / "demo" / "prices.csv"))))
    done = subprocess.run([str(TLH), "--config", str(cfg), "run", "--serve", "--host", "0.0.0.0"], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "without a token" in done.stderr
    assert not (tmp_path / "tlh.db").exists()  # refused before the service touched the database
