"""Resume on a lab of its own: Ctrl-C then resume, a changed answer re-runs only the steps
it affects, drift stops a headless resume and is asked about at a terminal (where only
``prompt`` secrets are asked for), and an exported session replays identically."""

from __future__ import annotations

import json
import os
import pty
import pwd
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_dict, lab_nodes

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"
RUN_ARGS = ("--json", "--skip", "nodes")
CARBON_XML = "node:file_edit:repository/conf/carbon.xml"
REGISTRY_XML = "node:file_edit:repository/conf/registry.xml"
# steps of the plan without start/wait: files (the DB alias in the node's hosts file too),
# databases, scripts, driver
STEPS = 15


LAB_HOSTS = 1


@pytest.fixture(scope="module")
def rlab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


class Rig:
    """A fresh product home, database names and session dir for one test."""

    def __init__(self, lab: dict[str, Any], tag: str) -> None:
        from wizard.lab.pack import install_pack

        self.lab = lab
        node = lab_nodes(lab, PATTERN)[0]
        pw = pwd.getpwnam(node["ssh"]["user"])
        base = Path(node["home"]).parent / f"resume-{tag}"
        base.mkdir(mode=0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        self.home = install_pack(
            base / "wso2am-2.6.0",
            keystores=Path(lab["dir"]) / "files" / "keystores",
            boot_delay=0.5,
            owner=(pw.pw_uid, pw.pw_gid),
        )
        self.prefix = f"r{tag}_"
        data = answers_dict(lab, PATTERN, db_prefix=self.prefix)
        data["product"]["home"] = str(self.home)
        data["nodes"][0]["home"] = str(self.home)
        self.answers = base.parent / f"resume-answers-{tag}.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.sessions = base.parent / f"resume-sessions-{tag}"

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "wizard", "--session-dir", str(self.sessions), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.cli(*args), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
        )

    def apply(self, answers: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("apply", "--answers", str(answers or self.answers), "--yes", *RUN_ARGS)

    def session(self) -> Path:
        (latest,) = sorted(
            (p for p in self.sessions.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime
        )[-1:]
        return latest

    def secrets(self) -> list[str]:
        names = ("db-app", "carbon-admin", "keystore")
        values = [
            Path(self.lab["dir"], "secrets", f"{n}.password").read_text().strip() for n in names
        ]
        return [*values, Path(self.lab["db"]["password_file"]).read_text().strip()]


def states(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            if "step" in e and e["state"] != "running":
                out[e["step"]] = e["state"]
    return out


def test_ctrl_c_exits_3_interrupted_then_resume_finishes(rlab: dict[str, Any]) -> None:
    rig = Rig(rlab, "int")
    proc = subprocess.Popen(
        rig.cli("apply", "--answers", str(rig.answers), "--yes", *RUN_ARGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    finished = 0
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line).get("state") in ("changed", "unchanged"):
            finished += 1
            if finished == 2:
                proc.send_signal(signal.SIGINT)
                break
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, rest + err
    assert "stopping after the steps under way" in rest
    assert "interrupted:" in rest
    meta = json.loads((rig.session() / "session.json").read_text())
    assert meta["state"] == "interrupted"
    done_before = {
        json.loads(x)["step"]
        for x in (rig.session() / "journal.jsonl").read_text().splitlines()
        if json.loads(x)["event"] == "done"
    }
    assert 2 <= len(done_before) < STEPS  # stopped early, not at the end

    res = rig.run("resume", meta["id"], "--yes", *RUN_ARGS)
    assert res.returncode == 0, res.stdout + res.stderr
    got = states(res.stdout)
    assert len(got) == STEPS and set(got.values()) <= {"changed", "unchanged"}, got
    assert all(got[s] == "unchanged" for s in done_before)
    assert any(v == "changed" for v in got.values())  # the rest really ran now
    assert json.loads((rig.session() / "session.json").read_text())["state"] == "done"


def _fingerprints(plan_json: str) -> dict[str, str]:
    return {s["id"]: s["fingerprint"] for s in json.loads(plan_json)["steps"]}


def test_changed_answer_reruns_only_the_steps_it_affects(rlab: dict[str, Any]) -> None:
    rig = Rig(rlab, "edit")
    first = rig.apply()
    assert first.returncode == 0, first.stdout + first.stderr
    session = rig.session()
    before = _fingerprints((session / "plan.json").read_text())
    data = yaml.safe_load((session / "answers.yaml").read_text())
    data["nodes"][0]["offset"] = 2  # the admin changes one answer in the saved session
    (session / "answers.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    res = rig.run("resume", session.name, "--yes", *RUN_ARGS)
    assert res.returncode == 0, res.stdout + res.stderr
    after = _fingerprints((session / "plan.json").read_text())
    moved = {s for s in before if before[s] != after.get(s)}
    got = states(res.stdout)
    changed = {s for s, v in got.items() if v == "changed"}
    assert changed == {CARBON_XML, REGISTRY_XML}, got
    assert changed <= moved
    assert all(v == "unchanged" for s, v in got.items() if s not in changed)
    carbon = (rig.home / "repository/conf/carbon.xml").read_text()
    assert re.search(r"<Offset>2</Offset>", carbon)


def _hand_edit(rig: Rig) -> tuple[Path, bytes]:
    """The admin edits a file the wizard wrote (and the check can see it)."""
    path = rig.home / "repository/conf/datasources/master-datasources.xml"
    text = path.read_text()
    ours = f"{rig.prefix}apimgtdb"
    assert ours in text
    path.write_text(text.replace(ours, "handmade_db", 1))
    return path, path.read_bytes()


def test_drift_stops_a_headless_resume_and_shows_the_diff(rlab: dict[str, Any]) -> None:
    rig = Rig(rlab, "drift")
    first = rig.apply()
    assert first.returncode == 0, first.stdout + first.stderr
    path, edited = _hand_edit(rig)
    res = rig.run("resume", "--yes", *RUN_ARGS)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "changed since the wizard wrote it" in res.stdout
    assert "master-datasources.xml" in res.stdout
    assert re.search(r"^-.*handmade_db", res.stdout.replace("\\n", "\n"), re.M), res.stdout
    assert "1 file(s) changed on the hosts" in res.stderr
    assert path.read_bytes() == edited  # not overwritten
    for secret in rig.secrets():  # the diff of a file holding the DB password is masked
        assert secret not in res.stdout + res.stderr


def _at_terminal(cmd: list[str], answers: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run ``cmd`` on a pseudo-terminal, typing ``answers[prompt]`` at each prompt seen."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        os.execvpe(cmd[0], cmd, {**os.environ, "PYTHONUNBUFFERED": "1"})
    out = b""
    pending = dict(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            text = out.decode(errors="replace")
            for prompt in list(pending):
                if text.rstrip().endswith(prompt.rstrip()) or text.endswith(prompt):
                    os.write(fd, pending.pop(prompt).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_drift_at_a_terminal_is_asked_and_only_prompt_secrets_are_asked(
    rlab: dict[str, Any],
) -> None:
    rig = Rig(rlab, "tty")
    first = rig.apply()
    assert first.returncode == 0, first.stdout + first.stderr
    session = rig.session()
    data = yaml.safe_load((session / "answers.yaml").read_text())
    app_password = Path(data["db"]["password"][len("file:") :]).read_text().strip()
    data["db"]["password"] = "prompt"  # this one is to be asked; the others stay files
    (session / "answers.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    path, edited = _hand_edit(rig)
    code, out = _at_terminal(
        rig.cli("resume", session.name, "--skip", "nodes"),
        {
            "Password for db.password: ": app_password,
            "Overwrite these changes? [y/N] ": "y",
            "hosts? [y/N] ": "y",
        },
    )
    assert code == 0, out
    assert out.count("Password for") == 1, out  # file: secrets are not asked for
    assert "changed since the wizard wrote it" in out
    assert app_password not in out
    assert path.read_bytes() != edited and b"handmade_db" not in path.read_bytes()
    assert re.search(r"changed\s+" + re.escape("node:file_edit:repository/conf/datasources"), out)


def test_exported_answers_replay_the_same_plan_with_no_change(rlab: dict[str, Any]) -> None:
    rig = Rig(rlab, "exp")
    first = rig.apply()
    assert first.returncode == 0, first.stdout + first.stderr
    original = rig.session()
    exported = rig.answers.with_name("exported-answers.yaml")
    res = rig.run("answers", "export", original.name, "-o", str(exported))
    assert res.returncode == 0, res.stderr
    assert exported.stat().st_mode & 0o777 == 0o600
    text = exported.read_text()
    assert f"session {original.name}" in text
    assert "file:" in text
    for secret in rig.secrets():
        assert secret not in text
    # to stdout as well, same text
    assert rig.run("answers", "export", original.name).stdout == text

    plan = rig.run("plan", "--answers", str(exported), "--json", "--offline")
    assert plan.returncode == 0, plan.stderr
    shown = json.loads(plan.stdout)
    assert "layout" in shown and "notes" in shown  # what the plan found, shown, not replayed
    steps = {k: v for k, v in shown.items() if k in ("pattern", "steps")}
    assert steps == json.loads((original / "plan.json").read_text(encoding="utf-8"))

    replay = rig.apply(exported)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    second = rig.session()
    assert second != original
    assert (second / "plan.json").read_bytes() == (original / "plan.json").read_bytes()
    got = states(replay.stdout)
    assert len(got) == STEPS and set(got.values()) == {"unchanged"}, got


def test_export_of_an_unknown_session_is_bad_input(rlab: dict[str, Any], tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "--session-dir",
            str(tmp_path),
            "answers",
            "export",
            "nope",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "no session 'nope'" in res.stderr
