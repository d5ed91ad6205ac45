"""The plan of a rollback: put back what a session changed, from its journal (pure).

The journal's ``done`` (and ``failed``) entries carry the files each step wrote
(:mod:`wizard.changes`): for every path, the first write says what was there before (a
backup, or nothing) and the last one the bytes the wizard left. The rollback, in order:

1. stop the nodes the session started;
2. put every file back, the last written first: from its backup, or removed when the
   wizard created it; a directory the session replaced by a link comes back;
3. remove the session's cron entry; reload NGINX where its configuration came back;
4. remove a home a ``pack`` step of the session unpacked (its marker names the session;
   files of the pack changed since are shown first, like a file changed since written);
5. with ``drop_databases``: drop the databases the wizard created (its marker), never
   others.

Every step is check-then-act like an apply's, so an interrupted rollback resumes.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from wizard.changes import Change, backup_suffix
from wizard.journal import Entry
from wizard.plan import Plan, Step


@dataclass
class _Written:
    first: Change
    last: Change
    order: int  # position of the first write among all the session's writes


@dataclass
class UndoPlan:
    plan: Plan
    nothing: bool = False  # the session changed nothing (since its last rollback)


def _changes(entries: list[Entry]) -> dict[tuple[str, str], _Written]:
    out: dict[tuple[str, str], _Written] = {}
    seq = 0  # the order of the writes, within a step too (a backup before its file)
    for e in entries:
        if e.event not in ("done", "failed"):
            continue
        for raw in e.extra.get("wrote", []):
            c = Change.from_dict(raw)
            key = (c.host, c.path)
            seq += 1
            if key in out:
                out[key].last = c
            else:
                out[key] = _Written(c, c, seq)
    return out


def _changed_steps(entries: list[Entry], kind: str) -> list[str]:
    """Ids of the steps of ``kind`` that changed something in one of the session's runs
    (a node started by the first apply is still the session's after a second apply
    that found it running)."""
    return list(
        dict.fromkeys(
            e.step
            for e in entries
            if e.kind == kind and e.event == "done" and e.outcome == "changed"
        )
    )


def undo_plan(
    plan: Plan, entries: list[Entry], *, drop_databases: bool = False, session_id: str = ""
) -> UndoPlan:
    """The rollback of the session whose ``plan`` and journal ``entries`` (since its last
    rollback) are given."""
    steps: list[Step] = []
    by_id = {s.id: s for s in plan.steps}
    stops: list[str] = []
    for sid in _changed_steps(entries, "start"):
        start = by_id.get(sid)
        if start is None:
            continue
        home = start.inputs["home"]
        steps.append(
            Step(
                f"undo:{start.host}:stop",
                "stop_node",
                start.host,
                f"stop the node started by this session ({home})",
                {
                    "home": home,
                    "command": start.inputs["command"],
                    "java_home": start.inputs.get("java_home"),
                },
            )
        )
        stops.append(steps[-1].id)
    written = sorted(_changes(entries).values(), key=lambda w: -w.order)
    last_on_host: dict[str, str] = {}
    restored_hosts: set[str] = set()
    for w in written:
        c = w.first
        what = (
            f"put back {c.path} from {posixpath.basename(c.backup)}"
            if c.backup
            else f"remove {c.path} (the session created it)"
            if not c.existed
            else f"{c.path} was overwritten without a backup: left as is"
        )
        sid = f"undo:{c.host}:file:{c.path}"
        after = [last_on_host[c.host]] if c.host in last_on_host else []
        steps.append(
            Step(
                sid,
                "restore_file",
                c.host,
                what,
                {
                    "path": c.path,
                    "existed": c.existed,
                    "backup": c.backup,
                    "written_sha256": w.last.sha256,
                },
                depends_on=[*stops, *after],
            )
        )
        last_on_host[c.host] = sid
        restored_hosts.add(c.host)
    for sid in _changed_steps(entries, "symlink"):
        link = by_id.get(sid)
        if link is None:
            continue
        path = link.inputs["path"]
        steps.append(
            Step(
                f"undo:{link.host}:link:{path}",
                "restore_link",
                link.host,
                f"put back the directory {path} the session replaced by a link",
                {"path": path, "backup": path + backup_suffix(session_id)},
                depends_on=stops,
            )
        )
    for sid in _changed_steps(entries, "sync_script"):
        sync = by_id.get(sid)
        if sync is None:
            continue
        steps.append(
            Step(
                f"undo:{sync.host}:cron",
                "remove_cron",
                sync.host,
                "remove the artifact sync cron entry",
                {"dir": sync.inputs["dir"]},
                depends_on=stops,
            )
        )
    for sid in _changed_steps(entries, "load_balancer"):
        lb = by_id.get(sid)
        if lb is None or lb.host not in restored_hosts:
            continue
        steps.append(
            Step(
                f"undo:{lb.host}:reload",
                "reload_lb",
                lb.host,
                "check and reload NGINX with its configuration as it was",
                {"command": lb.inputs.get("command") or "nginx"},
                depends_on=[last_on_host[lb.host]],
            )
        )
    steps += _remove_homes(entries, by_id, written, last_on_host, stops, session_id)
    if drop_databases:
        for s in plan.steps:
            if s.kind != "database":
                continue
            steps.append(
                Step(
                    f"undo:db:drop:{s.inputs['name']}",
                    "drop_database",
                    "db",
                    f"drop database {s.inputs['name']} if the wizard created it",
                    {k: s.inputs[k] for k in ("server", "admin_user", "admin_password", "name")},
                    depends_on=stops,
                )
            )
    nothing = not steps
    return UndoPlan(Plan(plan.pattern, steps), nothing)


# what bin/profileSetup.sh rewrites or deletes in a home (wizard/steps/profile.py)
PROFILE_TOUCHES = (
    "repository/conf/api-manager.xml",
    "repository/conf/axis2/axis2.xml",
    "repository/conf/registry.xml",
    "repository/deployment/server/",
)


def _remove_homes(
    entries: list[Entry],
    by_id: dict[str, Step],
    written: list[_Written],
    last_on_host: dict[str, str],
    stops: list[str],
    session_id: str,
) -> list[Step]:
    """A ``remove_home`` step per home a ``pack`` step of the session unpacked, after the
    node stopped and its files were put back. The files the session's steps wrote (and
    what the profile optimisation changed) are left out of its "changed since" check."""
    profiled = {by_id[s].host for s in _changed_steps(entries, "profile") if s in by_id}
    out = []
    for sid in _changed_steps(entries, "pack"):
        pack = by_id.get(sid)
        if pack is None:
            continue
        home = pack.inputs["home"].rstrip("/")
        ours = sorted(
            w.first.path[len(home) + 1 :]
            for w in written
            if w.first.host == pack.host and w.first.path.startswith(home + "/")
        )
        ignore = [*ours, *(PROFILE_TOUCHES if pack.host in profiled else ())]
        after = [last_on_host[pack.host]] if pack.host in last_on_host else []
        out.append(
            Step(
                f"undo:{pack.host}:home",
                "remove_home",
                pack.host,
                f"remove {home}, unpacked from {posixpath.basename(pack.inputs['source'])} "
                "by this session",
                {
                    "path": home,
                    "marker": pack.inputs["marker"],
                    "manifest": pack.inputs["manifest"],
                    "session": session_id,
                    "ignore": ignore,
                },
                depends_on=[*stops, *after],
            )
        )
    return out
