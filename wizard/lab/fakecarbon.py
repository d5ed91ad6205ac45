#!/usr/bin/python3
"""A fake WSO2 Carbon (API Manager 2.6.0) server for the carbon-wizard lab.

Copied into a product home as ``bin/fakecarbon.py`` (with its ``fakecarbon_*.py``
siblings) and started by ``bin/wso2server.sh``. Standard library only. It boots in the
order a real node does and logs Carbon-style lines to ``repository/logs/wso2carbon.log``;
like a real node it never exits on a failure (docs/fake-carbon.md has the real source of
each behaviour):

1. (OSGi boot) parse carbon.xml, user-mgt.xml, registry.xml, api-manager.xml, axis2.xml,
   catalina-server.xml, identity.xml (and an OB pack's finance/open-banking.xml); the
   port offset (``-DportOffset`` or carbon.xml); the system datasources of every
   ``repository/conf/datasources/*-datasources.xml``, master first
   (``fakecarbon_ds.py``); each MySQL datasource: the driver jar, its host through the
   node's hosts file (``fakecarbon_hosts.py``), a connection as its user, the tables of
   its dbscript; the JNDI names user-mgt.xml, registry.xml, api-manager.xml and
   open-banking.xml use; the primary key store (carbon.xml). A failure is logged by the
   pool and by each consumer (``fakecarbon_consumers.py``) and the node waits for the
   missing OSGi services: ``Waiting for required OSGi services: ...`` every 60 s, never
   ``WSO2 Carbon started``.
2. after the boot delay (completeInitialization): the NIO (axis2.xml key store), AMQP,
   Thrift and binary ports of the profile (+ offset); the Hazelcast WKA join
   (``fakecarbon_cluster.py``; ``Cannot initialize cluster`` stops here); the Tomcat
   connectors (catalina-server.xml key store); a busy port or a bad key store of a
   connector is logged and the boot goes on (``fakecarbon_net.py``);
3. ``WSO2 Carbon started in N sec``; serve until SIGTERM.

Environment: ``JAVA_HOME`` (keytool), ``CARBON_HOME``, ``CARBON_BIND_ADDRESS``
(default 127.0.0.1), ``CARBON_NODE_NAME`` (default: host name), ``CARBON_HOSTS_FILE``
(the host's hosts file, default /etc/hosts); lab timings, each also a key of
``bin/fakecarbon.conf``: ``CARBON_FAKE_BOOT_DELAY`` (``boot_delay``: how long the boot
up to the transports takes, default 3 s; the checks above count in it, as a real node's
start-up time holds its key store and datasource work), ``CARBON_FAKE_JOIN_SECONDS``
(``join_seconds``: how long a joining member looks for the others, default 3 s),
``CARBON_FAKE_OSGI_WAIT`` (``osgi_wait``: the period of the ``Waiting for required OSGi
services`` line, default 60 s).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

try:  # run as bin/fakecarbon.py
    import fakecarbon_checks as checks  # type: ignore[import-not-found]
    import fakecarbon_cluster as clustering  # type: ignore[import-not-found]
    import fakecarbon_consumers as cons  # type: ignore[import-not-found]
    import fakecarbon_ds as dsfiles  # type: ignore[import-not-found]
    import fakecarbon_hosts as hosts  # type: ignore[import-not-found]
    import fakecarbon_net as net  # type: ignore[import-not-found]
    import fakecarbon_node as nodecfg  # type: ignore[import-not-found]
    import fakecarbon_services as services  # type: ignore[import-not-found]
    import fakecarbon_vault as securevault  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon
    from wizard.lab import fakecarbon_checks as checks
    from wizard.lab import fakecarbon_cluster as clustering
    from wizard.lab import fakecarbon_consumers as cons
    from wizard.lab import fakecarbon_ds as dsfiles
    from wizard.lab import fakecarbon_hosts as hosts
    from wizard.lab import fakecarbon_net as net
    from wizard.lab import fakecarbon_node as nodecfg
    from wizard.lab import fakecarbon_services as services
    from wizard.lab import fakecarbon_vault as securevault

DEFAULT_BOOT_DELAY = 3.0
DEFAULT_OSGI_WAIT = 60.0  # StartupFinalizerServiceComponent: first after 60 s, then every 60 s
_MAIN = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
_CORE = "org.wso2.carbon.core.internal.CarbonCoreActivator"
_SHUTDOWN = "org.wso2.carbon.core.init.CarbonServerManager"
_UI = "org.wso2.carbon.ui.internal.CarbonUIServiceComponent"
_NIO_KS = "org.apache.synapse.transport.nhttp.config.ServerConnFactoryBuilder"
# The service the fake names as missing where the real one was not verified.
_CONFIG_SERVICE = "org.wso2.carbon.base.api.ServerConfigurationService"
_DS_SERVICE = "org.wso2.carbon.ndatasource.core.DataSourceService"

Context = ssl.SSLContext


def _setting(home: Path, env: dict[str, str], var: str, key: str, default: float) -> float:
    """``var`` from the environment, else ``key`` in bin/fakecarbon.conf, else default."""
    raw = env.get(var)
    if raw is None:
        conf = home / "bin" / "fakecarbon.conf"
        if conf.is_file():
            for line in conf.read_text(encoding="utf-8").splitlines():
                name, sep, value = line.partition("=")
                if sep and name.strip() == key:
                    raw = value.strip()
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def boot_delay(home: Path, env: dict[str, str]) -> float:
    """CARBON_FAKE_BOOT_DELAY, else ``boot_delay`` in bin/fakecarbon.conf, else 3 s."""
    return _setting(home, env, "CARBON_FAKE_BOOT_DELAY", "boot_delay", DEFAULT_BOOT_DELAY)


def setup_script(home: Path, markers: tuple[str, ...]) -> Path | None:
    """The script ``-Dsetup`` runs for a MySQL datasource: ``<type>.sql``, never the 5.7
    variant (carbon-kernel v4.4.35 ``DatabaseCreator`` L249-250, L352-358: type "mysql";
    carbon-apimgt ``LocalDatabaseCreator``: ``dbscripts/apimgt/mysql.sql``)."""
    if markers == cons.OB_MARKERS:
        script = home / "dbscripts" / "finance" / "openbanking.org.uk" / "mysql.sql"
    else:
        script = home / "dbscripts" / ("apimgt" if markers == cons.AM_MARKERS else "") / "mysql.sql"
    return script if script.is_file() else None


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
        self.cluster: clustering.ClusterAgent | None = None
        self.pending: dict[str, None] = {}  # required OSGi services that never came
        self._stores: dict[tuple[str, ...], Context] = {}
        self.conf: dict[str, ET.Element] = {}
        self.offset = 0

    # -- failures: logged, the node keeps running ----------------------------------------

    def fail(self, exc: checks.BootError, service: str | None = None) -> None:
        """Log a failure; ``service`` (else the consumer's) will never be registered."""
        self.log.failure(exc)
        self.pending[service or cons.SERVICES.get(exc.logger, _CONFIG_SERVICE)] = None

    def tls(self, ks: nodecfg.KeyStoreConfig) -> Context:
        key = (str(ks.location), ks.store_type, ks.password, ks.key_alias, ks.key_password)
        if key not in self._stores:
            self._stores[key] = services.load_keystore(ks, self.env.get("JAVA_HOME", ""))
        return self._stores[key]

    # -- the OSGi boot: configuration, datasources, consumers, key store ------------------

    def boot(self) -> bool:
        """Everything before completeInitialization; False when a required service is
        missing (the node then waits for it, as StartupFinalizerServiceComponent does)."""
        log, home = self.log, self.home
        log.info(_CORE, "Starting WSO2 Carbon...")
        log.info(_CORE, f"Operating System : {os.uname().sysname} {os.uname().release}")
        log.info(_CORE, f"Java Home        : {self.env.get('JAVA_HOME', '')}")
        log.info(_CORE, f"Carbon Home      : {home}")
        try:  # ServerConfiguration.init starts the secret manager (fakecarbon_vault.py)
            java = securevault.java_home(self.env)
            vault = securevault.SecretManager.init(
                home, java, "-Dkey.password=true" in self.opts.extra
            )
            self.conf = checks.load_configs(home)
            for key in ("carbon", "usermgt", "catalina", "axis2"):
                getattr(vault, key)(self.conf[key])
            self.offset = checks.resolve_offset(self.conf["carbon"], self.opts.offset)
            ob_jndi = checks.ob_datasource(self.conf.get("ob"))
        except checks.BootError as exc:
            self.fail(exc, _CONFIG_SERVICE)
            return False
        try:
            sources = dsfiles.load_datasources(home, vault.datasources)
        except checks.BootError as exc:
            self.fail(exc, _DS_SERVICE)
            return False
        self.check_datasources(sources, ob_jndi)
        for err in cons.reference_errors(
            sources, self.conf["usermgt"], self.conf["registry"], ob_jndi
        ):
            self.fail(err)
        try:
            primary = nodecfg.keystore_config(self.conf["carbon"], home)
            self.tls(primary)
        except checks.BootError as exc:
            self.fail(exc, _CONFIG_SERVICE)
        return not self.pending

    def check_datasources(self, sources: list[checks.DataSource], ob_jndi: str) -> None:
        """Each MySQL datasource: the driver, the host (hosts file), the connection and the
        dbscript's tables; a failure is the pool's line and each consumer's."""
        conf = self.conf
        am_jndi = cons.apim_datasource(conf.get("apimanager"))
        lib = self.home / "repository" / "components" / "lib"
        for ds in sources:
            target = checks.parse_mysql_url(ds.url)
            if target is None:  # H2 and the like: local to the node, nothing to reach
                continue
            users = cons.consumers(ds, conf["registry"], conf["usermgt"], ob_jndi, am_jndi)
            markers = cons.marker_tables(ds, conf["registry"], conf["usermgt"], ob_jndi, am_jndi)
            script = setup_script(self.home, markers) if self.opts.setup and markers else None
            try:
                missing = cons.missing_driver(ds, lib)
                if missing is not None:
                    raise missing
                try:
                    address = self.resolver.resolve(target.host)
                except hosts.UnknownHost as exc:
                    raise services.unknown_host(ds, target, exc.java) from exc
                services.check_database(ds, target, markers, script, self.log, address)
            except services.MissingTable as exc:
                self._consumers_fail(users, exc.detail)
            except checks.BootError as exc:
                self.fail(exc, _DS_SERVICE if not users else cons.SERVICES[users[0][0]])
                self._consumers_fail(users, exc.detail)

    def _consumers_fail(self, users: list[tuple[str, str]], detail: tuple[str, ...]) -> None:
        if not users:
            self.pending[_DS_SERVICE] = None
        for logger, message in users:
            self.fail(checks.BootError(logger, message, detail))

    # -- completeInitialization: transports, the cluster, Tomcat, started -----------------

    def _open(self, lst: nodecfg.Listener, tls: Context | None) -> None:
        address = self.env.get("CARBON_BIND_ADDRESS", "127.0.0.1")
        node = self.env.get("CARBON_NODE_NAME") or socket.gethostname()
        try:
            server = net.open_listener(lst, address, node, tls, str(self.home))
        except OSError as exc:
            level, entries = net.bind_failure(lst, exc)
            for entry in entries:
                self.log.write(level, entry.logger, entry.message, entry.detail)
            return
        self.transports.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        if lst.name.startswith("nio"):
            prefix = "HTTPS" if lst.kind == "https" else "HTTP"
            self.log.info(
                "org.apache.synapse.transport.passthru.PassThroughListeningIOReactorManager",
                f"Pass-through {prefix} Listener started on 0.0.0.0:{lst.port}",
            )

    def _nio_tls(self) -> Context | None:
        primary = nodecfg.keystore_config(self.conf["carbon"], self.home)
        ks = nodecfg.nio_keystore(self.conf["axis2"], self.home, primary) or primary
        try:
            return self.tls(ks)
        except checks.BootError as exc:
            self.log.error(_NIO_KS, f"HTTPS Error opening Key store : {ks.written}", exc.detail)
            return None

    def complete(self) -> bool:
        """listenerManager.startSystem (NIO and the other ports), the cluster join, the
        Tomcat connectors; False when the cluster cannot start (no ``started``)."""
        conf, home = self.conf, self.home
        servlet = nodecfg.servlet_ports(conf["catalina"])
        ports = nodecfg.listeners(self.opts.profile, self.offset, servlet)
        for lst in ports:
            if lst.name.startswith("servlet"):
                continue
            if lst.kind == "https":
                nio = self._nio_tls()
                if nio is None:
                    continue  # the HTTPS receiver did not start
                self._open(lst, nio)
            else:
                self._open(lst, None)
        cluster = nodecfg.cluster_config(conf["axis2"], self.offset)
        if cluster.enabled:
            join = _setting(home, self.env, "CARBON_FAKE_JOIN_SECONDS", "join_seconds",
                            clustering.DEFAULT_JOIN_SECONDS)  # fmt: skip
            self.cluster = clustering.ClusterAgent(cluster, self.log, self.resolver, join)
            try:
                self.cluster.init()
            except checks.BootError as exc:
                self.log.failure(exc)
                return False
        primary = nodecfg.keystore_config(conf["carbon"], home)
        for lst in ports:
            if lst.kind == "https" and lst.name.startswith("servlet"):
                ks = nodecfg.servlet_keystore(conf["catalina"], home, primary)
                try:
                    tls: Context | None = self.tls(ks)
                except checks.BootError as exc:
                    cause = exc.detail[0] if exc.detail else exc.message
                    for entry in net.tomcat_failure(lst.port, cause):
                        self.log.failure(entry)
                    continue
                self._open(lst, tls)
            elif lst.name.startswith("servlet"):
                self._open(lst, None)
        address = self.env.get("CARBON_BIND_ADDRESS", "127.0.0.1")
        self.log.info(_UI, f"Mgt Console URL  : https://{address}:{ports[0].port}/carbon/")
        return True

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

    def wait_for_services(self) -> None:
        """A required service is missing: never ``started``; the pending list every period."""
        period = _setting(self.home, self.env, "CARBON_FAKE_OSGI_WAIT", "osgi_wait",
                          DEFAULT_OSGI_WAIT) or DEFAULT_OSGI_WAIT  # fmt: skip
        while not self.wait_for_signal(period):
            names = "".join(f"{s}," for s in self.pending)
            self.log.warn(_MAIN, f"Waiting for required OSGi services: {names}")

    def run(self) -> int:
        started = time.monotonic()
        self.pid_file.write_text(f"{os.getpid()}\n")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        try:
            if not self.boot():
                self.wait_for_services()
            elif self.wait_for_signal(  # the boot takes boot_delay, its checks included
                max(0.0, boot_delay(self.home, self.env) - (time.monotonic() - started))
            ):
                pass  # stopped while booting
            elif not self.complete():
                self.wait_for_signal(None)  # completeInitialization threw: no started, ever
            else:
                secs = int(time.monotonic() - started)
                self.log.info(_MAIN, "Server           :  WSO2 API Manager-2.6.0")
                self.log.info(_MAIN, f"WSO2 Carbon started in {secs} sec")
                self.wait_for_signal(None)
        except Exception as exc:  # a fault of the fake itself: still leave a clean state
            self.log.error(
                _SHUTDOWN, f"Unexpected error while starting: {type(exc).__name__}: {exc}"
            )
            self.close()
            self.remove_pid()
            return 1
        self.log.info(_SHUTDOWN, "Shutdown hook triggered....")
        self.log.info(_SHUTDOWN, "Gracefully shutting down WSO2 API Manager...")
        self.close()
        self.log.info(_SHUTDOWN, "Shutdown complete")
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
