"""``pack`` steps: a missing product home made from ``product.pack`` (CHECKLIST C1), and
``remove_home``, its rollback.

- check: the home's ``repository/conf/carbon.xml`` names the answered product and
  version: satisfied. Another product there is an error, and so is a home folder that
  is there, not empty, and holds no carbon.xml (nothing is unpacked over it).
- apply: the zip goes (SFTP) into a 0700 work folder next to the home,
  ``.<home name>.cw-pack-<session>``; its ``sha256sum`` on the host must be the local
  file's, else the step fails and nothing is left. It is unpacked there with ``unzip``
  (or, without it, ``python3``'s zipfile, keeping the modes the zip records), the
  ``bin/*.sh`` scripts made executable, the sha256 of every file written to
  ``.carbon-wizard-pack.sha256`` and the marker ``.carbon-wizard-pack`` (zip, sha256,
  session); then the zip's top folder is renamed to the home (one ``rename``: the home
  appears whole, or not at all) and the work folder removed. A re-run finds the home.
- ``remove_home`` (rollback): only a home whose marker names this session; files of
  the pack changed since it was unpacked (by the manifest, leaving out what a running
  node writes and what the session's own steps wrote and put back) are "changed on the
  host since the wizard wrote it", which the rollback asks about first. The home is
  renamed aside, then deleted.

In check mode (``plan``, ``--check``, the review), a step in a home a ``pack`` step is
still to unpack cannot be checked: :func:`after_pack` makes it "would change".
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

from wizard.connectors.base import Transport
from wizard.connectors.packzip import PackZip, open_pack
from wizard.errors import step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import UNDO_KINDS, Step
from wizard.planning.homefacts import CARBON_XML, HomeFacts
from wizard.steps.undo import DRIFTED

UNPACK_TIMEOUT = 1800.0
# what a running node writes in its home (Carbon 4.4): never "changed since" for rollback
RUNTIME = (
    "repository/logs/",
    "repository/database/",
    "repository/data/",
    "repository/components/default/configuration/",
    "tmp/",
    "work/",
    "solr/",
    "wso2carbon.pid",
)
# python3's zipfile when the host has no unzip: keeps the Unix modes the zip records
_PY_UNZIP = """import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    p = z.extract(i, sys.argv[2])
    m = (i.external_attr >> 16) & 0o7777
    if m and not i.is_dir():
        os.chmod(p, m)
"""


def _q(text: str) -> str:
    return shlex.quote(text)


def work_dir(home: str, session: str) -> str:
    parent, base = posixpath.split(home.rstrip("/"))
    return f"{parent}/.{base}.cw-pack-{session}"


def upload(t: Transport, local: str, remote: str) -> None:
    """The zip to the host (SFTP, pipelined; a temp name renamed when complete)."""
    t.put_file(local, remote, mode=0o600)


def remote_sha256(t: Transport, path: str, host: str) -> str:
    res = t.run(["sha256sum", "--", path], timeout=UNPACK_TIMEOUT)
    res.check("sha256sum", host=host, fix="install coreutils (sha256sum) on the host")
    return res.out.split()[0] if res.out.split() else ""


def unpack_script(pack: PackZip, work: str, home: str, marker: str, manifest: str) -> str:
    """Shell text: unzip in ``work``, manifest, marker (from stdin), rename to ``home``."""
    top = f"x/{pack.top}"
    return "\n".join(
        [
            "set -e",
            f"cd {_q(work)}",
            "if command -v unzip >/dev/null 2>&1; then",
            f"  unzip -q {_q(pack.name)} -d x </dev/null",
            "elif command -v python3 >/dev/null 2>&1; then",
            f"  python3 -c {_q(_PY_UNZIP)} {_q(pack.name)} x </dev/null",
            "else",
            "  echo 'neither unzip nor python3 is installed on this host' >&2; exit 3",
            "fi",
            f"test -f {_q(top)}/{CARBON_XML}",
            f"chmod a+rx {_q(top)}/bin/*.sh 2>/dev/null || true",
            f"(cd {_q(top)} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)"
            f" > manifest && mv manifest {_q(top)}/{_q(posixpath.basename(manifest))}",
            f"cat > {_q(top)}/{_q(posixpath.basename(marker))}",
            f"mv -T -- {_q(top)} {_q(home)}",
        ]
    )


def marker_text(pack: PackZip, session: str) -> str:
    return (
        f"# carbon-wizard unpacked this home from {pack.name}; 'carbon-wizard rollback' "
        "of that session removes it\n"
        f"session={session}\npack={pack.name}\nsha256={pack.sha256}\ntop={pack.top}\n"
    )


def parse_marker(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out


class PackHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        home = i["home"]
        carbon = posixpath.join(home, CARBON_XML)
        st = t.stat(carbon)
        if st.exists:
            found = HomeFacts(step.host, home, {CARBON_XML: t.read(carbon, st.size)}).product()
            if found is not None and str(found).lower() in {p.lower() for p in i["products"]}:
                return Outcome(True, f"{home} holds {found}")
            raise step_failed(
                f"{home} holds {found or 'no product name and version'} (carbon.xml), "
                f"not {' or '.join(i['products'])}",
                fix="point nodes[].home (or product.home) at a home of that product, or at "
                "a folder that does not exist yet for product.pack to make",
                host=step.host,
                file=carbon,
            )
        hst = t.stat(home)
        if hst.exists and (not hst.is_dir or t.listdir(home)):
            raise step_failed(
                f"{home} is there but holds no {CARBON_XML}: the pack is not unpacked over it",
                fix="move that folder away (or empty it), or answer another nodes[].home, "
                "then run again",
                host=step.host,
                file=home,
            )
        name = posixpath.basename(i["source"])
        return Outcome(False, f"would upload {name}, check its sha256 and unpack it to {home}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        pack = open_pack(i["source"])
        home = i["home"]
        work = work_dir(home, ctx.session_id)
        parent = posixpath.dirname(work)
        prep = f"rm -rf -- {_q(work)} && mkdir -p -- {_q(parent)} && mkdir -m 700 -- {_q(work)}"
        t.run(prep, timeout=120).check(
            f"making {work}",
            host=step.host,
            fix=f"let the SSH user create folders in {parent} (or create {home} empty and "
            "owned by it), then run again",
        )
        try:
            remote = f"{work}/{pack.name}"
            upload(t, pack.path, remote)
            got = remote_sha256(t, remote, step.host)
            if got != pack.sha256:
                raise step_failed(
                    f"the upload of {pack.name} to {step.host} is corrupt: its sha256 there is "
                    f"{got[:16] or 'unreadable'}..., the file here {pack.sha256[:16]}...; "
                    f"nothing was unpacked, {home} was not made",
                    fix="run again (the upload is repeated); if it stays corrupt, check the "
                    "disk of that host and the network",
                    host=step.host,
                    file=remote,
                )
            script = unpack_script(pack, work, home, i["marker"], i["manifest"])
            res = t.run(script, stdin=marker_text(pack, ctx.session_id).encode(),
                        timeout=UNPACK_TIMEOUT)  # fmt: skip
            res.check(
                f"unpacking {pack.name} into {home}",
                host=step.host,
                fix="install unzip on the host (apt-get install unzip) and check the free "
                f"space and permissions in {parent}, then run again",
            )
        finally:
            t.run(f"rm -rf -- {_q(work)}", timeout=300)
        mb = pack.size / 1e6
        return Outcome(True, f"uploaded {pack.name} ({mb:.1f} MB, sha256 ok), unpacked to {home}")


def _ignored(rel: str, extra: list[str]) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in (*RUNTIME, *extra))


class RemoveHomeHandler:
    def _state(self, step: Step, ctx: RunContext) -> tuple[str, list[str]]:
        """("gone" | "foreign" | "ours", files of the pack changed since it was unpacked)."""
        i, t = step.inputs, ctx.transport(step.host)
        if not t.stat(i["path"]).exists:
            return "gone", []
        st = t.stat(i["marker"])
        mark = (
            parse_marker(t.read(i["marker"], st.size).decode(errors="replace")) if st.exists else {}
        )
        if mark.get("session") != i["session"]:
            return "foreign", []
        script = f"cd {_q(i['path'])} && sha256sum --quiet -c {_q(i['manifest'])} 2>/dev/null"
        out = t.run(script + "; true", timeout=UNPACK_TIMEOUT).out
        changed = []
        for line in out.splitlines():
            name, sep, _state = line.rpartition(": FAILED")
            rel = name.removeprefix("./")
            if sep and not _ignored(rel, i.get("ignore", [])):
                changed.append(rel)
        return "ours", changed

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        home = step.inputs["path"]
        state, changed = self._state(step, ctx)
        if state == "gone":
            return Outcome(True, f"{home} is not there")
        if state == "foreign":
            return Outcome(True, f"{home} kept", notes=[
                f"{home} carries no marker of this session: kept"])  # fmt: skip
        if changed:
            diff = f"files of {home} changed since the pack was unpacked:\n" + "".join(
                f"  {c}\n" for c in changed
            )
            return Outcome(False, f"would remove {home} ({DRIFTED}: {len(changed)} files)", diff)
        return Outcome(False, f"would remove {home} (unpacked by this session)")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        home = step.inputs["path"].rstrip("/")
        state, _ = self._state(step, ctx)
        if state != "ours":
            return Outcome(True, "nothing to remove")
        if home.count("/") < 2:
            raise step_failed(f"refusing to remove {home}", host=step.host, file=home)
        aside = work_dir(home, ctx.session_id) + "-removed"
        script = (
            f"rm -rf -- {_q(aside)} && mv -T -- {_q(home)} {_q(aside)} && rm -rf -- {_q(aside)}"
        )
        ctx.transport(step.host).run(script, timeout=UNPACK_TIMEOUT).check(
            f"removing {home}", host=step.host, fix=f"remove {home} by hand, then run again"
        )
        return Outcome(True, f"removed {home}")


def _unpacked_later(step: Step, ctx: RunContext) -> str | None:
    """The home of this step's node that a ``pack`` step still has to unpack, if any."""
    answers = ctx.answers
    if answers is None or not answers.product.pack:
        return None
    homes = {n.name: n.home or answers.product.home for n in answers.nodes}
    for name in (step.host, step.inputs.get("source_node")):
        if isinstance(name, str) and name in homes:
            if not ctx.transport(name).exists(posixpath.join(homes[name], CARBON_XML)):
                return homes[name]
    return None


class AfterPack:
    """A handler whose steps, in check mode, wait for a home still to be unpacked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        if ctx.check_mode:
            home = _unpacked_later(step, ctx)
            if home is not None:
                return Outcome(False, f"would run in {home} once the pack is unpacked there")
        out: Outcome = self.inner.check(step, ctx)
        return out

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        out: Outcome = self.inner.apply(step, ctx)
        return out


def after_pack(found: dict[str, Any]) -> dict[str, Any]:
    """Every handler but the pack's own and the rollback's, in check mode aware of homes
    still to be unpacked."""
    keep = {"pack", *UNDO_KINDS}
    return {k: h if k in keep else AfterPack(h) for k, h in found.items()}


HANDLERS = {"pack": PackHandler(), "remove_home": RemoveHomeHandler()}
