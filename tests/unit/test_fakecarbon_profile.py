"""Profiles (docs/fake-carbon.md D2): the fake bin/profileSetup.sh does to a home what
product-apim v2.6.0's does, and the wizard's profile step runs it once, verified."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.connectors.local import LocalTransport
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.lab import pack
from wizard.lab.localnode import java_home
from wizard.plan import Step
from wizard.steps.profile import ProfileHandler, still_enabled

DEPLOY = "repository/deployment/server"
AM = "repository/conf/api-manager.xml"
AXIS2 = "repository/conf/axis2/axis2.xml"
REG = "repository/conf/registry.xml"

# v2.6.0 profileSetup.sh L135-289: what each profile leaves
KEEP = {
    "api-key-manager": (
        {"DataPublisher", "JMSConnectionDetails", "PolicyDeployer"}, True, False, True,
        {"oauth2.war", "authenticationendpoint.war", "throttle#data#v1.war",
         "client-registration#v0.14.war", "api#identity#consent-mgt#v1.0.war"},
        set(),
    ),
    "api-publisher": (
        {"DataPublisher", "JMSConnectionDetails"}, True, False, False,
        {"api#am#publisher#v0.14.war"}, {"admin", "publisher"},
    ),
    "api-store": (
        {"DataPublisher", "JMSConnectionDetails", "PolicyDeployer"}, True, False, False,
        {"api#am#store#v0.14.war"}, {"store"},
    ),
    "traffic-manager": (set(), True, True, True, set(), set()),
    "gateway-worker": (
        {"PolicyDeployer"}, False, True, False, {"am#sample#pizzashack#v1.war"}, set(),
    ),
}  # fmt: skip
BLOCKS = ("DataPublisher", "JMSConnectionDetails", "PolicyDeployer")


@pytest.fixture(scope="module")
def keystores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if java_home() is None:
        pytest.skip("keytool (a JDK) is not installed")
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home())
    return folder


@pytest.fixture()
def home(tmp_path: Path, keystores: Path) -> Path:
    if shutil.which("xmllint") is None:
        pytest.skip("xmllint (libxml2-utils) is not installed")
    return pack.install_pack(tmp_path / pack.PRODUCT_DIRNAME, keystores=keystores)


def optimise(home: Path, profile: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["sh", str(home / "bin/profileSetup.sh"), f"-Dprofile={profile}"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    return proc.stdout + proc.stderr


def enabled(home: Path) -> dict[str, bool]:
    text = (home / AM).read_text()
    out = {}
    for tag in BLOCKS:
        block = text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]
        out[tag] = "<Enabled>true</Enabled>" in block
    return out


@pytest.mark.parametrize("profile", list(KEEP))
def test_profile_setup_does_what_the_2_6_0_script_does(home: Path, profile: str) -> None:
    disabled, senders, indexing, synapse, webapps, jaggery = KEEP[profile]
    out = optimise(home, profile)
    assert out.splitlines()[-1] == "Finished the optimizations"
    assert enabled(home) == {tag: tag not in disabled for tag in BLOCKS}
    axis2 = (home / AXIS2).read_text(encoding="iso-8859-1")
    live = '\n    <transportSender name="ws" class="org.wso2.carbon.websocket'
    assert (live not in axis2) == senders
    if senders:  # every line of the block wrapped in a comment, as sed does
        assert (
            '<!--    <transportSender name="wss" class="org.wso2.carbon.websocket.transport.'
            in axis2
        )
        assert (
            "<!--            <ws.trust.store.Password>wso2carbon</ws.trust.store.Password>-->"
            in axis2
        )
    reg = (home / REG).read_bytes()
    assert (b"<startIndexing>false</startIndexing>\r\n" in reg) == indexing  # CRLF kept
    default = home / DEPLOY / "synapse-configs/default"
    inbound = default / "inbound-endpoints" / "WebSocketInboundEndpoint.xml"
    assert inbound.exists() == (not senders)
    names = sorted(p.name for p in default.iterdir())
    assert (names == ["synapse.xml"]) == synapse
    assert {p.name for p in (home / DEPLOY / "webapps").iterdir()} == webapps
    assert {p.name for p in (home / DEPLOY / "jaggeryapps").iterdir()} == jaggery
    # run again: nothing more to do on its own result
    before = {p: p.stat().st_mtime_ns for p in (home / AM, home / AXIS2, home / REG)}
    again = optimise(home, profile)
    assert " INFO - " not in again
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_a_second_run_undoes_later_changes(home: Path) -> None:
    """Why the wizard optimises once, before its own edits: a re-run re-disables flags and
    deletes again what was put back (v2.6.0's sed and rm are unconditional on a match)."""
    optimise(home, "api-store")
    text = (home / AM).read_text()
    (home / AM).write_text(text.replace("<Enabled>false</Enabled>", "<Enabled>true</Enabled>", 1))
    (home / DEPLOY / "jaggeryapps/publisher").mkdir()
    out = optimise(home, "api-store")
    assert "Disabled the <DataPublisher> from api-manager.xml file" in out
    assert not (home / DEPLOY / "jaggeryapps/publisher").exists()


def test_without_xmllint_the_flags_stay_and_the_deletions_happen(
    home: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "dirname", "python3"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    out = optimise(home, "api-key-manager", env={"PATH": str(bin_dir)})
    assert "profileSetup.sh: 33: xmllint: not found" in out
    assert enabled(home) == dict.fromkeys(BLOCKS, True)
    assert not any((home / DEPLOY / "jaggeryapps").iterdir())
    assert "Finished the optimizations" in out


def test_an_unknown_profile_changes_nothing(home: Path) -> None:
    out = optimise(home, "gateway-manager")  # 2.6.0 has none (2.0.0 had)
    assert out.strip() == "Profile is not specifed properly, please try again"
    assert enabled(home) == dict.fromkeys(BLOCKS, True)


def test_wso2server_optimize_runs_it_and_a_plain_profile_does_not(home: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(java_home())}
    script = str(home / "bin/wso2server.sh")
    out = subprocess.run([script, "--optimize", "-Dprofile=api-store", "version"], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
    assert "Starting to optimize API Manager for the Developer Portal (API Store) profile" in out
    assert "Starting the server..." in out
    (home / DEPLOY / "jaggeryapps/admin").mkdir()
    out = subprocess.run([script, "-Dprofile=api-store", "version"], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
    assert "optimize" not in out and (home / DEPLOY / "jaggeryapps/admin").is_dir()


# ------------------------------------------------------------------ the wizard's step


def step(home: Path, profile: str) -> Step:
    return Step(
        "km:profile", "profile", "km", "optimise",
        {"home": str(home), "profile": profile, "script": f"{home}/bin/profileSetup.sh",
         "marker": f"{home}/.carbon-wizard-profile"},
    )  # fmt: skip


def test_the_profile_step_optimises_once_and_knows_it_by_its_marker(home: Path) -> None:
    ctx = RunContext(transport=lambda _h: LocalTransport())
    handler = ProfileHandler()
    s = step(home, "api-key-manager")
    assert not handler.check(s, ctx).satisfied
    done = handler.apply(s, ctx)
    assert done.satisfied and "api-key-manager" in done.message
    assert handler.check(s, ctx).satisfied
    assert (home / ".carbon-wizard-profile").read_text().splitlines()[-1] == (
        "profile=api-key-manager"
    )
    assert enabled(home) == dict.fromkeys(BLOCKS, False)
    # another profile on the same home: an error, never a second optimisation
    other = step(home, "api-store")
    assert not handler.check(other, ctx).satisfied
    with pytest.raises(WizardError, match="was optimised for the api-key-manager profile"):
        handler.apply(other, ctx)


def test_the_profile_step_refuses_a_host_without_xmllint(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "dirname", "python3"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    ctx = RunContext(transport=lambda _h: LocalTransport())
    with pytest.raises(WizardError) as err:
        ProfileHandler().apply(step(home, "gateway-worker"), ctx)
    assert "xmllint is not installed" in err.value.what
    assert "libxml2-utils" in (err.value.fix or "")
    assert not (home / ".carbon-wizard-profile").exists()
    assert (home / DEPLOY / "jaggeryapps/store").is_dir()  # nothing ran


def test_what_a_run_left_enabled_is_found_in_the_files(home: Path) -> None:
    files = {rel: (home / rel).read_bytes() for rel in (AM, AXIS2, REG)}
    left = still_enabled("gateway-worker", files)
    assert left == [f"<PolicyDeployer><Enabled> in {AM}", f"<startIndexing> in {REG}"]
    assert len(still_enabled("api-key-manager", files)) == 5  # 3 flags, ws and wss
    optimise(home, "gateway-worker")
    files = {rel: (home / rel).read_bytes() for rel in (AM, AXIS2, REG)}
    assert still_enabled("gateway-worker", files) == []
