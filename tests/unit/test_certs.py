"""LB certificates: generation (SANs, key size, validity, CA), validation of the admin's
own pair, and the certificate step on a local transport (0600 key, idempotence)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from wizard.connectors import certs
from wizard.connectors.local import LocalTransport
from wizard.errors import EXIT_BAD_INPUT, WizardError
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps.tls import HANDLERS

SPEC = certs.CertSpec(cn="apim.example.com", san=["apim.example.com", "gw.example.com"])
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca() -> certs.KeyPair:
    return certs.generate_ca()


@pytest.fixture(scope="module")
def pair() -> certs.KeyPair:
    return certs.generate_cert(SPEC)


def _cert(p: certs.KeyPair) -> x509.Certificate:
    return x509.load_pem_x509_certificate(p.cert_pem)


def _verify(cert: x509.Certificate, issuer_pub: rsa.RSAPublicKey) -> None:
    assert cert.signature_hash_algorithm is not None
    issuer_pub.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,
    )


def test_self_signed_has_every_name_2048_bits_and_365_days(pair: certs.KeyPair) -> None:
    cert = _cert(pair)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["apim.example.com", "gw.example.com"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "apim.example.com"
    pub = cert.public_key()
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 2048
    days = (cert.not_valid_after_utc - NOW).days
    assert 364 <= days <= 365
    assert cert.issuer == cert.subject
    _verify(cert, pub)
    assert certs.key_matches(cert, pair.key_pem)
    assert b"ENCRYPTED" not in pair.key_pem  # nginx must start without a passphrase


def test_ip_address_names_go_into_san_as_ip() -> None:
    cert = _cert(certs.generate_cert(certs.CertSpec(cn="127.0.0.2", san=["127.0.0.2", "lb"])))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.2"]
    assert san.get_values_for_type(x509.DNSName) == ["lb"]


def test_ca_issued_certificate_chains_to_the_ca(ca: certs.KeyPair) -> None:
    leaf = _cert(certs.generate_cert(SPEC, ca))
    ca_cert = _cert(ca)
    assert leaf.issuer == ca_cert.subject != leaf.subject
    ca_pub = ca_cert.public_key()
    assert isinstance(ca_pub, rsa.RSAPublicKey)
    _verify(leaf, ca_pub)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert certs.problems(certs.generate_cert(SPEC, ca).cert_pem, None, SPEC, ca=ca) == [
        "the private key does not belong to the certificate"
    ]


def test_session_ca_is_made_once_with_a_0600_key(tmp_path: Path) -> None:
    first = certs.load_or_create_ca(tmp_path / "ca")
    again = certs.load_or_create_ca(tmp_path / "ca")
    assert first == again
    assert stat.S_IMODE(os.stat(tmp_path / "ca" / "ca.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "ca").st_mode) == 0o700


def test_weak_key_is_refused() -> None:
    with pytest.raises(WizardError, match="1024-bit"):
        certs.generate_cert(certs.CertSpec(cn="x", key_bits=1024))


def test_problems_of_a_good_pair_are_none_and_near_expiry_is_one(pair: certs.KeyPair) -> None:
    assert certs.problems(pair.cert_pem, pair.key_pem, SPEC) == []
    later = NOW + dt.timedelta(days=340)
    assert any("renewed 30 days before" in p for p in certs.problems(
        pair.cert_pem, pair.key_pem, SPEC, now=later))  # fmt: skip
    more = certs.CertSpec(cn="apim.example.com", san=["apim.example.com", "new.example.com"])
    assert certs.problems(pair.cert_pem, pair.key_pem, more) == [
        "it does not cover new.example.com"
    ]


# -- the admin's own certificate ------------------------------------------------------------


def _custom(names: list[str], *, not_before: dt.datetime, not_after: dt.datetime) -> certs.KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if len(names) > 1:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names[1:]]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return certs.KeyPair(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def test_supplied_pair_that_fits_is_accepted_wildcards_too() -> None:
    p = _custom(["lb", "*.example.com"], not_before=NOW, not_after=NOW + dt.timedelta(days=90))
    cert = certs.validate_supplied(p.cert_pem, p.key_pem, ["apim.example.com", "gw.example.com"])
    assert certs.cert_names(cert) == ["*.example.com"]


def test_supplied_key_of_another_certificate_is_a_clear_error(pair: certs.KeyPair) -> None:
    other = certs.generate_cert(SPEC)
    with pytest.raises(WizardError) as exc:
        certs.validate_supplied(
            pair.cert_pem, other.key_pem, SPEC.names, cert_source="lb.crt", key_source="lb.key"
        )
    err = exc.value
    assert err.exit_code == EXIT_BAD_INPUT
    assert "lb.key does not belong to the certificate lb.crt" in err.what
    assert err.fix and "openssl" in err.fix


def test_supplied_expired_certificate_is_a_clear_error() -> None:
    p = _custom(
        ["apim.example.com"],
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW - dt.timedelta(days=35),
    )
    with pytest.raises(WizardError, match=r"lb.crt expired on \d{4}-\d\d-\d\d") as exc:
        certs.validate_supplied(p.cert_pem, p.key_pem, ["apim.example.com"], cert_source="lb.crt")
    assert exc.value.fix and "renew" in exc.value.fix


def test_supplied_certificate_missing_a_name_lists_it() -> None:
    p = _custom(["apim.example.com"], not_before=NOW, not_after=NOW + dt.timedelta(days=90))
    with pytest.raises(WizardError) as exc:
        certs.validate_supplied(p.cert_pem, p.key_pem, ["apim.example.com", "gw.example.com"])
    assert "does not cover gw.example.com (it covers apim.example.com)" in exc.value.what


def test_supplied_encrypted_key_and_garbage_are_clear_errors(pair: certs.KeyPair) -> None:
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    enc = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    with pytest.raises(WizardError, match="encrypted with a passphrase"):
        certs.validate_supplied(pair.cert_pem, enc, SPEC.names)
    with pytest.raises(WizardError, match="not a PEM certificate"):
        certs.validate_supplied(b"hello", pair.key_pem, SPEC.names)


# -- the certificate step on this machine ---------------------------------------------------


def _step(tmp_path: Path, **over: object) -> Step:
    inputs: dict[str, object] = {
        "kind": "lb_cert",
        "cn": "apim.example.com",
        "san": ["apim.example.com"],
        "days": 365,
        "key_bits": 2048,
        "cert": str(tmp_path / "ssl" / "lb.crt"),
        "key": str(tmp_path / "ssl" / "lb.key"),
    }
    inputs.update(over)
    return Step("lb:certificate:lb", "certificate", "lb", "LB cert", inputs)


def _ctx(tmp_path: Path) -> RunContext:
    t = LocalTransport()
    return RunContext(session_id="s1", transport=lambda h: t, session_dir=str(tmp_path / "sess"))


def test_certificate_step_writes_0600_key_then_is_unchanged(tmp_path: Path) -> None:
    h, ctx, step = HANDLERS["certificate"], _ctx(tmp_path), _step(tmp_path, issuer="ca")
    before = h.check(step, ctx)
    assert not before.satisfied and "no certificate/key" in before.message
    assert not (tmp_path / "sess" / "ca").exists()  # a check changes nothing, not even the CA
    h.apply(step, ctx)
    key = tmp_path / "ssl" / "lb.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "ssl" / "lb.crt").read_bytes())
    ca_cert = x509.load_pem_x509_certificate((tmp_path / "sess" / "ca" / "ca.crt").read_bytes())
    assert cert.issuer == ca_cert.subject
    after = h.check(step, ctx)
    assert after.satisfied and after.message.startswith("unchanged: CN=apim.example.com")
    # a new name makes it due again; the old pair is kept as the session backup
    wider = _step(tmp_path, issuer="ca", san=["apim.example.com", "gw.example.com"])
    due = h.check(wider, ctx)
    assert not due.satisfied and "does not cover gw.example.com" in due.message
    h.apply(wider, ctx)
    assert (tmp_path / "ssl" / "lb.crt.carbon-wizard-s1.bak").read_bytes() == cert.public_bytes(
        serialization.Encoding.PEM
    )
    assert h.check(wider, ctx).satisfied


def test_certificate_step_repairs_a_readable_key(tmp_path: Path) -> None:
    h, ctx, step = HANDLERS["certificate"], _ctx(tmp_path), _step(tmp_path)
    h.apply(step, ctx)
    (tmp_path / "ssl" / "lb.key").chmod(0o644)
    out = h.check(step, ctx)
    assert not out.satisfied and "mode 644, not 600" in out.message


def test_certificate_step_with_admin_pair_validates_it(tmp_path: Path) -> None:
    good = _custom(
        ["apim.example.com", "apim.example.com"], not_before=NOW, not_after=NOW + dt.timedelta(30)
    )
    (tmp_path / "mine.crt").write_bytes(good.cert_pem)
    (tmp_path / "mine.key").write_bytes(good.key_pem)
    h, ctx = HANDLERS["certificate"], _ctx(tmp_path)
    step = _step(
        tmp_path,
        source="provided",
        provided_cert=str(tmp_path / "mine.crt"),
        provided_key=str(tmp_path / "mine.key"),
    )
    h.apply(step, ctx)
    assert (tmp_path / "ssl" / "lb.crt").read_bytes() == good.cert_pem
    assert h.check(step, ctx).satisfied
    bad = _step(
        tmp_path,
        san=["apim.example.com", "gw.example.com"],
        source="provided",
        provided_cert=str(tmp_path / "mine.crt"),
        provided_key=str(tmp_path / "mine.key"),
    )
    with pytest.raises(WizardError, match="does not cover gw.example.com"):
        h.check(bad, ctx)
    with pytest.raises(WizardError, match="does not cover gw.example.com"):
        h.apply(bad, ctx)
    (tmp_path / "ssl" / "lb.crt").unlink()  # nothing installed yet: still validated first
    with pytest.raises(WizardError, match="does not cover gw.example.com"):
        h.check(bad, ctx)


def test_keytool_password_files_are_never_atomic_writes(tmp_path) -> None:
    """Atomic writes are journaled with the sha256 of their bytes (for rollback): a
    password file written that way would leave the password's hash in the journal."""
    from wizard.changes import Recorder
    from wizard.connectors.keytool import Keytool
    from wizard.connectors.local import LocalTransport

    recorder = Recorder()
    keytool = Keytool(recorder.wrap(LocalTransport(), "local"), None)
    with keytool.secret_files("s3cret-one", "s3cret-two") as paths:
        assert [Path(p).read_text() for p in paths] == ["s3cret-one\n", "s3cret-two\n"]
        assert all(Path(p).stat().st_mode & 0o777 == 0o600 for p in paths)
    assert recorder.changes == [] and not any(Path(p).exists() for p in paths)
