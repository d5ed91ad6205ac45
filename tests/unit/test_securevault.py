"""Secure Vault crypto and files, the way ciphertool.sh and a 2.6.0 node do them: JKS key
stores made by keytool (the lab's format) opened without a JVM, RSA/ECB/PKCS1Padding
round trips (the wizard encrypts, the fake and Java's ``Cipher.getInstance("RSA")``
decrypt), ``java.util.Properties`` escaping, carbon.xml's primary key store, and the
fake's secret manager (password files, aliases per reader)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wizard import securevault as sv
from wizard.lab import fakecarbon_vault as fv
from wizard.lab import pack
from wizard.lab.localnode import java_home

KEY_PW = "key-Secret-22"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's stock key stores, and one whose key password differs from the store's."""
    jh = java_home()
    if jh is None:
        pytest.skip("keytool (a JDK) is not installed")
    folder = tmp_path_factory.mktemp("stores")
    pack.make_stock_keystores(folder, jh)
    store_pw, key_pw = folder / "s.pw", folder / "k.pw"
    store_pw.write_text("store-Secret-11")
    key_pw.write_text(KEY_PW)
    subprocess.run(
        [str(jh / "bin" / "keytool"), "-genkeypair", "-alias", "other", "-keyalg", "RSA",
         "-keysize", "2048", "-validity", "2", "-dname", "CN=other", "-storetype", "JKS",
         "-keystore", str(folder / "two.jks"), "-storepass:file", str(store_pw),
         "-keypass:file", str(key_pw)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [str(jh / "bin" / "keytool"), "-importkeystore", "-noprompt", "-srckeystore",
         str(folder / pack.KEYSTORE_NAME), "-srcstorepass:file", str(_pw(folder)),
         "-destkeystore", str(folder / "p.p12"), "-deststoretype", "PKCS12",
         "-deststorepass:file", str(_pw(folder))],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


def _pw(folder: Path) -> Path:
    path = folder / "stock.pw"
    path.write_text(pack.STOCK_PASSWORD)
    return path


def _stock(stores: Path) -> sv.KeyPair:
    data = (stores / pack.KEYSTORE_NAME).read_bytes()
    return sv.open_keystore(data, "JKS", "wso2carbon", pack.STOCK_PASSWORD, pack.STOCK_PASSWORD)


def test_a_keytool_jks_opens_and_round_trips(stores: Path) -> None:
    pair = _stock(stores)
    for text in ("db-Secret-1", "päss wörd=:#!\\", "x" * 200):
        value = sv.encrypt(pair, text)
        assert "\n" not in value and sv.decrypt(pair, value) == text
        assert sv.encrypt(pair, text) != value  # PKCS#1 v1.5 padding is random
    assert sv.decrypt(pair, "[wso2carbon]") is None
    assert sv.decrypt(pair, sv.encrypt(pair, "a")[:-8] + "AAAAAAA=") is None


def test_a_separate_key_password_and_wrong_passwords(stores: Path) -> None:
    data = (stores / "two.jks").read_bytes()
    pair = sv.open_keystore(data, "JKS", "OTHER", "store-Secret-11", KEY_PW)  # alias: any case
    assert sv.decrypt(pair, sv.encrypt(pair, "z")) == "z"
    with pytest.raises(sv.VaultError, match="tampered with, or password was incorrect"):
        sv.open_keystore(data, "JKS", "other", "wrong", KEY_PW)
    with pytest.raises(sv.VaultError, match="key password is wrong"):
        sv.open_keystore(data, "JKS", "other", "store-Secret-11", "store-Secret-11")
    with pytest.raises(sv.VaultError, match="no private key entry nope"):
        sv.open_keystore(data, "JKS", "nope", "store-Secret-11", KEY_PW)
    with pytest.raises(sv.VaultError):
        sv.open_keystore(b"not a store", "JKS", "x", "a", "b")


def test_a_pkcs12_store_opens_too(stores: Path) -> None:
    data = (stores / "p.p12").read_bytes()
    pw = pack.STOCK_PASSWORD
    pair = sv.open_keystore(data, "PKCS12", "wso2carbon", pw, pw)
    assert sv.decrypt(_stock(stores), sv.encrypt(pair, "same key")) == "same key"
    with pytest.raises(sv.VaultError, match="password was incorrect"):
        sv.open_keystore(data, "PKCS12", "wso2carbon", "wrong", "wrong")


@pytest.mark.skipif(shutil.which("java") is None and java_home() is None, reason="no JDK")
def test_java_decrypts_what_the_wizard_encrypts(stores: Path, tmp_path: Path) -> None:
    """The node's own algorithm: KeyStore "JKS" and Cipher.getInstance("RSA")."""
    jh = java_home()
    java = str(jh / "bin" / "java") if jh else "java"
    pair = _stock(stores)
    (tmp_path / "Dec.java").write_text(
        "import java.io.*; import java.security.*; import javax.crypto.Cipher;\n"
        "public class Dec { public static void main(String[] a) throws Exception {\n"
        '  char[] pw = "wso2carbon".toCharArray(); KeyStore ks = KeyStore.getInstance("JKS");\n'
        "  ks.load(new FileInputStream(a[0]), pw);\n"
        '  Cipher c = Cipher.getInstance("RSA");\n'
        '  c.init(Cipher.DECRYPT_MODE, ks.getKey("wso2carbon", pw));\n'
        "  BufferedReader r = new BufferedReader(new InputStreamReader(System.in));\n"
        "  byte[] b = c.doFinal(java.util.Base64.getDecoder().decode(r.readLine().trim()));\n"
        '  System.out.print(new String(b, "UTF-8")); } }\n'
    )
    out = subprocess.run(
        [java, str(tmp_path / "Dec.java"), str(stores / pack.KEYSTORE_NAME)],
        input=sv.encrypt(pair, "ünïcode-pw") + "\n", capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert out.stdout == "ünïcode-pw"


def test_the_fake_decrypts_like_the_node(stores: Path) -> None:
    pair = _stock(stores)
    numbers = pair.private_key.private_numbers()
    key = (numbers.public_numbers.n, numbers.d)
    assert fv.rsa_decrypt(key, sv.encrypt(pair, "ok=1")) == "ok=1"
    for bad, error in (("[plain]", "base64"), ("QUJD", "IllegalBlockSize")):
        with pytest.raises(ValueError, match=error):
            fv.rsa_decrypt(key, bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a=1\n", {"a": "1"}),
        ("# c\n! c\n  a : b c \n", {"a": "b c "}),
        ("k\\=x=v\\=w\\:z\n", {"k=x": "v=w:z"}),
        ("k v\n", {"k": "v"}),
        ("k=a\\\n    b\n", {"k": "ab"}),
        ("k=\\u00e9\\t\n", {"k": "é\t"}),
        (
            "Carbon.Security.KeyStore.Password=[wso2carbon]\n",
            {"Carbon.Security.KeyStore.Password": "[wso2carbon]"},
        ),
    ],
)
def test_properties_load_like_java(text: str, expected: dict[str, str], tmp_path: Path) -> None:
    assert sv.read_properties(text) == expected
    (tmp_path / "p").write_text(text, encoding="latin-1" if "é" not in text else "utf-8")
    assert fv.read_properties(tmp_path / "p") == expected  # the fake reads what we write


def test_properties_store_escapes_and_reads_back(tmp_path: Path) -> None:
    entries = [("A b", " lead"), ("c=d", "x=y:z#!"), ("e", "tab\there"), ("é", "ü")]
    text = sv.write_properties(entries, "hello")
    assert (
        text.startswith("# hello\n") and "A\\ b=\\ lead" in text and "c\\=d=x\\=y\\:z\\#\\!" in text
    )
    assert sv.read_properties(text) == dict(entries)
    (tmp_path / "p").write_text(text, encoding="latin-1")
    assert fv.read_properties(tmp_path / "p") == dict(entries)
    assert sv.plain_text("[wso2carbon]") == "wso2carbon" and sv.plain_text("QUJD==") is None


def test_the_primary_key_store_as_the_cipher_tool_finds_it() -> None:
    carbon = (pack.FILES_DIR / "repository/conf/carbon.xml").read_bytes()
    ks = sv.primary_keystore(carbon, "/opt/am/")
    assert ks == sv.PrimaryKeyStore(
        "/opt/am/repository/resources/security/wso2carbon.jks", "JKS", "wso2carbon"
    )
    conf = sv.secret_conf(ks)
    assert (
        conf["secretRepositories.file.location"]
        == "repository/conf/security/cipher-text.properties"
    )
    assert conf["keystore.identity.store.secretProvider"].endswith("DefaultSecretCallbackHandler")


def _home(tmp_path: Path, stores: Path, secrets: dict[str, str]) -> Path:
    home = tmp_path / "home"
    (home / "repository/conf/security").mkdir(parents=True)
    pair = _stock(stores)
    ks = sv.PrimaryKeyStore(str(stores / pack.KEYSTORE_NAME), "JKS", "wso2carbon")
    (home / sv.SECRET_CONF).write_text(sv.write_properties(list(sv.secret_conf(ks).items()), ""))
    entries = [(k, sv.encrypt(pair, v)) for k, v in secrets.items()]
    (home / sv.CIPHER_TEXT).write_text(sv.write_properties(entries, ""))
    return home


def test_the_fake_secret_manager_reads_and_deletes_password_tmp(
    stores: Path, tmp_path: Path
) -> None:
    home = _home(tmp_path, stores, {"Datasources.X.Configuration.Password": "db=pw"})
    jh = str(java_home())
    (home / "password-tmp").write_text(f"{pack.STOCK_PASSWORD}\n")
    manager = fv.SecretManager.init(home, jh, False)
    assert manager.initialized and not (home / "password-tmp").exists()
    assert manager.resolve("Datasources.X.Configuration.Password") == "db=pw"
    assert manager.resolve("Unknown.Alias") == "Unknown.Alias"

    # no password anywhere: the manager stays uninitialised and an alias is itself
    assert fv.SecretManager.init(home, jh, False).resolve(
        "Datasources.X.Configuration.Password"
    ) == ("Datasources.X.Configuration.Password")
    # "password" is read and renamed to password-tmp; password-persist is kept
    (home / "password").write_text(pack.STOCK_PASSWORD)
    assert fv.SecretManager.init(home, jh, False).initialized
    assert (home / "password-tmp").exists() and not (home / "password").exists()
    (home / "password-tmp").unlink()
    (home / "password-persist").write_text(pack.STOCK_PASSWORD)
    assert fv.SecretManager.init(home, jh, False).initialized
    assert (home / "password-persist").exists()
    (home / "password-persist").write_text("wrong-one")
    with pytest.raises(fv.BootError) as err:
        fv.SecretManager.init(home, jh, False)
    assert err.value.detail == (
        "java.io.IOException: Keystore was tampered with, or password was incorrect",
    )
    # without secret-conf.properties the password file is not even read
    (home / "password-persist").unlink()
    (home / sv.SECRET_CONF).unlink()
    (home / "password-tmp").write_text(pack.STOCK_PASSWORD)
    assert not fv.SecretManager.init(home, jh, False).initialized
    assert (home / "password-tmp").exists()


def test_each_reader_resolves_the_aliases_it_asks_for() -> None:
    manager = fv.SecretManager(
        {
            "Carbon.Security.KeyStore.Password": "ks",
            "Server.Service.Connector.keystorePass": "tomcat",
            "UserManager.AdminUser.Password": "adm",
            "Axis2.Https.Listener.KeyStore.Password": "nio",
            "Datasources.A.Configuration.Password": "db",
            "Some.Other": "no",
        },
        True,
    )
    ns = f'xmlns:svns="{fv.SVNS}"'
    carbon = ET.fromstring(
        f'<Server xmlns="http://wso2.org/projects/carbon/carbon.xml" {ns}><Security><KeyStore>'
        '<Password svns:secretAlias="Carbon.Security.KeyStore.Password">password</Password>'
        "<KeyPassword>password</KeyPassword></KeyStore></Security></Server>"
    )
    manager.carbon(carbon)
    texts = [e.text for e in carbon.iter() if e.tag.endswith("Password")]
    assert texts == ["ks", "password"]  # only a protected path is resolved
    tomcat = ET.fromstring(
        f'<Server {ns}><Service><Connector port="9443" keystorePass="password" '
        'svns:secretAlias="Server.Service.Connector.keystorePass"/></Service></Server>'
    )
    manager.catalina(tomcat)
    assert tomcat.find("./Service/Connector").get("keystorePass") == "tomcat"
    users = ET.fromstring(
        f"<UserManager {ns}><Realm><Configuration><AdminUser><Password "
        'svns:secretAlias="UserManager.AdminUser.Password">password</Password>'
        "</AdminUser></Configuration></Realm></UserManager>"
    )
    manager.usermgt(users)
    assert users.find("./Realm/Configuration/AdminUser/Password").text == "adm"
    axis2 = ET.fromstring(
        f'<axisconfig {ns}><transportReceiver name="https"><parameter name="keystore"><KeyStore>'
        '<Password svns:secretAlias="Axis2.Https.Listener.KeyStore.Password">password</Password>'
        "</KeyStore></parameter></transportReceiver></axisconfig>"
    )
    manager.axis2(axis2)
    assert axis2.find(".//Password").text == "nio"
    ds = ET.fromstring(
        f"<datasources-configuration {ns}><datasources><datasource><definition><configuration>"
        '<password svns:secretAlias="Datasources.A.Configuration.Password">password</password>'
        "</configuration></definition></datasource></datasources></datasources-configuration>"
    )
    manager.datasources(ds)
    assert ds.find(".//password").text == "db"
    uninitialised = fv.SecretManager()
    assert uninitialised.resolve("Carbon.Security.KeyStore.Password") == (
        "Carbon.Security.KeyStore.Password"
    )
