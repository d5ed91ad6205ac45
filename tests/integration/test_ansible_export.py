"""`carbon-wizard export ansible` on a lab of its own, for apim-active-passive: the exported
project, run by the real ansible-playbook over the lab's sshd hosts, leaves every file on
every host byte for byte as `carbon-wizard apply` leaves it from the same stock homes;
`--check --diff` on fresh homes shows the diffs and changes nothing; a second run reports
changed=0; the nodes come up ready; no secret is in the export or in Ansible's output.
(apim-all-in-one, --limit/--tags and a home changed since the export: in
test_ansible_export_more.py, a lab of its own, so that the two files run side by side.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .ansible_site import playbook_does_what_apply_does

pytestmark = pytest.mark.lab

LAB_HOSTS = 4


def test_exported_playbook_does_what_apply_does_active_passive(
    own_lab: dict[str, Any], tmp_path: Path, control_dir: Path
) -> None:
    playbook_does_what_apply_does(own_lab, tmp_path, control_dir, "apim-active-passive")
