"""The artifact sync's SSH key on a lab of its own (apim-active-passive: the active node
rsyncs synapse-configs to the passive one, each on its own host with its own sshd and
Unix user). After ``apply`` the key is on the source (0600, no passphrase), its public
half once in the worker's ``authorized_keys``, and the cron job's command, run by hand
on the source as cron would (the sync user, an empty environment, no terminal), brings
a new artifact to the worker. A re-run changes nothing; ``rollback`` removes the key it
made and puts ``authorized_keys`` back as it was."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_dict, lab_nodes

from .clirun import wizard

pytestmark = pytest.mark.lab

PATTERN = "apim-active-passive"
LAB_HOSTS = 2
MARK = "# carbon-wizard sync"


@pytest.fixture(scope="module")
def synclab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _summary(text: str) -> dict[str, int]:
    m = re.search(r"(\d+) changed, (\d+) unchanged, (\d+) failed", text)
    assert m, text
    return dict(zip(("changed", "unchanged", "failed"), map(int, m.groups()), strict=True))


def _crontab(user: str) -> list[str]:
    res = subprocess.run(["crontab", "-l", "-u", user], capture_output=True, text=True,
                         timeout=30, check=False)  # fmt: skip
    return res.stdout.splitlines() if res.returncode == 0 else []


def as_cron(user: str, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` as cron runs a crontab line's command: as ``user``, by /bin/sh, with
    cron's few variables only (no agent, no terminal, nothing inherited)."""
    pw = pwd.getpwnam(user)
    env = [f"HOME={pw.pw_dir}", f"LOGNAME={user}", f"USER={user}", "SHELL=/bin/sh",
           "PATH=/usr/bin:/bin"]  # fmt: skip
    return subprocess.run(
        ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
         "env", "-i", *env, "/bin/sh", "-c", command],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def test_the_sync_key_lets_the_cron_job_reach_the_worker_and_rolls_back(
    synclab: dict[str, Any], tmp_path: Path
) -> None:
    nodes = {n["name"]: n for n in lab_nodes(synclab, PATTERN)}
    source, worker = nodes["active"], nodes["passive"]
    assert source["host"] != worker["host"]  # two hosts, two users, two sshd
    src_user, wk_user = source["ssh"]["user"], worker["ssh"]["user"]
    data = answers_dict(synclab, PATTERN, db_prefix="sk_")
    assert data.get("sync", {}).get("enabled", True)  # on by default, no key answered
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    sessions = tmp_path / "sessions"
    sync_dir = Path(source["home"], "repository/carbon-wizard-sync")
    key = sync_dir / "id_ed25519"
    auth = Path(pwd.getpwnam(wk_user).pw_dir, ".ssh/authorized_keys")
    auth_before = (auth.read_bytes(), auth.stat().st_mode & 0o7777, auth.stat().st_uid)
    assert not key.exists() and not _crontab(src_user)

    first = wizard(sessions, "apply", "--answers", str(answers), "--yes", "--json",
                 "--start-timeout", "60")  # fmt: skip
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    (session,) = (p.name for p in sessions.iterdir())
    done = {e["step"]: e["state"] for e in map(json.loads, first.stdout.splitlines())
            if e.get("step") and e["state"] != "running"}  # fmt: skip
    assert done["active:ssh_key"] == done["passive:authorized_key"] == "changed", done

    # the key: the source user's alone, usable without a passphrase
    st = key.stat()
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == pwd.getpwnam(src_user).pw_uid
    assert (sync_dir.stat().st_mode & 0o077) == 0  # its folder is the user's alone too
    pub = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(key)], capture_output=True,
                         text=True, check=True, timeout=30).stdout.split()  # fmt: skip
    assert pub[0] == "ssh-ed25519"
    assert key.with_name("id_ed25519.pub").read_text().split()[:2] == pub[:2]
    # ... authorised once on the worker, the lines already there kept, modes as sshd wants
    ours = [f"{pub[0]} {pub[1]} carbon-wizard-sync@active"]
    assert [x for x in auth.read_text().splitlines() if pub[1] in x.split()] == ours
    assert auth.read_bytes().startswith(auth_before[0])
    assert auth.stat().st_mode & 0o777 == 0o600 and auth.stat().st_uid == auth_before[2]
    # the worker's host key pinned for the sync, from the key the wizard verified
    worker_host = next(h for h in synclab["hosts"] if h["name"] == worker["host"])
    pinned = (sync_dir / "known_hosts").read_text()
    assert pinned.split() == [f"[{worker['address']}]:{worker_host['ssh_port']}",
                              *worker_host["host_key"].split()[:2]]  # fmt: skip

    # the cron entry's command, run as cron would: the new artifact reaches the worker
    (line,) = [x for x in _crontab(src_user) if MARK in x]
    command = line.split(None, 5)[5]  # after the five schedule fields
    assert shlex.split(command, comments=True) == [str(sync_dir / "rsync-for-carbon-depsync.sh")]
    artifacts = "repository/deployment/server/synapse-configs/default/api"
    probe = Path(source["home"], artifacts, "CwSyncProbe_v1.xml")
    probe.write_text('<api xmlns="http://ws.apache.org/ns/synapse" name="CwSyncProbe"/>\n')
    arrived = Path(worker["home"], artifacts, probe.name)
    assert not arrived.exists()
    # the guide's log folder is /tmp's: one an admin made running the script by hand as
    # root (or a job of another user) is not the sync user's; the sync runs all the same
    shared_log = Path("/tmp/carbon-rsync-logs")
    shared_log.mkdir(mode=0o755, exist_ok=True)
    os.chown(shared_log, 0, 0)
    shared_log.chmod(0o755)
    ran = as_cron(src_user, command)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert arrived.read_bytes() == probe.read_bytes()
    log = (sync_dir / "rsync.log").read_text()
    assert f"-> {wk_user}@{worker['address']}:" in log, log
    assert arrived.stat().st_uid == pwd.getpwnam(wk_user).pw_uid  # written by the sync user
    probe.unlink()
    assert as_cron(src_user, command).returncode == 0  # a removal follows too (--delete)
    assert not arrived.exists()

    again = wizard(sessions, "apply", "--answers", str(answers), "--yes", "--start-timeout", "60")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    counts = _summary(again.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0, again.stdout[-4000:]
    assert [x for x in auth.read_text().splitlines() if pub[1] in x.split()] == ours

    back = wizard(sessions, "rollback", session, "--yes", "--drop-databases")
    assert back.returncode == 0, back.stdout[-4000:] + back.stderr
    assert not key.exists() and not key.with_name("id_ed25519.pub").exists()
    assert (auth.read_bytes(), auth.stat().st_mode & 0o7777, auth.stat().st_uid) == auth_before
    assert not [x for x in _crontab(src_user) if MARK in x]
    left = sorted(p.name for p in sync_dir.iterdir()) if sync_dir.exists() else []
    assert left == ["rsync.log"], left  # the job's own log stays (a node's logs do too)
