"""The run for ``--plain``: a rich progress bar per host, the step log above it; Ctrl-C
cancels after the steps under way (the session can be resumed)."""

from __future__ import annotations

import signal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from screens import jobs
from wizard.flow import Event, Flow, Summary
from wizard.flow.runmodel import RunModel
from wizard.plan import Plan
from wizard.questions.draft import Draft
from wizard.session import Session


def run_with_progress(
    draft: Draft, session: Session, plan: Plan, confirm: Any, ask: Any
) -> Summary:
    model = RunModel(plan)
    console = Console()
    holder: dict[str, Flow] = {}

    def attach(flow: Flow) -> None:
        holder["flow"] = flow

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {h: progress.add_task(h, total=n) for h, n in model.total.items()}

        def on_event(e: Event) -> None:
            line = model.update(e)
            if line is not None:
                progress.console.print(line, markup=False, highlight=False)
                if e.step.host in tasks:
                    progress.advance(tasks[e.step.host])

        def on_signal(signum: int, frame: object) -> None:
            progress.console.print("stopping after the steps under way (resume later)...")
            if "flow" in holder:
                holder["flow"].cancel()

        previous = signal.signal(signal.SIGINT, on_signal)
        try:
            summary = jobs.run(draft, session, confirm, on_event, attach, ask)
        finally:
            signal.signal(signal.SIGINT, previous)
    console.print(model.topology(draft.data), markup=False, highlight=False)
    console.print(summary.line(), markup=False)
    return summary
