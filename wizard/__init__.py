"""carbon-wizard engine: catalog, answers, planner, executor and connectors.

This package must never import textual or questionary (the UI lives in ``screens``).
"""

__version__ = "0.1.0"
