"""A :class:`wizard.connectors.base.Transport` over one shell command runner.

Inside Ansible the runner is the task's connection (``exec_command`` of the ssh, local or
any other connection plugin); in unit tests it is ``sh -c`` on this machine. Every
operation is one command, so a file step costs what it costs over the wizard's own SSH
transport in round trips, and the bytes are the same:

- ``stat`` also returns the bytes of a small regular file, kept until the next
  operation: the ``read`` that follows a ``stat`` (what the file steps do) needs no
  second command;
- ``write_atomic`` sends the data on stdin to one script: a symlink is resolved (its
  target is rewritten), the old file is kept once as ``<file><backup_suffix>`` (a hard
  link, a copy where linking fails), the data goes to ``.<name>.cw-tmp-<random>`` in the
  same folder with the exact mode and the old owner set before any byte, is synced and
  renamed over the file. Nothing is written when the caller does not call it (the step
  handlers write only what changed).

Secrets never reach a command line: data goes on stdin.
"""

from __future__ import annotations

import secrets as _random
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from wizard.connectors.base import (
    MISSING,
    RUN_TMP,
    FileStat,
    Result,
    Written,
    file_changed,
    shell_command,
)
from wizard.errors import WizardError, step_failed

# (shell text, stdin or None, run with the connection's become) -> (rc, stdout, stderr)
Execute = Callable[[str, bytes | None, bool], tuple[int, bytes, bytes]]

PREFETCH_MAX = 256 * 1024  # stat sends the bytes of regular files up to this size
_SEP = b"\n--cw-stat--\n"
q = shlex.quote


def _reason(err: bytes) -> str:
    text = err.decode("utf-8", "replace").strip()
    if "No such file" in text:
        return "no such file or directory"
    if "Permission denied" in text:
        return "permission denied"
    return text[-300:] or "failed"


def _write_script(path: str, mode: int | None, backup_suffix: str | None, tmp_tag: str) -> str:
    """Shell text writing stdin to ``path`` atomically; prints ``<existed>\\n<real path>``."""
    mode_text = f"{mode:o}" if mode is not None else ""
    suffix = q(backup_suffix) if backup_suffix else "''"
    return f"""set -u
p={q(path)}
if [ -L "$p" ]; then p=$(readlink -f -- "$p") || exit 70; fi
d=$(dirname -- "$p"); n=$(basename -- "$p")
t="$d/.$n{RUN_TMP}{tmp_tag}"
m={q(mode_text) if mode_text else "''"}
existed=0
if [ -e "$p" ]; then
  existed=1
  [ -n "$m" ] || m=$(stat -c %a -- "$p")
  own=$(stat -c %u:%g -- "$p")
  s={suffix}
  if [ -n "$s" ] && [ ! -e "$p$s" ] && [ ! -L "$p$s" ]; then
    ln -- "$p" "$p$s" 2>/dev/null || cp -p -- "$p" "$p$s" || exit 71
  fi
else
  own=""
  if [ "$(id -u)" = 0 ]; then own=$(stat -c %u:%g -- "$d"); fi
fi
[ -n "$m" ] && [ "$m" != 0 ] || m=644
trap 'rm -f -- "$t"' EXIT
(umask 077; set -C; : > "$t") || exit 72
chmod "$m" "$t" || exit 73
if [ -n "$own" ] && [ "$(stat -c %u:%g -- "$t")" != "$own" ]; then
  chown "$own" "$t" 2>/dev/null || {{ echo "cannot keep the owner $own of $p" >&2; exit 74; }}
fi
cat > "$t" || exit 75
sync -- "$t" 2>/dev/null || true
mv -f -- "$t" "$p" || exit 76
trap - EXIT
printf '%s\\n%s\\n' "$existed" "$p"
"""


class ShellTransport:
    """File and command access to one host through ``execute`` (see module doc)."""

    def __init__(self, host: str, execute: Execute, *, user: str = "", become: bool = False):
        self.host = host
        self.user = user
        self._execute = execute
        self._become = become
        self._prefetched: dict[str, tuple[FileStat, bytes]] = {}

    # -- plumbing ----------------------------------------------------------------------
    def _exec(self, text: str, stdin: bytes | None = None, become: bool | None = None) -> Result:
        self._prefetched.clear()
        rc, out, err = self._execute(text, stdin, self._become if become is None else become)
        return Result(
            rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), raw_out=out
        )

    def _file_error(self, op: str, path: str, reason: str) -> WizardError:
        return step_failed(
            f"cannot {op} {path} as {self.user or 'the remote user'}: {reason}",
            fix="check the path and its permissions on the host (or become root there: "
            "ansible_become)",
            host=self.host,
            file=path,
        )

    # -- files -------------------------------------------------------------------------
    def stat(self, path: str) -> FileStat:
        p = q(path)
        text = (
            f"if [ -e {p} ]; then stat -L -c '%f %u %g %s %Y' -- {p} || exit 1; "
            f'if [ -f {p} ] && [ -r {p} ] && [ "$(stat -L -c %s -- {p})" -le {PREFETCH_MAX} ]; '
            f"then printf '%s' {q(_SEP.decode())}; cat -- {p}; fi; "
            "else echo missing; fi"
        )
        res = self._exec(text)
        if res.rc != 0:
            raise self._file_error("stat", path, _reason(res.err.encode()))
        head, sep, body = res.raw_out.partition(_SEP)
        first = head.decode().strip()
        if first == "missing":
            return MISSING
        raw_mode, uid, gid, size, mtime = first.split()
        st = FileStat(True, int(raw_mode, 16), int(uid), int(gid), int(size), float(mtime))
        if sep and len(body) == st.size:
            self._prefetched[path] = (st, body)
        return st

    def exists(self, path: str) -> bool:
        return self.stat(path).exists

    def read(self, path: str, size: int | None = None) -> bytes:
        hit = self._prefetched.pop(path, None)
        if hit is not None and (size is None or size == hit[0].size):
            self._prefetched.clear()
            return hit[1]
        res = self._exec(f"cat -- {q(path)}")
        if res.rc != 0:
            raise self._file_error("read", path, _reason(res.err.encode()))
        return res.raw_out

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        mode: int | None = None,
        backup_suffix: str | None = None,
        expect: FileStat | None = None,
    ) -> Written:
        if expect is not None and self.stat(path) != expect:
            raise file_changed(path, self.host)
        script = _write_script(path, mode, backup_suffix, _random.token_hex(4))
        res = self._exec(script, data)
        if res.rc != 0:
            raise self._file_error("write", path, res.err.strip()[-300:] or f"exit {res.rc}")
        existed_text, real = res.out.splitlines()[-2:]
        existed = existed_text == "1"
        return Written(real, existed, real + backup_suffix if backup_suffix and existed else None)

    def put_file(self, local: str | Path, remote: str, mode: int | None = None) -> None:
        src = Path(local)
        if mode is None:
            mode = src.stat().st_mode & 0o7777
        res = self._exec(_write_script(remote, mode, None, _random.token_hex(4)), src.read_bytes())
        if res.rc != 0:
            raise self._file_error("write", remote, res.err.strip()[-300:] or f"exit {res.rc}")

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        res = self._exec(f"mkdir -p -- {q(path)}")
        if res.rc != 0:
            raise self._file_error("create directory", path, _reason(res.err.encode()))

    def symlink(self, target: str, link: str) -> None:
        tmp = f"{link}{RUN_TMP}{_random.token_hex(4)}"
        text = (
            f'if [ -L {q(link)} ]; then [ "$(readlink -- {q(link)})" = {q(target)} ] && exit 0; '
            f"elif [ -e {q(link)} ]; then echo 'exists and is not a symlink' >&2; exit 3; fi; "
            f"ln -s -- {q(target)} {q(tmp)} && mv -fT -- {q(tmp)} {q(link)} "
            f"|| {{ rm -f -- {q(tmp)}; exit 4; }}"
        )
        res = self._exec(text)
        if res.rc != 0:
            raise self._file_error("symlink", link, res.err.strip() or f"exit {res.rc}")

    def listdir(self, path: str) -> list[str]:
        res = self._exec(f"cd -- {q(path)} && find . -mindepth 1 -maxdepth 1 -printf '%f\\0'")
        if res.rc != 0:
            raise self._file_error("list", path, _reason(res.err.encode()))
        return sorted(n for n in res.raw_out.decode("utf-8", "replace").split("\0") if n)

    # -- commands ----------------------------------------------------------------------
    def run(
        self,
        cmd: list[str] | str,
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        sudo: bool | None = None,
    ) -> Result:
        """``timeout`` is left to the connection (Ansible's own ``timeout`` settings)."""
        return self._exec(shell_command(cmd, env), stdin, sudo)

    def close(self) -> None:
        self._prefetched.clear()
