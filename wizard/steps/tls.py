"""``certificate`` and ``truststore`` steps: LB certificate, node keystore, trust stores.

- ``certificate`` / ``lb_cert``: key + certificate for the LB names (``cryptography`` on
  this machine), self-signed or issued by the session CA (``<session dir>/ca``, its key
  never leaves this machine), or the admin's own pair, validated. Key 0600 on the LB.
- ``certificate`` / ``keystore``: a new JKS key pair made by the real keytool on the first
  node, and its certificate exported as PEM next to it (CHECKLIST C5.1-2).
- ``truststore``: the same .jks copied to every node (C5.4) and the certificate imported
  into each node's client-truststore.jks under its alias (C5.3, OBK-C02).

Passwords come from secret tokens in the inputs, resolved only in memory; keytool gets
them through 0600 files (see :mod:`wizard.connectors.keytool`). Stores are backed up once
per session (``<store>.carbon-wizard-<session>.bak``) before they change.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import secrets
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wizard.connectors import certs
from wizard.connectors.base import Transport, Written
from wizard.connectors.keytool import Keytool, WrongStorePassword
from wizard.errors import WizardError, bad_input, step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.secretrefs import has_token, substitute
from wizard.steps.files import backup_suffix


def _secret(value: str | None, ctx: RunContext, what: str) -> str:
    if not value:
        raise bad_input(f"no {what} in the plan", fix=f"set {what} in the answers")
    return substitute(value, ctx.secret) if has_token(value) else value


def _backup(t: Transport, path: str, session_id: str) -> None:
    """Copy ``path`` to its session backup once (keeps the first, pre-wizard state)."""
    bak = path + backup_suffix(session_id)
    if t.exists(path) and not t.exists(bak):
        t.write_atomic(bak, t.read(path), mode=t.stat(path).perm)


def _java_home(step: Step, ctx: RunContext) -> str | None:
    value = step.inputs.get("java_home") or ctx.java_home
    return str(value) if value else None


# -- LB certificate -------------------------------------------------------------------------


def _spec(inputs: dict[str, Any]) -> certs.CertSpec:
    return certs.CertSpec(
        cn=inputs["cn"],
        san=list(inputs.get("san") or []),
        days=int(inputs.get("days", 365)),
        key_bits=int(inputs.get("key_bits", 2048)),
    )


def _session_ca(ctx: RunContext, *, create: bool = True) -> certs.KeyPair | None:
    """The session CA; with ``create=False`` (checks) None when it is not made yet."""
    where = ctx.session_dir
    if not where:
        raise step_failed(
            "the LB certificate is to be issued by the wizard CA, but this run has no "
            "session directory to keep the CA in",
            fix="run through 'carbon-wizard run' (which opens a session), or use issuer: self",
        )
    folder = Path(where) / "ca"
    if not create and not (folder / "ca.crt").exists():
        return None
    return certs.load_or_create_ca(folder)


def _supplied(inputs: dict[str, Any], spec: certs.CertSpec) -> certs.KeyPair:
    cert_file, key_file = inputs["provided_cert"], inputs["provided_key"]
    try:
        cert_pem, key_pem = Path(cert_file).read_bytes(), Path(key_file).read_bytes()
    except OSError as exc:
        raise bad_input(
            f"cannot read {exc.filename}: {exc.strerror}",
            fix="check lb certificate/key paths in the answers (files on this machine)",
            file=str(exc.filename),
        ) from exc
    certs.validate_supplied(
        cert_pem, key_pem, spec.names, cert_source=cert_file, key_source=key_file
    )
    return certs.KeyPair(key_pem, cert_pem)


class LbCertificate:
    def _state(self, step: Step, ctx: RunContext) -> tuple[list[str], str]:
        """(reasons to (re)write, a one-line description of what is there now)."""
        inputs, t = step.inputs, ctx.transport(step.host)
        spec = _spec(inputs)
        cert_path, key_path = inputs["cert"], inputs["key"]
        # the admin's own pair is validated first: a bad one fails the check already
        wanted = _supplied(inputs, spec) if inputs.get("source") == "provided" else None
        if not t.exists(cert_path) or not t.exists(key_path):
            return ["no certificate/key on the load balancer yet"], ""
        cert_pem, key_pem = t.read(cert_path), t.read(key_path)
        if wanted is not None:
            same = cert_pem == wanted.cert_pem and key_pem == wanted.key_pem
            reasons = [] if same else ["the installed pair is not the one given in the answers"]
        else:
            reasons = []
            ca = None
            if inputs.get("issuer") == "ca":
                ca = _session_ca(ctx, create=False)
                if ca is None:
                    reasons.append("the wizard CA is not made yet (made on apply)")
            reasons += certs.problems(cert_pem, key_pem, spec, ca=ca)
        if t.stat(key_path).perm & 0o077:
            reasons.append(f"the key file is mode {t.stat(key_path).perm:o}, not 600")
        try:
            now = certs.summary(certs.load_cert(cert_pem, cert_path))
        except WizardError:
            now = "not a certificate"
        return reasons, now

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        reasons, now = self._state(step, ctx)
        if not reasons:
            return Outcome(True, f"unchanged: {now}")
        spec = step.inputs
        new = f"+ certificate CN={spec['cn']} names={','.join(_spec(spec).names)}"
        diff = (f"- {now}\n" if now else "") + new + f" ({spec.get('issuer', 'self')})\n"
        return Outcome(False, f"will write {spec['cert']}: {'; '.join(reasons)}", diff)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        inputs, t = step.inputs, ctx.transport(step.host)
        spec = _spec(inputs)
        if inputs.get("source") == "provided":
            pair = _supplied(inputs, spec)
        else:
            ca = _session_ca(ctx) if inputs.get("issuer") == "ca" else None
            pair = certs.generate_cert(spec, ca)
        suffix = backup_suffix(ctx.session_id)
        for path in (inputs["key"], inputs["cert"]):
            t.mkdir_p(posixpath.dirname(path))
        t.write_atomic(inputs["key"], pair.key_pem, mode=certs.KEY_MODE, backup_suffix=suffix)
        t.write_atomic(inputs["cert"], pair.cert_pem, mode=0o644, backup_suffix=suffix)
        by = ""
        if inputs.get("issuer") == "ca" and inputs.get("source") != "provided":
            by = f", issued by the wizard CA {ctx.session_dir}/ca/ca.crt"
        return Outcome(True, f"wrote {inputs['cert']} and {inputs['key']} (0600){by}")


# -- node keystore (keytool on the first node) -----------------------------------------------


class NodeKeystore:
    def _state(self, step: Step, ctx: RunContext) -> list[str]:
        inputs, t = step.inputs, ctx.transport(step.host)
        store, alias = inputs["keystore"], inputs["alias"]
        if not t.exists(store):
            return [f"{store} does not exist"]
        kt = Keytool(t, _java_home(step, ctx))
        pw = _secret(inputs.get("password"), ctx, "keystore.password")
        try:
            pem = kt.export_pem(store, alias, pw)
        except WrongStorePassword:  # any other failure (keytool's JVM, the link) stops
            return ["the existing keystore does not open with the answers' password"]
        if pem is None:
            return [f"it has no entry {alias}"]
        cert = certs.load_cert(pem, store)
        reasons = _keystore_cert_problems(cert, inputs)
        kpw = _secret(inputs.get("key_password"), ctx, "keystore.key_password")
        if not reasons and not kt.key_usable(store, alias, pw, kpw):
            reasons.append("its key does not open with the answers' key password")
        pem_path = inputs.get("pem")
        if pem_path and (not t.exists(pem_path) or t.read(pem_path) != pem):
            reasons.append(f"{pem_path} is not its exported certificate")
        return reasons

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        reasons = self._state(step, ctx)
        if not reasons:
            return Outcome(True, f"unchanged: {step.inputs['keystore']}")
        i = step.inputs
        diff = f"+ {i['keystore']}: {i['alias']} CN={i['cn']} RSA {i.get('key_bits', 2048)}\n"
        return Outcome(False, f"will make a new keystore: {'; '.join(reasons)}", diff)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        inputs, t = step.inputs, ctx.transport(step.host)
        store, alias = inputs["keystore"], inputs["alias"]
        pw = _secret(inputs.get("password"), ctx, "keystore.password")
        kpw = _secret(inputs.get("key_password") or inputs.get("password"), ctx, "key password")
        kt = Keytool(t, _java_home(step, ctx))
        staged = posixpath.join(
            posixpath.dirname(store), f".{posixpath.basename(store)}.cw-new-{secrets.token_hex(4)}"
        )
        try:
            kt.genkeypair(
                staged, alias, cn=inputs["cn"], days=int(inputs.get("days", 825)),
                key_bits=int(inputs.get("key_bits", 2048)), password=pw, key_password=kpw,
            )  # fmt: skip
            data = t.read(staged)
            pem = kt.export_pem(staged, alias, pw)
        finally:
            t.run(["rm", "-f", "--", staged], timeout=30)
        if pem is None:
            raise step_failed(f"keytool made {store} without the entry {alias}", host=t.host)
        old = t.stat(store)
        t.write_atomic(
            store,
            data,
            mode=old.perm if old.exists else 0o600,
            backup_suffix=backup_suffix(ctx.session_id),
        )
        if inputs.get("pem"):
            t.write_atomic(inputs["pem"], pem, mode=0o644)
        return Outcome(True, f"new keystore {store} ({alias}, {certs.fingerprint_sha256(pem)})")


def _keystore_cert_problems(cert: x509.Certificate, inputs: dict[str, Any]) -> list[str]:
    out = []
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    if cn != inputs["cn"]:
        out.append(f"its certificate is for CN={cn}, not {inputs['cn']}")
    pub = cert.public_key()
    bits = int(inputs.get("key_bits", 2048))
    if not isinstance(pub, rsa.RSAPublicKey) or pub.key_size < bits:
        out.append(f"its key is not RSA {bits}")
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC) + dt.timedelta(days=certs.RENEW_DAYS):
        out.append(f"it ends {cert.not_valid_after_utc:%Y-%m-%d}")
    return out


class CertificateHandler:
    """Dispatches on ``inputs.kind``: ``lb_cert`` or ``keystore``."""

    kinds: dict[str, LbCertificate | NodeKeystore] = {
        "lb_cert": LbCertificate(),
        "keystore": NodeKeystore(),
    }

    def _for(self, step: Step) -> LbCertificate | NodeKeystore:
        kind = str(step.inputs.get("kind"))
        if kind not in self.kinds:
            raise step_failed(f"step {step.id}: unknown certificate kind {kind!r}")
        return self.kinds[kind]

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        return self._for(step).check(step, ctx)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        return self._for(step).apply(step, ctx)


# -- trust stores --------------------------------------------------------------------------


class TruststoreHandler:
    def _wanted(self, step: Step, ctx: RunContext) -> bytes:
        i = step.inputs
        src = ctx.transport(i["cert_host"])
        if not src.exists(i["cert_path"]):
            raise step_failed(
                f"the certificate to trust, {i['cert_path']}, is not on {i['cert_host']} yet",
                fix="run the certificate step first (it makes that file)",
                host=i["cert_host"],
                file=i["cert_path"],
            )
        pem = src.read(i["cert_path"])
        certs.load_cert(pem, f"{i['cert_host']}:{i['cert_path']}")
        return pem

    def _copy(self, step: Step, ctx: RunContext) -> tuple[bytes, str] | None:
        """(the shared keystore bytes, where they go) when this node still needs them."""
        c = step.inputs.get("copy_keystore")
        if not c or (c["from_host"] == step.host and c["from_path"] == c["to_path"]):
            return None
        data = ctx.transport(c["from_host"]).read(c["from_path"])
        t = ctx.transport(step.host)
        if t.exists(c["to_path"]) and t.read(c["to_path"]) == data:
            return None
        return data, c["to_path"]

    def _trust(self, step: Step, ctx: RunContext) -> tuple[str, bytes]:
        """("ok" | "import" | "replace", wanted PEM)."""
        i, t = step.inputs, ctx.transport(step.host)
        wanted = self._wanted(step, ctx)
        pw = _secret(i.get("password"), ctx, "truststore.password")
        have = Keytool(t, _java_home(step, ctx)).export_pem(i["truststore"], i["alias"], pw)
        if have is None:
            return "import", wanted
        if certs.fingerprint_sha256(have) == certs.fingerprint_sha256(wanted):
            return "ok", wanted
        if not i.get("replace", "copy_keystore" in i):
            raise step_failed(
                f"{i['truststore']} already trusts another certificate under alias {i['alias']} "
                f"({certs.fingerprint_sha256(have)[:23]}...)",
                fix="remove that entry, choose another alias, or allow replacing it in the "
                "answers (keystore.replace)",
                host=step.host,
                file=i["truststore"],
            )
        return "replace", wanted

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        i = step.inputs
        copy = self._copy(step, ctx)
        state, wanted = self._trust(step, ctx)
        lines = []
        if copy:
            lines.append(f"+ copy {i['copy_keystore']['from_host']}:{copy[1]} ({len(copy[0])} B)")
        if state != "ok":
            fp = certs.fingerprint_sha256(wanted)
            lines.append(f"+ {state} {i['alias']} in {i['truststore']} (sha256 {fp[:23]}...)")
        if not lines:
            return Outcome(True, f"unchanged: {i['alias']} trusted in {i['truststore']}")
        return Outcome(False, "; ".join(x[2:] for x in lines), "\n".join(lines) + "\n")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        done = []
        copy = self._copy(step, ctx)
        if copy:
            data, to_path = copy
            old = t.stat(to_path)
            t.write_atomic(
                to_path,
                data,
                mode=old.perm if old.exists else 0o600,
                backup_suffix=backup_suffix(ctx.session_id),
            )
            done.append(f"installed the shared keystore {to_path}")
        state, wanted = self._trust(step, ctx)
        if state != "ok":
            pw = _secret(i.get("password"), ctx, "truststore.password")
            kt = Keytool(t, _java_home(step, ctx))
            _backup(t, i["truststore"], ctx.session_id)
            if state == "replace":
                kt.delete(i["truststore"], i["alias"], pw)
            kt.import_pem(i["truststore"], i["alias"], wanted, pw)
            bak = i["truststore"] + backup_suffix(ctx.session_id)  # keytool wrote in place
            ctx.changed(step.host, Written(i["truststore"], True, bak), t.read(i["truststore"]))
            verb = "replaced" if state == "replace" else "imported"
            done.append(f"{verb} {i['alias']} in {i['truststore']}")
        return Outcome(True, "; ".join(done) or "unchanged")


HANDLERS = {"certificate": CertificateHandler(), "truststore": TruststoreHandler()}
