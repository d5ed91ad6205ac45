"""``profile`` steps: optimise a product home for its role's profile, once.

API Manager 2.6.0 splits roles with ``-Dprofile=X``. ``wso2server.sh --optimize
-Dprofile=X`` first runs ``bin/profileSetup.sh -Dprofile=X`` (product-apim v2.6.0
``startup-scripts/wso2server.sh`` L159-169), which rewrites api-manager.xml (the
``DataPublisher``/``JMSConnectionDetails``/``PolicyDeployer`` flags), comments out the
axis2.xml ``ws``/``wss`` senders, turns off registry.xml ``startIndexing`` and deletes the
synapse-configs, webapps and Jaggery apps the profile does not need; a plain
``-Dprofile=X`` start does not run it again. The guides optimise once, on the first start.

The wizard runs the script itself, without starting the node (``--optimize`` would start
it), before it checks or writes anything in that home, so that its edits are made to the
optimised files and never undone by a later optimisation; starts then pass
``-Dprofile=X`` only.

- check: the marker ``<home>/.carbon-wizard-profile`` the wizard writes after a successful
  run names this profile. A home optimised for another profile cannot be re-optimised
  (the files that profile deleted are gone): that is an error, not a change.
- apply: ``xmllint`` must be on the host (without it the real script silently leaves the
  api-manager.xml and registry.xml flags as they are); ``sh bin/profileSetup.sh
  -Dprofile=X`` must end with ``Finished the optimizations``; the flags it disables are
  verified in the files; then the marker is written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wizard.errors import step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.stepinputs import ProfileInputs, inputs

# What profileSetup.sh of 2.6.0 disables per profile (v2.6.0 L135-289): api-manager.xml
# ThrottlingConfigurations blocks, the axis2.xml ws/wss senders, registry.xml indexing.
EFFECTS: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "api-key-manager": (("DataPublisher", "JMSConnectionDetails", "PolicyDeployer"), True, False),
    "api-publisher": (("DataPublisher", "JMSConnectionDetails"), True, False),
    "api-store": (("DataPublisher", "JMSConnectionDetails", "PolicyDeployer"), True, False),
    "traffic-manager": ((), True, True),
    "gateway-worker": (("PolicyDeployer",), False, True),
}
API_MANAGER = "repository/conf/api-manager.xml"
AXIS2 = "repository/conf/axis2/axis2.xml"
REGISTRY = "repository/conf/registry.xml"
WS_SENDER = "org.wso2.carbon.websocket.transport.WebsocketTransportSender"
DONE_LINE = "Finished the optimizations"
XMLLINT_FIX = (
    "install xmllint on the host (Debian/Ubuntu: apt-get install libxml2-utils; "
    "RHEL/CentOS: yum install libxml2), then resume"
)


def marker_text(profile: str) -> str:
    return (
        f"# carbon-wizard: this home was optimised with bin/profileSetup.sh "
        f"-Dprofile={profile}\nprofile={profile}\n"
    )


def parse_marker(text: str) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key == "profile":
            return value.strip()
    return None


def _path(step: Step, rel: str) -> str:
    return f"{inputs(step, ProfileInputs)['home'].rstrip('/')}/{rel}"


def still_enabled(profile: str, files: dict[str, bytes]) -> list[str]:
    """What the profile's optimisation should have disabled and did not, in ``files``
    (relative path -> content; a missing file or element counts as disabled)."""
    blocks, senders, indexing = EFFECTS.get(profile, ((), False, False))
    left: list[str] = []
    am = _parse(files.get(API_MANAGER))
    for tag in blocks:
        blocks_found = am.iter(tag) if am is not None else iter(())
        flags = [flag for block in blocks_found for flag in block.findall("Enabled")]
        if any((flag.text or "").strip() == "true" for flag in flags):
            left.append(f"<{tag}><Enabled> in {API_MANAGER}")
    axis2 = _parse(files.get(AXIS2))
    if senders and axis2 is not None:
        for s in axis2.findall("./transportSender"):
            if s.get("class") == WS_SENDER:
                left.append(f'<transportSender name="{s.get("name")}"> in {AXIS2}')
    reg = _parse(files.get(REGISTRY))
    if indexing and reg is not None:
        if (reg.findtext("./indexingConfiguration/startIndexing") or "").strip() == "true":
            left.append(f"<startIndexing> in {REGISTRY}")
    return left


def _parse(data: bytes | None) -> ET.Element | None:
    if data is None:
        return None
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return None


class ProfileHandler:
    def _marker(self, step: Step, ctx: RunContext) -> str | None:
        t = ctx.transport(step.host)
        path = inputs(step, ProfileInputs)["marker"]
        if not t.exists(path):
            return None
        return parse_marker(t.read(path).decode("utf-8", "replace")) or "?"

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        want = inputs(step, ProfileInputs)["profile"]
        got = self._marker(step, ctx)
        if got == want:
            return Outcome(True, f"optimised for the {want} profile")
        if got is not None:
            return Outcome(False, f"optimised for {got}, not {want}: cannot be re-optimised")
        return Outcome(False, f"not optimised: would run bin/profileSetup.sh -Dprofile={want}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        want, home, script = (
            inputs(step, ProfileInputs)["profile"],
            inputs(step, ProfileInputs)["home"],
            inputs(step, ProfileInputs)["script"],
        )
        got = self._marker(step, ctx)
        if got is not None and got != want:
            raise step_failed(
                f"{home} was optimised for the {got} profile; the plan needs {want}, and the "
                "files the first optimisation deleted cannot be brought back",
                fix=f"unpack a fresh API Manager 2.6.0 at {home} (or give this node the "
                f"role whose profile is {got}), then resume",
                host=step.host,
                file=inputs(step, ProfileInputs)["marker"],
            )
        t = ctx.transport(step.host)
        if not t.exists(script):
            raise step_failed(
                f"{script} is missing: not an API Manager 2.6.0 home?",
                fix="point the node's home at an unpacked wso2am-2.6.0, then resume",
                host=step.host,
            )
        if not t.run("command -v xmllint", timeout=30).ok:
            raise step_failed(
                "xmllint is not installed: bin/profileSetup.sh reads api-manager.xml and "
                "registry.xml with it, and without it leaves their flags enabled silently",
                fix=XMLLINT_FIX,
                host=step.host,
            )
        # as wso2server.sh --optimize runs it (sh, the profile as the only argument), but
        # without starting the node
        res = t.run(["sh", script, f"-Dprofile={want}"], timeout=300)
        res.check(f"sh {script} -Dprofile={want}", host=step.host)
        if DONE_LINE not in res.out:
            tail = "\n".join(f"  {ln}" for ln in (res.out + res.err).strip().splitlines()[-5:])
            raise step_failed(
                f"bin/profileSetup.sh did not optimise {home} for {want}:\n{tail}",
                fix="check the profile name (2.6.0: api-key-manager, api-publisher, "
                "api-store, traffic-manager, gateway-worker) and the script, then resume",
                host=step.host,
            )
        files = {
            rel: t.read(_path(step, rel))
            for rel in (API_MANAGER, AXIS2, REGISTRY)
            if t.exists(_path(step, rel))
        }
        left = still_enabled(want, files)
        if left:
            hint = XMLLINT_FIX if "xmllint: not found" in res.err else (
                "disable them by hand (the layout of the file may differ from the stock "
                "one that profileSetup.sh edits with sed), then resume"
            )  # fmt: skip
            raise step_failed(
                f"bin/profileSetup.sh -Dprofile={want} left enabled: {'; '.join(left)}",
                fix=hint,
                host=step.host,
            )
        t.write_atomic(
            inputs(step, ProfileInputs)["marker"], marker_text(want).encode(), mode=0o644
        )
        done = sum(" INFO - " in ln for ln in res.out.splitlines())
        return Outcome(True, f"optimised for the {want} profile ({done} changes)")


HANDLERS = {"profile": ProfileHandler()}
