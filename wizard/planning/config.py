"""Planner steps that prepare hosts and data: preflight, databases, certificates,
driver, symlinks, file edits, /etc/hosts and trust stores."""

from __future__ import annotations

import posixpath
from typing import Any

from wizard.catalog import values
from wizard.catalog.model import Edit
from wizard.planning.base import BuilderBase
from wizard.planning.base import abspath as _abs
from wizard.planning.base import uniq as _uniq
from wizard.secretrefs import has_token, token

EDIT_KEYS = ("op", "locator", "value", "attr", "parent", "match", "after")


def _server(db: dict[str, Any]) -> dict[str, Any]:
    """Where and how the wizard reaches the database server (TLS and its CA file)."""
    server = {"host": db["connect_host"], "port": db["port"], "tls": db["tls"]}
    if db["tls_ca"]:
        server["ca"] = db["tls_ca"]
    return server


GLOB_CHARS = ("*", "?", "[")


class ConfigSteps(BuilderBase):
    def preflights(self) -> None:
        spec = self.p.preflight
        if spec is None:
            return
        db = self.cx.base["db"]
        for n in self.nodes_of(spec.roles):
            ctx = self.node_ctx[n["name"]]
            if not values.when(spec.when, ctx, self.where("preflight")):
                continue
            sid = self.add(
                f"{n['name']}:preflight",
                "preflight",
                n["name"],
                f"check SSH, {n['home']}, Java and the database port {db['connect_host']}:{db['port']}",
                {
                    "address": n["address"],
                    "ssh": n["ssh"],
                    "home": n["home"],
                    "java_home": self.a.product.java_home,
                    "tcp": [f"{db['connect_host']}:{db['port']}"],
                },
                spec.rows,
                [],
            )
            self.preflight[n["name"]] = sid

    def databases(self) -> None:
        base = self.cx.for_all()
        db = base["db"]
        for key, spec in self.p.databases.items():
            if not values.when(spec.when, base, self.where(f"database {key}")):
                continue
            info = base["dbs"][key]
            users = self.nodes_of(spec.roles)
            hosts = (
                list(self.a.db.user_hosts)
                if self.a.db.user_hosts
                else _uniq([n["address"] for n in users])
            )
            sid = self.add(
                f"db:database:{key}",
                "database",
                "db",
                f"create database {info['name']} ({db['charset']}), user {info['user']} "
                f"and grants for {', '.join(hosts)}",
                {
                    "server": _server(db),
                    "admin_user": db["admin_user"],
                    "admin_password": token("db.admin_password"),
                    "name": info["name"],
                    "charset": db["charset"],
                    "user": info["user"],
                    "password": info["password"],
                    "user_hosts": hosts,
                },
                spec.rows + self.p.db_rows,
                [],
            )
            self.data_steps.append(sid)
            script = spec.script_for(self.a.product.version)
            if script is None or self.a.start.setup_flag or not users:
                continue
            source = users[0]
            script = values.text(
                script.replace("{variant}", db["variant"]), base, self.where(f"database {key}")
            )
            path = _abs(source["home"], script)
            sid2 = self.add(
                f"db:dbscript:{key}",
                "dbscript",
                "db",
                f"run {script} into {info['name']} "
                f"(skipped when {', '.join(spec.markers) or 'any table'} exist)",
                {
                    "database": info["name"],
                    "script": path,
                    "source_node": source["name"],
                    "variant": db["variant"],
                    "markers": list(spec.markers),
                    "server": _server(db),
                    "admin_user": db["admin_user"],
                    "admin_password": token("db.admin_password"),
                },
                spec.rows,
                [
                    sid,
                    *([self.preflight[source["name"]]] if source["name"] in self.preflight else []),
                ],
            )
            self.data_steps.append(sid2)

    def certificates(self) -> None:
        base = self.cx.for_all()
        for c in self.p.certificates:
            where = self.where(f"certificate {c.id}")
            if not values.when(c.when, base, where):
                continue
            if c.kind == "lb_cert":
                lb = base["lb"]
                if not lb["enabled"]:
                    continue
                cn = values.text(c.cn or "{{ lb.hostname }}", base, where)
                san = values.render(c.san, base, where) or [cn]
                answer = self.a.lb
                inputs: dict[str, Any] = {
                    "kind": "lb_cert",
                    "cn": cn,
                    "san": san,
                    "days": 365,
                    "key_bits": 2048,
                    "cert": lb["cert"],
                    "key": lb["key"],
                    "issuer": answer.issuer if answer else "self",
                }
                if answer and answer.cert_file:
                    inputs["source"] = "provided"
                    inputs["provided_cert"] = str(answer.cert_file)
                    inputs["provided_key"] = str(answer.key_file or "")
                    what = f"your certificate {answer.cert_file} for {cn}"
                elif inputs["issuer"] == "ca":
                    what = f"certificate for {cn} from the wizard's CA (RSA 2048, 365 days)"
                else:
                    what = f"self-signed certificate for {cn} (RSA 2048, 365 days)"
                sid = self.add(
                    f"{lb['name']}:certificate:{c.id}",
                    "certificate",
                    lb["name"],
                    f"{what} in {lb['ssl_dir']}",
                    inputs,
                    c.rows,
                    [],
                )
            else:
                if not self.a.keystore.replace or not self.cx.nodes:
                    continue
                first = self.cx.nodes[0]
                ks = base["keystore"]
                cn = values.text(c.cn or "{{ keystore.cn }}", base, where)
                sid = self.add(
                    f"{first['name']}:certificate:{c.id}",
                    "certificate",
                    first["name"],
                    f"new keystore {ks['file']} (alias {ks['alias']}, CN={cn}) and its PEM",
                    {
                        "kind": "keystore",
                        "keystore": _abs(first["home"], ks["path"]),
                        "alias": ks["alias"],
                        "cn": cn,
                        "days": ks["days"],
                        "key_bits": 2048,
                        "password": ks["password"],
                        "key_password": ks["key_password"],
                        "java_home": self.cx.base["product"]["java_home"],
                        "pem": _abs(first["home"], f"{ks['path']}.{ks['alias']}.pem"),
                    },
                    c.rows,
                    [self.preflight[first["name"]]] if first["name"] in self.preflight else [],
                )
            self.certs[c.id] = sid

    def node_steps(self) -> None:
        for n in self.cx.nodes:
            name = n["name"]
            ctx = self.node_ctx[name]
            pre = [self.preflight[name]] if name in self.preflight else []
            drv = self.p.driver
            if (
                drv is not None
                and self.has_role(n, drv.roles)
                and values.when(drv.when, ctx, self.where("driver"))
            ):
                jar = self.a.product.driver_jar or ""
                dest = _abs(n["home"], "repository/components/lib")
                self.by_node[name].append(
                    self.add(
                        f"{name}:driver",
                        "driver",
                        name,
                        f"copy the JDBC driver {posixpath.basename(jar)} into {dest}",
                        {"source": jar, "dest_dir": dest},
                        drv.rows,
                        pre,
                    )
                )
            for s in self.p.symlinks:
                if not self.has_role(n, s.roles):
                    continue
                where = self.where(f"symlink {s.path}")
                if not values.when(s.when, ctx, where):
                    continue
                first = self.nodes_of(s.roles)[0]["name"] == name
                path = _abs(n["home"], values.text(s.path, ctx, where))
                target = values.text(s.target, ctx, where)
                self.by_node[name].append(
                    self.add(
                        f"{name}:symlink:{s.path}",
                        "symlink",
                        name,
                        f"link {path} -> {target}",
                        {
                            "path": path,
                            "target": target,
                            "move_existing": s.move_existing == "first" and first,
                        },
                        s.rows,
                        pre,
                    )
                )
            self.file_edits(n, ctx, pre)
            self.truststores(n, ctx, pre)

    def file_edits(self, n: dict[str, Any], ctx: dict[str, Any], pre: list[str]) -> None:
        name = n["name"]
        groups: dict[str, dict[str, Any]] = {}
        for i, e in enumerate(self.p.edits):
            if not self.has_role(n, e.roles):
                continue
            where = self.where(f"edit {i} ({e.macro or e.file})")
            ectx = {**ctx, "p": values.render(e.params, ctx, where)} if e.params else ctx
            if not values.when(e.when, ectx, where):
                continue
            rendered = self.render_edit(e, ectx, where)
            file = rendered.pop("file")
            create_from = rendered.pop("create_from")
            if e.op == "hosts":
                if not rendered.get("value"):
                    continue
                file = n["hosts_file"]
            path = _abs(n["home"], file)
            g = groups.setdefault(
                path,
                {"file": file, "create_from": None, "edits": [], "rows": []},
            )
            if create_from and not g["create_from"]:
                g["create_from"] = _abs(n["home"], create_from)
            g["edits"].append(rendered)
            g["rows"].extend(e.rows)
        for path, g in groups.items():
            if path == n["hosts_file"]:
                lines = _uniq([ln for e in g["edits"] for ln in e["value"]])
                edit = {"op": "hosts", "locator": self.p.id, "value": lines}
                sid = self.add(
                    f"{name}:hosts_entry",
                    "hosts_entry",
                    name,
                    f"managed {path} block: {'; '.join(lines)}",
                    {"path": path, "sudo": n["ssh"]["sudo"], "edits": [edit]},
                    g["rows"],
                    pre,
                )
            else:
                inputs: dict[str, Any] = {"path": path, "file": g["file"], "edits": g["edits"]}
                if g["create_from"]:
                    inputs["create_from"] = g["create_from"]
                if any(c in g["file"] for c in GLOB_CHARS):
                    inputs["glob"] = True
                n_ed = len(g["edits"])
                sid = self.add(
                    f"{name}:file_edit:{g['file']}",
                    "file_edit",
                    name,
                    f"{g['file']}: {n_ed} edit{'s' if n_ed != 1 else ''}"
                    + (" (new file)" if g["create_from"] else ""),
                    inputs,
                    g["rows"],
                    pre,
                )
            self.by_node[name].append(sid)

    def render_edit(self, e: Edit, ctx: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": values.text(e.file, ctx, where),
            "create_from": values.text(e.create_from, ctx, where) if e.create_from else None,
        }
        for key in EDIT_KEYS:
            raw = getattr(e, key)
            if raw is None:
                continue
            out[key] = values.render(raw, ctx, where)
        if e.op == "add" and "locator" not in out and "parent" in out and "match" in out:
            out["locator"] = f"{out['parent']}/{out['match']}"
        if e.op == "hosts":
            value = out.get("value") or []
            out["value"] = [v for v in (value if isinstance(value, list) else [value]) if v]
        if e.secret or has_token(out.get("value")):
            out["secret"] = True
        if e.optional:
            out["optional"] = True
        return out

    def truststores(self, n: dict[str, Any], ctx: dict[str, Any], pre: list[str]) -> None:
        name = n["name"]
        for t in self.p.trust:
            if t.cert not in self.certs or not self.has_role(n, t.roles):
                continue
            where = self.where(f"trust {t.cert}")
            if not values.when(t.when, ctx, where):
                continue
            cert_step = self.step(self.certs[t.cert])
            src = cert_step.inputs
            ts = ctx["truststore"]
            inputs: dict[str, Any] = {
                "truststore": _abs(n["home"], ts["path"]),
                "password": ts["password"],
                "alias": values.text(t.alias, ctx, where),
                "cert_host": cert_step.host,
                "cert_path": src.get("pem") or src.get("cert"),
                "java_home": self.cx.base["product"]["java_home"],
                # the wizard owns the LB cert: a renewed one replaces the old alias
                "replace": src.get("kind") == "lb_cert" or bool(self.a.keystore.replace),
            }
            if t.copy_keystore and src.get("kind") == "keystore":
                inputs["copy_keystore"] = {
                    "from_host": cert_step.host,
                    "from_path": src["keystore"],
                    "to_path": _abs(n["home"], ctx["keystore"]["path"]),
                }
            self.by_node[name].append(
                self.add(
                    f"{name}:truststore:{t.cert}",
                    "truststore",
                    name,
                    f"import certificate {inputs['alias']} into {ts['file']}"
                    + (" and install the shared keystore" if "copy_keystore" in inputs else ""),
                    inputs,
                    t.rows,
                    [*pre, cert_step.id],
                )
            )
