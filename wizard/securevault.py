"""Carbon 4.4 Secure Vault, done the way ``bin/ciphertool.sh -Dconfigure`` does it.

Pure functions (bytes in, values out); the ``vault`` step (wizard/steps/vault.py) reads
and writes the files. What the real tool does (wso2/cipher-tool v1.0.0-wso2v8, the
version product-apim v2.6.0 pins as ``cipher.tool.version``):

- ``Utils.setSystemProperties``: the primary key store is carbon.xml's
  ``Security/KeyStore`` (``Location`` with everything up to ``}`` of ``${carbon.home}``
  replaced by the home, ``Type``, ``KeyAlias``);
- ``KeyStoreUtil.initializeCipher``: ``Cipher.getInstance("RSA")`` (no
  ``org.wso2.CipherTransformation``: ciphertool.sh does not read carbon.properties), i.e.
  RSA/ECB/PKCS1Padding with the certificate of the key alias;
- ``CipherTool.doEncryption``: UTF-8 bytes, encrypted, standard base64 on one line;
- ``encryptCipherTextFile``: every ``alias=[plain text]`` of cipher-text.properties is
  encrypted, values already encrypted stay, the file is written by
  ``Properties.store`` (``=`` and ``:`` escaped);
- ``Utils.writeToSecureConfPropertyFile``: secret-conf.properties as in
  :func:`secret_conf`.

A node decrypts with the private key (wso2-securevault ``FileBaseSecretRepository``:
algorithm ``RSA``, input base64). JKS stores are read here without a JVM: the format of
``sun.security.provider.JavaKeyStore`` (integrity digest over the password, "Mighty
Aphrodite" and the store) and its ``KeyProtector`` (SHA-1 keystream, then a SHA-1 check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:  # loaded where a key store is opened: the planner imports this module
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

SECURITY_DIR = "repository/conf/security"
CIPHER_TEXT = f"{SECURITY_DIR}/cipher-text.properties"
CIPHER_TOOL = f"{SECURITY_DIR}/cipher-tool.properties"
SECRET_CONF = f"{SECURITY_DIR}/secret-conf.properties"
PASSWORD_FILE = "password-tmp"  # DefaultSecretCallbackHandler, read and deleted at start
SVNS = "http://org.wso2.securevault/configuration"
_CARBON_NS = "http://wso2.org/projects/carbon/carbon.xml"

_JKS_MAGIC = 0xFEEDFEED
_KEY_PROTECTOR_OID = "1.3.6.1.4.1.42.2.17.1.1"


class VaultError(Exception):
    """A key store that cannot be opened (wrong password, unknown alias, format)."""


@dataclass(frozen=True)
class KeyPair:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class PrimaryKeyStore:
    """carbon.xml ``Security/KeyStore`` as the cipher tool reads it."""

    path: str
    store_type: str
    alias: str


# -- carbon.xml and secret-conf.properties ---------------------------------------------------


def primary_keystore(carbon_xml: bytes, home: str) -> PrimaryKeyStore:
    """The key store the cipher tool uses: ``Location`` after ``${carbon.home}`` (or the
    whole text when it names none) under ``home``, ``Type``, ``KeyAlias``."""
    root = etree.fromstring(carbon_xml, etree.XMLParser(resolve_entities=False))
    ns = {"c": _CARBON_NS}

    def text(tag: str) -> str:
        found = root.find(f"c:Security/c:KeyStore/c:{tag}", ns)
        return (found.text or "").strip() if found is not None else ""

    location = text("Location")
    if not location or not text("KeyAlias"):
        raise VaultError("carbon.xml has no Security/KeyStore Location and KeyAlias")
    if "}" in location or not location.startswith("/"):
        path = f"{home.rstrip('/')}/{location[location.find('}') + 1 :].lstrip('/')}"
    else:  # an absolute path (the tool itself only takes paths under the home)
        path = location
    return PrimaryKeyStore(path, text("Type") or "JKS", text("KeyAlias"))


def secret_conf(ks: PrimaryKeyStore) -> dict[str, str]:
    """secret-conf.properties as ``Utils.writeToSecureConfPropertyFile`` writes it."""
    handler = "org.wso2.carbon.securevault.DefaultSecretCallbackHandler"
    return {
        "carbon.secretProvider": (
            "org.wso2.securevault.secret.handler.SecretManagerSecretCallbackHandler"
        ),
        "secretRepositories": "file",
        "secretRepositories.file.provider": (
            "org.wso2.securevault.secret.repository.FileBaseSecretRepositoryProvider"
        ),
        "secretRepositories.file.location": CIPHER_TEXT,
        "keystore.identity.location": ks.path,
        "keystore.identity.type": ks.store_type,
        "keystore.identity.alias": ks.alias,
        "keystore.identity.store.password": "identity.store.password",
        "keystore.identity.store.secretProvider": handler,
        "keystore.identity.key.password": "identity.key.password",
        "keystore.identity.key.secretProvider": handler,
    }


# -- java.util.Properties ---------------------------------------------------------------------

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f") if pending else raw
        if not pending and (not line.strip() or line.lstrip(" \t\f")[:1] in ("#", "!")):
            continue
        trail = len(line) - len(line.rstrip("\\"))
        if trail % 2:
            pending += line[:-1]
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def read_properties(text: str) -> dict[str, str]:
    """``Properties.load``: comments, ``=``/``:``/blank separators, escapes, continuations."""
    props: dict[str, str] = {}
    for line in _logical_lines(text):
        line = line.lstrip(" \t\f")
        i = 0
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] in "=: \t\f":
                break
            i += 1
        key, rest = line[:i], line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        props[_unescape(key)] = _unescape(rest)
    return props


def _escape(text: str, is_key: bool) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == " " and (is_key or i == 0):
            out.append("\\ ")
        elif ch in "\t\n\r\f":
            out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[ch])
        elif ch in "=:#!\\":
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def write_properties(entries: list[tuple[str, str]], comment: str) -> str:
    """``Properties.store`` escaping (keys and values), one entry a line, in order."""
    lines = [f"# {comment}"] if comment else []
    lines += [f"{_escape(k, True)}={_escape(v, False)}" for k, v in entries]
    return "\n".join(lines) + "\n"


def plain_text(value: str) -> str | None:
    """The plain text of a cipher-text.properties value written ``[...]`` (the form the
    cipher tool encrypts: ``value.contains("[") && value.indexOf("]") > 0``), else None."""
    start = value.find("[")
    end = value.find("]", start + 1)
    return value[start + 1 : end] if start >= 0 and end > 0 else None


# -- key stores --------------------------------------------------------------------------------


def _utf16(password: str) -> bytes:
    return password.encode("utf-16-be")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise VaultError("the key store is truncated or not a JKS file")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def utf(self) -> str:
        return self.take(self.u16()).decode("utf-8", "replace")


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the content, end of the content) of the DER item at ``pos``."""
    if pos + 2 > len(data):
        raise VaultError("a protected key is not DER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        return tag, pos, pos + first
    n = first & 0x7F
    length = int.from_bytes(data[pos : pos + n], "big")
    return tag, pos + n, pos + n + length


def _oid(body: bytes) -> str:
    parts = [body[0] // 40, body[0] % 40]
    value = 0
    for b in body[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _recover_key(protected: bytes, password: str) -> bytes:
    """``KeyProtector.recover``: the PKCS#8 bytes of a JKS private key entry."""
    _, start, _ = _der(protected, 0)  # EncryptedPrivateKeyInfo
    _, alg_start, alg_end = _der(protected, start)  # AlgorithmIdentifier
    _, oid_start, oid_end = _der(protected, alg_start)
    if _oid(protected[oid_start:oid_end]) != _KEY_PROTECTOR_OID:
        raise VaultError("the private key is not protected the JKS way")
    _, body_start, body_end = _der(protected, alg_end)  # OCTET STRING
    body = protected[body_start:body_end]
    salt, encrypted, check = body[:20], body[20:-20], body[-20:]
    secret = _utf16(password)
    stream = b""
    digest = salt
    while len(stream) < len(encrypted):
        digest = hashlib.sha1(secret + digest).digest()
        stream += digest
    plain = bytes(a ^ b for a, b in zip(encrypted, stream, strict=False))
    if hashlib.sha1(secret + plain).digest() != check:
        raise VaultError("the key password is wrong (Cannot recover key)")
    return plain


def _jks(data: bytes, alias: str, store_password: str, key_password: str) -> KeyPair:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    body, digest = data[:-20], data[-20:]
    want = hashlib.sha1(_utf16(store_password) + b"Mighty Aphrodite" + body).digest()
    if want != digest:
        raise VaultError("Keystore was tampered with, or password was incorrect")
    r = _Reader(body)
    r.take(4)
    version, count = r.u32(), r.u32()
    for _ in range(count):
        tag, name = r.u32(), r.utf()
        r.take(8)  # timestamp
        if tag == 1:
            protected = r.take(r.u32())
            chain = []
            for _ in range(r.u32()):
                if version == 2:
                    r.utf()
                chain.append(r.take(r.u32()))
            if name.lower() == alias.lower():
                key = serialization.load_der_private_key(
                    _recover_key(protected, key_password), None
                )
                if not isinstance(key, rsa.RSAPrivateKey) or not chain:
                    raise VaultError(f"the key {alias} is not an RSA key with a certificate")
                return KeyPair(key, x509.load_der_x509_certificate(chain[0]))
        elif tag == 2:
            if version == 2:
                r.utf()
            r.take(r.u32())
        else:
            raise VaultError("the key store holds an entry type JKS does not have")
    raise VaultError(f"the key store has no private key entry {alias}")


def open_keystore(
    data: bytes, store_type: str, alias: str, store_password: str, key_password: str
) -> KeyPair:
    """The private key and certificate of ``alias`` (JKS or PKCS12)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    if data[:4] == struct.pack(">I", _JKS_MAGIC):
        return _jks(data, alias, store_password, key_password)
    if store_type.upper() == "JKS":
        raise VaultError("the key store is not a JKS file")
    try:
        store = pkcs12.load_pkcs12(data, store_password.encode("utf-8"))
    except ValueError as exc:
        raise VaultError("Keystore was tampered with, or password was incorrect") from exc
    if not isinstance(store.key, rsa.RSAPrivateKey) or store.cert is None:
        raise VaultError(f"the key store has no RSA private key entry {alias}")
    return KeyPair(store.key, store.cert.certificate)


# -- encryption --------------------------------------------------------------------------------


def encrypt(pair: KeyPair, text: str) -> str:
    """What the cipher tool writes for ``text``: RSA/ECB/PKCS1Padding, base64."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    public = pair.certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise VaultError("the key store's certificate has no RSA key")
    return base64.b64encode(public.encrypt(text.encode("utf-8"), padding.PKCS1v15())).decode()


def decrypt(pair: KeyPair, value: str) -> str | None:
    """What a node reads for ``value`` (None when it does not decrypt)."""
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        data = base64.b64decode(value.strip(), validate=True)
        return pair.private_key.decrypt(data, padding.PKCS1v15()).decode("utf-8")
    except (ValueError, binascii.Error):
        return None
