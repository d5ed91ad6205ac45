"""``file_edit`` and ``hosts_entry`` steps: catalog edits applied to files on a host.

check: read the file (or the file it is created from), apply the edits in memory, and
compare. apply: the same, then an atomic write with one backup per file per session.
Secret tokens are substituted only in memory, right before the bytes go to the host;
diffs are masked.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import replace
from typing import Any, NamedTuple

from wizard.changes import backup_suffix
from wizard.connectors.base import (
    TMP_MARK,
    FileChanged,
    FileStat,
    Written,
    live_temp,
    read_files,
)
from wizard.edits import apply_edits
from wizard.edits.diff import label, mask
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
    Only names with our mark are touched, never a temp file this process is writing
    (another step's write in the same folder, e.g. two nodes of one machine). ``listed`` keeps each folder's listing for the
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
    stale = [
        posixpath.join(parent, n)
        for n in names
        if n.startswith(f".{base}") and TMP_MARK in n and not live_temp(n)
    ]
    if stale:
        transport.run(["rm", "-f", "--", *stale])
        if listed is not None:
            listed[folder] = [n for n in names if posixpath.join(parent, n) not in stale]
    return stale


_SAME = "same edits of the same bytes"  # edit_cache keys of results shared by steps


def _edits_key(step: Step) -> str:
    """The step's edits as written in the plan (secret references, not their values:
    they resolve alike for every step of a run)."""
    return json.dumps(step.inputs.get("edits", []), sort_keys=True, default=str)


def _diff(result: EditResult, ctx: RunContext) -> str:
    """The result's masked diff; the same change of the same bytes on another host or
    home is diffed once per run (only the ``--- host:path`` lines differ)."""
    masked = tuple(result.masked_values())
    key = (_SAME, "diff", result.before, result.content, masked)
    cache = ctx.state.edit_cache
    body: str | None = cache.get(key)
    if body is None:
        text = result.diff()
        head, sep, body = text.partition("\n@@")
        if not sep or head.count("\n") != 1:  # not the usual two header lines: no sharing
            return text
        cache[key] = body = sep + body
    name = label(result)
    return mask(f"--- {name}\n+++ {name}", masked) + body


class _Seen(NamedTuple):
    """What a file held when its edits were last computed in this run."""

    content: bytes
    created: bool
    stat: FileStat | None  # as the check saw it, or as our own write left it (if known)
    written: bool = False  # by this step's apply: ``content`` is what it wrote
    fresh: bool = False  # ``stat`` came back with the write's rename, not yet checked


class FileEditHandler:
    """Edits of one file on one host (XML, site.json, properties, hosts block)."""

    def _compute(self, step: Step, ctx: RunContext) -> tuple[EditResult, bool]:
        """The edits of ``step`` applied in memory to the file as it is on the host.

        The result is kept for the run: the same bytes give the same result without
        running the edits again. After this step's own write, a file whose stat is the
        one the write left is the bytes written: one stat instead of reading the file
        again; the check right after the write (the executor's) takes the lstat the
        write's rename brought back, in the same round trip: a regular file of the size
        written is the write in place.
        """
        path = step.inputs["path"]
        transport = ctx.transport(step.host)
        cache = ctx.state.edit_cache
        hit = cache.get(step.id)
        if hit is not None and hit[0].written and hit[0].stat is not None:
            seen = hit[0]
            if seen.fresh:
                cache[step.id] = (seen._replace(fresh=False), hit[1])
                st = seen.stat
                if st.exists and not st.is_link and st.size == len(seen.content):
                    return hit[1], False
            elif transport.stat(path) == seen.stat:
                return hit[1], False
        ahead = ctx.state.read_ahead.pop(step.host, None)
        if ahead and hasattr(transport, "read_ahead"):  # the host's first file step
            transport.read_ahead(ahead)
        st, data = read_files(transport, [path])[path]  # stat and bytes in one batch
        created = False
        if st.exists:
            content = data if data is not None else transport.read(path, st.size)
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
            result = self._edited(step, ctx, content, created)
        cache[step.id] = (_Seen(content, created, st), result)
        return result, created

    def _edited(self, step: Step, ctx: RunContext, content: bytes, created: bool) -> EditResult:
        """The step's edits applied to ``content``. The engine is pure: the same edits of
        the same bytes give the same result, whichever host or home the file is in (the
        nodes of a role edit the same stock files alike), so it runs once per run for
        them; the result is handed out under this step's host and path."""
        path = step.inputs["path"]
        key = (_SAME, step.kind, posixpath.basename(path), created, content, _edits_key(step))
        cache = ctx.state.edit_cache
        done: EditResult | None = cache.get(key)
        if done is None:
            done = apply_edits(path, content, edits_of(step, ctx), host=step.host)
            if created:
                done.before = b""  # the whole file is new on this host
            cache[key] = done
        if (done.path, done.host) == (path, step.host):
            return done
        return replace(done, path=path, host=step.host)

    def _remember_written(
        self, step: Step, ctx: RunContext, result: EditResult, after: FileStat | None
    ) -> None:
        """After a write, the file holding exactly these bytes is the edit in place: the
        check that follows compares the file's stat with ``after`` (the stat the write
        left), or else reads the file and compares bytes, instead of running every edit
        again (the edits were already re-parsed and read back before the write)."""
        done = EditResult(result.path, result.host, result.content, result.content)
        cache = ctx.state.edit_cache
        seen = _Seen(result.content, False, after, written=True, fresh=after is not None)
        cache[step.id] = (seen, done)

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        if step.inputs.get("glob"):
            return globedit.check(step, ctx)
        result, created = self._compute(step, ctx)
        notes = result.notes()
        if not result.changed:
            return Outcome(True, "unchanged", notes=notes)
        what = "would create" if created else "would change"
        n = sum(1 for o in result.outcomes if o.changed)
        diff = _diff(result, ctx)
        return Outcome(False, f"{what} {step.inputs['path']} ({n} edits)", diff, notes)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        if step.inputs.get("glob"):
            return globedit.apply(step, ctx, backup_suffix(ctx.session_id))
        cache = ctx.state.edit_cache
        hit = cache.get(step.id)
        if hit is None or hit[0].written:
            self._compute(step, ctx)
            hit = cache[step.id]
        # the check's result, on the bytes it read: the write goes ahead only while the
        # file's stat is the one they were read with (it checks that in its first round
        # trip); a file changed meanwhile is read and edited again, once
        try:
            written = self._write(step, ctx, hit)
        except FileChanged:
            self._compute(step, ctx)
            hit = cache[step.id]
            written = self._write(step, ctx, hit)
        if written is None:
            return Outcome(True, "unchanged")
        self._remember_written(step, ctx, hit[1], written.after)
        ctx.state.changed_hosts.add(step.host)
        return Outcome(True, "created" if hit[0].created else "changed")

    def _write(self, step: Step, ctx: RunContext, hit: tuple[_Seen, EditResult]) -> Written | None:
        """Write the edits' result if it changes the file (None if not), on the condition
        that the file's stat is still the one its bytes were read with."""
        seen, result = hit
        created, expect = seen.created, seen.stat
        if not result.changed:
            return None
        transport = ctx.transport(step.host)
        path = step.inputs["path"]
        listed = ctx.state.listed_dirs.setdefault(step.host, {})
        remove_leftovers(transport, path, listed)
        mode = None
        if created:
            source = step.inputs.get("create_from")
            mode = transport.stat(source).perm if source else 0o644
        try:
            written: Written = transport.write_atomic(
                path,
                result.content,
                mode=mode,
                backup_suffix=None if created else backup_suffix(ctx.session_id),
                expect=expect,
            )
        except WizardError:
            raise
        except OSError as exc:
            raise WizardError(f"cannot write {path}: {exc}", exit_code=EXIT_STEP_FAILED) from exc
        return written


HANDLERS = {"file_edit": FileEditHandler(), "hosts_entry": FileEditHandler()}
