#!/usr/bin/python3
"""A fake WSO2 Carbon (API Manager 2.6.0) server for the carbon-wizard lab.

Copied into a product home as ``bin/fakecarbon.py`` (with its siblings
``fakecarbon_checks.py``, ``fakecarbon_ds.py``, ``fakecarbon_hosts.py``,
``fakecarbon_node.py``, ``fakecarbon_services.py``, ``fakecarbon_net.py``) and started by
``bin/wso2server.sh``. Standard library only. It boots like Carbon does, making the
checks a real boot would fail on, and logs Carbon-style lines to
``repository/logs/wso2carbon.log``:

1. parse carbon.xml, master-datasources.xml, user-mgt.xml, registry.xml, api-manager.xml,
   axis2.xml, catalina-server.xml and identity.xml (and an Open Banking pack's
   finance/open-banking.xml, whose DataSource/Name must be a defined datasource);
2. port offset from ``-DportOffset`` or carbon.xml;
3. the system datasources of every ``repository/conf/datasources/*-datasources.xml``,
   master-datasources.xml first; a datasource or JNDI name defined twice stops the boot
   (``fakecarbon_ds.py``); the JDBC driver jar when a datasource is MySQL;
4. each MySQL datasource: resolve its host through the node's hosts file
   (``fakecarbon_hosts.py``: an unknown name is a Communications link failure with
   java.net.UnknownHostException), connect with its user and password, marker tables
   present (the OB datasource: the tables of the OB dbscript); H2 ones are local;
5. user-mgt.xml / registry.xml / open-banking.xml datasource references (resolved against
   the datasources of all files), registry mounts;
6. load the key store of carbon.xml for HTTPS;
7. open the servlet, gateway, AMQP and Thrift ports of the profile (+ offset);
8. axis2 clustering: listen on localMemberHost:localMemberPort and join WKA members;
9. after the boot delay: ``WSO2 Carbon started in N sec``; serve until SIGTERM.

Environment: ``JAVA_HOME`` (keytool), ``CARBON_HOME``, ``CARBON_BIND_ADDRESS``
(default 127.0.0.1), ``CARBON_NODE_NAME`` (default: host name), ``CARBON_HOSTS_FILE``
(the host's hosts file, default /etc/hosts),
``CARBON_FAKE_BOOT_DELAY`` (else ``bin/fakecarbon.conf`` ``boot_delay``, else 3 s).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path

try:  # run as bin/fakecarbon.py
    import fakecarbon_checks as checks  # type: ignore[import-not-found]
    import fakecarbon_ds as dsfiles  # type: ignore[import-not-found]
    import fakecarbon_hosts as hosts  # type: ignore[import-not-found]
    import fakecarbon_net as net  # type: ignore[import-not-found]
    import fakecarbon_node as nodecfg  # type: ignore[import-not-found]
    import fakecarbon_services as services  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon
    from wizard.lab import fakecarbon_checks as checks
    from wizard.lab import fakecarbon_ds as dsfiles
    from wizard.lab import fakecarbon_hosts as hosts
    from wizard.lab import fakecarbon_net as net
    from wizard.lab import fakecarbon_node as nodecfg
    from wizard.lab import fakecarbon_services as services

DEFAULT_BOOT_DELAY = 3.0
_MAIN = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
_CORE = "org.wso2.carbon.core.init.CarbonServerManager"


def boot_delay(home: Path, env: dict[str, str]) -> float:
    """CARBON_FAKE_BOOT_DELAY, else ``boot_delay`` in bin/fakecarbon.conf, else 3 s."""
    raw = env.get("CARBON_FAKE_BOOT_DELAY")
    if raw is None:
        conf = home / "bin" / "fakecarbon.conf"
        if conf.is_file():
            for line in conf.read_text(encoding="utf-8").splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() == "boot_delay":
                    raw = value.strip()
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_BOOT_DELAY
    except ValueError:
        return DEFAULT_BOOT_DELAY


def setup_script(home: Path, markers: tuple[str, ...]) -> Path | None:
    if markers == checks.OB_MARKERS:
        script = home / "dbscripts" / "finance" / "openbanking.org.uk" / "mysql.sql"
        return script if script.is_file() else None
    folder = home / "dbscripts" / ("apimgt" if markers == checks.AM_MARKERS else "")
    for name in ("mysql5.7.sql", "mysql.sql"):
        if (folder / name).is_file():
            return folder / name
    return None


class Server:
    def __init__(self, home: Path, opts: checks.Options, env: dict[str, str]) -> None:
        self.home = home
        self.opts = opts
        self.env = env
        self.log = services.CarbonLog(home, echo="FAKECARBON_ECHO" in env)
        self.resolver = hosts.Resolver.from_env(env)
        self.pid_file = home / "wso2carbon.pid"
        # SIGTERM/SIGINT wake the main thread through this pipe (no locks in a handler).
        self._wake_r, self._wake_w = os.pipe()
        self.transports: list[net.CarbonHTTPServer | net.TcpListener] = []
        self.cluster: net.ClusterAgent | None = None

    def boot(self) -> None:
        """Everything up to open ports; a failure raises checks.BootError."""
        log, home = self.log, self.home
        log.info(_CORE, "Starting WSO2 Carbon...")
        log.info(_CORE, f"Operating System : {os.uname().sysname} {os.uname().release}")
        java_home = self.env.get("JAVA_HOME", "")
        log.info(_CORE, f"Java Home        : {java_home}")
        log.info(_CORE, f"Carbon Home      : {home}")
        log.info(_CORE, f"Profile          : {self.opts.profile}")

        conf = checks.load_configs(home)
        offset = checks.resolve_offset(conf["carbon"], self.opts.offset)
        log.info(_CORE, f"Port offset      : {offset}")

        sources = dsfiles.load_datasources(home)
        ob_jndi = checks.ob_datasource(conf.get("ob"))
        checks.check_driver(sources, home / "repository" / "components" / "lib")
        for ds in sources:
            target = checks.parse_mysql_url(ds.url)
            if target is None:  # H2 and the like: local to the node, nothing to reach
                continue
            try:
                address = self.resolver.resolve(target.host)
            except hosts.UnknownHost as exc:
                raise services.unknown_host(ds, target, exc.java) from exc
            markers = checks.marker_tables(ds, conf["registry"], conf["usermgt"], ob_jndi)
            script = setup_script(home, markers) if self.opts.setup and markers else None
            services.check_database(ds, target, markers, script, log, address)
        checks.check_references(sources, conf["usermgt"], conf["registry"], ob_jndi)

        ks = nodecfg.keystore_config(conf["carbon"], home)
        if not java_home:
            raise checks.BootError(_CORE, "JAVA_HOME is not set: cannot read the key store")
        tls = services.load_keystore(ks, java_home)
        log.info("org.wso2.carbon.core.util.KeyStoreManager", f"Loaded key store {ks.location}")

        address = self.env.get("CARBON_BIND_ADDRESS", "127.0.0.1")
        node = self.env.get("CARBON_NODE_NAME") or socket.gethostname()
        servlet = nodecfg.servlet_ports(conf["catalina"])
        for lst in nodecfg.listeners(self.opts.profile, offset, servlet):
            server = net.open_listener(lst, address, node, tls)
            self.transports.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            log.info(
                "org.apache.tomcat.util.net.NioSelectorPool"
                if lst.kind != "tcp"
                else "org.wso2.andes.server.registry.ApplicationRegistry",
                f"Started {lst.name} listener on {address}:{lst.port} ({lst.kind})",
            )

        cluster = nodecfg.cluster_config(conf["axis2"])
        if cluster.enabled:
            self.cluster = net.ClusterAgent(cluster, log, self.resolver)
            self.cluster.start()
        else:
            log.info(_CORE, "Clustering has been disabled")

        https = next(lst.port for lst in nodecfg.listeners(self.opts.profile, offset, servlet))
        log.info(_MAIN, f"Mgt Console URL  : https://{address}:{https}/carbon/")

    def close(self) -> None:
        for server in self.transports:
            server.shutdown()
            server.server_close()
        if self.cluster is not None:
            self.cluster.shutdown()

    def remove_pid(self) -> None:
        try:
            if self.pid_file.read_text().strip() == str(os.getpid()):
                self.pid_file.unlink()
        except OSError:
            pass

    def wait_for_signal(self, timeout: float | None) -> bool:
        """True when SIGTERM/SIGINT arrived (before ``timeout`` seconds, if given)."""
        # The signal writes to the wakeup fd before select() is retried (PEP 475).
        ready, _, _ = select.select([self._wake_r], [], [], timeout)
        return bool(ready)

    def run(self) -> int:
        started = time.monotonic()
        self.pid_file.write_text(f"{os.getpid()}\n")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        try:
            self.boot()
        except checks.BootError as exc:
            self.log.error(exc.logger, exc.message)
            self.log.error(_CORE, "Cannot start WSO2 Carbon: the boot failed")
            self.close()
            self.remove_pid()
            return 1
        except Exception as exc:  # a fault of the fake itself: still leave a clean state
            self.log.error(_CORE, f"Unexpected error while starting: {type(exc).__name__}: {exc}")
            self.close()
            self.remove_pid()
            return 1
        if not self.wait_for_signal(boot_delay(self.home, self.env)):
            secs = int(time.monotonic() - started)
            self.log.info(_MAIN, "Server           :  WSO2 API Manager-2.6.0")
            self.log.info(_MAIN, f"WSO2 Carbon started in {secs} sec")
            self.wait_for_signal(None)
        self.log.info(_CORE, "Shutdown hook triggered....")
        self.log.info(_CORE, "Gracefully shutting down WSO2 Carbon...")
        self.close()
        self.log.info(_CORE, "Shutdown complete")
        self.remove_pid()
        return 0


def carbon_home(env: dict[str, str]) -> Path:
    if env.get("CARBON_HOME"):
        return Path(env["CARBON_HOME"]).resolve()
    return Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    home = carbon_home(env)
    try:
        opts = checks.parse_args(sys.argv[1:] if argv is None else argv)
    except checks.BootError as exc:
        services.CarbonLog(home, echo=True).error(exc.logger, exc.message)
        return 1
    return Server(home, opts, env).run()


if __name__ == "__main__":
    sys.exit(main())
