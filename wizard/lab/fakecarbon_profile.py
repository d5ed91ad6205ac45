#!/usr/bin/python3
"""The fake pack's ``bin/profileSetup.sh``: does to a home what API Manager 2.6.0's does.

Standard library only (copied into the product's ``bin/``; ``bin/profileSetup.sh`` runs
it). What wso2/product-apim ``v2.6.0``
``modules/distribution/product/src/main/startup-scripts/profileSetup.sh`` does, per
``-Dprofile=X`` (docs/fake-carbon-evidence.md section b), and so does this:

- ``api-manager.xml``: ``<DataPublisher>``, ``<JMSConnectionDetails>``, ``<PolicyDeployer>``
  ``<Enabled>true`` -> ``false`` by ``sed`` over the lines from ``<Tag>`` to ``</Tag>``,
  only when ``xmllint --xpath '//Tag/Enabled/text()'`` prints exactly ``true`` (without
  xmllint the shell says ``xmllint: not found`` and the flag stays as it is);
- ``axis2.xml``: every line of the ``ws``/``wss`` WebsocketTransportSender wrapped in
  ``<!--...-->`` unless a commented line already names it;
- ``registry.xml``: ``<startIndexing>true`` -> ``false`` (same xmllint guard);
- deletes the WebSocket inbound endpoints, every sub-folder of
  ``synapse-configs/default`` and its files but ``synapse.xml``, the webapps and Jaggery
  apps the profile does not keep.

Run twice, it changes nothing more on its own result; it does undo a later change of those
flags and deletes again what was put back. Unknown profile: ``Profile is not specifed
properly, please try again`` (sic), exit 0, nothing changed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

API_MANAGER = "repository/conf/api-manager.xml"
AXIS2 = "repository/conf/axis2/axis2.xml"
REGISTRY = "repository/conf/registry.xml"
INBOUND = "repository/deployment/server/synapse-configs/default/inbound-endpoints"
WEBAPPS = "repository/deployment/server/webapps"
JAGGERY = "repository/deployment/server/jaggeryapps"
SYNAPSE = "repository/deployment/server/synapse-configs/default"
SENDER = '<transportSender name="{}" class="org.wso2.carbon.websocket.transport.WebsocketTransportSender">'

# profile -> (title, api-manager.xml blocks, ws senders, indexing, synapse-configs,
#             webapps kept (find -name patterns), Jaggery apps kept); v2.6.0 L135-289
Profile = tuple[str, tuple[str, ...], bool, bool, bool, tuple[str, ...], tuple[str, ...]]
PROFILES: dict[str, Profile] = {
    "api-key-manager": (
        "Key Manager", ("DataPublisher", "JMSConnectionDetails", "PolicyDeployer"), True,
        False, True,
        ("client-registration#v*.war", "authenticationendpoint.war", "oauth2.war",
         "throttle#data#v*.war", "api#identity#consent-mgt#v*.war"),
        (),
    ),
    "api-publisher": (
        "API Publisher", ("DataPublisher", "JMSConnectionDetails"), True, False, False,
        ("api#am#publisher#v*.war",), ("admin", "publisher"),
    ),
    "api-store": (
        "Developer Portal (API Store)", ("DataPublisher", "JMSConnectionDetails",
                                         "PolicyDeployer"), True, False, False,
        ("api#am#store#*.war",), ("store",),
    ),
    "traffic-manager": ("Traffic Manager", (), True, True, True, (), ()),
    "gateway-worker": (
        "Gateway worker", ("PolicyDeployer",), False, True, False,
        ("am#sample#pizzashack#v*.war",), (),
    ),
}  # fmt: skip


def stamp() -> str:
    now = datetime.now()
    return now.strftime("%Y-%m-%d %H:%M:%S:") + f"{now.microsecond // 1000:03d}"


def say(text: str) -> None:
    print(f"[{stamp()}] INFO - {text}", flush=True)


def xmllint(xpath: str, path: Path, line: int) -> str:
    """What ``value=`xmllint --xpath ...``` holds: '' when xmllint is missing (dash then
    prints ``profileSetup.sh: <line>: xmllint: not found``) or nothing matches."""
    tool = shutil.which("xmllint")
    if tool is None:
        print(f"profileSetup.sh: {line}: xmllint: not found", file=sys.stderr, flush=True)
        return ""
    proc = subprocess.run([tool, "--xpath", xpath, str(path)], stdout=subprocess.PIPE, check=False)
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def sed_range(path: Path, start: str, end: str, edit: re.Pattern[str], repl: str) -> None:
    """``sed -i '/start/,/end/ s/edit/repl/g'``: lines from one matching ``start`` to the
    next matching ``end`` (searched from the line after), the file rewritten (new inode)."""
    lines = path.read_bytes().decode("utf-8", "surrogateescape").split("\n")
    inside = False
    for i, line in enumerate(lines):
        if not inside:
            if re.search(start, line):
                inside = True
                lines[i] = edit.sub(repl, line)
            continue
        lines[i] = edit.sub(repl, line)
        if re.search(end, line):
            inside = False
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sed")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


def disable(home: Path, tag: str, line: int) -> None:
    path = home / API_MANAGER
    if xmllint(f"//{tag}/Enabled/text()", path, line) != "true":
        return
    sed_range(path, f"<{tag}>", f"</{tag}>", re.compile("<Enabled>true</Enabled>"),
              "<Enabled>false</Enabled>")  # fmt: skip
    say(f"Disabled the <{tag}> from api-manager.xml file")


def disable_sender(home: Path, name: str) -> None:
    path = home / AXIS2
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not any(f'"{name}"' in ln for ln in text):
        return
    if any(re.search(f'<!--.*"{name}"', ln) for ln in text):
        return
    sed_range(path, SENDER.format(name), "</transportSender>", re.compile("^(.*)$"),
              r"<!--\1-->")  # fmt: skip
    say(f"Disabled the {SENDER.format(name)} from axis2.xml file")


def disable_indexing(home: Path) -> None:
    path = home / REGISTRY
    if xmllint("wso2registry/indexingConfiguration/startIndexing/text()", path, 109) != "true":
        return
    sed_range(path, "<indexingConfiguration>", "</indexingConfiguration>",
              re.compile("<startIndexing>true</startIndexing>"),
              "<startIndexing>false</startIndexing>")  # fmt: skip
    say("Disabled the <indexingConfiguration> from registry.xml file")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def entries(folder: Path, dirs: bool) -> list[Path]:
    """``find folder -maxdepth 1 -type d|f`` (the folder itself left out)."""
    if not folder.is_dir():
        print(f"find: '../{folder.name}': No such file or directory", file=sys.stderr)
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() == dirs and not p.is_symlink())


def remove_inbound(home: Path) -> None:
    for name in ("WebSocketInboundEndpoint.xml", "SecureWebSocketInboundEndpoint.xml"):
        path = home / INBOUND / name
        if path.exists():
            remove(path)
            say(f"Removed the {name} file from ../{INBOUND}/")


def remove_synapse_configs(home: Path) -> None:
    folder = home / SYNAPSE
    for path in entries(folder, dirs=True):
        remove(path)
        say(f"Removed the {path.name} directory from ../{SYNAPSE}")
    for path in entries(folder, dirs=False):
        if path.name != "synapse.xml":
            remove(path)
            say(f"Removed the {path.name} file from ../{SYNAPSE}")


def remove_webapps(home: Path, keep: tuple[str, ...]) -> None:
    folder = home / WEBAPPS
    for path in entries(folder, dirs=False):
        if any(fnmatch.fnmatchcase(path.name, k) for k in keep):
            continue
        remove(path)
        say(f"Removed the {path.name} file from ../{WEBAPPS}")
        exploded = folder / path.name.removesuffix(".war")
        if exploded.is_dir():
            shutil.rmtree(exploded)
            say(f"Removed {exploded.name} directory from ../{WEBAPPS}")


def remove_jaggery_apps(home: Path, keep: tuple[str, ...]) -> None:
    for path in entries(home / JAGGERY, dirs=True):
        if path.name not in keep:
            remove(path)
            say(f"Removed {path.name} directory from ../{JAGGERY}")


def optimize(home: Path, profile: str) -> int:
    if profile not in PROFILES:
        print("Profile is not specifed properly, please try again")
        return 0
    title, blocks, senders, indexing, synapse, webapps, jaggery = PROFILES[profile]
    print(f"Starting to optimize API Manager for the {title} profile", flush=True)
    lines = {"DataPublisher": 33, "JMSConnectionDetails": 43, "PolicyDeployer": 53}
    for tag in blocks:
        disable(home, tag, lines[tag])
    if senders:
        disable_sender(home, "ws")
        disable_sender(home, "wss")
    if indexing:
        disable_indexing(home)
    if senders:  # every profile that comments the senders removes the WS endpoints too
        remove_inbound(home)
    if synapse:
        remove_synapse_configs(home)
    remove_webapps(home, webapps)
    remove_jaggery_apps(home, jaggery)
    print("Finished the optimizations", flush=True)
    return 0


def main(argv: list[str]) -> int:
    # the real script's first argument, as wso2server.sh passes it: -Dprofile=<name>
    arg = argv[0] if argv else ""
    profile = arg.split("=", 1)[1] if arg.startswith("-Dprofile=") else ""
    return optimize(Path(__file__).resolve().parent.parent, profile)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
