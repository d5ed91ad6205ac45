"""``transport: local``: a product home on the machine that runs the wizard.

Same semantics as the SSH transport, with ``os`` and ``subprocess``.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from wizard.connectors.base import (
    MISSING,
    RUN_TMP,
    FileStat,
    HostTarget,
    Result,
    Written,
    file_changed,
    shell_command,
    sudo_backup_script,
    sudo_install_script,
)
from wizard.connectors.sudo import SudoState, run_with_sudo
from wizard.errors import WizardError, step_failed


class LocalTransport:
    """File and command access to this machine."""

    def __init__(self, target: HostTarget | None = None) -> None:
        self.target = target or HostTarget(name="local", transport="local")
        self.host = self.target.name
        self._sudo_state = SudoState()

    # -- files -------------------------------------------------------------------------

    def read(self, path: str, size: int | None = None) -> bytes:
        try:
            return Path(path).read_bytes()
        except PermissionError:
            if not self.target.sudo:
                raise self._file_error("read", path, "permission denied") from None
            res = self._sudo(f"cat -- {shlex.quote(path)}")
            return res.check(f"sudo cat {path}", host=self.host).raw_out
        except OSError as exc:
            raise self._file_error("read", path, exc.strerror or str(exc)) from exc

    def stat(self, path: str) -> FileStat:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            raise self._file_error("stat", path, exc.strerror or str(exc)) from exc
        return FileStat(True, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime)

    def exists(self, path: str) -> bool:
        return self.stat(path).exists

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        mode: int | None = None,
        backup_suffix: str | None = None,
        expect: FileStat | None = None,
    ) -> Written:
        if os.path.islink(path):
            path = os.path.realpath(path)  # rewrite what a symlink points to, keep the link
        st = self.stat(path)
        if expect is not None and st != expect:
            raise file_changed(path, self.host)
        done = Written(
            path, st.exists, path + backup_suffix if backup_suffix and st.exists else None
        )
        if self._needs_sudo(path, st):
            self._sudo_write(path, data, st, mode, backup_suffix)
            return done
        if backup_suffix and st.exists and not os.path.lexists(path + backup_suffix):
            self._backup(path, path + backup_suffix, st)
        self._write(path, data, st, mode if mode is not None else (st.perm or 0o644))
        return replace(done, after=self.stat(path))

    def _backup(self, path: str, backup: str, st: FileStat) -> None:
        """A hard link to the original (the rename that follows leaves it holding the old
        bytes, mode, owner and time), or a copy where the file system cannot link."""
        try:
            os.link(path, backup)
            return
        except OSError:
            pass
        self._write(backup, self.read(path), st, st.perm)
        os.utime(backup, (st.mtime, st.mtime))

    def _write(self, path: str, data: bytes, st: FileStat, mode: int) -> None:
        parent = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}{RUN_TMP}")
        except OSError as exc:
            raise self._file_error("write", path, exc.strerror or str(exc)) from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                made = os.fstat(fh.fileno())
                if st.exists and (st.uid, st.gid) != (made.st_uid, made.st_gid):
                    try:
                        os.fchown(fh.fileno(), st.uid, st.gid)
                    except PermissionError:
                        raise step_failed(
                            f"cannot keep the owner ({st.uid}:{st.gid}) of {path} when "
                            "rewriting it as this user",
                            fix="enable sudo for this host, or run as the file's owner",
                            host=self.host,
                            file=path,
                        ) from None
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(parent)

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        try:
            os.makedirs(path, mode=mode, exist_ok=True)
        except OSError as exc:
            raise self._file_error("create directory", path, exc.strerror or str(exc)) from exc

    def symlink(self, target: str, link: str) -> None:
        """Make ``link`` point to ``target``; replace an existing symlink atomically."""
        if os.path.islink(link):
            if os.readlink(link) == target:
                return
        elif os.path.lexists(link):
            raise self._file_error("symlink", link, "exists and is not a symlink")
        tmp = f"{link}{RUN_TMP}{secrets.token_hex(4)}"
        try:
            os.symlink(target, tmp)
            os.replace(tmp, link)
        except OSError as exc:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise self._file_error("symlink", link, exc.strerror or str(exc)) from exc

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError as exc:
            raise self._file_error("list", path, exc.strerror or str(exc)) from exc

    def put_file(self, local: str | Path, remote: str, mode: int | None = None) -> None:
        src = Path(local)
        if mode is None:
            mode = src.stat().st_mode & 0o7777
        parent = os.path.dirname(os.path.abspath(remote))
        try:
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(remote)}{RUN_TMP}")
        except OSError as exc:
            raise self._file_error("write", remote, exc.strerror or str(exc)) from exc
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
                shutil.copyfileobj(inp, out, 1 << 20)
                os.fchmod(out.fileno(), mode)
                os.fsync(out.fileno())
            os.replace(tmp, remote)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

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
        if sudo if sudo is not None else self.target.sudo:
            return self._sudo(shell_command(cmd, env), stdin=stdin, timeout=timeout)
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        full_env = {**os.environ, **env} if env else None
        return self._exec(argv, stdin, timeout, full_env, shell_command(cmd))

    def _exec(
        self,
        argv: list[str],
        stdin: bytes | None,
        timeout: float | None,
        env: Mapping[str, str] | None,
        shown: str,
    ) -> Result:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise step_failed(
                f"cannot run {shown.split()[0]}: {exc.strerror}",
                fix="install it or fix PATH",
                host=self.host,
            ) from exc
        try:
            out, err = proc.communicate(stdin or b"", timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise step_failed(
                f"command timed out after {timeout:g}s: {shown[:200]}",
                fix="check what the command waits for on the host, or allow more time",
                host=self.host,
            ) from None
        return Result(proc.returncode, _text(out), _text(err), out)

    # -- sudo --------------------------------------------------------------------------

    def _sudo(
        self, script: str, *, stdin: bytes | None = None, timeout: float | None = None
    ) -> Result:
        def exec_text(text: str, data: bytes | None, limit: float | None) -> Result:
            return self._exec(["sh", "-c", text], data, limit, None, "sudo ...")

        return run_with_sudo(exec_text, self.target, self._sudo_state, script, stdin, timeout)

    def _needs_sudo(self, path: str, st: FileStat) -> bool:
        if not self.target.sudo:
            return False
        ref = st if st.exists else self.stat(os.path.dirname(os.path.abspath(path)))
        return ref.exists and ref.uid != os.geteuid()

    def _sudo_write(
        self, path: str, data: bytes, st: FileStat, mode: int | None, backup_suffix: str | None
    ) -> None:
        if backup_suffix and st.exists:
            self._sudo(sudo_backup_script(path, path + backup_suffix)).check(
                f"backup of {path}", host=self.host
            )
        fd, tmp = tempfile.mkstemp(prefix="cw-upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if st.exists:
            uid, gid, perm = st.uid, st.gid, st.perm
        else:
            parent = self.stat(os.path.dirname(os.path.abspath(path)))
            uid, gid, perm = parent.uid, parent.gid, 0o644
        try:
            self._sudo(
                sudo_install_script(tmp, path, uid, gid, mode if mode is not None else perm)
            ).check(f"writing {path} through sudo", host=self.host)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _file_error(self, op: str, path: str, reason: str) -> WizardError:
        return step_failed(
            f"cannot {op} {path}: {reason}",
            fix="check the path and its permissions for this user (or enable sudo for this host)",
            host=self.host,
            file=path,
        )

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
