"""The plan of a rollback, from a session's plan and journal (wizard/undo.py)."""

from __future__ import annotations

from wizard.changes import Change
from wizard.journal import Entry
from wizard.plan import Plan, Step
from wizard.undo import undo_plan


def _done(step: str, kind: str, host: str, outcome: str, *changes: Change) -> Entry:
    wrote = {"wrote": [c.to_dict() for c in changes]} if changes else {}
    return Entry("done", step, host, kind, "fp", outcome, extra=wrote)


PLAN = Plan(
    "apim-all-in-one",
    [
        Step("node:start", "start", "node", "start", {"home": "/h", "command": "/h/bin/s"}),
        Step("lb:lb", "load_balancer", "lb", "nginx", {"command": "nginx"}),
        Step(
            "db:database:am",
            "database",
            "db",
            "db",
            {"server": {}, "admin_user": "root", "admin_password": "t", "name": "am"},
        ),  # fmt: skip
    ],
)


def test_undo_stops_nodes_then_puts_files_back_newest_first() -> None:
    a = Change("node", "/h/a.xml", True, "/h/a.xml.bak", "1" * 64)
    a2 = Change("node", "/h/a.xml", True, "/h/a.xml.bak", "2" * 64)
    new = Change("node", "/h/lib/driver.jar", False, None, "3" * 64)
    conf = Change("lb", "/etc/nginx/conf.d/cw.conf", False, None, "4" * 64)
    entries = [
        _done("node:file_edit:a", "file_edit", "node", "changed", a),
        _done("node:driver", "driver", "node", "changed", new),
        _done("node:file_edit:a", "file_edit", "node", "changed", a2),  # a resumed write
        _done("lb:lb", "load_balancer", "lb", "changed", conf),
        _done("node:start", "start", "node", "changed"),
    ]
    undo = undo_plan(PLAN, entries, drop_databases=True).plan
    kinds = [s.kind for s in undo.steps]
    assert kinds[0] == "stop_node"
    files = [s for s in undo.steps if s.kind == "restore_file"]
    assert [s.inputs["path"] for s in files] == [
        "/etc/nginx/conf.d/cw.conf", "/h/lib/driver.jar", "/h/a.xml"]  # fmt: skip
    a_step = files[2]
    # the first write says what was there (its backup), the last one what the wizard left
    assert a_step.inputs["backup"] == "/h/a.xml.bak" and a_step.inputs["written_sha256"] == "2" * 64
    assert files[1].inputs["existed"] is False  # created: removed
    assert all("undo:node:stop" in s.depends_on for s in files if s.host == "node")
    reload = next(s for s in undo.steps if s.kind == "reload_lb")
    assert reload.depends_on == ["undo:lb:file:/etc/nginx/conf.d/cw.conf"]
    assert [s.inputs["name"] for s in undo.steps if s.kind == "drop_database"] == ["am"]


def test_nothing_to_undo_and_unchanged_starts_are_not_stopped() -> None:
    entries = [_done("node:start", "start", "node", "unchanged")]
    assert undo_plan(PLAN, entries).nothing
    assert not undo_plan(PLAN, entries, drop_databases=False).plan.steps
