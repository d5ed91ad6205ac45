"""Keeping the garbage collector's full collections off the UI loop.

A full collection walks every tracked object of the process: with a wizard page or the
run screen up that is 80 000 to 140 000 objects, a pause of 50 to 200 ms on the UI thread,
at whatever moment the allocations trip it. Once a screen is built, :func:`settle`
collects the young generations (the objects made since the last settle: a few ms) and
freezes what is left: later collections, full ones too, walk only what is made after it.

The price: objects frozen while alive that later die in a reference cycle are not
reclaimed (a dismissed screen's widgets: 75 000 objects, 11 MB, for a pass through
the form pages of apim-distributed). :func:`reclaim` takes them back with one full collection: the app calls
it when a setup is left for the welcome screen, where a pause does not interrupt anything.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect the young generations and freeze what survives (call once a screen is
    built: its widgets live as long as it is shown)."""
    gc.collect(1)
    gc.freeze()


def reclaim() -> None:
    """Unfreeze, collect everything (one long pause), freeze again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
