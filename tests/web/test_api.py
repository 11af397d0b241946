"""The dashboard's JSON API and its guard, in process (Starlette's test client over the real app and store):
the API answers with what the CLI's `--format json` prints, and nothing leaves without the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from daemon.config import load_settings
from daemon.store.db import make_engine
from daemon.web.app import create_app
from daemon.web.security import CSP, Access, BindRefused, TokenError, check_bind, is_loopback, load_token
from tests.cli.test_review_cli import seeded, tlh

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def household(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI tests' household after a dry run and a paper harvest (VTI sold at a loss, SCHB bought)."""
    return seeded(tmp_path_factory.mktemp("web"))


def client(cfg: Path, token: str | None = None, today: date = date(2024, 6, 3)) -> Iterator[TestClient]:
    settings = load_settings(cfg)
    engine = make_engine(settings.database_url)
    app = create_app(settings, engine, Access(token), clock=lambda: today)
    try:
        with TestClient(app, base_url="http://127.0.0.1:8765") as c:
            yield c
    finally:
        engine.dispose()


@pytest.fixture
def open_client(household: Path) -> Iterator[TestClient]:
    yield from client(household)


@pytest.fixture
def token_client(household: Path) -> Iterator[TestClient]:
    yield from client(household, TOKEN)


@pytest.mark.parametrize(("path", "cli"), [
    ("/api/runs", ["runs", "--format", "json"]),
    ("/api/runs?limit=1", ["runs", "--limit", "1", "--format", "json"]),
    ("/api/orders", ["orders", "--format", "json"]),
    ("/api/alerts", ["alerts", "--format", "json"]),
    ("/api/lots", ["lots", "--format", "json"]),
    ("/api/lots?account=ira", ["lots", "--account", "ira", "--format", "json"]),
    ("/api/gains?year=2024", ["gains", "--year", "2024", "--format", "json"]),
    ("/api/gains?year=2024&summary=1", ["gains", "--year", "2024", "--summary", "--format", "json"]),
    ("/api/gains?summary=1", ["gains", "--summary", "--format", "json"]),
    ("/api/gains?year=2024&account=tax", ["gains", "--year", "2024", "--account", "tax", "--format", "json"]),
    ("/api/gains?year=2024&taxpayer=h", ["gains", "--year", "2024", "--format", "json"]),
])
def test_api_answers_what_the_cli_prints(household: Path, open_client: TestClient, path: str, cli: list[str]) -> None:
    response = open_client.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(tlh(household, *cli))


def test_api_report_is_tlh_report(household: Path, open_client: TestClient) -> None:
    api = open_client.get("/api/report?year=2024").json()
    cli = json.loads(tlh(household, "report", "--year", "2024", "--format", "json"))
    # The dashboard's day is injected (2024-06-03, inside the wash-sale windows); the CLI's is the real today.
    assert api.pop("as_of") == "2024-06-03"
    cli.pop("as_of")
    for h in (*api["households"], *cli["households"]):
        h.pop("restrictions")
    assert api == cli
    (h,) = api["households"]
    assert (h["harvested"], h["tax_saved"]) == ("800.92", "326.78")
    assert open_client.get("/api/report").json()["year"] == 2024  # default: the latest run's year


def test_overview_shows_the_windows_open_on_its_day(open_client: TestClient) -> None:
    data = open_client.get("/api/overview?year=2024").json()
    assert {(r["symbol"], r["until"], r["days_left"]) for r in data["restrictions"]} == {
        ("VTI", "2024-06-29", 26), ("ITOT", "2024-06-10", 7)}
    # SCHB, bought as VTI's replacement on 05-29, may be swapped back to VTI from 06-29
    assert [(s["account"], s["symbol"], s["primary"], s["eligible"], s["days_left"], s["enabled"])
            for s in data["swap_backs"]] == [("tax", "SCHB", "VTI", "2024-06-29", 26, False)]
    page = open_client.get("/?year=2024").text
    assert "$800.92" in page and "$326.78" in page and "<svg" in page


def test_run_page_lists_pairs_skips_and_orders(household: Path, open_client: TestClient) -> None:
    runs = json.loads(tlh(household, "runs", "--format", "json"))
    paper = next(r for r in runs if r["mode"] == "paper")
    detail = open_client.get(f"/api/runs/{paper['id']}").json()
    assert [(o["leg"], o["symbol"], o["status"]) for o in detail["orders"]] == [
        ("sell", "VTI", "filled"), ("buy", "SCHB", "filled")]
    assert detail["plan"]["pairs"][0]["sell_symbol"] == "VTI"
    page = open_client.get(f"/runs/{paper['id']}").text
    assert 'id="skipped"' in page and "SCHB" in page
    assert open_client.get("/runs/nope").status_code == 404
    assert open_client.get("/api/runs/nope").status_code == 404


def test_orders_filters(open_client: TestClient) -> None:
    assert [o["symbol"] for o in open_client.get("/api/orders?leg=buy").json()] == ["SCHB"]
    assert [o["leg"] for o in open_client.get("/api/orders?symbol=vti").json()] == ["sell"]
    assert open_client.get("/api/orders?account=ira").json() == []
    bad = open_client.get("/api/orders?account=nobody")
    assert bad.status_code == 400 and "unknown account" in bad.json()["error"]
    assert open_client.get("/orders?leg=sideways").status_code == 400


def test_bad_parameters_are_400_not_500(open_client: TestClient) -> None:
    for path in ("/api/report?year=abc", "/api/report?year=20240", "/api/alerts?since=yesterday",
                 "/api/runs?limit=0", "/api/gains?view=pdf", "/?year=x"):
        response = open_client.get(path)
        assert response.status_code == 400, path


def test_gains_csv_is_the_cli_csv(household: Path, open_client: TestClient) -> None:
    response = open_client.get("/gains.csv?year=2024")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="gains-2024.csv"' in response.headers["content-disposition"]
    assert response.text == tlh(household, "gains", "--year", "2024", "--format", "csv")
    f8949 = open_client.get("/gains.csv?year=2024&view=8949").text
    assert f8949 == tlh(household, "gains", "--year", "2024", "--format", "8949")


def test_security_headers_on_every_response(open_client: TestClient) -> None:
    for path in ("/", "/api/runs", "/healthz", "/static/app.css", "/runs/nope"):
        headers = open_client.get(path).headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "script-src 'none'" in CSP and "http" not in CSP  # no third-party host, no script at all
    page = open_client.get("/").text
    assert "<script" not in page and "style=" not in page  # nothing inline the CSP would have to allow


def test_without_token_only_loopback_host_names_are_answered(open_client: TestClient) -> None:
    # DNS rebinding: evil.example resolving to 127.0.0.1 must not read the dashboard.
    assert open_client.get("/api/runs", headers={"host": "evil.example:8765"}).status_code == 421
    assert open_client.get("/api/runs", headers={"host": "localhost:8765"}).status_code == 200
    assert open_client.get("/api/runs", headers={"host": "[::1]:8765"}).status_code == 200


def test_token_required_everywhere_but_healthz(token_client: TestClient) -> None:
    assert token_client.get("/healthz").text == "ok"
    for path in ("/api/runs", "/api/report", "/api/lots", "/api/gains?year=2024", "/api/orders", "/api/alerts"):
        response = token_client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"error": "unauthorized: send Authorization: Bearer <token>"}
        assert response.headers["www-authenticate"].startswith("Bearer")
    for path in ("/", "/runs", "/lots", "/gains?year=2024", "/gains.csv?year=2024", "/orders"):
        response = token_client.get(path)
        assert response.status_code == 401, path
        assert "Sign in" in response.text and "800.92" not in response.text and "VTI" not in response.text
    wrong = token_client.get("/api/runs", headers={"authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert wrong.status_code == 401
    right = token_client.get("/api/runs", headers={"authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200 and len(right.json()) == 2
    # any host is fine once a token guards it
    assert token_client.get("/api/runs", headers={"authorization": f"Bearer {TOKEN}",
                                                   "host": "tlh.example:8765"}).status_code == 200


def test_login_sets_an_httponly_session_cookie_not_the_token(token_client: TestClient) -> None:
    token_client.get("/login")
    csrf = token_client.cookies["tlh_csrf"]
    bad = token_client.post("/login", data={"token": "wrong-token-wrong-token", "csrf": csrf, "next": "/runs"},
                            follow_redirects=False)
    assert bad.status_code == 401 and "Wrong token" in bad.text
    no_csrf = token_client.post("/login", data={"token": TOKEN, "next": "/runs"}, follow_redirects=False)
    assert no_csrf.status_code == 403
    ok = token_client.post("/login", data={"token": TOKEN, "csrf": csrf, "next": "//evil.example/"},
                           follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # never redirected off the site
    cookie = ok.headers["set-cookie"]
    assert "tlh_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie
    assert token_client.get("/").status_code == 200
    assert token_client.get("/api/runs").status_code == 200  # the session cookie works for the API too
    out = token_client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert token_client.get("/").status_code == 401


def test_post_needs_the_csrf_token_and_this_origin(token_client: TestClient) -> None:
    token_client.get("/login")
    csrf = token_client.cookies["tlh_csrf"]
    # a cross-site form posting the right field value still fails on its Origin
    response = token_client.post("/login", data={"token": TOKEN, "csrf": csrf},
                                 headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert response.status_code == 403


def test_bind_and_token_rules(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.9.9.9")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("::")
    with pytest.raises(BindRefused, match="TLH_DASHBOARD_TOKEN"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)
    assert load_token({}) is None
    with pytest.raises(TokenError, match="at least 16"):
        load_token({"TLH_DASHBOARD_TOKEN": "short"})
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    assert load_token({"TLH_DASHBOARD_TOKEN_FILE": str(secret)}) == TOKEN
    with pytest.raises(TokenError, match="cannot read"):
        load_token({"TLH_DASHBOARD_TOKEN_FILE": str(tmp_path / "missing")})


def test_serve_refuses_a_public_address_without_a_token(household: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TLH_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("TLH_DASHBOARD_TOKEN_FILE", raising=False)
    out = _invoke(household, "serve", "--host", "0.0.0.0", "--port", "8765")
    assert out.exit_code == 2 and "refusing to serve the dashboard on '0.0.0.0' without a token" in out.output


def _invoke(cfg: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from daemon.cli.main import app

    return CliRunner().invoke(app, ["--config", str(cfg), *args])


def _csrf(c: TestClient, path: str = "/pause") -> str:
    assert c.get(path).status_code == 200
    return c.cookies["tlh_csrf"]


def test_pause_and_resume_are_tlh_pause_and_resume(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    for c in client(cfg):
        csrf = _csrf(c)
        page = c.get("/pause").text
        assert "Pause harvesting" in page and 'name="confirm"' in page
        # no confirmation: nothing happens
        refused = c.post("/pause", data={"csrf": csrf, "account": "tax", "reason": "looking into it"})
        assert refused.status_code == 400 and "confirm" in refused.text
        assert c.get("/api/pauses").json() == []
        # a cross-site form (no CSRF token) is refused
        assert c.post("/pause", data={"account": "tax", "confirm": "yes"}).status_code == 403
        assert c.post("/pause", data={"csrf": csrf, "until": "2020-01-01", "confirm": "yes"}).status_code == 400
        done = c.post("/pause", data={"csrf": csrf, "account": "tax", "reason": "looking into it", "confirm": "yes"},
                      follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/?done=paused"
        (made,) = c.get("/api/pauses").json()
        assert (made["account"], made["reason"], made["kind"]) == ("tax", "looking into it", "manual")
        assert made["created_by"].startswith("dashboard (")
        # as `tlh pause`: a warning alert, delivered to the configured channel (alerts.jsonl) after the answer
        (alert,) = [a for a in c.get("/api/alerts").json() if a["kind"] == "paused"]
        assert alert["severity"] == "warning" and "looking into it" in alert["message"] and alert["delivered"]
        sent = [json.loads(line)["kind"] for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
        assert "paused" in sent
        assert "Some accounts are paused" in c.get("/").text and "looking into it" in c.get("/").text
        # the CLI's resume sees it and the daemon's pause store is the one written
        out = tlh(cfg, "resume", "--account", "tax")
        assert "tax: resumed (manual: looking into it)" in out
        assert c.get("/api/pauses").json() == []
        # and the dashboard resumes what `tlh pause` made
        tlh(cfg, "pause", "--reason", "from the CLI")
        assert [p["scope"] for p in c.get("/api/pauses").json()] == ["all accounts"]
        assert c.post("/resume", data={"csrf": csrf, "account": ""}).status_code == 400  # not confirmed
        resumed = c.post("/resume", data={"csrf": csrf, "account": "", "confirm": "yes"}, follow_redirects=False)
        assert resumed.status_code == 303
        assert c.get("/api/pauses").json() == []
        assert "nothing to resume" in tlh(cfg, "resume")
        assert [a["kind"] for a in c.get("/api/alerts").json()][:1] == ["resumed"]


def test_actions_need_the_token(token_client: TestClient) -> None:
    for method, path in (("get", "/pause"), ("get", "/resume"), ("post", "/pause"), ("post", "/resume")):
        response = getattr(token_client, method)(path)
        assert response.status_code == 401, (method, path)
    assert token_client.get("/api/pauses").status_code == 401


def test_a_change_to_the_store_shows_at_once(tmp_path: Path) -> None:
    # The dashboard keeps the report and the ledgers between requests: a new trade must still show on the next.
    cfg = seeded(tmp_path)
    for c in client(cfg):
        before = c.get("/api/report?year=2024").json()
        lots_before = c.get("/api/lots").json()
        assert before == c.get("/api/report?year=2024").json()  # unchanged store: the same answer
        (tmp_path / "more.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                           "2024-06-05,ira,VTI,buy,40,231,,vti-ira\n")
        tlh(cfg, "import", str(tmp_path / "more.csv"))
        after = c.get("/api/report?year=2024").json()
        tax = next(a for a in after["accounts"] if a["account"] == "tax")
        assert (tax["harvested"], tax["disallowed_permanent"]) == ("0.00", "800.92")  # washed by the IRA buy
        assert after != before
        assert len(c.get("/api/lots").json()) == len(lots_before) + 1
        assert c.get("/api/lots").json() == json.loads(tlh(cfg, "lots", "--format", "json"))


def test_api_status_is_tlh_status(household: Path, open_client: TestClient) -> None:
    api = open_client.get("/api/status").json()
    cli = json.loads(tlh(household, "status", "--as-of", "2024-06-03", "--format", "json"))
    for d in (api, cli):
        d.pop("now")
        if d["lease"]:
            d["lease"].pop("heartbeat_age_seconds")
        d["next"] = {k: v is not None for k, v in d["next"].items()}  # from the wall clock of each call
    assert api == cli
    (h,) = api["households"]
    assert (h["household"], h["harvested"], h["tax_saved"]) == ("h", "800.92", "326.78")
    page = open_client.get("/").text
    assert "Harvesting is on" in page and 'id="status-facts"' in page
