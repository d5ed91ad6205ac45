"""Node steps: ``preflight`` (can this host run the product?), ``start`` and ``wait``.

Readiness (CHECKLIST C8): the process is alive, ``WSO2 Carbon started in`` is in the log
after the start mark, every readiness port accepts, the console answers 200 where there is
one, and a node joining a cluster is named (``Member joined [<its uuid>]``) in the log of
a member that was already running. The wait stops at once, with host, log path, the line
and what to do, at the first fatal line of the start (a real node does not exit: it logs
and waits) and when a joining node elected itself coordinator (it found nobody); a process
that dies while we wait fails the step with the log's tail. See wizard/steps/nodelog.py.
"""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Mapping
from typing import Any

from wizard.connectors.base import shell_command
from wizard.errors import EXIT_STEP_FAILED, Where, WizardError, step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.steps import nodelog, vault
from wizard.steps.httpget import http_status
from wizard.wait import Timeout, poll

# Files whose change needs a restart of a running node.
CONFIG_DIRS = (
    "repository/conf",
    "repository/components/lib",
    "repository/resources/security",
    "repository/deployment/server/eventpublishers",
    "repository/deployment/server/jaggeryapps",
)
LOG_TAIL_LINES = 25
PID_DEADLINE = 20.0


def _q(text: str) -> str:
    return shlex.quote(text)


class PreflightHandler:
    """Checks only: product home, start script, Java, and the DB port seen from the node."""

    def _problems(self, step: Step, ctx: RunContext) -> list[str]:
        t = ctx.transport(step.host)
        home, java = step.inputs["home"], step.inputs.get("java_home")
        script = [
            f"test -d {_q(home)} || echo 'product home {home} does not exist'",
            f"test -x {_q(home)}/bin/wso2server.sh || echo '{home}/bin/wso2server.sh is missing'",
        ]
        if java:
            script.append(f"test -x {_q(java)}/bin/java || echo 'no Java at {java}/bin/java'")
        for hp in step.inputs.get("tcp", []):
            h, _, p = hp.rpartition(":")
            script.append(
                f"timeout 3 bash -c {_q(f'</dev/tcp/{h}/{p}')} 2>/dev/null "
                f"|| echo 'cannot reach {hp} from this host (firewall, bind-address?)'"
            )
        res = t.run("; ".join(script), timeout=30)
        return [line for line in res.out.splitlines() if line.strip()]

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        problems = self._problems(step, ctx)
        return Outcome(not problems, "; ".join(problems) or "ready for setup")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        problems = self._problems(step, ctx)
        raise step_failed(
            "; ".join(problems),
            fix="install Java / unpack the product / open the DB port, then resume",
            host=step.host,
        )


def _pidfile(home: str) -> str:
    return f"{home.rstrip('/')}/wso2carbon.pid"


def _home(step: Step) -> str:
    """The product home: given to start steps, derived from the log path for waits."""
    if "home" in step.inputs:
        return step.inputs["home"]
    return step.inputs["log"].rsplit("/repository/logs/", 1)[0]


def _state(step: Step, ctx: RunContext) -> tuple[bool, bool]:
    """(running, config newer than the running process)."""
    home = _home(step)
    pid = _pidfile(home)
    dirs = " ".join(_q(f"{home}/{d}") for d in CONFIG_DIRS)
    script = (
        f"if {_running_test(home)}; then echo running; "
        f"find {dirs} -newer {_q(pid)} -type f 2>/dev/null | head -1; fi"
    )
    out = ctx.transport(step.host).run(script, timeout=30).out.splitlines()
    running = bool(out) and out[0] == "running"
    return running, running and len(out) > 1


class StartHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        running, stale = _state(step, ctx)
        if running and not stale:
            return Outcome(True, "running")
        if running:
            return Outcome(False, "running with older configuration: would restart")
        return Outcome(False, "not running: would start")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        running, _ = _state(step, ctx)
        if running:  # a restart: one running node at a time (wizard/rolling.py)
            ctx.rolling.take(step.host)
        try:
            return self._start(step, ctx, "restart" if running else "start")
        except BaseException:
            ctx.rolling.broken(step.host)
            raise

    def _start(self, step: Step, ctx: RunContext, action: str) -> Outcome:
        inputs = step.inputs
        log = f"{inputs['home'].rstrip('/')}/repository/logs/wso2carbon.log"
        # never --optimize: the profile step optimised the home once, before its edits
        args = [a for a in inputs.get("args", []) if a != "--optimize"]
        env = {"JAVA_HOME": inputs["java_home"]} if inputs.get("java_home") else None
        if inputs.get("jvm_opts"):
            env = {**(env or {}), "JAVA_OPTS": " ".join(inputs["jvm_opts"])}

        def alive() -> bool:
            return _state(step, ctx)[0]

        # Secure Vault: the key store password in password-tmp, read and deleted by the node
        with vault.password_file(step, ctx, alive):
            cmd = [inputs["command"], action, *args]
            script = start_script(shell_command(cmd, env), inputs["home"], log)
            res = ctx.transport(step.host).run(script, timeout=120)
            res.check(f"{inputs['command']} {action}", host=step.host)
            out, mark, running = parse_start(res.out)
            ctx.state.start_marks[step.host] = mark
            try:  # the pid file appears once the daemon runs (the script waited a while)
                if not running:
                    poll(alive, deadline=PID_DEADLINE, what="pid file", interval=0.1)
            except Timeout:
                raise step_failed(
                    f"{inputs['command']} {action} returned but no process is running (no "
                    f"live pid in {_pidfile(inputs['home'])}); output: {out.strip()[-300:]}",
                    fix=f"look at {log}",
                    host=step.host,
                ) from None
        return Outcome(True, f"{action}ed")


_MARK = "carbon-wizard-log-mark="
_RUNNING = "carbon-wizard-running"
START_WAIT = 10.0  # seconds the start command waits on the host for the pid file


def _running_test(home: str) -> str:
    pid = _q(_pidfile(home))
    return (
        f'test -e {pid} && kill -0 "$(cat {pid})" 2>/dev/null '
        f"&& ! grep -qs '^State:[[:space:]]*Z' \"/proc/$(cat {pid})/status\""
    )


def start_script(command: str, home: str, log: str) -> str:
    """One round trip for a start: where the log ends now (the wait reads from there),
    the start command, then a wait on the host until the pid file names a live process
    (at most :data:`START_WAIT` seconds; the caller polls on after that)."""
    loops = int(START_WAIT / 0.05)
    return (
        f"if test -f {_q(log)}; then echo {_MARK}$(wc -c < {_q(log)}); "
        f"else echo {_MARK}0; fi; "
        f"{command} || exit $?; i=0; while [ $i -lt {loops} ]; do "
        f"if {_running_test(home)}; then echo {_RUNNING}; exit 0; fi; "
        "sleep 0.05; i=$((i+1)); done; exit 0"
    )


def parse_start(out: str) -> tuple[str, int, bool]:
    """(the start command's own output, the log mark, whether the node runs)."""
    mark, running, own = 0, False, []
    for line in out.splitlines():
        if line.startswith(_MARK):
            mark = int(line[len(_MARK) :].strip() or 0)
        elif line == _RUNNING:
            running = True
        else:
            own.append(line)
    return "\n".join(own), mark, running


QUICK_PROBE = 0.05  # seconds between local connects to a starting node's ports
FULL_PROBE = 1.0  # seconds between whole readiness checks while a port is still closed


def _ports(inputs: Mapping[str, Any]) -> list[tuple[str, int]]:
    if "url" in inputs or not inputs.get("address"):
        return []
    return [(inputs["address"], int(p)) for p in (inputs.get("ports") or {}).values()]


def _accepting(ports: list[tuple[str, int]]) -> bool:
    """Every port accepts a connection now (from this machine, as the full check tries)."""
    for address, port in ports:
        try:
            socket.create_connection((address, port), timeout=1).close()
        except OSError:
            return False
    return True


class WaitHandler:
    def _mark(self, step: Step, ctx: RunContext) -> int | None:
        """Where this run's start of the node begins in its log (None: not started in this
        run; its current start is then read from its last boot line)."""
        return ctx.state.start_marks.get(step.host)

    def _log_since_mark(self, step: Step, ctx: RunContext) -> str:
        t = ctx.transport(step.host)
        return nodelog.read(t, step.inputs["log"], self._mark(step, ctx))

    def _ready(self, step: Step, ctx: RunContext) -> tuple[bool, str, WizardError | None]:
        """(ready, why not, an error that ends the wait at once)."""
        inputs = step.inputs
        if "url" in inputs:  # a probe through the load balancer
            # the LB's public names at lb.ip (planned): never looked up on this machine
            resolve = inputs.get("resolve") or {}
            status = http_status(inputs["url"], bool(inputs.get("verify_tls")), resolve)
            if status is not None and status < int(inputs.get("ok_below", 400)):
                return True, f"{inputs['url']} answers {status}", None
            return (
                False,
                f"{inputs['url']} " + (f"answers {status}" if status else "does not answer"),
                None,
            )
        running, _ = _state(step, ctx)
        if not running:
            return False, "process is not running", None
        text = self._log_since_mark(step, ctx)
        fatal = nodelog.first_fatal(text)
        if fatal is not None:
            return False, f"fatal line in the log: {fatal.line}", self._fatal(step, fatal)
        joined, why_not, split = self._joined(step, ctx, text)
        if split is not None:
            return False, why_not, split
        if inputs["marker"] not in text:
            return False, "not started yet (no start line in the log)", None
        for name, port in inputs.get("ports", {}).items():
            try:
                socket.create_connection((inputs["address"], port), timeout=2).close()
            except OSError:
                return False, f"{name} port {port} does not accept connections", None
        url = inputs.get("console_url")
        if url and http_status(url) != 200:
            return False, f"{url} does not answer 200", None
        if not joined:
            return False, why_not, None
        return True, "ready", None

    def _joined(
        self, step: Step, ctx: RunContext, text: str
    ) -> tuple[bool, str, WizardError | None]:
        """A node joining a cluster: (confirmed by the members already running, why not,
        the error when it split off)."""
        members = step.inputs.get("members")
        peers = step.inputs.get("cluster_peers") or []
        if not members or not peers:
            return True, "", None
        uuid = nodelog.local_member(text)
        if uuid is None:
            return False, "waiting for the cluster join (no 'Local member' line yet)", None
        split = nodelog.split_off(text, uuid)
        if split is not None:
            return False, "it formed a cluster of its own", self._split(step, split)
        needed = min(int(members) - 1, len(peers))
        seen = [p["node"] for p in peers if self._peer_saw(ctx, p, uuid)]
        if len(seen) < needed:
            names = ", ".join(p["node"] for p in peers if p["node"] not in seen)
            return False, f"waiting for {names} to log Member joined [{uuid}]", None
        return True, "", None

    def _peer_saw(self, ctx: RunContext, peer: dict[str, Any], uuid: str) -> bool:
        """``Member joined [<uuid>]`` in the log of a member already running, since its own
        start (its start mark in this run, else its last boot line)."""
        t = ctx.transport(peer["node"])
        mark = ctx.state.start_marks.get(peer["node"])
        return bool(nodelog.read(t, peer["log"], mark, grep=nodelog.joined_line(uuid)).strip())

    def _fatal(self, step: Step, fatal: nodelog.Fatal) -> WizardError:
        log = step.inputs["log"]
        return WizardError(
            f"{step.host} will not start: its log says\n{fatal.text()}\n(log: {log})",
            Where(host=step.host, file=log),
            fatal.fix,
            EXIT_STEP_FAILED,
        )

    def _split(self, step: Step, line: str) -> WizardError:
        log = step.inputs["log"]
        peers = ", ".join(p["node"] for p in step.inputs.get("cluster_peers") or [])
        return WizardError(
            f"{step.host} did not join the cluster of {peers}: it found no running member "
            f"and elected itself coordinator\n  {line}\n(log: {log})",
            Where(host=step.host, file=log),
            "check axis2.xml <clustering> on both nodes: the WKA <members> must list the "
            f"running node's localMemberHost and localMemberPort ({peers}), the domain must "
            "be the same, localMemberHost must be an address the other node reaches, and no "
            "firewall may block the member port between the hosts; then resume (the node "
            "restarts when its configuration changed)",
            EXIT_STEP_FAILED,
        )

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        ok, why, _ = self._ready(step, ctx)
        if ok:
            self._back(step, ctx)
        return Outcome(ok, why)

    def _back(self, step: Step, ctx: RunContext) -> None:
        """The node is ready: a rolling restart may go on with the next node once the
        load balancer takes this one back (its upstreams' fail_timeout, ``settle``)."""
        ctx.rolling.give_back(step.host, float(step.inputs.get("settle") or 0))

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        try:
            outcome = self._wait(step, ctx)
        except BaseException:
            ctx.rolling.broken(step.host)  # it keeps the gate: no other node goes down
            raise
        self._back(step, ctx)
        return outcome

    def _wait(self, step: Step, ctx: RunContext) -> Outcome:
        deadline = float(ctx.wait_timeout or step.inputs.get("timeout") or 600)
        state: dict[str, Any] = {"why": "", "full": 0.0}
        ports = _ports(step.inputs)

        def probe() -> bool:
            # the whole check (over SSH: process, log, cluster) once all the readiness
            # ports accept (a local connect each, every QUICK_PROBE seconds), and every
            # FULL_PROBE seconds before that: a fatal line or a dead process ends the wait
            now = time.monotonic()
            if ports and now - state["full"] < FULL_PROBE and not _accepting(ports):
                return False
            state["full"] = now
            ok, why, error = self._ready(step, ctx)
            state["why"] = why
            if error is not None:
                raise error
            if not ok and why == "process is not running" and "url" not in step.inputs:
                raise self._died(step, ctx)
            return ok

        start = time.monotonic()
        keep_waiting = ctx.keep_waiting
        while True:
            try:
                poll(
                    probe,
                    deadline=deadline,
                    what=f"{step.host} readiness",
                    interval=QUICK_PROBE,
                    max_interval=QUICK_PROBE,
                )
                break
            except Timeout:
                if keep_waiting is not None and keep_waiting(step, deadline, state["why"]):
                    continue  # a fresh deadline of the same length
                waited = time.monotonic() - start
                raise WizardError(
                    f"{step.host} is not ready after {waited:.0f}s: {state['why']}\n"
                    + self._tail(step, ctx),
                    fix="look at the log above; fix the cause and resume (a slow host may "
                    "need a longer start timeout)",
                    exit_code=EXIT_STEP_FAILED,
                ) from None
        return Outcome(True, f"ready in {time.monotonic() - start:.1f}s")

    def _tail(self, step: Step, ctx: RunContext) -> str:
        if "log" not in step.inputs:
            return ""
        lines = self._log_since_mark(step, ctx).splitlines()[-LOG_TAIL_LINES:]
        return "log tail:\n" + "\n".join(f"  {line}" for line in lines)

    def _died(self, step: Step, ctx: RunContext) -> WizardError:
        text = self._log_since_mark(step, ctx)
        errors = [line for line in text.splitlines() if " ERROR " in line or "ERROR {" in line]
        headline = errors[0].strip() if errors else "the process exited"
        return WizardError(
            f"{step.host} stopped while starting: {headline}\n" + self._tail(step, ctx),
            fix="fix the cause shown in the log, then resume",
            exit_code=EXIT_STEP_FAILED,
        )


HANDLERS = {"preflight": PreflightHandler(), "start": StartHandler(), "wait": WaitHandler()}
