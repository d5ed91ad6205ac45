"""The lab's DNS names (wizard/lab/answers.py): its folder's name as one DNS label under
the reserved ``.test`` TLD, valid whatever characters mkdtemp put in the folder's name."""

from __future__ import annotations

import pytest

from wizard.lab.answers import lab_domain, lab_names


@pytest.mark.parametrize(
    ("folder", "domain"),
    [
        ("/tmp/cw-lab-x1y2", "cw-lab-x1y2.test"),
        ("/tmp/cw-lab-vi5uhve_", "cw-lab-vi5uhve.test"),  # mkdtemp's suffix ends with "_"
        ("/tmp/cw-lab-ab__c_d/", "cw-lab-ab-c-d.test"),  # a run of "_" is one "-"
        ("/tmp/CW_Lab", "cw-lab.test"),
        ("/tmp/___", "cw-lab.test"),  # nothing left: a name all the same
        ("/tmp/" + "a" * 80, "a" * 63 + ".test"),  # a label holds at most 63 characters
    ],
)
def test_the_lab_domain_is_a_valid_dns_label(folder: str, domain: str) -> None:
    assert lab_domain({"dir": folder}) == domain


def test_the_lab_names_are_under_its_domain() -> None:
    names = lab_names({"dir": "/tmp/cw-lab-k9_"})
    assert names == {"lb": "apim.cw-lab-k9.test", "db": "mysql.cw-lab-k9.test"}
