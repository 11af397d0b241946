"""One harvest per account per trading day, whatever starts it (`tlh harvest`, `tlh run`, two at once).

A run claims each account it may trade by inserting (account, day) into `harvest_claims`, in the same
transaction that records the run and its plan; the primary key lets exactly one run win. An account claimed
by an earlier run is reported with that run's id and is not traded again that day. Accounts the run cannot
trade (broker unavailable, paused, out of sync) are not claimed: a later run that day may still trade them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daemon.store.models import HarvestClaim


def claimed(session: Session, as_of: date) -> dict[str, str]:
    """account -> the run that harvested it on `as_of`."""
    return dict(session.execute(sa.select(HarvestClaim.account_id, HarvestClaim.run_id)
                                .where(HarvestClaim.as_of == as_of)).all())


def claim(session: Session, accounts: Iterable[str], as_of: date, mode: str, run_id: str) -> dict[str, str]:
    """Claim `accounts` for `run_id` on `as_of`; returns the ones an earlier run holds (account -> its run)."""
    taken: dict[str, str] = {}
    for account in sorted(set(accounts)):
        owner = session.scalar(sa.select(HarvestClaim.run_id).where(HarvestClaim.account_id == account,
                                                                     HarvestClaim.as_of == as_of))
        if owner is not None:
            if owner != run_id:
                taken[account] = owner
            continue
        try:
            with session.begin_nested():  # a concurrent run may insert it first: its row wins
                session.add(HarvestClaim(account_id=account, as_of=as_of, run_id=run_id, mode=mode,
                                         claimed_at=datetime.now(UTC)))
        except IntegrityError:
            winner = session.scalar(sa.select(HarvestClaim.run_id).where(HarvestClaim.account_id == account,
                                                                          HarvestClaim.as_of == as_of))
            taken[account] = winner or "another run"
    return taken
