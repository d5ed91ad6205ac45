"""The preflight's checks for a home ``product.pack`` will unpack and for the tools some
steps run on a host (wizard/flow/preflight.py runs them with its other checks, in the one
shell command a node answers with ``key=value`` lines).

- ``home``: the home's folder may be missing or empty, nothing else (the pack is never
  unpacked over files); the folder it goes in is writable by the SSH user (the zip is
  unpacked next to the home, then renamed into place);
- ``disk``: room for the zip and the unpacked home (and the edits and logs after);
- ``tools``: ``sha256sum`` and ``unzip`` (or ``python3``) where a pack is unpacked;
  ``ssh-keygen``, ``ssh`` and ``rsync`` on the sync source; ``rsync`` on its workers.
"""

from __future__ import annotations

import shlex

from wizard.connectors.packzip import PackZip

# step kind -> the commands it runs on its host (alternatives joined by |)
TOOLS: dict[str, tuple[str, ...]] = {
    "pack": ("sha256sum", "unzip|python3"),
    "ssh_key": ("ssh-keygen",),
    "sync_script": ("ssh", "rsync", "crontab"),
    "authorized_key": ("rsync",),
}
FIXES = {
    "unzip|python3": "apt-get install unzip",
    "sha256sum": "apt-get install coreutils",
    "ssh-keygen": "apt-get install openssh-client",
    "ssh": "apt-get install openssh-client",
    "rsync": "apt-get install rsync",
    "crontab": "apt-get install cron",
}


def _q(text: str) -> str:
    return shlex.quote(text)


def tools_wanted(kinds: set[str]) -> list[str]:
    return list(dict.fromkeys(t for k in sorted(kinds) for t in TOOLS.get(k, ())))


def script(home: str, kinds: set[str], pack: bool) -> str:
    """Shell text printing ``missing=`` (the tools not found) and, for a pack, whether
    the home's folder holds something (``homefull=1``) and whether the folder it goes
    in is writable (``writable=0|1``)."""
    parts = ['m=""']
    for group in tools_wanted(kinds):
        test = " || ".join(f"command -v {_q(c)} >/dev/null 2>&1" for c in group.split("|"))
        parts.append(f'{{ {test}; }} || m="$m {group}"')
    parts.append('echo "missing=$m"')
    if pack:
        h = _q(home.rstrip("/"))
        parts.append(
            f'if [ -e {h} ] && {{ [ ! -d {h} ] || [ -n "$(ls -A {h} 2>/dev/null | head -1)" ]; }}; '
            "then echo homefull=1; fi"
        )
        parts.append(
            f'p=$(dirname {h}); while [ ! -d "$p" ]; do p=$(dirname "$p"); done; '
            'if [ -w "$p" ]; then echo "writable=1 $p"; else echo "writable=0 $p"; fi'
        )
    return "; ".join(parts)


def problems(
    home: str, got: dict[str, str], free_kb: int, min_free_kb: int, pack: PackZip | None
) -> list[tuple[str, str, str]]:
    """(check, what, fix) for what ``script`` printed (``got``)."""
    out: list[tuple[str, str, str]] = []
    missing = got.get("missing", "").split()
    for group in missing:
        names = " or ".join(group.split("|"))
        out.append(("tools", f"{names} is not installed", FIXES.get(group, f"install {names}")))
    if pack is None:
        return out
    if got.get("homefull") == "1":
        out.append(("home", f"{home} is there, not empty, and holds no product (no "
                    "repository/conf/carbon.xml): the pack is not unpacked over it",
                    "move it away or empty it, or answer another nodes[].home"))  # fmt: skip
    writable, _, parent = got.get("writable", "1").partition(" ")
    if writable == "0":
        out.append(("home", f"{parent} is not writable by the SSH user: {pack.name} cannot "
                    f"be unpacked next to {home}", f"make {parent} writable for that user, or "
                    f"create {home} empty in a folder it owns"))  # fmt: skip
    need_kb = (pack.size + pack.unpacked) // 1024 + min_free_kb
    if free_kb < need_kb:
        out.append(("disk", f"{free_kb // 1024} MB free where {home} will be; {pack.name} "
                    f"needs {pack.size // 2**20} MB for the upload and {pack.unpacked // 2**20} "
                    "MB unpacked", f"free at least {need_kb // 1024} MB there, or answer "
                    "another home"))  # fmt: skip
    return out
