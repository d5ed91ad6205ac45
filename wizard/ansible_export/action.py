"""The ``carbon_wizard`` Ansible action plugin (shipped as the export's
``action_plugins/carbon_wizard.py``, which imports this class).

It runs on the controller. A task names a plan step (``step: <id>``) and the plugin runs
it through the wizard's own handler (:func:`wizard.ansible_export.runtime.run_step`) with
a :class:`~wizard.ansible_export.transport.ShellTransport` over the task's connection;
a step that reads another plan host (the trust store's certificate on the first node,
the cluster peers' logs, the dbscript in a node's pack) gets a connection of that
inventory host made the way Ansible makes it (its host vars, connection plugin, become).
``verify: true`` (the playbook's first task) re-plans against the homes; see runtime.py.

Check mode runs ``check`` only; ``--diff`` shows the handler's diff (secrets masked);
``changed`` is true only when the step changed something (or would, in check mode).
Secrets come from the ``cw_secrets`` variable (group_vars/all/secrets.yml: lookups that
mirror the answers' references), templated here, one path at a time, never in the
task's arguments or result.
"""

from __future__ import annotations

import os
import re
import shlex
import traceback
from typing import Any

from ansible import constants as C  # type: ignore[import-untyped, import-not-found, unused-ignore]
from ansible.errors import AnsibleError  # type: ignore[import-untyped, import-not-found, unused-ignore]
from ansible.plugins.action import ActionBase  # type: ignore[import-untyped, import-not-found, unused-ignore]
from ansible.plugins.loader import become_loader, connection_loader  # type: ignore[import-untyped, import-not-found, unused-ignore]

from wizard.ansible_export import runtime
from wizard.ansible_export.transport import Execute, ShellTransport
from wizard.errors import WizardError
from wizard.secrets import Secret, redact

_BECOME_OK = re.compile(rb"^((\r)?\n)?BECOME-SUCCESS.*(\r)?\n")


def _execute(connection: Any) -> Execute:
    """Shell text through ``connection`` (``/bin/sh -c``), bytes back, no TTY (binary
    files stay exact); with its become plugin when asked and set."""
    try:
        connection.set_option("use_tty", False)
    except (KeyError, AttributeError):
        pass

    def run(text: str, stdin: bytes | None, become: bool) -> tuple[int, bytes, bytes]:
        cmd = "/bin/sh -c " + shlex.quote(text)
        use_become = bool(become and getattr(connection, "become", None))
        if use_become:
            cmd = connection.become.build_become_command(cmd, connection._shell)
        rc, out, err = connection.exec_command(cmd, in_data=stdin, sudoable=use_become)
        out = out if isinstance(out, bytes) else out.read()
        err = err if isinstance(err, bytes) else err.read()
        if use_become and out.lstrip().startswith(b"BECOME-SUCCESS-"):
            out = _BECOME_OK.sub(b"", out, count=1)
        return int(rc or 0), out, err

    return run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("step", "verify"))
    _requires_connection = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        self._vars = task_vars
        self._peers: dict[str, Any] = {}
        self._transports: dict[str, ShellTransport] = {}
        check_mode = bool(self._task.check_mode)
        try:
            project = runtime.load_project(task_vars.get("playbook_dir") or ".")
            marks = self._start_marks(project)
            ctx = runtime.context(
                project, self._transport, self._secret, check_mode=check_mode, start_marks=marks
            )
            try:
                if self._task.args.get("verify"):
                    result.update(self._verify(project, ctx))
                else:
                    result.update(self._step(project, ctx))
            finally:
                ctx.state.close()
        except WizardError as exc:
            result.update(failed=True, msg=redact(exc.render()))
        except Exception as exc:  # noqa: BLE001 - a clean failure; the traceback at -vvv
            result.update(
                failed=True,
                msg=redact(f"internal error: {type(exc).__name__}: {exc}"),
                exception=redact(traceback.format_exc()),
            )
        finally:
            for conn in self._peers.values():
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
        return result

    # -- one step ------------------------------------------------------------------------
    def _step(self, project: runtime.Project, ctx: Any) -> dict[str, Any]:
        step_id = str(self._task.args.get("step") or "")
        try:
            step = project.plan.step(step_id)
        except KeyError:
            raise WizardError(
                f"the exported plan has no step {step_id!r}",
                fix="export the project again (carbon-wizard export ansible) and run its site.yml",
            ) from None
        from wizard.steps import handlers

        handler = handlers().get(step.kind)
        if handler is None:
            raise WizardError(f"steps of kind {step.kind!r} cannot be run by this version")
        report = runtime.run_step(step, handler, ctx)
        facts: dict[str, Any] = {}
        if ctx.check_mode:
            pending = self._pending()
            waits_for = [d for d in step.depends_on if d in pending]
            if report.failed and waits_for:
                # check mode: what this step needs is not there yet, because a step it
                # depends on would make it (``apply --check`` shows it as failed)
                report = runtime.StepReport(
                    True, f"cannot be checked before {', '.join(waits_for)} runs: {report.msg}"
                )
            if report.changed:
                mine = self._vars.get(runtime.PENDING_FACT) or []
                facts[runtime.PENDING_FACT] = [*mine, step.id]
        out = report.result(diff=bool(self._task.diff))
        out.update(step=step.id, kind=step.kind)
        if step.kind == "start" and not report.failed:
            # where this run's start begins in the node's log (None: not started now)
            started = None
            if report.changed and not ctx.check_mode:
                started = ctx.state.start_marks.get(step.host)
            facts[runtime.START_MARK_FACT] = started
        if facts:
            out["ansible_facts"] = facts
            out["_ansible_facts_cacheable"] = False
        return out

    def _pending(self) -> set[str]:
        """Steps that would change in this check run, on any host so far."""
        out: set[str] = set()
        hostvars = self._vars.get("hostvars") or {}
        for host in list(self._vars.get("ansible_play_hosts_all") or []) + list(
            self._vars.get("groups", {}).get("all", [])
        ):
            if host in hostvars:
                try:
                    out.update(hostvars[host].get(runtime.PENDING_FACT) or [])
                except (AttributeError, AnsibleError):
                    pass
        return out

    def _verify(self, project: runtime.Project, ctx: Any) -> dict[str, Any]:
        for path in runtime.secret_paths(project.plan):
            ctx.secret(path)  # a missing secret stops the run here, before any change
        hosts = list(self._vars.get("ansible_play_hosts") or [])
        notes, diff = runtime.verify(project, ctx, hosts)
        if diff:
            return {
                "failed": True,
                "msg": "the homes or the database server are not what they were when this "
                "project was exported, so its plan is not the one the wizard would run now: "
                + "; ".join(diff[:10])
                + ("; ..." if len(diff) > 10 else "")
                + ". Export again: carbon-wizard export ansible --answers "
                f"{project.root}/{runtime.DATA_DIR}/answers.yaml -o {project.root} --force",
            }
        out: dict[str, Any] = {"changed": False, "msg": f"plan {project.export_id} verified"}
        if notes:
            out["notes"] = notes
        return out

    # -- what the handlers use -----------------------------------------------------------
    def _start_marks(self, project: runtime.Project) -> dict[str, int]:
        marks: dict[str, int] = {}
        hostvars = self._vars.get("hostvars") or {}
        for host in project.plan.hosts():
            if host not in hostvars:
                continue
            try:
                value = hostvars[host].get(runtime.START_MARK_FACT)
            except (KeyError, AttributeError, AnsibleError):
                value = None
            if value is not None:
                marks[host] = int(value)
        return marks

    def _secret(self, path: str) -> str:
        table = self._vars.get("cw_secrets") or {}
        if path not in table:
            raise WizardError(
                f"the plan needs the secret {path}, which cw_secrets does not give",
                fix=f"add {path} to group_vars/all/secrets.yml (a lookup or a vaulted value)",
            )
        try:
            value = self._templar.template(table[path])
        except AnsibleError as exc:
            raise WizardError(
                f"secret {path} cannot be resolved: {redact(str(exc)).splitlines()[0]}",
                fix="set what group_vars/all/secrets.yml names for it (an environment "
                "variable, a file on this controller, or answer the prompt)",
            ) from None
        if not isinstance(value, str) or not value:
            raise WizardError(
                f"secret {path} resolved to nothing",
                fix="set what group_vars/all/secrets.yml names for it",
            )
        Secret(value)  # registered: redact() masks it from now on
        return value

    def _transport(self, host: str) -> ShellTransport:
        if host not in self._transports:
            me = self._vars.get("inventory_hostname")
            conn = self._connection if host == me else self._peer(host)
            user = ""
            try:
                user = str(conn.get_option("remote_user") or "")
            except (KeyError, AttributeError):
                pass
            self._transports[host] = ShellTransport(
                host, _execute(conn), user=user, become=bool(getattr(conn, "become", None))
            )
        return self._transports[host]

    def _peer(self, host: str) -> Any:
        """A connection to another inventory host, as Ansible would open it for a task on
        that host: its connection plugin, its variables, its become settings."""
        hostvars = self._vars.get("hostvars") or {}
        if host not in hostvars:
            raise WizardError(
                f"the plan needs host {host!r}, which is not in the inventory",
                fix="run with the export's inventory.yml",
            )
        hv = hostvars[host]

        def var(name: str, default: Any = None) -> Any:
            try:
                return hv[name] if name in hv else default
            except AnsibleError:
                return default

        conn_type = var("ansible_connection") or C.DEFAULT_TRANSPORT or "ssh"
        if conn_type == "smart":
            conn_type = "ssh"
        pc = self._play_context.copy()
        pc.connection = conn_type
        pc.remote_addr = var("ansible_host", host)
        pc.port = var("ansible_port")
        pc.remote_user = var("ansible_user")
        conn = connection_loader.get(
            conn_type,
            pc,
            None,
            task_uuid=self._task._uuid,
            ansible_playbook_pid=str(os.getppid()),
        )
        if conn is None:
            raise WizardError(f"the connection plugin {conn_type!r} was not found")
        names = C.config.get_plugin_vars("connection", conn._load_name)
        variables = {n: var(n) for n in names if var(n) is not None}
        variables.setdefault("inventory_hostname", host)
        variables.setdefault("ansible_host", var("ansible_host", host))
        task_keys = self._task.dump_attrs()
        task_keys["timeout"] = pc.timeout
        task_keys.pop("retries", None)
        conn.set_options(
            task_keys=task_keys,
            var_options=conn._resolve_option_variables(variables, self._templar),
        )
        shell_vars = C.config.get_plugin_vars("shell", conn._shell._load_name)
        conn._shell.set_options(
            task_keys=task_keys, var_options={n: var(n) for n in shell_vars if var(n) is not None}
        )
        if var("ansible_become"):
            become = become_loader.get(var("ansible_become_method") or "sudo")
            become_vars = C.config.get_plugin_vars("become", become._load_name)
            become.set_options(
                task_keys=task_keys,
                var_options={n: var(n) for n in become_vars if var(n) is not None},
            )
            conn.set_become_plugin(become)
        self._peers[host] = conn
        return conn
