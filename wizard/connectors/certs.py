"""Load balancer certificates: generate (self-signed or from a small wizard CA), validate.

Pure ``cryptography`` code on the admin machine; nothing here touches a host. The CA lives
in the session directory (``<session>/ca/ca.key`` 0600, ``ca.crt``); its key never leaves
it. Admin-supplied certificates are checked before use: the key matches, the certificate
is valid now and for a while, and every public LB name is covered (SAN, else CN).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wizard.errors import bad_input, step_failed

KEY_MODE = 0o600
RENEW_DAYS = 30  # an existing certificate closer than this to its end is replaced
CA_DAYS = 3650


@dataclass(frozen=True)
class CertSpec:
    """What the LB certificate must be: its CN, the names it serves, life and key size."""

    cn: str
    san: list[str] = field(default_factory=list)
    days: int = 365
    key_bits: int = 2048

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self.san or [self.cn]))


@dataclass(frozen=True)
class KeyPair:
    """PEM bytes of a private key (unencrypted PKCS#8) and its certificate."""

    key_pem: bytes = field(repr=False)
    cert_pem: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def generate_ca(cn: str = "carbon-wizard local CA", days: int = CA_DAYS) -> KeyPair:
    """A small CA: RSA 2048, basicConstraints CA:true pathlen 0, keyCertSign."""
    key = _new_key(2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def load_or_create_ca(directory: Path) -> KeyPair:
    """The session's CA from ``directory`` (``ca.key`` 0600 + ``ca.crt``), made on first use."""
    key_path, cert_path = directory / "ca.key", directory / "ca.crt"
    if key_path.exists() and cert_path.exists():
        pair = KeyPair(key_path.read_bytes(), cert_path.read_bytes())
        if not key_matches(load_cert(cert_path.read_bytes(), str(cert_path)), pair.key_pem):
            raise step_failed(
                f"the wizard CA key {key_path} does not belong to {cert_path}",
                fix="remove both files to make a new CA (then certificates are re-issued)",
                file=str(directory),
            )
        return pair
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    pair = generate_ca()
    _write_private(key_path, pair.key_pem)
    cert_path.write_bytes(pair.cert_pem)
    return pair


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, KEY_MODE)


def generate_cert(spec: CertSpec, ca: KeyPair | None = None) -> KeyPair:
    """A server certificate for ``spec`` (SAN = every name), self-signed or issued by ``ca``."""
    if spec.key_bits < 2048:
        raise bad_input(f"a {spec.key_bits}-bit RSA key is too weak", fix="use 2048 or more")
    key = _new_key(spec.key_bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.cn)])
    if ca is None:
        issuer, signer = subject, key
    else:
        ca_cert = load_cert(ca.cert_pem, "wizard CA")
        issuer = ca_cert.subject
        loaded = serialization.load_pem_private_key(ca.key_pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise step_failed("the wizard CA key is not an RSA key")
        signer = loaded
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=spec.days))
        .add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in spec.names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    cert = builder.sign(signer, hashes.SHA256())
    return KeyPair(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


# -- reading and checking ----------------------------------------------------------------


def load_cert(pem: bytes, source: str = "certificate") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise bad_input(
            f"{source} is not a PEM certificate ({exc})",
            fix="give a PEM file that starts with -----BEGIN CERTIFICATE-----",
            file=source,
        ) from exc


def load_key(pem: bytes, source: str = "private key") -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError as exc:
        raise bad_input(
            f"{source} is encrypted with a passphrase",
            fix="give the key without a passphrase (openssl rsa -in KEY -out KEY.plain); "
            "NGINX cannot ask for it at start",
            file=source,
        ) from exc
    except ValueError as exc:
        raise bad_input(
            f"{source} is not a PEM private key", fix="give a PEM private key file", file=source
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise bad_input(f"{source} is not an RSA key", fix="use an RSA key", file=source)
    return key


def key_matches(cert: x509.Certificate, key_pem: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (TypeError, ValueError):
        return False
    pub = cert.public_key()
    return pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cert_names(cert: x509.Certificate) -> list[str]:
    """The names a client checks: the SAN entries, else the CN."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return [str(a.value) for a in cns]
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return names


def _covers(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def missing_names(cert: x509.Certificate, names: list[str]) -> list[str]:
    have = cert_names(cert)
    return [n for n in names if not any(_covers(p, n) for p in have)]


def fingerprint_sha256(cert: x509.Certificate | bytes) -> str:
    """``AB:CD:...``, as keytool and openssl print it."""
    c = load_cert(cert) if isinstance(cert, bytes) else cert
    return c.fingerprint(hashes.SHA256()).hex(":").upper()


def summary(cert: x509.Certificate) -> str:
    """One line for diffs and messages."""
    issuer = cert.issuer.rfc4514_string()
    self_signed = cert.issuer == cert.subject
    return (
        f"CN={_cn(cert)} names={','.join(cert_names(cert))} "
        f"until {cert.not_valid_after_utc:%Y-%m-%d} "
        f"issuer={'self' if self_signed else issuer} sha256={fingerprint_sha256(cert)[:23]}..."
    )


def _cn(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else ""


def problems(
    cert_pem: bytes,
    key_pem: bytes | None,
    spec: CertSpec,
    *,
    now: dt.datetime | None = None,
    renew_days: int = RENEW_DAYS,
    ca: KeyPair | None = None,
) -> list[str]:
    """Why an existing cert/key pair is not the one wanted (empty list: it is fine)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return ["the certificate file is not a PEM certificate"]
    now = now or _now()
    out: list[str] = []
    if key_pem is None or not key_matches(cert, key_pem):
        out.append("the private key does not belong to the certificate")
    if cert.not_valid_after_utc <= now + dt.timedelta(days=renew_days):
        out.append(
            f"it ends {cert.not_valid_after_utc:%Y-%m-%d} (renewed {renew_days} days before)"
        )
    missing = missing_names(cert, spec.names)
    if missing:
        out.append(f"it does not cover {', '.join(missing)}")
    pub = cert.public_key()
    if not isinstance(pub, rsa.RSAPublicKey) or pub.key_size < spec.key_bits:
        out.append(f"its key is not RSA {spec.key_bits}")
    if ca is not None and cert.issuer != load_cert(ca.cert_pem).subject:
        out.append("it is not issued by the wizard CA")
    return out


def validate_supplied(
    cert_pem: bytes,
    key_pem: bytes,
    names: list[str],
    *,
    cert_source: str = "certificate",
    key_source: str = "private key",
    now: dt.datetime | None = None,
    min_days: int = 1,
) -> x509.Certificate:
    """Check the admin's own cert/key for the LB; raise a clear WizardError when unusable."""
    cert = load_cert(cert_pem, cert_source)
    load_key(key_pem, key_source)
    now = now or _now()
    if not key_matches(cert, key_pem):
        raise bad_input(
            f"the private key {key_source} does not belong to the certificate {cert_source}",
            fix="give the key the certificate was issued for (compare "
            "'openssl x509 -noout -pubkey' with 'openssl pkey -pubout')",
            file=key_source,
        )
    if cert.not_valid_before_utc > now:
        raise bad_input(
            f"the certificate {cert_source} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            fix="check the clock of this machine, or use a certificate valid now",
            file=cert_source,
        )
    if cert.not_valid_after_utc <= now + dt.timedelta(days=min_days):
        state = "expired" if cert.not_valid_after_utc <= now else "expires"
        raise bad_input(
            f"the certificate {cert_source} {state} on {cert.not_valid_after_utc:%Y-%m-%d}",
            fix="renew it, or let the wizard generate one",
            file=cert_source,
        )
    missing = missing_names(cert, names)
    if missing:
        raise bad_input(
            f"the certificate {cert_source} does not cover {', '.join(missing)} "
            f"(it covers {', '.join(cert_names(cert)) or 'no name'})",
            fix="issue it with every LB host name in subjectAltName, or let the wizard generate one",
            file=cert_source,
        )
    return cert
