"""Commands ``patterns``, ``answers schema|example PATTERN|export ID`` and ``plan``.

``plan`` validates the answers and prints the plan grouped by host. Unless ``--offline``,
it then connects read-only to the hosts and the database server and marks each step
satisfied or "would change", with the file diffs it would make (``wizard/planning/online.py``).
"""

from __future__ import annotations

import argparse
import json
import sys

from wizard.cli.export import register_export

# Each command imports what it needs (the catalog, the answers model, the planner) when it
# runs: ``patterns`` should not wait for the planner.


def _patterns(args: argparse.Namespace) -> int:
    from wizard.catalog import all_patterns

    patterns = all_patterns()
    if args.json:
        out = [
            {
                "id": p.id,
                "title": p.title,
                "description": p.description,
                "versions": p.versions,
                "nodes": p.node_count_text(),
                "roles": {
                    r: {"label": s.label, "kind": s.kind, "min": s.min, "max": s.max}
                    for r, s in p.roles.items()
                },
            }
            for p in patterns
        ]
        print(json.dumps(out, indent=2))
        return 0
    for p in patterns:
        roles = ", ".join(
            f"{r} x{s.min if s.min == s.max else f'{s.min}-{s.max}'}" for r, s in p.roles.items()
        )
        print(f"{p.id:<22} {p.node_count_text():>8} nodes  {p.description}")
        print(f"{'':<22} roles: {roles}; versions: {', '.join(p.versions)}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from wizard.answers import schema

    print(json.dumps(schema(), indent=2))
    return 0


def _example(args: argparse.Namespace) -> int:
    from wizard.answers.example import example_yaml
    from wizard.catalog import load_pattern

    load_pattern(args.pattern)  # a clear error for an unknown id
    sys.stdout.write(example_yaml(args.pattern))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from wizard.answers import load_answers
    from wizard.planning.build import plan

    answers, pattern = load_answers(args.answers)
    result = plan(answers, pattern)
    states = None
    if not args.offline:
        from wizard.planning.online import check_plan

        result, states = check_plan(answers, pattern, result, accept_new=args.accept_new_host_keys)
    if args.json:
        data = {**result.to_dict(), **result.report()}
        if states is not None:
            for step in data["steps"]:
                st = states.get(step["id"])
                if st is not None:
                    step.update(state=st.state, message=st.message, diff=st.diff, notes=st.notes)
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(result.render_text())
        sys.stdout.write("\n" + result.critical_path().line() + "\n")
        if states is not None:
            from wizard.planning.online import render_states

            sys.stdout.write(render_states(result, states))
    return 0


def _patterns_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_patterns)


def _answers_args(a: argparse.ArgumentParser) -> None:
    asub = a.add_subparsers(dest="answers_command", metavar="WHAT", required=True)
    s = asub.add_parser("schema", help="print the JSON Schema of an answers file")
    s.set_defaults(func=_schema)
    e = asub.add_parser("example", help="print a commented example answers file")
    e.add_argument("pattern", help="pattern id (see: carbon-wizard patterns)")
    e.set_defaults(func=_example)
    register_export(asub)


def _plan_args(pl: argparse.ArgumentParser) -> None:
    pl.add_argument("--answers", required=True, help="answers YAML file")
    pl.add_argument("--json", action="store_true", help="print the plan as JSON")
    pl.add_argument(
        "--offline",
        action="store_true",
        help="plan from the answers alone, without connecting to any host",
    )
    pl.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust host keys seen for the first time (for this look only)",
    )
    pl.set_defaults(func=_plan)


# the commands this module serves (declared in wizard.cli.COMMANDS) -> their arguments
PARSERS = {"patterns": _patterns_args, "answers": _answers_args, "plan": _plan_args}
