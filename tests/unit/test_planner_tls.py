"""LB certificate source/issuer and NGINX listen options reach the plan (REQUESTS R9)."""

from __future__ import annotations

from pathlib import Path

import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.planning.build import plan


def _plan_with_lb(**lb: object):
    data = yaml.safe_load(example_yaml("apim-active-passive"))
    data["lb"].update(lb)
    answers, pattern = parse_answers(yaml.safe_dump(data))
    return {s.kind + ":" + s.id: s for s in plan(answers, pattern).steps}


def _step(steps: dict, kind: str):
    return next(s for k, s in steps.items() if k.startswith(kind + ":"))


def test_default_lb_cert_is_self_signed_and_generated() -> None:
    cert = _step(_plan_with_lb(), "certificate")
    assert cert.inputs["issuer"] == "self" and "source" not in cert.inputs
    assert "self-signed" in cert.description


def test_wizard_ca_and_listen_address(tmp_path: Path) -> None:
    steps = _plan_with_lb(issuer="ca", listen_address="192.0.2.20", redirect_http=True)
    assert _step(steps, "certificate").inputs["issuer"] == "ca"
    lb = _step(steps, "load_balancer").inputs
    assert lb["listen_address"] == "192.0.2.20" and lb["redirect_http"] is True


def test_admin_supplied_certificate(tmp_path: Path) -> None:
    crt, key = tmp_path / "lb.crt", tmp_path / "lb.key"
    crt.write_text("x")
    key.write_text("y")
    cert = _step(_plan_with_lb(cert_file=str(crt), key_file=str(key)), "certificate")
    assert cert.inputs["source"] == "provided"
    assert cert.inputs["provided_cert"] == str(crt) and cert.inputs["provided_key"] == str(key)
    assert str(crt) in cert.description


def test_certificate_without_key_is_refused(tmp_path: Path) -> None:
    import pytest

    from wizard.errors import WizardError

    crt = tmp_path / "lb.crt"
    crt.write_text("x")
    with pytest.raises(WizardError, match="cert_file and lb.key_file"):
        _plan_with_lb(cert_file=str(crt))
