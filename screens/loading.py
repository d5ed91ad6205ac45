"""What loads after the first paint, off the UI thread.

The first paint needs Textual and the welcome screen only. The other screens and the
engine behind them (the answers model, the planner, paramiko, lxml: half a second of
imports) load in a worker thread once the welcome screen is painted (:func:`load_screens`);
the app awaits that worker before it shows another screen, so the UI thread never
imports them itself. Two threads importing modules of one import cycle at the same time
can fail (Python's import locks see the deadlock and raise), and some libraries have such
cycles: every import made in a worker thread while the app starts takes ``IMPORTS``.
"""

from __future__ import annotations

import threading

IMPORTS = threading.Lock()


def load_screens() -> None:
    """Import every screen the wizard shows after the welcome screen, and read the
    catalog the pattern screen shows (its YAML, 0.2 s), blocking."""
    with IMPORTS:
        import screens.done
        import screens.drift
        import screens.form
        import screens.hostkeys
        import screens.keepwaiting
        import screens.password
        import screens.patterns
        import screens.review
        import screens.rollback
        import screens.run
        import screens.status  # noqa: F401
        from wizard.catalog import load_pattern, pattern_ids

    for pid in pattern_ids():
        load_pattern(pid)  # cached
