"""Benchmark: the wizard's dbscript runner vs the ``mariadb`` client's ``source``.

Runs each stock 2.6.0 dbscript (``../shared/wso2-conf/apim-2.6.0/dbscripts``) into a fresh
database both ways on the same server, ``--rounds`` times (alternating who goes first),
and prints the median times and the ratio runner/client (target: <= 1.3).

    python3 benchmarks/bench_dbscripts.py --lab-dir /tmp/carbon-wizard-lab-0
    python3 benchmarks/bench_dbscripts.py --host 127.0.0.1 --port 3399 --user cwadmin \\
        --password-file /path/to/0600-file

Without a server option it uses the lab in ``--lab-dir`` (default: the usual lab dir),
bringing one up with ``wizard.lab.labctl.up`` when none is there (``--up``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wizard.connectors.mysql import MySQL  # noqa: E402
from wizard.db.scripts import apply_script, load_script  # noqa: E402
from wizard.secrets import Secret  # noqa: E402

STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0" / "dbscripts"
SCRIPTS = ["mysql5.7.sql", "apimgt/mysql5.7.sql", "mysql.sql", "apimgt/mysql.sql"]


def server_from_args(args: argparse.Namespace) -> dict:
    if args.host:
        return {
            "host": args.host,
            "port": args.port,
            "admin_user": args.user,
            "password_file": args.password_file,
        }
    from wizard.lab import labctl

    lab_dir = Path(args.lab_dir) if args.lab_dir else labctl.default_dir()
    try:
        return labctl.load(lab_dir)["db"]
    except Exception:
        if not args.up:
            sys.exit(f"no lab in {lab_dir}: start one (carbon-wizard lab up) or pass --up")
        return labctl.up(lab_dir, hosts=1, progress=print)["db"]


def client_cnf(db: dict, password: str, folder: str) -> str:
    path = os.path.join(folder, "client.cnf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"[client]\nuser={db['admin_user']}\npassword={password}\n"
            f"host={db['host']}\nport={db['port']}\nprotocol=tcp\n"
        )
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lab-dir")
    ap.add_argument("--up", action="store_true", help="bring a lab up when there is none")
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, default=3306)
    ap.add_argument("--user", default="cwadmin")
    ap.add_argument("--password-file")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not STOCK.is_dir():
        sys.exit(f"{STOCK} is not there: nothing to benchmark")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        sys.exit("no mariadb/mysql client installed")
    db = server_from_args(args)
    password = Secret(Path(db["password_file"]).read_text().strip())
    tag = f"bench_{uuid.uuid4().hex[:6]}"
    ours_t: dict[str, list[float]] = {s: [] for s in SCRIPTS}
    cli_t: dict[str, list[float]] = {s: [] for s in SCRIPTS}
    with (
        MySQL(db["host"], db["port"], db["admin_user"], password) as m,
        tempfile.TemporaryDirectory() as tmp,
    ):
        cnf = client_cnf(db, password.reveal(), tmp)
        print(f"server: {m.server} at {db['host']}:{db['port']}, rounds: {args.rounds}")
        made: list[str] = []
        try:
            for r in range(args.rounds):
                for i, rel in enumerate(SCRIPTS):
                    path = STOCK / rel
                    script = load_script(str(path))
                    a, b = f"{tag}_{r}_{i}_w", f"{tag}_{r}_{i}_c"
                    for name in (a, b):
                        m.execute(f"CREATE DATABASE `{name}` CHARACTER SET latin1")
                        made.append(name)

                    def ours(a: str = a, script=script) -> None:
                        apply_script(m, a, script)

                    def theirs(b: str = b, path: Path = path) -> None:
                        subprocess.run(
                            [client, f"--defaults-extra-file={cnf}", b, "-e", f"source {path}"],
                            check=True,
                        )

                    order = [(ours, ours_t), (theirs, cli_t)]
                    for fn, bucket in order if (r + i) % 2 == 0 else order[::-1]:
                        t0 = time.perf_counter()
                        fn()
                        bucket[rel].append(time.perf_counter() - t0)
                    assert len(m.tables(a)) == len(m.tables(b)) == len(script.tables)
        finally:
            for name in made:
                m.execute(f"DROP DATABASE IF EXISTS `{name}`")
            m.execute("DELETE FROM carbon_wizard.script_runs WHERE db_name LIKE %s", (tag + "%",))
    print(f"{'script':<24}{'statements':>11}{'runner s':>10}{'client s':>10}{'ratio':>8}")
    total_o = total_c = 0.0
    for rel in SCRIPTS:
        o, c = statistics.median(ours_t[rel]), statistics.median(cli_t[rel])
        total_o += o
        total_c += c
        n = len(load_script(str(STOCK / rel)).statements)
        print(f"{rel:<24}{n:>11}{o:>10.3f}{c:>10.3f}{o / c:>8.2f}")
    ratio = total_o / total_c
    print(f"{'all (sum of medians)':<35}{total_o:>10.3f}{total_c:>10.3f}{ratio:>8.2f}")
    print(f"target <= 1.30: {'met' if ratio <= 1.3 else 'NOT met'}")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
