"""The fake Carbon's Secure Vault: aliases (``svns:secretAlias``) resolved as a 2.6.0 node does.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``);
openssl and keytool do the key store work, as for the node's TLS. What the real node does
(docs/fake-carbon.md has the rows):

- carbon-kernel v4.4.35 ``SecretManagerInitializer.init`` reads
  ``repository/conf/security/secret-conf.properties`` first thing (ServerConfiguration);
  no file, or no ``secretRepositories``: the secret manager stays uninitialised and every
  alias resolves to itself (wso2-securevault ``SecretManager.getSecret``).
- The identity key store password comes from ``DefaultSecretCallbackHandler``: the file
  ``password`` in the home (read, then renamed to ``password-tmp``), else ``password-tmp``
  (read, overwritten, deleted), else ``password-persist`` (read, kept), else the console
  (``[Enter KeyStore and Private Key Password :]``); one line, or two (store, key) with
  ``-Dkey.password=true``. No password: the manager stays uninitialised.
- ``FileBaseSecretRepository`` decrypts every entry of ``secretRepositories.file.location``
  with the identity key (algorithm ``RSA``: PKCS#1 v1.5, input base64).
- Who asks for which alias: carbon.xml ``"Carbon." + element path`` (ServerConfiguration
  L512-519), user-mgt.xml ``UserManager.AdminUser.Password`` (RealmConfigXMLProcessor
  L370-373), catalina-server.xml ``<element path>.<attribute>`` (tomcat ServerManager
  ``resolveSecuredConfig``), axis2.xml ``Axis2.Https.{Listener,Sender}.KeyStore.
  {Password,KeyPassword}`` (wso2-axis2 v1.6.1-wso2v28 ``AxisConfigBuilder``), a datasource
  element any alias (ndatasource ``DataSourceUtils.secureLoadElement``). A name is
  protected when some element of the file carries it in ``svns:secretAlias``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

try:  # run as bin/fakecarbon.py: sibling files
    from fakecarbon_checks import BootError  # type: ignore[import-not-found]
    from fakecarbon_services import private_dir, write_private  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon_vault (tests)
    from wizard.lab.fakecarbon_checks import BootError
    from wizard.lab.fakecarbon_services import private_dir, write_private

SVNS = "http://org.wso2.securevault/configuration"
ALIAS = f"{{{SVNS}}}secretAlias"
SECRET_CONF = "repository/conf/security/secret-conf.properties"
# DefaultSecretCallbackHandler.deleteConfigFile writes this over the file before deleting it
_JUNK = "!@#$%^&*()SDFGHJZXCVBNM!@#$%^&*"
_KEYSTORE_WRAPPER = "org.wso2.securevault.keystore.IdentityKeyStoreWrapper"
_REPOSITORY = "org.wso2.securevault.secret.repository.FileBaseSecretRepository"


# -- java.util.Properties.load -----------------------------------------------------------


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        s = m.group(1)
        if s.startswith("u"):
            return chr(int(s[1:], 16))
        return {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(s, s)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, text)


def read_properties(path: Path) -> dict[str, str]:
    """``Properties.load`` of a file ({} when it is absent)."""
    try:
        text = path.read_text(encoding="latin-1")
    except OSError:
        return {}
    props: dict[str, str] = {}
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f") if pending else raw
        if not pending and (not line.strip() or line.lstrip()[:1] in ("#", "!")):
            continue
        if (len(line) - len(line.rstrip("\\"))) % 2:
            pending += line[:-1]
            continue
        line, pending = (pending + line).lstrip(" \t\f"), ""
        m = re.match(r"((?:\\.|[^=:\s\\])*)\s*[=:]?\s*(.*)$", line)
        if m:
            props[_unescape(m.group(1))] = _unescape(m.group(2))
    return props


# -- the secret manager --------------------------------------------------------------------


def _take(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None


def _destroy(path: Path) -> None:
    try:
        path.write_text(_JUNK)
        path.unlink()
    except OSError:
        pass


def keystore_password(home: Path, two_lines: bool) -> tuple[str, str] | None:
    """DefaultSecretCallbackHandler: (store password, key password) or None."""
    lines: list[str] | None = None
    plain, tmp, persist = home / "password", home / "password-tmp", home / "password-persist"
    if plain.exists():
        lines = _take(plain)
        try:
            plain.rename(tmp)
        except OSError:
            pass
    elif tmp.exists():
        lines = _take(tmp)
        _destroy(tmp)
    elif persist.exists():
        lines = _take(persist)
    elif sys.stdin.isatty() and sys.stdout.isatty():  # System.console() != null
        import getpass

        prompt = (
            "[Enter KeyStore Password :]"
            if two_lines
            else "[Enter KeyStore and Private Key Password :]"
        )
        store = getpass.getpass(prompt)
        key = getpass.getpass("[Enter Private Key Password : ]") if two_lines else store
        return (store, key) if store else None
    if not lines or not lines[0]:
        return None
    key = lines[1] if two_lines and len(lines) > 1 else lines[0]
    return lines[0], key


def _rsa_numbers(pem: Path) -> tuple[int, int]:
    out = subprocess.run(
        ["openssl", "rsa", "-in", str(pem), "-noout", "-text"],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout  # fmt: skip
    blocks: dict[str, str] = {}
    name = ""
    for line in out.splitlines():
        if re.match(r"^[A-Za-z][A-Za-z0-9-]*:", line):
            name = line.split(":", 1)[0]
            blocks[name] = ""
        elif name and line.startswith(" "):
            blocks[name] += line.strip().replace(":", "")
    return int(blocks["modulus"], 16), int(blocks["privateExponent"], 16)


def private_key(store: Path, store_type: str, alias: str, passwords: tuple[str, str],
                java_home: str) -> tuple[int, int]:  # fmt: skip
    """(n, d) of ``alias``: keytool to PKCS12, openssl to PEM; a wrong password is the
    IOException the key store wrapper logs."""
    where = f"IOError loading keyStore from ' {store} ' "
    if not store.is_file():
        raise BootError(_KEYSTORE_WRAPPER, f"KeyStore can not be found at ' {store} '")
    keytool = str(Path(java_home) / "bin" / "keytool") if java_home else "keytool"
    with private_dir() as tmp:
        pw = write_private(tmp / "store.pw", passwords[0])
        kpw = write_private(tmp / "key.pw", passwords[1])
        dpw = write_private(tmp / "dest.pw", secrets.token_hex(16))  # keytool wants >= 6
        p12, pem = tmp / "id.p12", tmp / "id.pem"
        cmd = [
            keytool, "-importkeystore", "-noprompt", "-srckeystore", str(store),
            "-srcstoretype", store_type, "-srcstorepass:file", str(pw), "-srcalias", alias,
            "-srckeypass:file", str(kpw), "-destkeystore", str(p12), "-deststoretype",
            "PKCS12", "-deststorepass:file", str(dpw), "-destkeypass:file", str(dpw),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            why = (proc.stdout + proc.stderr).strip().splitlines() or ["keytool failed"]
            if "password was incorrect" in proc.stdout + proc.stderr:
                why = ["Keystore was tampered with, or password was incorrect"]
            raise BootError(_KEYSTORE_WRAPPER, where, (f"java.io.IOException: {why[-1]}",))
        subprocess.run(
            ["openssl", "pkcs12", "-in", str(p12), "-nodes", "-nocerts",
             "-passin", f"file:{dpw}", "-out", str(pem)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        return _rsa_numbers(pem)


def rsa_decrypt(numbers: tuple[int, int], value: str) -> str:
    """``Cipher.getInstance("RSA")`` decryption of a base64 value (PKCS#1 v1.5 padding)."""
    n, d = numbers
    k = (n.bit_length() + 7) // 8
    try:
        data = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("java.lang.IllegalArgumentException: Illegal base64 character") from exc
    if len(data) != k:
        raise ValueError(
            f"javax.crypto.IllegalBlockSizeException: Data must not be longer than {k} bytes"
        )
    em = pow(int.from_bytes(data, "big"), d, n).to_bytes(k, "big")
    sep = em.find(b"\x00", 2)
    if em[:2] != b"\x00\x02" or sep < 10:
        raise ValueError("javax.crypto.BadPaddingException: Decryption error")
    return em[sep + 1 :].decode("utf-8", "replace")


@dataclass
class SecretManager:
    """What the node's secret manager holds once initialised (or not)."""

    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    initialized: bool = False

    def resolve(self, alias: str) -> str:
        """SecretManager.getSecret: the secret, else the alias itself."""
        return self.secrets.get(alias, alias) if self.initialized else alias

    @classmethod
    def init(cls, home: Path, java_home: str, two_lines: bool) -> SecretManager:
        conf = read_properties(home / SECRET_CONF)
        if not conf.get("secretRepositories", "").strip():
            return cls()
        passwords = keystore_password(home, two_lines)
        if passwords is None:  # "Either Identity or Trust keystore password is mandatory"
            return cls()
        location = Path(conf.get("keystore.identity.location", ""))
        numbers = private_key(
            location if location.is_absolute() else home / location,
            conf.get("keystore.identity.type", "JKS"),
            conf.get("keystore.identity.alias", ""),
            passwords,
            java_home,
        )
        text_file = Path(conf.get("secretRepositories.file.location", "cipher-text.properties"))
        secrets: dict[str, str] = {}
        for alias, value in read_properties(
            text_file if text_file.is_absolute() else home / text_file
        ).items():
            if not value.strip():
                continue
            try:
                secrets[alias] = rsa_decrypt(numbers, value)
            except ValueError as exc:
                raise BootError(
                    _REPOSITORY, f"Error decrypting the secret of {alias}", (str(exc),)
                ) from None
        return cls(secrets, True)

    # -- who asks for which alias ------------------------------------------------------------

    @staticmethod
    def _protected(root: ET.Element) -> set[str]:
        return {el.get(ALIAS, "") for el in root.iter() if el.get(ALIAS)}

    def _resolve_paths(self, root: ET.Element, prefix: str) -> None:
        """ServerConfiguration: every element with text, key ``prefix + path``."""
        tokens = self._protected(root)

        def walk(el: ET.Element, path: list[str]) -> None:
            for kid in el:
                if not isinstance(kid.tag, str):
                    continue
                names = [*path, kid.tag.rsplit("}", 1)[-1]]
                key = prefix + ".".join(names)
                if (kid.text or "").strip() and key in tokens:
                    kid.text = self.resolve(key)
                walk(kid, names)

        walk(root, [])

    def carbon(self, root: ET.Element) -> None:
        self._resolve_paths(root, "Carbon.")

    def usermgt(self, root: ET.Element) -> None:
        token = "UserManager.AdminUser.Password"
        el = root.find("./Realm/Configuration/AdminUser/Password")
        if el is not None and token in self._protected(root):
            el.text = self.resolve(token)

    def catalina(self, root: ET.Element) -> None:
        """ServerManager.resolveSecuredConfig: ``Server.Service.Connector.keystorePass``."""
        if not self.initialized:  # tomcat is configured from the raw file then
            return
        tokens = self._protected(root)

        def walk(el: ET.Element, path: str) -> None:
            for name in list(el.attrib):
                if f"{path}.{name}" in tokens:
                    el.set(name, self.resolve(f"{path}.{name}"))
                    el.attrib.pop(ALIAS, None)
            for kid in el:
                if isinstance(kid.tag, str):
                    walk(kid, f"{path}.{kid.tag}")

        walk(root, root.tag)

    def axis2(self, root: ET.Element) -> None:
        tokens = self._protected(root)
        for kind, side in (("transportReceiver", "Listener"), ("transportSender", "Sender")):
            for ks in root.findall(f"./{kind}/parameter[@name='keystore']/KeyStore"):
                for tag in ("Password", "KeyPassword"):
                    el, token = ks.find(tag), f"Axis2.Https.{side}.KeyStore.{tag}"
                    if el is not None and token in tokens:
                        el.text = self.resolve(token)

    def datasources(self, root: ET.Element) -> None:
        for el in root.iter():
            alias = el.get(ALIAS)
            if alias:
                el.text = self.resolve(alias)
                el.attrib.pop(ALIAS, None)


def java_home(env: dict[str, str]) -> str:
    return env.get("JAVA_HOME", os.environ.get("JAVA_HOME", ""))
