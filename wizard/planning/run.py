"""Planner steps that run things: profile optimisation, load balancer, start/wait groups,
LB probes, sync cron."""

from __future__ import annotations

import posixpath
from typing import Any

from wizard.catalog import values
from wizard.plan import fingerprint
from wizard.planning.base import READY_MARKER, BuilderBase
from wizard.planning.base import abspath as _abs

PROFILE_MARKER = ".carbon-wizard-profile"  # in the home: "optimised for <profile>"
# Steps that write into a node's home: they come after its profile step (the optimisation
# rewrites api-manager.xml, axis2.xml, registry.xml and deletes deployment folders).
_IN_HOME = ("file_edit", "driver", "symlink", "truststore")


LB_FAIL_TIMEOUT = 5  # seconds NGINX leaves a failed upstream server alone (templates/nginx)


class RunSteps(BuilderBase):
    def load_balancer(self, after: list[str], rows: list[str] | None = None) -> str | None:
        spec = self.p.loadbalancer
        base = self.cx.for_all()
        lb = base["lb"]
        if spec is None or not lb["enabled"]:
            return None
        where = self.where("loadbalancer")
        upstreams = []
        for u in spec.upstreams:
            servers = []
            for s in u.servers:
                for n in self.nodes_of([s.role]):
                    servers.append(
                        {"address": n["address"], "port": n["ports"][s.port], "backup": s.backup}
                    )
            upstreams.append({"name": u.name, "sticky": u.sticky, "servers": servers})
        hostnames = lb["hostnames"]
        inputs = {
            "template": spec.template,
            "conf_name": f"carbon-wizard-{self.p.id}.conf",
            "conf_dir": lb["conf_dir"],
            "command": lb["command"],
            "server_name": lb["hostname"],
            "server_names": {r: hostnames[r] for r in self.p.node_roles},
            "https_port": lb["https_port"],
            "http_port": lb["http_port"],
            "ssl_dir": lb["ssl_dir"],
            "cert": lb["cert"],
            "key": lb["key"],
            "upstreams": upstreams,
            "data": values.render(spec.data, base, where),
            "fail_timeout": LB_FAIL_TIMEOUT,
            "redirect_http": bool(self.a.lb.redirect_http) if self.a.lb else False,
        }
        if self.a.lb and self.a.lb.listen_address:
            inputs["listen_address"] = self.a.lb.listen_address
        self.lb_step = self.add(
            f"{lb['name']}:load_balancer",
            "load_balancer",
            lb["name"],
            f"NGINX {inputs['conf_name']} for {lb['hostname']} "
            f"({len(upstreams)} upstreams), nginx -t, reload",
            inputs,
            [*spec.rows, *(rows or [])],
            [*self.certs.values(), *after],
        )
        return self.lb_step

    def profiles(self) -> None:
        """One ``profile`` step per node of a role with a profile: ``bin/profileSetup.sh
        -Dprofile=X`` once per home, before the steps that write into that home (their
        checks read the optimised files); later starts pass ``-Dprofile=X`` only."""
        rows_of = self._start_rows()
        for n in self.cx.nodes:
            profile = n["profile"]
            if not profile or profile == "default":  # the all-in-one: nothing to optimise
                continue
            name = n["name"]
            home = n["home"]
            sid = self.add(
                f"{name}:profile",
                "profile",
                name,
                f"optimise {home} for the {profile} profile, once "
                f"(bin/profileSetup.sh -Dprofile={profile})",
                {
                    "home": home,
                    "profile": profile,
                    "script": _abs(home, "bin/profileSetup.sh"),
                    "marker": _abs(home, PROFILE_MARKER),
                },
                rows_of.get(n["role"], []),
                [self.preflight[name]] if name in self.preflight else [],
            )
            # plan order: right before the node's first step into its home
            step = self.steps.pop()
            own = [s.id for s in self.steps if s.id in self.by_node[name]]
            at = min((self.steps.index(self.step(i)) for i in own), default=len(self.steps))
            self.steps.insert(at, step)
            for s in self.steps:
                if s.host == name and s.kind in _IN_HOME:
                    s.depends_on = [*s.depends_on, sid]
            self.by_node[name].insert(0, sid)

    def _start_rows(self) -> dict[str, list[str]]:
        """role -> rows of the start group that starts its nodes (the first run of a
        node is where the guides optimise it)."""
        rows: dict[str, list[str]] = {}
        for g in self.p.start:
            roles = g.roles or []
            for role in self.p.node_roles if "all" in roles else roles:
                rows.setdefault(role, list(g.rows))
        return rows

    def start_groups(self) -> None:
        self.profiles()  # the homes' optimisation comes before everything written into them
        base = self.cx.for_all()
        previous: list[str] = []
        first_group = True
        self.running: list[dict[str, Any]] = []  # clustered nodes started by earlier groups
        for gi, g in enumerate(self.p.start):
            if not values.when(g.when, base, self.where(f"start group {gi}")):
                continue
            if g.lb:
                sid = self.load_balancer(previous, g.rows)
                if sid:
                    previous = [sid]
                continue
            if g.probe is not None:
                sid = self.probe(g.probe, g.rows, previous, gi)
                if sid:
                    previous = [sid]
                continue
            waits: list[str] = []
            group = self.nodes_of(g.roles)
            for n in group:
                waits.append(
                    self.start_node(n, g.rows, g.members, previous, first_group, g.restart)
                )
            self.running.extend(n for n in group if n["clustered"])
            first_group = False
            self.waits.extend(waits)
            if waits:
                previous = waits
        if self.lb_step is None:
            self.load_balancer(previous)
        self._settle_rolling()

    def _settle_rolling(self) -> None:
        """Behind the load balancer, a rolling restart (wizard/rolling.py) lets the next
        running node go down only once NGINX tries the restarted one again: a server that
        failed is left alone for its upstream's fail_timeout, and with the next node down
        too NGINX would have no live upstream (502). Static: the plan does not depend on
        which nodes run now."""
        if self.lb_step is None:
            return
        for s in self.steps:
            if s.kind == "wait" and "log" in s.inputs:
                s.inputs["settle"] = LB_FAIL_TIMEOUT + 1
                s.fingerprint = fingerprint(s.kind, s.host, s.inputs)

    def start_node(
        self,
        n: dict[str, Any],
        rows: list[str],
        members: int | None,
        previous: list[str],
        first_group: bool,
        restart: bool = False,
    ) -> str:
        name = n["name"]
        role = self.p.roles[n["role"]]
        args: list[str] = []
        if n["profile"]:
            args.append(f"-Dprofile={n['profile']}")
        if first_group and self.a.start.setup_flag:
            args.append("-Dsetup")
        start = self.add(
            f"{name}:start",
            "start",
            name,
            f"{'restart' if restart else 'start'} {role.label} "
            f"({' '.join(['wso2server.sh', 'restart' if restart else 'start', *args])})",
            {
                "action": "restart" if restart else "start",
                "home": n["home"],
                "java_home": self.a.product.java_home,
                "command": _abs(n["home"], "bin/wso2server.sh"),
                "args": args,
                "jvm_opts": list(self.a.start.jvm_opts),
            },
            rows,
            [*self.data_steps, *self.by_node[name], *previous],
        )
        ports = {p: n["ports"][p] for p in role.ready}
        cluster = self.cx.base["cluster"]["enabled"]
        inputs: dict[str, Any] = {
            "address": n["address"],
            "ports": ports,
            "log": _abs(n["home"], "repository/logs/wso2carbon.log"),
            "marker": READY_MARKER,
            "console_url": (
                f"https://{n['address']}:{n['https']}/carbon/admin/login.jsp"
                if role.console
                else None
            ),
            "members": members if (members and cluster) else None,
            "timeout": self.a.start.timeout,
        }
        if members and cluster and n["clustered"]:
            # the members already running, whose logs name the newcomer (Member joined)
            inputs["cluster_peers"] = [
                {"node": p["name"], "log": _abs(p["home"], "repository/logs/wso2carbon.log")}
                for p in self.running
                if p["name"] != name
            ]
        return self.add(
            f"{name}:wait",
            "wait",
            name,
            f"wait until {name} is ready (log marker, ports "
            f"{', '.join(str(v) for v in ports.values())})",
            inputs,
            rows,
            [start],
        )

    def probe(self, url: str, rows: list[str], previous: list[str], gi: int) -> str | None:
        base = self.cx.for_all()
        lb = base["lb"]
        if not lb["enabled"]:
            return None
        target = values.text(url, base, self.where(f"start group {gi}"))
        # the LB's public names may be known only to the nodes' hosts files: the probe
        # connects to lb.ip and keeps the name for Host and SNI (like curl --resolve)
        names = dict.fromkeys([lb["hostname"], *lb["hostnames"].values()])
        resolve = {n: lb["ip"] for n in names if n != lb["ip"]}
        return self.add(
            f"{lb['name']}:wait:{gi}",
            "wait",
            lb["name"],
            f"wait until {target} answers through the load balancer",
            {
                "url": target,
                "ok_below": 500,
                "verify_tls": False,
                "timeout": self.a.start.timeout,
                "resolve": resolve,
            },
            rows,
            [*previous, *([self.lb_step] if self.lb_step else [])],
        )

    def sync(self) -> None:
        spec = self.p.sync
        if spec is None:
            return
        base = self.cx.for_all()
        where = self.where("sync")
        if not values.when(spec.when, base, where):
            return
        sources = self.nodes_of([spec.source])
        workers = self.nodes_of(spec.workers)
        if not sources or not workers:
            return
        src = sources[0]
        sdir = self.a.sync.dir or _abs(src["home"], "repository/carbon-wizard-sync")
        user = self.a.sync.user
        path = values.text(spec.path, base, where)
        worker_urls = [
            f"{user or w['ssh']['user']}@{w['address']}:{_abs(w['home'], path)}" for w in workers
        ]
        self.add(
            f"{src['name']}:sync_script",
            "sync_script",
            src["name"],
            f"rsync {path} to {len(workers)} worker(s) every minute (cron)",
            {
                "dir": sdir,
                "script": posixpath.join(sdir, "rsync-for-carbon-depsync.sh"),
                "workers_file": posixpath.join(sdir, "workers-list.txt"),
                "workers": worker_urls,
                "worker_ports": [w["ssh"]["port"] for w in workers],
                "source": _abs(src["home"], path),
                "key": self.a.sync.key,
                "exclude": list(spec.exclude),
                "log": "/tmp/carbon-rsync-logs/logs.txt",
                "lock": posixpath.join(sdir, "depsync-lock"),
                "cron": "* * * * *",
            },
            spec.rows,
            list(self.waits),
        )
