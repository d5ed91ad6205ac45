"""``driver`` step: the MySQL JDBC driver jar in ``repository/components/lib`` of a node."""

from __future__ import annotations

import hashlib
from pathlib import Path

from wizard.errors import bad_input
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.stepinputs import DriverInputs, inputs
from wizard.steps.files import remove_leftovers


def _local_jar(step: Step) -> tuple[Path, bytes]:
    source = Path(inputs(step, DriverInputs)["source"]).expanduser()
    try:
        return source, source.read_bytes()
    except OSError as exc:
        raise bad_input(
            f"the JDBC driver jar {source} cannot be read: {exc.strerror}",
            fix="download mysql-connector-java-5.1.x.jar (or 8.x with "
            "driver_class com.mysql.cj.jdbc.Driver) and set product.driver_jar to its path",
            field="product.driver_jar",
        ) from exc


class DriverHandler:
    def _target(self, step: Step) -> tuple[str, bytes]:
        source, data = _local_jar(step)
        return f"{inputs(step, DriverInputs)['dest_dir'].rstrip('/')}/{source.name}", data

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        path, data = self._target(step)
        transport = ctx.transport(step.host)
        st = transport.stat(path)
        if st.exists and st.size == len(data):
            if hashlib.sha256(transport.read(path)).digest() == hashlib.sha256(data).digest():
                return Outcome(True, "unchanged")
        return Outcome(False, f"would copy {Path(path).name} ({len(data)} bytes) to {path}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        path, data = self._target(step)
        transport = ctx.transport(step.host)
        dest_dir = inputs(step, DriverInputs)["dest_dir"]
        if not transport.stat(dest_dir).is_dir:
            transport.mkdir_p(dest_dir)
        remove_leftovers(transport, path)
        transport.write_atomic(path, data, mode=0o644)
        ctx.state.changed_hosts.add(step.host)
        return Outcome(True, "copied")


HANDLERS = {"driver": DriverHandler()}
