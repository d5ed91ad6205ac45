"""Everything a run needs around the executor: host targets from the answers, secrets
resolved up front (a missing one fails before any change), host keys verified in one
batch, one connection per host, and drift checks on resume."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wizard.answers import Answers
from wizard.catalog.model import Pattern
from wizard.connectors.base import HostTarget, Transport
from wizard.connectors.hostkeys import (
    CHANGED,
    KNOWN,
    UNKNOWN,
    HostKeyStatus,
    HostKeyStore,
    changed_error,
    require_trusted,
    scan_host_keys,
    scan_one,
    scan_status,
)
from wizard.connectors.mysql_checks import ServerInfo
from wizard.connectors.parallel import run_per_host
from wizard.connectors.pool import ConnectionCache, open_transport
from wizard.critical import journaled
from wizard.errors import EXIT_STEP_FAILED, WizardError, bad_input
from wizard.executor import Event, Executor, RunContext, RunState, Summary
from wizard.plan import Plan, Step
from wizard.planning.build import plan as make_plan
from wizard.planning.build import survey_files
from wizard.planning.homefacts import Facts, HomeFacts, gather, pack_homes, read_home
from wizard.secrets import Prompter, Secret, resolve
from wizard.session import Session

ConfirmKeys = Callable[[list[HostKeyStatus]], bool]


FILE_KINDS = ("file_edit", "hosts_entry")  # the steps that edit a file in place (steps/files.py)


def _ssh_target(
    name: str, address: str, ssh: Any, resolve_secret: Callable[[str, str], Secret], at: str
) -> HostTarget:
    """``at``: the answers path of this ``ssh`` mapping (``nodes.0.ssh``, ``lb.ssh``)."""
    password = ssh.password
    sudo_password = ssh.sudo_password
    return HostTarget(
        name=name,
        address=address,
        port=ssh.port,
        user=ssh.user or "",
        transport=ssh.transport,
        key_file=str(ssh.key) if ssh.key else None,
        password=resolve_secret(password, f"{at}.password") if password else None,
        use_agent=ssh.key is None and password is None,
        sudo=ssh.sudo,
        sudo_password=(
            resolve_secret(sudo_password, f"{at}.sudo_password") if sudo_password else None
        ),
        host_key=ssh.host_key,
    )


def answer_value(answers: Answers, path: str) -> Any:
    """The raw answer at a dotted path (``db.password``, ``db.databases.am.password``)."""
    node: Any = answers.model_dump(mode="json", by_alias=True)
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise bad_input(
                f"the plan needs the secret {path}, which the answers do not give",
                fix=f"add {path}: env:NAME (or file:PATH, prompt)",
                field=path,
            )
    return node


class Secrets:
    """Answer path -> resolved :class:`Secret`, resolved once."""

    def __init__(self, answers: Answers, prompter: Prompter | None) -> None:
        self.answers = answers
        self.prompter = prompter
        self._cache: dict[str, Secret] = {}

    def secret(self, path: str) -> Secret:
        if path not in self._cache:
            ref = answer_value(self.answers, path)
            if not isinstance(ref, str):
                raise bad_input(
                    f"the plan needs the secret {path}, which is not set",
                    fix=f"add {path}: env:NAME (or file:PATH, prompt)",
                    field=path,
                )
            self._cache[path] = resolve(ref, path, self.prompter)
        return self._cache[path]

    def by_ref(self, ref: str, path: str) -> Secret:
        """A login secret (``nodes.0.ssh.password``, ...): resolved once per reference;
        a ``prompt`` is asked once per answer path (the TUI keeps typed ones by path)."""
        key = f"ref:{path}" if ref == "prompt" else f"ref:{ref}"
        if key not in self._cache:
            self._cache[key] = resolve(ref, path, self.prompter)
        return self._cache[key]

    def value(self, path: str) -> str:
        return self.secret(path).reveal()

    def resolve_all(self, plan: Plan) -> None:
        for path in plan.secret_paths():
            self.secret(path)


def host_targets(answers: Answers, secrets: Secrets) -> dict[str, HostTarget]:
    targets = {
        n.name: _ssh_target(n.name, n.address, n.ssh, secrets.by_ref, f"nodes.{i}.ssh")
        for i, n in enumerate(answers.nodes)
    }
    if answers.lb is not None:
        lb = answers.lb
        targets[lb.name] = _ssh_target(lb.name, lb.address, lb.ssh, secrets.by_ref, "lb.ssh")
    return targets


class Runner:
    """One run of a plan against real hosts and a real database server."""

    def __init__(
        self,
        answers: Answers,
        plan: Plan,
        session: Session,
        *,
        prompter: Prompter | None = None,
        parallelism: int = 8,
        user_known_hosts: str | Path | None = "~/.ssh/known_hosts",
    ) -> None:
        self.answers = answers
        self.plan = plan
        self.session = session
        self.parallelism = parallelism
        self.secrets = Secrets(answers, prompter)
        self.targets = host_targets(answers, self.secrets)
        self.store = HostKeyStore(session.known_hosts, user_file=user_known_hosts)
        self.cache = ConnectionCache(lambda t: open_transport(t, self.store))
        self.state = RunState()  # shared by every context of this runner's runs
        self.wait_timeout: float | None = None
        self.keep_waiting: Callable[[Step, float, str], bool] | None = None
        self.facts: Facts | None = None  # what survey() read
        # connect_ahead(): host -> its scan's status (or error), logins that failed
        self._ahead: Future[dict[HostTarget, HostKeyStatus | BaseException]] | None = None
        self._login_errors: dict[str, BaseException] = {}
        self._ahead_files: dict[str, tuple[str, list[str]]] = {}  # survey_files, for:
        self._ahead_homes: dict[str, HomeFacts | WizardError] = {}  # homes read ahead

    # before anything changes ------------------------------------------------
    def plan_hosts(self) -> list[HostTarget]:
        """The plan's hosts reached over SSH (a ``local`` one has no host key)."""
        names = [h for h in self.plan.hosts() if h in self.targets]
        return [self.targets[n] for n in names if self.targets[n].transport != "local"]

    def verify_host_keys(
        self, *, accept_new: bool = False, confirm: ConfirmKeys | None = None
    ) -> list[HostKeyStatus]:
        """Scan every host at once; a changed key stops here, before any write.

        Unknown keys are pinned when ``accept_new`` or when ``confirm`` (shown all of them
        in one batch) says yes; otherwise the run stops with their fingerprints.
        """
        hosts = self.plan_hosts()
        statuses = self._scanned_ahead(hosts)
        if statuses is None:
            statuses = scan_host_keys(hosts, self.store, parallelism=self.parallelism)
        for s in statuses:
            if s.state == CHANGED:
                raise changed_error(s)
        unknown = [s for s in statuses if s.state == UNKNOWN]
        if unknown and not accept_new and confirm is not None:
            accept_new = confirm(unknown)
        return require_trusted(statuses, self.store, accept_new=accept_new)

    def connect_ahead(self, pattern: Pattern) -> None:
        """Start, in the background, what :meth:`verify_host_keys`, the first
        :meth:`transport` calls and :meth:`survey` would do: scan every SSH host of the
        answers; where the key is already trusted (known or pinned), log in and read the
        node's home (read-only), while the caller plans. Nothing is written anywhere;
        :meth:`verify_host_keys` decides as ever, on these statuses, and a login that
        failed fails the first :meth:`transport` of its host."""
        hosts = [t for t in self.targets.values() if t.transport == "ssh"]
        if not hosts or self._ahead is not None:
            return
        try:
            self._ahead_files = survey_files(self.answers, pattern)
        except WizardError:
            self._ahead_files = {}  # the plan stops on it; nothing is read ahead
        pool = ThreadPoolExecutor(1, thread_name_prefix="cw-ahead")
        self._ahead = pool.submit(
            run_per_host, hosts, self._scan_and_login, parallelism=self.parallelism
        )
        pool.shutdown(wait=False)

    def _scan_and_login(self, host: HostTarget) -> HostKeyStatus:
        status = scan_one(self.store, host)
        if status.state != KNOWN:
            return status
        try:
            self.cache.get(host)
        except BaseException as exc:  # noqa: BLE001 - raised by transport(host)
            self._login_errors[host.name] = exc
            return status
        if host.name in self._ahead_files:
            home, extra = self._ahead_files[host.name]
            try:
                found = read_home(self.cache.get(host), host.name, home, extra)
            except WizardError as exc:  # kept, as gather() keeps it
                self._ahead_homes[host.name] = exc
            except Exception:  # noqa: BLE001 - survey() reads it again, and fails as ever
                pass
            else:
                self._ahead_homes[host.name] = found
        return status

    def _scanned_ahead(self, hosts: list[HostTarget]) -> list[HostKeyStatus] | None:
        """The statuses :func:`scan_host_keys` would give for ``hosts``, from the scan
        :meth:`connect_ahead` started (None without one)."""
        if self._ahead is None:
            return None
        found = {h.name: r for h, r in self._ahead.result().items()}
        if any(h.name not in found for h in hosts):
            return None
        return [scan_status(h, found[h.name]) for h in hosts]

    def survey(self, pattern: Pattern) -> Plan:
        """Read every node's home (read-only: carbon.xml, the datasources folder, the files
        whose datasource references the plan follows) and plan against what is there.
        A home of another product or version stops here, before any change. Call it
        once the host keys are trusted; it replaces and returns ``self.plan``."""
        facts = Facts()
        with ThreadPoolExecutor(1, thread_name_prefix="cw-dbfacts") as pool:
            server = pool.submit(self._server, facts)
            files = survey_files(self.answers, pattern)
            facts.homes, facts.unreachable = self._read_homes(files)
            # a missing home that product.pack will unpack: read from the zip instead
            facts.homes.update(pack_homes(self.answers.product.pack, files, facts.homes))
            facts.server = server.result()
        self.facts = facts
        self.plan = make_plan(self.answers, pattern, facts)
        self.secrets.resolve_all(self.plan)
        return self.plan

    def _read_homes(
        self, files: dict[str, tuple[str, list[str]]]
    ) -> tuple[dict[str, HomeFacts], dict[str, WizardError]]:
        """:func:`gather`, but for the homes :meth:`connect_ahead` read (the same files)."""
        if self._ahead is not None:
            self._ahead.exception()  # done (verify_host_keys waited for it already)
        ahead = self._ahead_homes if files == self._ahead_files else {}
        self._ahead_homes, self._ahead_files = {}, {}
        homes, failed = gather(
            {n: f for n, f in files.items() if n not in ahead},
            self.transport,
            parallelism=self.parallelism,
        )
        for node, found in ahead.items():
            if isinstance(found, WizardError):
                failed[node] = found
            else:
                homes[node] = found
        return (
            {n: homes[n] for n in files if n in homes},
            {n: failed[n] for n in files if n in failed},
        )

    def _server(self, facts: Facts) -> ServerInfo | None:
        """The database server's flavour, version and default authentication (the
        admin connection stays open for the database steps); None, with a note, when it
        cannot be reached now: then a MySQL 5.7 / MariaDB 10.2+ server is assumed."""
        step = next((s for s in self.plan.steps if s.kind == "database"), None)
        if step is None:
            return None
        from wizard.steps.database import admin_connection

        try:
            return admin_connection(step, self.context(check_mode=True)).server
        except WizardError as exc:
            facts.server_error = exc
            facts.notes.append(
                f"the database server was not reached ({exc.what}); the plan assumes "
                "MySQL 5.7+ or MariaDB 10.2+ (dbscripts mysql5.7.sql, no public key "
                "retrieval in the JDBC URLs)"
            )
            return None

    def transport(self, host: str) -> Transport:
        failed = self._login_errors.pop(host, None)
        if failed is not None:
            raise failed
        target = self.targets.get(host)
        if target is None:
            raise WizardError(
                f"the plan names host {host!r}, which the answers do not define",
                exit_code=EXIT_STEP_FAILED,
            )
        return self.cache.get(target)

    def context(self, *, check_mode: bool = False) -> RunContext:
        java_home = self.answers.product.java_home
        return RunContext(
            check_mode=check_mode,
            session_id=self.session.meta.id,
            transport=self.transport,
            secret=self.secrets.value,
            answers=self.answers,
            hostkeys=self.store,
            session_dir=str(self.session.path),
            java_home=str(java_home) if java_home else None,
            wait_timeout=self.wait_timeout,
            keep_waiting=self.keep_waiting,
            state=self.state,
        )

    # running -----------------------------------------------------------------
    def drifted(self, handlers: Mapping[str, Any]) -> list[tuple[Step, str]]:
        """Finished file steps (same fingerprint) whose file changed since we wrote it."""
        finished = self.session.journal.finished()
        ctx = self.context(check_mode=True)
        out = []
        for step in self.plan.steps:
            done = finished.get(step.id)
            if not done or done.fingerprint != step.fingerprint:
                continue
            if step.kind not in FILE_KINDS or step.kind not in handlers:
                continue
            outcome = handlers[step.kind].check(step, ctx)
            if not outcome.satisfied:
                out.append((step, outcome.diff))
        return out

    def execute(
        self,
        handlers: Mapping[str, Any],
        *,
        selected: set[str] | None = None,
        check_mode: bool = False,
        on_event: Callable[[Event], None] | None = None,
        executor_hook: Callable[[Executor], None] | None = None,
    ) -> Summary:
        executor = Executor(
            self.plan,
            handlers,
            journal=self.session.journal,
            context=self.context(check_mode=check_mode),
            parallelism=self.parallelism,
            on_event=on_event,
            durations=journaled(self.session.journal.entries()),
        )
        self.state.read_ahead = _file_paths(self.plan, selected)
        if executor_hook:
            executor_hook(executor)
        return executor.run(selected)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.exception()  # its logins land in the cache before it is closed
        self.state.close()
        self.cache.close_all()


def _file_paths(plan: Plan, selected: set[str] | None) -> dict[str, list[str]]:
    """The files the selected file steps edit, per host (not the glob edits')."""
    out: dict[str, list[str]] = {}
    for s in plan.steps:
        if s.kind in FILE_KINDS and (selected is None or s.id in selected):
            if not s.inputs.get("glob") and s.inputs.get("path"):
                out.setdefault(s.host, []).append(str(s.inputs["path"]))
    return out


def unknown_keys_text(statuses: Sequence[HostKeyStatus]) -> str:
    lines = ["New SSH host keys (not in known_hosts, not pinned in the answers):"]
    for s in statuses:
        lines.append(f"  {s.name:<12} {s.address}:{s.port}  {s.key_type}  {s.fingerprint}")
    return "\n".join(lines)
