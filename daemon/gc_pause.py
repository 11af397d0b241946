"""Bulk work without the cyclic garbage collector.

An import builds hundreds of thousands of objects that all stay alive (the rows read, the trades, the
ledger's lots and sales); each time enough of them pile up the collector walks every live object again,
which took a quarter of a 100,000-trade import. Reference counting still frees everything that is not in a
cycle, so pausing the collector for a bounded piece of work costs no memory to speak of.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (for bounded bulk work only); the previous setting after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What the block made mostly lives on (records, rows). Left in the youngest generation, all of it
            # would be walked by the first collection after the block; moved to the oldest (freeze, then
            # unfreeze: no walk) it is looked at only by full collections, which still find any cycle.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
