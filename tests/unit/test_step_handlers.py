"""The step handlers by kind: the table of modules is the modules' own, and a module is
imported only when one of its kinds is asked for."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from wizard.steps import KINDS, MODULES, handlers
from wizard.steps.pack import AfterPack


def test_kinds_name_the_module_whose_handlers_have_them() -> None:
    exported = {
        kind: module
        for module in MODULES
        for kind in importlib.import_module(f"wizard.steps.{module}").HANDLERS
    }
    assert exported == KINDS


def test_handlers_act_as_a_mapping_and_wrap_as_before() -> None:
    found = handlers()
    assert set(found) == set(KINDS) and len(found) == len(KINDS)
    assert "file_edit" in found and "nonsense" not in found
    assert found.get("nonsense") is None
    with pytest.raises(KeyError):
        found["nonsense"]
    assert isinstance(found["file_edit"], AfterPack)  # check mode knows homes to unpack
    assert not isinstance(found["pack"], AfterPack) and not isinstance(
        found["stop_node"], AfterPack
    )
    assert found["file_edit"] is found["file_edit"]  # loaded once


def test_a_module_loads_when_its_kind_is_asked_for() -> None:
    code = (
        "import sys\n"
        "from wizard.steps import handlers\n"
        "h = handlers().load(['file_edit', 'hosts_entry'])\n"
        "print('tls' , 'wizard.steps.tls' in sys.modules, 'cryptography.x509' in sys.modules)\n"
        "h['certificate']\n"
        "print('tls', 'wizard.steps.tls' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["tls False False", "tls True"]
