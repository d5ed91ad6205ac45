"""``site.yml`` from a plan: plays in the plan's order, one task per step (or per step
that several hosts share), tags per step kind.

A step goes into the first play of its category that comes after every play holding
one of its dependencies; inside that play, a task is shared by the hosts whose step ids
differ only by the host (``<host>:file_edit:repository/conf/carbon.xml``), and a step
never joins a task that runs before one of its dependencies in the same play (the
linear strategy finishes a task on every host before the next). Categories, in the
order the plan has them: preflight, databases (run once, from the controller),
certificates, the nodes' driver, files and trust stores, the load balancer, start groups
(one play each; consecutive one-node groups become one play with ``serial: 1``), the
probe through the load balancer and the sync script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.plan import Plan, Step, kind_tags

HOST_VAR = "{{ inventory_hostname }}"
NODES_GROUP = "apim"
LB_GROUP = "nginx"
TITLES = {
    "preflight": "preflight: can every node run the product",
    "db": "databases, users, grants and dbscripts (from the controller)",
    "certs": "certificates: the load balancer's, the nodes' key store",
    "nodes": "driver, file edits, hosts files and trust stores",
    "lb": "load balancer",
    "probe": "wait until the load balancer answers",
    "start": "start",
    "sync": "artifact sync",
}


@dataclass
class Task:
    template: str  # the step id, with the host as {{ inventory_hostname }}
    kind: str
    hosts: list[str] = field(default_factory=list)
    deps: set[str] = field(default_factory=set)  # step ids, every host's


@dataclass
class PlayPlan:
    category: str
    tasks: list[Task] = field(default_factory=list)
    serial: bool = False

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(h for t in self.tasks for h in t.hosts))

    def step_ids(self) -> set[str]:
        return {_concrete(t.template, h) for t in self.tasks for h in t.hosts}


def _template(step: Step) -> str:
    if step.host != "db" and step.id.startswith(f"{step.host}:"):
        return HOST_VAR + step.id[len(step.host) :]
    return step.id


def _concrete(template: str, host: str) -> str:
    return template.replace(HOST_VAR, host)


def category(step: Step, nodes: set[str]) -> str:
    if step.kind == "preflight":
        return "preflight"
    if step.host == "db":
        return "db"
    if step.kind == "certificate":
        return "certs"
    if step.host not in nodes:
        return "probe" if step.kind == "wait" else "lb"
    if step.kind in ("start", "wait"):
        return "start"
    if step.kind == "sync_script":
        return "sync"
    return "nodes"


def build(plan: Plan, nodes: list[str]) -> list[PlayPlan]:
    node_set = set(nodes)
    plays: list[PlayPlan] = []
    where: dict[str, int] = {}
    for step in plan.steps:
        cat = category(step, node_set)
        lo = max((where[d] for d in step.depends_on if d in where), default=-1)
        index = _place(plays, step, cat, lo)
        where[step.id] = index
    return _merge_serial_starts(plays)


def _place(plays: list[PlayPlan], step: Step, cat: str, lo: int) -> int:
    template = _template(step)
    for i in range(max(lo, 0), len(plays)):
        play = plays[i]
        if play.category != cat:
            continue
        inside = play.step_ids()
        own = [d for d in step.depends_on if d in inside]
        if cat == "start" and any(not d.startswith(f"{step.host}:") for d in own):
            continue  # a start group waits for the one before: a play of its own
        pos = _task_index(play, own)
        for t in play.tasks[pos:]:
            if t.template == template and step.host not in t.hosts:
                t.hosts.append(step.host)
                t.deps.update(step.depends_on)
                return i
        if i == len(plays) - 1 or cat != "start":
            play.tasks.append(Task(template, step.kind, [step.host], set(step.depends_on)))
            return i
    plays.append(PlayPlan(cat, [Task(template, step.kind, [step.host], set(step.depends_on))]))
    return len(plays) - 1


def _task_index(play: PlayPlan, deps: list[str]) -> int:
    """The first task position after every task that runs one of ``deps``."""
    last = -1
    for i, t in enumerate(play.tasks):
        if any(_concrete(t.template, h) in deps for h in t.hosts):
            last = i
    return last + 1


def _merge_serial_starts(plays: list[PlayPlan]) -> list[PlayPlan]:
    """Consecutive start plays of one node each: one play, ``serial: 1``, in order."""
    out: list[PlayPlan] = []
    for play in plays:
        single = play.category == "start" and len(play.hosts) == 1
        prev = out[-1] if out else None
        if (
            single
            and prev is not None
            and prev.category == "start"
            and (prev.serial or len(prev.hosts) == 1)
            and [t.template for t in prev.tasks] == [t.template for t in play.tasks]
            and play.hosts[0] not in prev.hosts
        ):
            for mine, theirs in zip(prev.tasks, play.tasks, strict=True):
                mine.hosts.extend(theirs.hosts)
                mine.deps.update(theirs.deps)
            prev.serial = True
            continue
        out.append(play)
    return out


def _hosts_pattern(
    hosts: list[str], nodes: list[str], lb: str | None, groups: tuple[str, str]
) -> str | list[str]:
    if set(hosts) == set(nodes):
        return groups[0]
    if lb is not None and hosts == [lb]:
        return groups[1]
    return hosts


def _name(task: Task) -> str:
    rest = task.template.removeprefix(HOST_VAR + ":")
    if task.template.startswith("db:"):
        rest = rest.removeprefix("db:")
    kind, _, what = rest.partition(":")
    return f"{kind} {what}".strip()


def render(
    plays: list[PlayPlan],
    nodes: list[str],
    lb: str | None,
    groups: tuple[str, str] = (NODES_GROUP, LB_GROUP),
) -> list[dict[str, Any]]:
    """The plays as site.yml data (after the verify play, see project.py); ``groups``:
    the inventory's group of every node and the load balancer's group."""
    out: list[dict[str, Any]] = []
    for play in plays:
        hosts = play.hosts
        if play.category == "db":
            hosts = nodes  # run once, on the first node in the run: the steps reach the DB
        title = TITLES[play.category]
        if play.category == "start":
            title = f"start {', '.join(hosts)}" + (" (one at a time)" if play.serial else "")
        data: dict[str, Any] = {
            "name": title,
            # a serial play lists its hosts: their order is the start order
            "hosts": hosts if play.serial else _hosts_pattern(hosts, nodes, lb, groups),
            "gather_facts": False,
        }
        if play.serial:
            data["serial"] = 1
        if play.category == "db":
            data["any_errors_fatal"] = True
        tasks = []
        for t in play.tasks:
            task: dict[str, Any] = {
                "name": _name(t),
                "carbon_wizard": {"step": t.template},
                "tags": [t.kind, *kind_tags(t.kind)],
            }
            if play.category == "db":
                task["run_once"] = True
            elif set(t.hosts) != set(hosts):
                task["when"] = f"inventory_hostname in {sorted(t.hosts)!r}"
            tasks.append(task)
        data["tasks"] = tasks
        out.append(data)
    return out
