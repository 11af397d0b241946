"""The CLI tests' household lives in May 2024 (its price file ends 2024-05-29): every command looks from that
day, as a user of a historic price file does with TLH_AS_OF. Tests of the default "today" remove it."""

from __future__ import annotations

import pytest

AS_OF = "2024-05-29"


@pytest.fixture(autouse=True)
def _as_of(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLH_AS_OF", AS_OF)
