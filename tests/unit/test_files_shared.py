"""The file steps of many nodes that apply the same edits to the same stock file: the
edit engine runs once per run for them and each step still reports and writes its own
file, with its own host and path in the diff (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.connectors.local import LocalTransport
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps import files
from wizard.steps.files import FileEditHandler

STOCK = b"""<?xml version="1.0" encoding="UTF-8"?>
<Server xmlns="http://wso2.org/projects/carbon/carbon.xml">
    <HostName>localhost</HostName>
    <Ports>
        <Offset>0</Offset>
    </Ports>
</Server>
"""


def _step(host: str, home: Path, offset: str = "1") -> Step:
    return Step(
        f"{host}:file_edit:repository/conf/carbon.xml",
        "file_edit",
        host,
        "carbon.xml",
        {
            "path": f"{home}/repository/conf/carbon.xml",
            "file": "repository/conf/carbon.xml",
            "edits": [
                {"op": "set", "locator": "/c:Server/c:HostName", "value": "apim.example.com"},
                {"op": "set", "locator": "/c:Server/c:Ports/c:Offset", "value": offset},
            ],
        },
    )


def _home(root: Path, name: str) -> Path:
    conf = root / name / "repository/conf"
    conf.mkdir(parents=True)
    (conf / "carbon.xml").write_bytes(STOCK)
    return root / name


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = files.apply_edits

    def apply_edits(path: str, *args: object, **kwargs: object) -> object:
        calls.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "apply_edits", apply_edits)
    return calls


def test_same_edits_of_the_same_bytes_run_once_and_keep_their_own_host(
    tmp_path: Path, counted: list[str]
) -> None:
    t = LocalTransport()
    ctx = RunContext(session_id="s1", transport=lambda host: t)
    handler = FileEditHandler()
    steps = [_step(f"node{i}", _home(tmp_path, f"h{i}")) for i in range(3)]

    checks = [handler.check(s, ctx) for s in steps]
    assert len(counted) == 1  # one engine run for three nodes
    for step, out in zip(steps, checks, strict=True):
        assert not out.satisfied
        path = step.inputs["path"]
        assert out.diff.startswith(f"--- {step.host}:{path}\n+++ {step.host}:{path}\n@@")
        assert "+    <HostName>apim.example.com</HostName>" in out.diff
    assert checks[1].diff.split("\n", 2)[2] == checks[0].diff.split("\n", 2)[2]

    for s in steps:
        assert handler.apply(s, ctx).message == "changed"
        assert handler.check(s, ctx).satisfied
        written = Path(s.inputs["path"]).read_bytes()
        assert b"<HostName>apim.example.com</HostName>" in written
        assert Path(s.inputs["path"] + ".carbon-wizard-s1.bak").read_bytes() == STOCK
    assert len(counted) == 1


def test_other_edits_or_other_bytes_are_computed_on_their_own(
    tmp_path: Path, counted: list[str]
) -> None:
    t = LocalTransport()
    ctx = RunContext(session_id="s1", transport=lambda host: t)
    handler = FileEditHandler()
    a = _step("node1", _home(tmp_path, "h1"), offset="1")
    b = _step("node2", _home(tmp_path, "h2"), offset="2")  # other edits
    c_home = _home(tmp_path, "h3")
    (c_home / "repository/conf/carbon.xml").write_bytes(STOCK.replace(b"localhost", b"node3"))
    c = _step("node3", c_home, offset="1")  # other bytes
    outs = [handler.check(s, ctx) for s in (a, b, c)]
    assert len(counted) == 3
    assert "+        <Offset>2</Offset>" in outs[1].diff
    assert "-    <HostName>node3</HostName>" in outs[2].diff
