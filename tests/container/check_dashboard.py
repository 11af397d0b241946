"""Inside the dashboard container (`tlh serve --host 0.0.0.0` with a token): /healthz answers without the token,
the API refuses a request without it (401) and answers with it. The token comes in $TOKEN."""

import os
import sys
import time
import urllib.error
import urllib.request

BASE = "http://127.0.0.1:8765"


def status(path: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(BASE + path, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


for _ in range(90):
    try:
        status("/healthz")
        break
    except OSError:
        time.sleep(1)
found = (status("/healthz"), status("/api/runs"), status("/api/runs", os.environ["TOKEN"]))
print(f"dashboard: /healthz {found[0]}, /api/runs without token {found[1]}, with token {found[2]}")
sys.exit(0 if found == (200, 401, 200) else 1)
