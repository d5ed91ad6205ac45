"""What the `export ansible` lab tests share: the wizard and ansible-playbook as
subprocesses, a pattern's site on the lab (fresh stock homes, its files, readiness, its
secrets, its databases) and the comparison of two sets of files."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_dict, lab_nodes
from wizard.steps.httpget import http_status

BACKUP = re.compile(r"\.carbon-wizard-[^/]+\.bak$")
# written by the running node, not by a step
RUNTIME = re.compile(r"(^|/)(repository/logs/|wso2carbon\.pid$|tmp/|\.cw-|__pycache__/)")


def need_playbook() -> str:
    try:
        import ansible  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ansible-core is not importable (pip install -e '.[test]')")
        pytest.skip("ansible-core is not installed (a test extra)")
    return str(Path(sys.executable).parent / "ansible-playbook")


def run_wizard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def run_ansible(project: Path, cp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp),
        "ANSIBLE_LOCAL_TEMP": str(cp / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "CW_START_TIMEOUT": "120",
    }
    return subprocess.run(
        [need_playbook(), "site.yml", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def recap(out: str) -> dict[str, dict[str, int]]:
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+: (ok=.*)$", line)
        if m:
            rows[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return rows


class Site:
    """The lab's state for one pattern: homes, hosts files, LB files, crontabs."""

    def __init__(self, lab: dict[str, Any], pattern: str, prefix: str, tmp: Path) -> None:
        self.lab = lab
        self.pattern = pattern
        self.prefix = prefix
        self.nodes = lab_nodes(lab, pattern)
        data = answers_dict(lab, pattern, db_prefix=prefix)
        data.setdefault("start", {})["timeout"] = 120
        self.answers = tmp / "answers.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.data = data

    def fresh(self) -> None:
        """Stock homes and hosts files, no LB config, no cron entry, no databases."""
        from wizard.lab import labctl

        labctl.reset_homes(Path(self.lab["dir"]))
        lb = self.data.get("lb")
        if lb:
            conf = Path(lb["conf_dir"]) / f"carbon-wizard-{self.pattern}.conf"
            conf.unlink(missing_ok=True)
            for name in ("carbon-wizard.crt", "carbon-wizard.key"):
                Path(lb["ssl_dir"], name).unlink(missing_ok=True)
        for h in self.lab["hosts"]:
            subprocess.run(["crontab", "-u", h["user"], "-r"], capture_output=True)
        self.drop_databases()

    def drop_databases(self) -> None:
        import pymysql

        db = self.lab["db"]
        password = Path(db["password_file"]).read_text().strip()
        conn = pymysql.connect(
            host=db["host"], port=db["port"], user=db["admin_user"], password=password
        )
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW DATABASES LIKE %s", (self.prefix + "%",))
                for (name,) in cur.fetchall():
                    cur.execute(f"DROP DATABASE `{name}`")
                cur.execute("SHOW DATABASES LIKE 'carbon\\run_wizard'")
                if cur.fetchall():
                    for table in ("created_dbs", "script_runs"):
                        cur.execute(
                            f"DELETE FROM carbon_wizard.{table} WHERE db_name LIKE %s",
                            (self.prefix + "%",),
                        )
            conn.commit()
        finally:
            conn.close()

    def files(self) -> dict[str, bytes]:
        """Every file the setup can write: homes, hosts files, LB config, crontabs."""
        out: dict[str, bytes] = {}
        for n in self.nodes:
            home = Path(n["home"])
            for path in sorted(home.rglob("*")):
                rel = path.relative_to(home).as_posix()
                if path.is_file() and not path.is_symlink() and not RUNTIME.search(rel):
                    out[f"{n['name']}:{BACKUP.sub('.carbon-wizard-ID.bak', rel)}"] = (
                        path.read_bytes()
                    )
            out[f"{n['name']}:hosts"] = Path(n["hosts_file"]).read_bytes()
        lb = self.data.get("lb")
        if lb:
            conf = Path(lb["conf_dir"]) / f"carbon-wizard-{self.pattern}.conf"
            out["lb:conf"] = conf.read_bytes() if conf.exists() else b""
        for h in self.lab["hosts"]:
            tab = subprocess.run(["crontab", "-u", h["user"], "-l"], capture_output=True)
            out[f"{h['name']}:crontab"] = tab.stdout if tab.returncode == 0 else b""
        return out

    def stop_nodes(self) -> None:
        for n in self.nodes:
            pid = Path(n["home"]) / "wso2carbon.pid"
            if pid.exists():
                try:
                    os.kill(int(pid.read_text().strip()), 15)
                except (ProcessLookupError, ValueError):
                    pass

    def ready(self) -> bool:
        return all(
            http_status(f"https://{n['address']}:{9443 + n['offset']}/carbon/admin/login.jsp")
            == 200
            for n in self.nodes
        )

    def secrets(self) -> list[str]:
        names = ("db-app", "carbon-admin", "keystore")
        values = [
            Path(self.lab["dir"], "secrets", f"{n}.password").read_text().strip() for n in names
        ]
        return [*values, Path(self.lab["db"]["password_file"]).read_text().strip()]


def _made_keys(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files with the artifact sync's SSH key (made anew by each run, on the sync
    source) reduced to what both runs must agree on: its kind, and a key being there."""
    out = dict(files)
    for k, data in files.items():
        if k.endswith("/carbon-wizard-sync/id_ed25519.pub"):
            out[k] = data.split()[0] + b" " + data.split()[-1]  # type and comment
        elif k.endswith("/carbon-wizard-sync/id_ed25519"):
            out[k] = data.splitlines()[0]  # -----BEGIN OPENSSH PRIVATE KEY-----
    return out


def _differences(want: dict[str, bytes], got: dict[str, bytes]) -> list[str]:
    want, got = _made_keys(want), _made_keys(got)
    diff = [f"only after apply: {k}" for k in want if k not in got]
    diff += [f"only after ansible: {k}" for k in got if k not in want]
    for k in want:
        if k in got and want[k] != got[k]:
            lines = difflib.unified_diff(
                want[k].decode(errors="replace").splitlines(),
                got[k].decode(errors="replace").splitlines(),
                "apply",
                "ansible",
                lineterm="",
                n=1,
            )
            diff.append(f"differs: {k}\n" + "\n".join(list(lines)[:40]))
    return diff


def playbook_does_what_apply_does(
    lab: dict[str, Any], tmp_path: Path, control_dir: Path, pattern: str
) -> None:
    """The exported project, run by ansible-playbook on stock homes, leaves every file as
    `carbon-wizard apply` does; --check --diff changes nothing; a second run changes
    nothing; the nodes come up ready; no secret in the export or the output."""
    need_playbook()
    tag = "aio" if pattern == "apim-all-in-one" else "ap"
    site = Site(lab, pattern, f"ans{tag}_", tmp_path)
    outputs: list[str] = []
    try:
        # the reference: carbon-wizard apply from stock homes
        site.fresh()
        applied = run_wizard(
            "--session-dir", str(tmp_path / "s"), "apply", "--answers", str(site.answers), "--yes"
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert site.ready()
        want = site.files()
        site.stop_nodes()

        # the same stock homes again, and the project exported against them
        site.fresh()
        project = tmp_path / "project"
        exported = run_wizard(
            "export", "ansible", "--answers", str(site.answers), "-o", str(project)
        )
        assert exported.returncode == 0, exported.stdout + exported.stderr
        outputs.append(exported.stdout + exported.stderr)
        stock = site.files()

        # --check --diff: the diffs, and nothing changed
        check = run_ansible(project, control_dir, "--check", "--diff")
        outputs.append(check.stdout + check.stderr)
        assert check.returncode == 0, check.stdout[-4000:] + check.stderr
        assert "+++ " in check.stdout and "--- " in check.stdout
        assert all(r["changed"] > 0 for r in recap(check.stdout).values())
        assert site.files() == stock

        # the run: the same bytes as apply's, the nodes ready
        run = run_ansible(project, control_dir)
        outputs.append(run.stdout + run.stderr)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr
        assert site.ready()
        differences = _differences(want, site.files())
        assert differences == [], "\n".join(differences)

        # a second run changes nothing
        again = run_ansible(project, control_dir)
        outputs.append(again.stdout + again.stderr)
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr
        summary = recap(again.stdout)
        assert summary and all(r["changed"] == 0 and r["failed"] == 0 for r in summary.values())

        # no secret in the export directory nor in what Ansible printed
        secrets = site.secrets()
        for path in project.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not [s for s in secrets if s.encode() in data], path
        for text in outputs:
            assert not [s for s in secrets if s in text]
    finally:
        site.stop_nodes()
        site.drop_databases()
