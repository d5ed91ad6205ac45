"""A product zip on the wizard's machine (wizard/connectors/packzip.py) and the survey of a
missing home from it (wizard/planning/homefacts.pack_homes): the facts of the home it
would make are the facts of that home unpacked, so the plans are the same."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.local import LocalTransport
from wizard.connectors.packzip import open_pack
from wizard.errors import WizardError
from wizard.lab.pack import FILES_DIR
from wizard.lab.packs import zip_home
from wizard.plan import Plan
from wizard.planning.build import plan, survey_files
from wizard.planning.homefacts import Facts, HomeFacts, read_home
from wizard.planning.homefacts import pack_homes as pack_facts
from wizard.planning.layout import product_problem


@pytest.fixture
def zip_path(tmp_path: Path) -> Path:
    return zip_home(FILES_DIR, tmp_path / "wso2am-2.6.0.zip", "wso2am-2.6.0")


def test_a_product_zip_is_read_once_with_its_top_folder(zip_path: Path) -> None:
    pack = open_pack(str(zip_path))
    assert open_pack(str(zip_path)) is pack  # the same file: hashed once per process
    assert pack.top == "wso2am-2.6.0" and pack.name == "wso2am-2.6.0.zip"
    assert pack.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    files = [p for p in FILES_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert pack.unpacked == sum(p.stat().st_size for p in files)
    view = pack.view("/opt/x/wso2am-2.6.0")
    assert "master-datasources.xml" in view.listdir(
        "/opt/x/wso2am-2.6.0/repository/conf/datasources"
    )
    carbon = "/opt/x/wso2am-2.6.0/repository/conf/carbon.xml"
    assert view.read(carbon) == (FILES_DIR / "repository/conf/carbon.xml").read_bytes()
    assert view.stat(carbon).size == len(view.read(carbon))
    assert not view.stat("/opt/x/wso2am-2.6.0/nothing").exists
    assert not view.stat("/elsewhere/repository/conf/carbon.xml").exists


def _zip(path: Path, names: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in names.items():
            z.writestr(name, data)
    return path


CARBON = b"<Server xmlns='http://wso2.org/projects/carbon/carbon.xml'/>"


@pytest.mark.parametrize(
    ("names", "words"),
    [
        ({"a/repository/conf/carbon.xml": CARBON, "b/x": b""}, "one top folder"),
        ({"readme.txt": b"", "a/repository/conf/carbon.xml": CARBON}, "one top folder"),
        ({"a/../../etc/passwd": b"", "a/repository/conf/carbon.xml": CARBON}, "outside its folder"),
        ({"a/bin/wso2server.sh": b""}, "not a WSO2 Carbon product zip"),
    ],
)
def test_a_zip_that_is_not_a_product_pack_is_refused_naming_the_field(
    tmp_path: Path, names: dict[str, bytes], words: str
) -> None:
    path = _zip(tmp_path / "bad.zip", names)
    with pytest.raises(WizardError) as info:
        open_pack(str(path))
    assert words in info.value.what and info.value.where.field == "product.pack"
    assert info.value.fix


def test_a_missing_or_broken_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as info:
        open_pack(str(tmp_path / "nope.zip"))
    assert "cannot be read" in info.value.what and info.value.exit_code == 2
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(WizardError, match="not a zip file"):
        open_pack(str(tmp_path / "text.zip"))


def _answers(home: str, pack: str | None, pattern: str = "apim-active-passive"):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(example_yaml(pattern))
    data["product"]["home"] = home
    if pack:
        data["product"]["pack"] = pack
    return parse_answers(yaml.safe_dump(data))


def test_a_missing_home_is_read_from_the_zip_and_planned_like_an_unpacked_one(
    tmp_path: Path, zip_path: Path
) -> None:
    unpacked = tmp_path / "unpacked" / "wso2am-2.6.0"
    shutil.copytree(FILES_DIR, unpacked)
    missing = str(tmp_path / "missing" / "wso2am-2.6.0")
    a_zip, pattern = _answers(missing, str(zip_path))
    a_home, _ = _answers(str(unpacked), str(zip_path))
    t = LocalTransport()

    def survey(answers) -> Facts:  # type: ignore[no-untyped-def]
        files = survey_files(answers, pattern)
        homes = {n: read_home(t, n, h, extra) for n, (h, extra) in files.items()}
        homes.update(pack_facts(answers.product.pack, files, homes))
        return Facts(homes)

    from_zip, from_home = survey(a_zip), survey(a_home)
    for node, facts in from_zip.homes.items():
        assert facts.pack == str(zip_path) and facts.present
        assert facts.files == from_home.homes[node].files
        assert from_home.homes[node].pack is None

    def text(p: Plan, home: str) -> str:  # the same but for the home's path
        return json.dumps([{**s.to_dict(), "fingerprint": ""} for s in p.steps]).replace(home, "H")

    zip_plan = text(plan(a_zip, pattern, from_zip), missing)
    assert zip_plan == text(plan(a_home, pattern, from_home), str(unpacked))
    assert '"kind": "pack"' in zip_plan
    assert "stock pack is assumed" not in str(plan(a_zip, pattern, from_zip).notes)


def test_a_zip_of_another_version_is_what_the_version_check_names(tmp_path: Path) -> None:
    root = tmp_path / "home"
    shutil.copytree(FILES_DIR, root)
    carbon = root / "repository/conf/carbon.xml"
    carbon.write_text(
        carbon.read_text().replace("<Version>2.6.0</Version>", "<Version>2.5.0</Version>")
    )
    path = zip_home(root, tmp_path / "wso2am-2.5.0.zip", "wso2am-2.5.0")
    answers, pattern = _answers("/opt/none/wso2am-2.6.0", str(path), "apim-all-in-one")
    files = survey_files(answers, pattern)
    homes = {n: HomeFacts(n, h) for n, (h, _) in files.items()}  # nothing on the hosts
    found = pack_facts(str(path), files, homes)
    node = {"name": answers.nodes[0].name, "role": answers.nodes[0].role,
            "home": "/opt/none/wso2am-2.6.0"}  # fmt: skip
    err = product_problem(pattern, node, {"product": {"version": "2.6.0"}, "node": node},
                          found[node["name"]])  # fmt: skip
    assert err is not None and "2.5.0" in err.what and str(path) in err.what
    assert err.where.field == "product.pack"
