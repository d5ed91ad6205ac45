"""The fake WSO2 API Manager 2.6.0 product pack used by the lab and the tests.

``files/`` is a small product home written by this project with the traits of the
real pack (encodings, namespaces, CRLF, commented elements, dbscripts). The fake
server (``wizard/lab/fakecarbon*.py``) is copied into its ``bin/`` and started by
``bin/wso2server.sh``. Key stores are made with the real ``keytool``.

Flavours: ``apim`` is the API Manager 2.6.0 pack; ``ob`` is an Open Banking 1.4/1.5 API
Manager pack: the same pack with ``files-ob/`` laid over it, as a downloaded OB pack ships:

- ``repository/conf/datasources/master-datasources.xml`` adds ``WSO2_COMMON_DB``
  (``jdbc/WSO2CommonDB``), which ``user-mgt.xml`` (``dataSource``) and ``registry.xml``
  (the ``configRegistry`` and ``governanceRegistry`` dbConfigs, mounted at
  ``/_system/config`` and ``/_system/governance``) use;
- ``repository/conf/datasources/open-banking-datasources.xml`` defines
  ``WSO2_OPEN_BANKING_DB`` (``jdbc/WSO2OpenBankingDB``), the datasource that
  ``repository/conf/finance/open-banking.xml`` names in ``DataSource/Name``;
- the OB dbscript ``dbscripts/finance/openbanking.org.uk/mysql.sql`` and the OB API
  in-sequences under ``repository/resources/finance/apis/``.

Every datasource a pack ships is a local H2 one (``jdbc:h2:repository/database/...``),
``metrics-datasources.xml`` (``WSO2_METRICS_DB``) included, in both flavours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wizard.errors import EXIT_STEP_FAILED, Where, WizardError

PACK_VERSION = "2.6.0"
PRODUCT_DIRNAME = "wso2am-2.6.0"

FILES_DIR = Path(__file__).resolve().parent / "files"
OB_FILES_DIR = Path(__file__).resolve().parent / "files-ob"
FLAVOURS = ("apim", "ob")
DATASOURCES_DIR = Path("repository/conf/datasources")
MASTER_DATASOURCES = DATASOURCES_DIR / "master-datasources.xml"
OB_DATASOURCES = DATASOURCES_DIR / "open-banking-datasources.xml"
OB_CONF = Path("repository/conf/finance/open-banking.xml")
LAB_DIR = Path(__file__).resolve().parent.parent
SERVER_MODULES = (
    "fakecarbon.py",
    "fakecarbon_checks.py",
    "fakecarbon_cluster.py",
    "fakecarbon_consumers.py",
    "fakecarbon_ds.py",
    "fakecarbon_hosts.py",
    "fakecarbon_node.py",
    "fakecarbon_profile.py",
    "fakecarbon_services.py",
    "fakecarbon_net.py",
    "fakecarbon_vault.py",
)

# The webapps a 2.6.0 pack ships (product-apim v2.6.0 modules/distribution/product/src/
# main/assembly/bin.xml): small stand-in wars, so that profileSetup.sh has its real work.
WEBAPPS = (
    "oauth2.war",
    "authenticationendpoint.war",
    "api#am#store#v0.14.war",
    "api#am#publisher#v0.14.war",
    "api#am#admin#v0.14.war",
    "api#identity#consent-mgt#v1.0.war",
    "throttle#data#v1.war",
    "client-registration#v0.14.war",
    "am#sample#calculator#v1.war",
    "am#sample#pizzashack#v1.war",
)
WEBAPPS_REL = Path("repository/deployment/server/webapps")

STOCK_ALIAS = "wso2carbon"
# The public default of every WSO2 pack, not a secret.
STOCK_PASSWORD = "wso2carbon"
KEYSTORE_NAME = "wso2carbon.jks"
TRUSTSTORE_NAME = "client-truststore.jks"
SECURITY_REL = Path("repository/resources/security")

# What ``pack_from`` may overlay (relative to a product home). bin/ never is.
OVERLAY_DIRS = (
    "repository/conf",
    "repository/deployment/server/eventpublishers",
    "dbscripts",
)
OVERLAY_FILES = (
    *(f"repository/deployment/server/jaggeryapps/{app}/site/conf/site.json"
      for app in ("store", "publisher", "admin")),
    "repository/resources/security/wso2carbon.jks",
    "repository/resources/security/client-truststore.jks",
)  # fmt: skip


def _keytool(java_home: Path | None) -> str:
    if java_home is not None:
        tool = java_home / "bin" / "keytool"
        if not tool.is_file():
            raise WizardError(
                f"no keytool in {java_home}/bin",
                Where(file=str(tool)),
                "point java_home at a JDK (it has bin/keytool)",
            )
        return str(tool)
    if os.environ.get("JAVA_HOME"):
        return _keytool(Path(os.environ["JAVA_HOME"]))
    found = shutil.which("keytool")
    if not found:
        raise WizardError(
            "keytool is not installed",
            fix="install a JDK (e.g. openjdk-17-jdk-headless) or set JAVA_HOME",
        )
    return found


@contextmanager
def _password_file(password: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cw-pack-"))
    try:
        path = folder / "pw"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip() or f"exit {proc.returncode}"
        raise WizardError(
            f"{what} failed: {detail}",
            Where(file=cmd[0]),
            "check the JDK installation and the destination folder",
            EXIT_STEP_FAILED,
        )


def make_stock_keystores(dest_dir: Path, java_home: Path | None = None) -> None:
    """Write wso2carbon.jks and client-truststore.jks like the stock ones into dest_dir.

    Key pair alias ``wso2carbon`` (RSA 2048, CN=localhost), store and key password
    ``wso2carbon``; the trust store holds the certificate under the same alias.
    Passwords reach keytool through a 0600 file, never its argv.
    """
    keytool = _keytool(java_home)
    dest_dir.mkdir(parents=True, exist_ok=True)
    keystore = dest_dir / KEYSTORE_NAME
    truststore = dest_dir / TRUSTSTORE_NAME
    for path in (keystore, truststore):
        path.unlink(missing_ok=True)
    with _password_file(STOCK_PASSWORD) as pw:
        cert = pw.parent / "wso2carbon.pem"
        _run(
            [keytool, "-genkeypair", "-alias", STOCK_ALIAS, "-keyalg", "RSA", "-keysize", "2048",
             "-validity", "3650", "-dname", "CN=localhost, O=WSO2, L=Mountain View, ST=CA, C=US",
             "-ext", "SAN=dns:localhost,ip:127.0.0.1",
             "-keystore", str(keystore), "-storetype", "JKS",
             "-storepass:file", str(pw), "-keypass:file", str(pw)],
            "keytool -genkeypair",
        )  # fmt: skip
        _run(
            [keytool, "-exportcert", "-rfc", "-alias", STOCK_ALIAS, "-keystore", str(keystore),
             "-storetype", "JKS", "-storepass:file", str(pw), "-file", str(cert)],
            "keytool -exportcert",
        )  # fmt: skip
        _run(
            [keytool, "-importcert", "-noprompt", "-alias", STOCK_ALIAS, "-file", str(cert),
             "-keystore", str(truststore), "-storetype", "JKS", "-storepass:file", str(pw)],
            "keytool -importcert",
        )  # fmt: skip


def make_driver_jar(path: Path) -> Path:
    """A small real zip that looks like the MySQL Connector/J 5.1 jar (name and entries).

    ``path`` is the jar file, or a folder to put ``mysql-connector-java-5.1.49.jar`` in.
    """
    if path.is_dir():
        path = path / "mysql-connector-java-5.1.49.jar"
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = (
        "Manifest-Version: 1.0\r\n"
        "Implementation-Title: MySQL Connector Java (carbon-wizard lab stand-in)\r\n"
        "Implementation-Version: 5.1.49\r\n"
        "Specification-Vendor: carbon-wizard\r\n\r\n"
    )
    # A class file header (magic + Java 5 version) so tools that peek see a class.
    class_bytes = bytes.fromhex("cafebabe00000031") + b"\x00" * 8
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
        jar.writestr("com/mysql/jdbc/Driver.class", class_bytes)
        jar.writestr("META-INF/services/java.sql.Driver", "com.mysql.jdbc.Driver\n")
    return path


def make_webapps(folder: Path) -> None:
    """The stand-in wars of WEBAPPS: real zips with a WEB-INF/web.xml naming the app."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in WEBAPPS:
        context = name.removesuffix(".war").replace("#", "/")
        web_xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<web-app xmlns="http://java.sun.com/xml/ns/javaee" version="2.5">\n'
            f"    <display-name>{context} (carbon-wizard lab stand-in)</display-name>\n"
            "</web-app>\n"
        )
        entry = zipfile.ZipInfo("WEB-INF/web.xml", date_time=(2018, 9, 14, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(folder / name, "w") as war:  # the same bytes at every install
            war.writestr(entry, web_xml)


def _looks_like_home(dest: Path) -> bool:
    return (dest / "bin" / "wso2server.sh").is_file() or not any(dest.iterdir())


def _overlay(pack_from: Path, dest: Path) -> None:
    for rel in OVERLAY_DIRS:
        src = pack_from / rel
        if src.is_dir():
            # copy contents only, not the read-only modes of a reference tree:
            # a product home belongs to its user, who edits it
            shutil.copytree(src, dest / rel, dirs_exist_ok=True, copy_function=shutil.copyfile)
            for path in [dest / rel, *(dest / rel).rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200 | (0o100 if path.is_dir() else 0))
    for rel in OVERLAY_FILES:
        src = pack_from / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)


def _add_ob_flavour(dest: Path) -> None:
    """Lay files-ob/ over the home: the Open Banking files, and the files of the API Manager
    pack an OB pack ships changed (master-datasources.xml, user-mgt.xml, registry.xml)."""
    shutil.copytree(OB_FILES_DIR, dest, dirs_exist_ok=True)


def _chown_tree(root: Path, owner: tuple[int, int]) -> None:
    uid, gid = owner
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(folder, name), uid, gid)


def install_pack(
    dest: Path,
    *,
    keystores: Path,
    pack_from: Path | None = None,
    boot_delay: float = 3.0,
    owner: tuple[int, int] | None = None,
    flavour: str = "apim",
) -> Path:
    """Create a product home at ``dest`` (the home folder itself) and return it.

    ``keystores`` is a folder made by :func:`make_stock_keystores`. ``pack_from`` is a
    real product home whose conf, site.json, event publishers, dbscripts and key stores
    are laid over ours, the OB files included (never its bin/). An existing home at
    ``dest`` is replaced. ``flavour`` is ``apim`` (API Manager 2.6.0) or ``ob`` (Open
    Banking: the same with files-ob/ laid over it, see the module docstring).
    """
    dest = Path(dest)
    if flavour not in FLAVOURS:
        raise WizardError(
            f"unknown pack flavour {flavour!r}",
            fix=f"use one of: {', '.join(FLAVOURS)}",
        )
    for name in (KEYSTORE_NAME, TRUSTSTORE_NAME):
        if not (keystores / name).is_file():
            raise WizardError(
                f"{name} is missing",
                Where(file=str(keystores / name)),
                "make the key stores first with make_stock_keystores(folder)",
            )
    if dest.exists():
        if not dest.is_dir() or not _looks_like_home(dest):
            raise WizardError(
                "the destination exists and is not a product home",
                Where(file=str(dest)),
                "choose an empty folder or an existing product home to replace",
            )
        shutil.rmtree(dest)
    shutil.copytree(FILES_DIR, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    security = dest / SECURITY_REL
    security.mkdir(parents=True, exist_ok=True)
    for name in (KEYSTORE_NAME, TRUSTSTORE_NAME):
        shutil.copyfile(keystores / name, security / name)
    if flavour == "ob":
        _add_ob_flavour(dest)
    if pack_from is not None:  # a real pack's files beat ours (an OB pack's too)
        if not pack_from.is_dir():
            raise WizardError(
                "the product pack to overlay is not a folder",
                Where(file=str(pack_from)),
                "give the folder of an unpacked wso2am-2.6.0",
            )
        _overlay(pack_from, dest)
    make_webapps(dest / WEBAPPS_REL)
    for module in SERVER_MODULES:
        shutil.copyfile(LAB_DIR / module, dest / "bin" / module)
    (dest / "bin" / "fakecarbon.conf").write_text(
        f"# Written by carbon-wizard's lab installer.\nboot_delay = {boot_delay}\n",
        encoding="utf-8",
    )
    for script in ("wso2server.sh", "profileSetup.sh", "fakecarbon.py", "fakecarbon_profile.py"):
        (dest / "bin" / script).chmod(0o755)
    if owner is not None:
        _chown_tree(dest, owner)
    return dest
