"""``file_edit`` and ``hosts_entry`` steps: catalog edits applied to files on a host.

check: read the file (or the file it is created from), apply the edits in memory, and
compare. apply: the same, then an atomic write with one backup per file per session.
Secret tokens are substituted only in memory, right before the bytes go to the host;
diffs are masked.
"""

from __future__ import annotations

import posixpath
from typing import Any, NamedTuple

from wizard.changes import backup_suffix
from wizard.connectors.base import TMP_MARK, FileStat
from wizard.edits import apply_edits
from wizard.edits.model import EditResult
from wizard.errors import EXIT_STEP_FAILED, WizardError, step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.steps import globedit
from wizard.steps.editinputs import edits_of


def remove_leftovers(
    transport: Any, path: str, listed: dict[str, list[str]] | None = None
) -> list[str]:
    """Remove the temp files a killed write left next to ``path`` (and its backup).

    An atomic write goes to ``.<name>[.carbon-wizard-<session>.bak]<TMP_MARK><random>`` in
    the same folder, then is renamed; a wizard killed in between leaves that file behind.
    Only names with our mark are touched. ``listed`` keeps each folder's listing for the
    run (our own writes never leave a temp file behind, so one listing per folder is
    enough). Returns the paths removed.
    """
    parent, base = posixpath.split(path)
    folder = parent or "."
    names = listed.get(folder) if listed is not None else None
    if names is None:
        try:
            names = transport.listdir(folder)
        except (WizardError, OSError):
            names = []
        if listed is not None:
            listed[folder] = names
    stale = [posixpath.join(parent, n) for n in names if n.startswith(f".{base}") and TMP_MARK in n]
    if stale:
        transport.run(["rm", "-f", "--", *stale])
        if listed is not None:
            listed[folder] = [n for n in names if posixpath.join(parent, n) not in stale]
    return stale


class _Seen(NamedTuple):
    """What a file held when its edits were last computed in this run."""

    content: bytes
    created: bool
    stat: FileStat | None  # as the check saw it; None after our own write


class FileEditHandler:
    """Edits of one file on one host (XML, site.json, properties, hosts block)."""

    def _compute(
        self, step: Step, ctx: RunContext, *, trust_check: bool = False
    ) -> tuple[EditResult, bool]:
        """The edits of ``step`` applied in memory to the file as it is on the host.

        The result is kept for the run: the same bytes give the same result without
        running the edits again. ``trust_check`` (apply, right after its check): when the
        file's stat is what the check saw, the check's bytes are used without reading
        the file again.
        """
        path = step.inputs["path"]
        transport = ctx.transport(step.host)
        cache = ctx.state.edit_cache
        hit = cache.get(step.id)
        st = transport.stat(path)
        if trust_check and hit is not None and hit[0].stat == st and st.exists:
            return hit[1], hit[0].created
        created = False
        if st.exists:
            content = transport.read(path, st.size)
        elif step.inputs.get("create_from"):
            source = step.inputs["create_from"]
            if not transport.exists(source):
                raise step_failed(
                    f"cannot create {path}: its source {source} does not exist",
                    fix="check the product home in the answers (product.home / nodes[].home)",
                    host=step.host,
                    file=source,
                )
            content = transport.read(source)
            created = True
        elif step.kind == "hosts_entry":
            content = b""
            created = True
        else:
            raise step_failed(
                f"{path} does not exist",
                fix="check the product home in the answers and that the pack is unpacked there",
                host=step.host,
                file=path,
            )
        if hit is not None and (hit[0].content, hit[0].created) == (content, created):
            result = hit[1]  # same bytes as a moment ago: same result
        else:
            result = apply_edits(path, content, edits_of(step, ctx), host=step.host)
            if created:
                result.before = b""  # the whole file is new on this host
        cache[step.id] = (_Seen(content, created, st), result)
        return result, created

    def _remember_written(self, step: Step, ctx: RunContext, result: EditResult) -> None:
        """After a write, the file holding exactly these bytes is the edit in place: the
        check that follows reads the file and compares bytes instead of running every
        edit again (the edits were already re-parsed and read back before the write)."""
        done = EditResult(result.path, result.host, result.content, result.content)
        cache = ctx.state.edit_cache
        cache[step.id] = (_Seen(result.content, False, None), done)

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        if step.inputs.get("glob"):
            return globedit.check(step, ctx)
        result, created = self._compute(step, ctx)
        notes = result.notes()
        if not result.changed:
            return Outcome(True, "unchanged", notes=notes)
        what = "would create" if created else "would change"
        n = sum(1 for o in result.outcomes if o.changed)
        return Outcome(False, f"{what} {step.inputs['path']} ({n} edits)", result.diff(), notes)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        if step.inputs.get("glob"):
            return globedit.apply(step, ctx, backup_suffix(ctx.session_id))
        result, created = self._compute(step, ctx, trust_check=True)
        if not result.changed:
            return Outcome(True, "unchanged")
        transport = ctx.transport(step.host)
        path = step.inputs["path"]
        listed = ctx.state.listed_dirs.setdefault(step.host, {})
        remove_leftovers(transport, path, listed)
        mode = None
        if created:
            source = step.inputs.get("create_from")
            mode = transport.stat(source).perm if source else 0o644
        try:
            transport.write_atomic(
                path,
                result.content,
                mode=mode,
                backup_suffix=None if created else backup_suffix(ctx.session_id),
            )
        except WizardError:
            raise
        except OSError as exc:
            raise WizardError(f"cannot write {path}: {exc}", exit_code=EXIT_STEP_FAILED) from exc
        self._remember_written(step, ctx, result)
        ctx.state.changed_hosts.add(step.host)
        return Outcome(True, "created" if created else "changed")


HANDLERS = {"file_edit": FileEditHandler(), "hosts_entry": FileEditHandler()}
