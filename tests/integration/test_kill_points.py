"""kill -9 the wizard anywhere, resume, and end exactly where an uninterrupted run ends.

One reference run of ``apim-all-in-one`` (files, databases, scripts, driver; ``--skip
nodes``) is snapshotted: sha256, mode and owner of every file of the product home (the
session's backups apart, which must hold the stock file) and, per database, every
table's definition, row count and checksum. Then, each on a fresh home and fresh
database names: kill -9 after the k-th finished step (every step boundary), in the
middle of a dbscript, in the middle of a file write and of a backup write, and drop the
SSH link mid-run; ``resume --yes`` must reach the reference state.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml

from wizard.lab.answers import answers_dict, lab_nodes

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"
DB_KEYS = ("am", "um", "reg")
RUN_ARGS = ("--yes", "--json", "--skip", "nodes")
# 15 steps without start/wait (the DB alias in the node's hosts file among the files):
# a kill after each of the first 14
BOUNDARIES = 14


LAB_HOSTS = 1


@pytest.fixture(scope="module")
def klab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


class Rig:
    """A fresh product home, fresh database names and a session dir of their own."""

    def __init__(self, lab: dict[str, Any], tag: str) -> None:
        from wizard.lab.pack import install_pack

        self.lab = lab
        self.tag = tag
        node = lab_nodes(lab, PATTERN)[0]
        self.user = node["ssh"]["user"]
        pw = pwd.getpwnam(self.user)
        base = Path(node["home"]).parent / f"run-{tag}"
        base.mkdir(mode=0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        self.home = base / "wso2am-2.6.0"
        install_pack(
            self.home,
            keystores=Path(lab["dir"]) / "files" / "keystores",
            boot_delay=0.5,
            owner=(pw.pw_uid, pw.pw_gid),
        )
        self.prefix = f"k{tag}_"
        data = answers_dict(lab, PATTERN, db_prefix=self.prefix)
        data["product"]["home"] = str(self.home)
        data["nodes"][0]["home"] = str(self.home)
        self.db_names = {k: data["db"]["databases"][k]["name"] for k in DB_KEYS}
        self.answers = base.parent / f"answers-{tag}.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.sessions = base.parent / f"sessions-{tag}"

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "wizard", "--session-dir", str(self.sessions), *args]

    def apply_cmd(self) -> list[str]:
        return self.cli("apply", "--answers", str(self.answers), *RUN_ARGS)

    def session_dir(self) -> Path:
        (only,) = [p for p in self.sessions.iterdir() if p.is_dir()]
        return only

    def journal(self) -> list[dict[str, Any]]:
        path = self.session_dir() / "journal.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]

    def resume(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.cli("resume", *RUN_ARGS),
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]


def final_states(stdout: str) -> dict[str, str]:
    return {
        e["step"]: e["state"] for e in events(stdout) if "step" in e and e["state"] != "running"
    }


def db_password(lab: dict[str, Any]) -> str:
    return Path(lab["db"]["password_file"]).read_text().strip()


def connect(lab: dict[str, Any]) -> pymysql.connections.Connection[Any]:
    db = lab["db"]
    return pymysql.connect(
        host=db["host"],
        port=db["port"],
        user=db["admin_user"],
        password=db_password(lab),
        autocommit=True,
    )


def is_backup(name: str) -> bool:
    return ".carbon-wizard-" in name and name.endswith(".bak")


def snapshot_files(rig: Rig) -> dict[str, tuple[str, int, int]]:
    """Relative path -> (sha256 with the run's own names normalised, mode, uid)."""
    out: dict[str, tuple[str, int, int]] = {}
    for p in sorted(rig.home.rglob("*")):
        st = p.lstat()
        rel = p.relative_to(rig.home).as_posix()
        if is_backup(p.name) or p.is_dir():
            continue
        data = p.read_bytes() if p.is_file() else os.readlink(p).encode()
        data = data.replace(rig.prefix.encode(), b"<prefix>").replace(
            str(rig.home).encode(), b"<home>"
        )
        out[rel] = (hashlib.sha256(data).hexdigest(), st.st_mode, st.st_uid)
    return out


def _rows_checksum(cur: Any, db: str, table: str) -> str:
    """sha256 of the sorted rows, leaving out the clock (TIMESTAMP/DATETIME columns)."""
    cur.execute(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND "
        "TABLE_NAME=%s AND DATA_TYPE NOT IN ('timestamp', 'datetime') ORDER BY ORDINAL_POSITION",
        (db, table),
    )
    cols = ", ".join(f"`{c}`" for (c,) in cur.fetchall())
    cur.execute(f"SELECT {cols} FROM `{db}`.`{table}`")
    rows = sorted(repr(r) for r in cur.fetchall())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def snapshot_db(rig: Rig) -> dict[str, Any]:
    """Database key -> table -> (definition hash, row count, rows checksum)."""
    out: dict[str, Any] = {}
    conn = connect(rig.lab)
    try:
        with conn.cursor() as cur:
            for key, name in rig.db_names.items():
                cur.execute(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                    "ORDER BY TABLE_NAME",
                    (name,),
                )
                tables: dict[str, Any] = {}
                for (table,) in cur.fetchall():
                    cur.execute(f"SHOW CREATE TABLE `{name}`.`{table}`")
                    ddl = cur.fetchone()[1]
                    cur.execute(f"SELECT COUNT(*) FROM `{name}`.`{table}`")
                    rows = cur.fetchone()[0]
                    checksum = _rows_checksum(cur, name, table)
                    tables[table] = (hashlib.sha256(ddl.encode()).hexdigest(), rows, checksum)
                out[key] = tables
    finally:
        conn.close()
    return out


def snapshot(rig: Rig) -> dict[str, Any]:
    return {"files": snapshot_files(rig), "db": snapshot_db(rig)}


def assert_same(rig: Rig, reference: dict[str, Any], stock: Path) -> None:
    got = snapshot(rig)
    ref_files, got_files = reference["files"], got["files"]
    assert sorted(got_files) == sorted(ref_files), (
        f"files only here: {sorted(set(got_files) - set(ref_files))}; "
        f"only in the reference: {sorted(set(ref_files) - set(got_files))}"
    )
    differ = [p for p in ref_files if ref_files[p] != got_files[p]]
    assert not differ, f"files differ from the uninterrupted run: {differ}"
    db_differ = {
        (key, table): (reference["db"][key].get(table), got["db"][key].get(table))
        for key in DB_KEYS
        for table in set(reference["db"][key]) | set(got["db"][key])
        if reference["db"][key].get(table) != got["db"][key].get(table)
    }
    assert not db_differ, f"tables differ from the uninterrupted run: {db_differ}"
    assert all(reference["db"][k] for k in DB_KEYS)  # the reference really has tables
    # backups hold the stock file, whole, even when the kill hit while writing one
    for bak in rig.home.rglob("*.bak"):
        if is_backup(bak.name):
            original = bak.name.split(".carbon-wizard-")[0]
            rel = bak.parent.relative_to(rig.home) / original
            assert bak.read_bytes() == (stock / rel).read_bytes(), rel


@pytest.fixture(scope="module")
def stock(klab: dict[str, Any]) -> Path:
    """An untouched product home: what every backup must equal."""
    from wizard.lab.pack import install_pack

    dest = Path(klab["dir"]) / "stock" / "wso2am-2.6.0"
    return install_pack(dest, keystores=Path(klab["dir"]) / "files" / "keystores")


@pytest.fixture(scope="module")
def reference(klab: dict[str, Any]) -> dict[str, Any]:
    rig = Rig(klab, "ref")
    res = subprocess.run(
        rig.apply_cmd(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert res.returncode == 0, res.stdout + res.stderr
    states = final_states(res.stdout)
    assert len(states) == BOUNDARIES + 1, states
    return snapshot(rig)


def run_until(
    rig: Rig, stop: Any, cmd: list[str] | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    """Start the wizard; feed each JSON event to ``stop(event, seen)``; when it returns
    True, kill -9 the wizard there. Returns the process (waited for) and the events."""
    proc = subprocess.Popen(
        cmd or rig.apply_cmd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    seen: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        seen.append(event)
        if stop(event, seen):
            proc.kill()
            break
    proc.wait(timeout=120)
    return proc, seen


def finished(seen: list[dict[str, Any]]) -> list[str]:
    return [e["step"] for e in seen if e.get("state") in ("changed", "unchanged")]


def resume_and_compare(rig: Rig, reference: dict[str, Any], stock: Path) -> dict[str, str]:
    done_before = {e["step"] for e in rig.journal() if e["event"] == "done"}
    res = rig.resume()
    assert res.returncode == 0, res.stdout + res.stderr
    states = final_states(res.stdout)
    assert len(states) == BOUNDARIES + 1, states
    assert all(s in ("changed", "unchanged") for s in states.values()), states
    # finished steps are re-verified, not redone (the DB steps re-check the server)
    redone = {s for s in done_before if states[s] != "unchanged"}
    assert not redone, f"steps finished before the kill ran again: {redone}"
    meta = json.loads((rig.session_dir() / "session.json").read_text())
    assert meta["state"] == "done"
    assert_same(rig, reference, stock)
    return states


@pytest.mark.parametrize("k", range(1, BOUNDARIES + 1))
def test_kill_after_each_step_then_resume(
    klab: dict[str, Any], reference: dict[str, Any], stock: Path, k: int
) -> None:
    rig = Rig(klab, f"b{k}")
    proc, seen = run_until(rig, lambda e, seen: len(finished(seen)) >= k)
    assert proc.returncode == -signal.SIGKILL
    journal = rig.journal()
    done = [e["step"] for e in journal if e["event"] == "done"]
    assert len(done) >= k
    meta = json.loads((rig.session_dir() / "session.json").read_text())
    assert meta["state"] == "running"  # killed: nobody wrote an end state
    resume_and_compare(rig, reference, stock)


def _tables(lab: dict[str, Any], name: str) -> int:
    conn = connect(lab)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s", (name,)
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _script_run(lab: dict[str, Any], name: str) -> tuple[str, int, int]:
    conn = connect(lab)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT state, statements_done, statements_total FROM carbon_wizard.script_runs "
                "WHERE db_name=%s",
                (name,),
            )
            row = cur.fetchone()
            return (str(row[0]), int(row[1]), int(row[2]))
    finally:
        conn.close()


def kill_mid_dbscript(rig: Rig, step: str) -> int:
    """kill -9 while ``step``'s script is running (some of its tables made). Returns the
    number of tables there at the kill."""
    name = rig.db_names[step.rsplit(":", 1)[1]]
    at_kill = {"tables": 0}

    def stop(event: dict[str, Any], seen: list[dict[str, Any]]) -> bool:
        if event.get("step") != step or event.get("state") != "running":
            return False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            n = _tables(rig.lab, name)
            if n >= 3:
                at_kill["tables"] = n
                return True
            time.sleep(0.01)
        raise AssertionError(f"{step} made no tables in 30 s")

    proc, _ = run_until(rig, stop)
    assert proc.returncode == -signal.SIGKILL
    journal = [e for e in rig.journal() if e["step"] == step]
    assert [e["event"] for e in journal] == ["start"]  # started, never finished
    state, done, total = _script_run(rig.lab, name)
    assert state == "running" and total > at_kill["tables"]
    assert 0 < _tables(rig.lab, name) < total  # really partial
    return at_kill["tables"]


def test_kill_in_the_middle_of_a_dbscript_recreates_our_database(
    klab: dict[str, Any], reference: dict[str, Any], stock: Path
) -> None:
    rig = Rig(klab, "mdb")
    kill_mid_dbscript(rig, "db:dbscript:um")
    res = rig.resume()
    assert res.returncode == 0, res.stdout + res.stderr
    msg = {e["step"]: e["message"] for e in events(res.stdout) if e.get("state") == "changed"}
    assert "dropped and re-created" in msg["db:dbscript:um"]
    assert_same(rig, reference, stock)


def test_partial_script_in_a_database_we_did_not_create_stops_resume(
    klab: dict[str, Any], stock: Path
) -> None:
    rig = Rig(klab, "foreign")
    kill_mid_dbscript(rig, "db:dbscript:reg")
    name = rig.db_names["reg"]
    before = _tables(klab, name)
    conn = connect(klab)  # as if the admin had made the database: not ours to drop
    with conn.cursor() as cur:
        cur.execute("DELETE FROM carbon_wizard.created_dbs WHERE db_name=%s", (name,))
    conn.close()
    res = rig.resume()
    assert res.returncode == 1, res.stdout + res.stderr
    failed = {e["step"]: e["message"] for e in events(res.stdout) if e.get("state") == "failed"}
    assert set(failed) == {"db:dbscript:reg"}
    assert "partially set up" in failed["db:dbscript:reg"]
    assert "not created by the wizard" in failed["db:dbscript:reg"]
    assert _tables(klab, name) == before  # nothing dropped


# A kill -9 from inside the wizard's own process, half-way through writing one file to
# the host: the patch is applied in the child only, the product code is untouched.
KILL_MID_WRITE = """
import os, signal, sys
from wizard.connectors import ssh
start, end = os.environ["CW_TEST_KILL_WRITE"].split("|")
fill = ssh.SshTransport._fill
def _fill(self, pipe, handle, chunks, mode, st, path):
    if not (os.path.basename(path).startswith(start) and path.endswith(end)):
        return fill(self, pipe, handle, chunks, mode, st, path)
    data = b"".join(chunks)
    fill(self, pipe, handle, [data[: len(data) // 2]], mode, st, path)  # half of it, synced
    os.kill(os.getpid(), signal.SIGKILL)
ssh.SshTransport._fill = _fill
if os.environ.get("CW_TEST_NO_HARDLINK"):  # backups copied, as on a server without links
    init = ssh.SshTransport.__init__
    def no_links(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._hardlink_ok = False
    ssh.SshTransport.__init__ = no_links
from wizard.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("conf", "suffix"),
    [
        ("datasources/master-datasources.xml", ""),  # the file itself
        ("user-mgt.xml", ".bak"),  # its backup (copied here, not linked), written first
    ],
)
def test_kill_in_the_middle_of_a_file_write(
    klab: dict[str, Any], reference: dict[str, Any], stock: Path, conf: str, suffix: str
) -> None:
    rig = Rig(klab, f"mw{len(suffix)}")
    path = rig.home / "repository/conf" / conf
    cmd = [sys.executable, "-c", KILL_MID_WRITE, *rig.apply_cmd()[3:]]
    target = f"{path.name}.carbon-wizard-" if suffix else path.name
    proc, seen = run_until(
        rig,
        lambda e, s: False,
        cmd=cmd,
        env={"CW_TEST_KILL_WRITE": f"{target}|{suffix or path.name}", "CW_TEST_NO_HARDLINK": "1"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    step = f"node:file_edit:repository/conf/{conf}"
    assert [e["event"] for e in rig.journal() if e["step"] == step] == ["start"]
    leftovers = [p.name for p in path.parent.iterdir() if ".cw-tmp-" in p.name]
    assert leftovers and all(n.startswith(f".{target}") for n in leftovers), leftovers
    assert path.read_bytes() == (stock / "repository/conf" / conf).read_bytes()
    resume_and_compare(rig, reference, stock)
    assert not [p for p in path.parent.iterdir() if ".cw-tmp-" in p.name]


def sshd_sessions(user: str) -> list[int]:
    """Pids of the sshd processes serving ``user``'s connections (``sshd: user...``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            continue
        if cmd.startswith(f"sshd: {user}".encode()):
            pids.append(int(entry.name))
    return pids


def test_dropped_ssh_link_mid_run_then_resume(
    klab: dict[str, Any], reference: dict[str, Any], stock: Path
) -> None:
    rig = Rig(klab, "ssh")
    killed: list[int] = []

    def stop(event: dict[str, Any], seen: list[dict[str, Any]]) -> bool:
        if not killed and event.get("host") == "node" and event.get("state") == "changed":
            for pid in sshd_sessions(rig.user):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        return False  # let the wizard run on: it reports the drop or reconnects

    proc, seen = run_until(rig, stop)
    assert killed, "found no sshd process serving the wizard"
    # the wizard reconnects (0) or reports the step that lost its link (1)
    assert proc.returncode in (0, 1), seen
    failed = [e["step"] for e in seen if e.get("state") == "failed"]
    print(f"sshd killed {killed}; the wizard exited {proc.returncode}; failed steps {failed}")
    resume_and_compare(rig, reference, stock)
