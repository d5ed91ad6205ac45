"""Glob file edits (OBK-E33) through the local transport: every hit replaced, files
without a hit untouched, one backup per changed file, a re-run changes nothing."""

from __future__ import annotations

from pathlib import Path

from wizard.connectors.local import LocalTransport
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps.files import FileEditHandler


def _step(root: Path) -> Step:
    return Step(
        "apim:file_edit:apis",
        "file_edit",
        "apim",
        "replace KM endpoint",
        {
            "path": f"{root}/repository/resources/finance/apis/**/*.xml",
            "file": "repository/resources/finance/apis/**/*.xml",
            "glob": True,
            "edits": [{"op": "replace_text", "locator": "localhost:9443", "value": "km.lb:8443"}],
        },
    )


def test_glob_replace_every_hit_and_idempotent(tmp_path: Path) -> None:
    apis = tmp_path / "repository/resources/finance/apis"
    (apis / "accounts").mkdir(parents=True)
    (apis / "payments/v2").mkdir(parents=True)
    hit1 = apis / "accounts/in.xml"
    hit2 = apis / "payments/v2/in.xml"
    miss = apis / "payments/other.xml"
    hit1.write_text('<sequence><call uri="https://localhost:9443/token"/></sequence>\n')
    hit2.write_text("<a>https://localhost:9443/x https://localhost:9443/y</a>\n")
    miss.write_text("<a>nothing here</a>\n")
    t = LocalTransport()
    ctx = RunContext(session_id="s1", transport=lambda host: t)
    handler, step = FileEditHandler(), _step(tmp_path)

    before = handler.check(step, ctx)
    assert not before.satisfied and "2 file(s)" in before.message
    assert "+<a>https://km.lb:8443/x https://km.lb:8443/y</a>" in before.diff

    handler.apply(step, ctx)
    assert "km.lb:8443/token" in hit1.read_text()
    assert hit2.read_text().count("km.lb:8443") == 2
    assert miss.read_text() == "<a>nothing here</a>\n"
    assert (apis / "accounts/in.xml.carbon-wizard-s1.bak").exists()
    assert not (apis / "payments/other.xml.carbon-wizard-s1.bak").exists()
    assert handler.check(step, ctx).satisfied


def test_glob_with_no_file_is_satisfied_and_says_so(tmp_path: Path) -> None:
    t = LocalTransport()
    ctx = RunContext(session_id="s1", transport=lambda host: t)
    out = FileEditHandler().check(_step(tmp_path), ctx)
    assert out.satisfied and "no occurrence" in out.message
