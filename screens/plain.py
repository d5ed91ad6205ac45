"""The --plain front end: the same choices as the Textual wizard, asked line by line."""

from __future__ import annotations

import argparse
from pathlib import Path

import questionary

from screens.labinfo import lab_status, summary
from wizard.answers import load_answers
from wizard.catalog import load_pattern, pattern_ids
from wizard.planner import plan as make_plan
from wizard.secrets import redact
from wizard.topology import describe_roles, picture


def run(args: argparse.Namespace) -> int:
    status = lab_status(None)
    print(summary(status))
    patterns = {pid: load_pattern(pid) for pid in pattern_ids()}
    choice = questionary.select(
        "Deployment pattern:",
        choices=[
            questionary.Choice(f"{p.title} ({pid})", value=pid) for pid, p in patterns.items()
        ],
    ).ask()
    if choice is None:
        return 3
    pattern = patterns[choice]
    print(picture(pattern))
    print("\n".join(describe_roles(pattern)))
    answers_file = (status or {}).get("answers", {}).get(choice)
    if not answers_file:
        print(f"No answers yet: start the lab, or see carbon-wizard answers example {choice}")
        return 0
    answers, pat = load_answers(Path(answers_file))
    print(redact(make_plan(answers, pat).render_text()))
    return 0
