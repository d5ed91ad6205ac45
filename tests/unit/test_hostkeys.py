"""Host keys: known_hosts parsing, fingerprints, classification, pins and writing."""

from __future__ import annotations

import base64
import stat

import paramiko
import pytest

from wizard.connectors.hostkeys import (
    CHANGED,
    KNOWN,
    UNKNOWN,
    HostKeyStatus,
    HostKeyStore,
    RefusingPolicy,
    changed_error,
    order_key_types,
    pin,
    require_trusted,
)
from wizard.connectors.ssh_known_hosts import (
    fingerprint,
    host_matches,
    host_pattern,
    parse_known_hosts,
    parse_pin,
    split_host_pattern,
)
from wizard.errors import WizardError

# Keys and fingerprints as printed by OpenSSH's ssh-keygen -lf.
ED_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBCM4yBPqq/BfiWzPN+oxwDNWsmD71/WQjmr6iM1zjA3"
ED_A_FP = "SHA256:cFECdBWvjZTs9LuvX5YvjCCKuXr67SliZhsjOKIyQKM"
ED_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWrGdHfdjlSnqkfhVCHozkmy+4kC9s2geUYop/xC2TE"
ED_B_FP = "SHA256:k+KQm+0gs2OxgsxemQru9ne2s8ptwy/s4PEVHnHsa6Q"
EC_C = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHH+aJtGfXpaVjc62tyksSq7"
    "zU2jZb6x4PSyF4NZdQ+lgZpIwyUY5YnZVACnVJmlUWKmvbyl1x8DPifNrz0vQqE="
)
EC_C_FP = "SHA256:0PJiXIHLsp+xMIUQeOJHxNzhhbHVr7gHzgrTFLqe83k"
# ssh-keygen -H of "[10.0.0.5]:2222 <ED_B>"
HASHED_B = "|1|2ME4SX1KaQjDIZRELhwhsrd82L4=|GsyFZ6Tb+TTLP4VZxy0NLi0Sjn4= " + ED_B


def blob(line: str) -> bytes:
    return base64.b64decode(line.split()[1])


def ktype(line: str) -> str:
    return line.split()[0]


@pytest.fixture
def store(tmp_path):
    return HostKeyStore(tmp_path / "session" / "known_hosts", user_file=tmp_path / "user_kh")


def test_fingerprints_match_openssh():
    assert fingerprint(blob(ED_A)) == ED_A_FP
    assert fingerprint(blob(ED_B)) == ED_B_FP
    assert fingerprint(blob(EC_C)) == EC_C_FP


def test_host_pattern_uses_brackets_for_other_ports():
    assert host_pattern("10.0.0.5", 22) == "10.0.0.5"
    assert host_pattern("10.0.0.5", 2222) == "[10.0.0.5]:2222"
    assert split_host_pattern("[10.0.0.5]:2222") == ("10.0.0.5", 2222)
    assert split_host_pattern("db.example") == ("db.example", 22)


def test_parse_known_hosts_lines_numbers_and_skips():
    text = "\n".join(
        [
            "# a comment",
            "",
            f"a.example,10.0.0.1 {ED_A} comment here",
            "garbage line",
            "b.example ssh-ed25519 not-base64!!",
            f"@cert-authority *.example {ED_B}",
            f"@revoked c.example {ED_B}",
            f"d.example ssh-rsa {ED_A.split()[1]}",  # type inside the blob disagrees
            HASHED_B,
        ]
    )
    entries = parse_known_hosts(text, "/x/known_hosts")
    assert [(e.key.line, e.key.marker) for e in entries] == [(3, None), (7, "@revoked"), (9, None)]
    first = entries[0]
    assert first.patterns == ("a.example", "10.0.0.1")
    assert first.key.fingerprint == ED_A_FP
    assert first.key.where == "/x/known_hosts line 3"


def test_host_matching_hashed_wildcards_negation_and_brackets():
    assert host_matches(HASHED_B.split()[:1], "[10.0.0.5]:2222")
    assert not host_matches(HASHED_B.split()[:1], "10.0.0.5")
    assert host_matches(["*.example", "!bad.example"], "good.example")
    assert not host_matches(["*.example", "!bad.example"], "bad.example")
    assert host_matches(["10.0.0.?"], "10.0.0.7")
    assert host_matches(["[10.0.0.*]:2222"], "[10.0.0.9]:2222")
    assert not host_matches(["[10.0.0.*]:2222"], "10.0.0.9")
    assert host_matches(["A.Example"], "a.example")


def test_classify_known_unknown_changed(store, tmp_path):
    (tmp_path / "user_kh").write_text(f"# mine\n[10.0.0.1]:2222 {ED_A}\n{HASHED_B}\n")
    assert store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_A)) == (KNOWN, ())
    assert store.classify("10.0.0.5", 2222, "ssh-ed25519", blob(ED_B)) == (KNOWN, ())
    # same host name on port 22 is another host in known_hosts terms
    assert store.classify("10.0.0.1", 22, "ssh-ed25519", blob(ED_A))[0] == UNKNOWN
    state, expected = store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_B))
    assert state == CHANGED
    assert expected[0].fingerprint == ED_A_FP
    assert expected[0].line == 2
    assert expected[0].source == str(tmp_path / "user_kh")
    # a key of another type than the known one is refused too
    assert store.classify("10.0.0.1", 2222, ktype(EC_C), blob(EC_C))[0] == CHANGED


def test_revoked_key_is_refused(store, tmp_path):
    (tmp_path / "user_kh").write_text(f"@revoked * {ED_B}\n[10.0.0.1]:2222 {ED_B}\n")
    state, expected = store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_B))
    assert state == CHANGED
    err = changed_error(
        HostKeyStatus("h1", "10.0.0.1", 2222, state, "ssh-ed25519", ED_B_FP, blob(ED_B), expected)
    )
    assert "REVOKED" in err.what


def test_pins_override_files(store, tmp_path):
    (tmp_path / "user_kh").write_text(f"[10.0.0.1]:2222 {ED_A}\n")
    # a full-key pin and a fingerprint pin both accept the pinned key ...
    assert store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_B), pin=ED_B + " c")[0] == KNOWN
    assert store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_B), pin=ED_B_FP)[0] == KNOWN
    # ... and refuse the key the file knows, when the pin says otherwise
    state, expected = store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_A), pin=ED_B_FP)
    assert state == CHANGED
    assert expected[0].where == "answers (host_key)"
    assert store.preferred_types("10.0.0.1", 2222) == ["ssh-ed25519"]
    assert store.preferred_types("10.0.0.1", 2222, pin=EC_C) == ["ecdsa-sha2-nistp256"]


@pytest.mark.parametrize(
    "bad",
    ["SHA256:short", "ssh-ed25519", "ssh-rsa " + ED_A.split()[1], "ssh-ed25519 !!!", "MD5:aa:bb"],
)
def test_bad_pins_are_rejected(bad, store):
    with pytest.raises(ValueError):
        parse_pin(bad)
    with pytest.raises(WizardError) as info:
        store.classify("10.0.0.1", 2222, "ssh-ed25519", blob(ED_A), pin=bad)
    assert info.value.where.field == "host_key"


def test_pin_accepts_fingerprint_with_or_without_padding():
    assert parse_pin(ED_A_FP).fingerprint == ED_A_FP
    assert parse_pin(ED_A_FP + "=").fingerprint == ED_A_FP


def test_store_add_writes_bracketed_line_0600_once(store):
    assert store.add("127.0.0.2", 2222, "ssh-ed25519", blob(ED_A))
    assert not store.add("127.0.0.2", 2222, "ssh-ed25519", blob(ED_A))
    assert store.add("127.0.0.3", 22, "ssh-ed25519", blob(ED_B))
    path = store.session_file
    assert path.read_text() == f"[127.0.0.2]:2222 {ED_A}\n127.0.0.3 {ED_B}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # what we wrote, we read back as known
    assert store.classify("127.0.0.2", 2222, "ssh-ed25519", blob(ED_A))[0] == KNOWN


def test_store_add_repairs_missing_final_newline(store):
    store.session_file.parent.mkdir(parents=True)
    store.session_file.write_text(f"other {ED_B}")
    store.add("127.0.0.2", 2222, "ssh-ed25519", blob(ED_A))
    assert store.session_file.read_text().splitlines() == [
        f"other {ED_B}",
        f"[127.0.0.2]:2222 {ED_A}",
    ]


def _status(state: str, name: str = "h2", port: int = 2222, line: str = ED_A) -> HostKeyStatus:
    return HostKeyStatus(
        name, "127.0.0.2", port, state, ktype(line), fingerprint(blob(line)), blob(line)
    )


def test_changed_error_names_entry_and_both_fingerprints(store, tmp_path):
    (tmp_path / "user_kh").write_text(f"# header\n[127.0.0.2]:2222 {ED_A}\n")
    state, expected = store.classify("127.0.0.2", 2222, "ssh-ed25519", blob(ED_B))
    status = HostKeyStatus(
        "h2", "127.0.0.2", 2222, state, "ssh-ed25519", ED_B_FP, blob(ED_B), expected
    )
    with pytest.raises(WizardError) as info:
        require_trusted([status], store, accept_new=True)
    msg = info.value.render()
    assert "h2" in msg and "[127.0.0.2]:2222" in msg
    assert ED_A_FP in msg and ED_B_FP in msg
    assert f"{tmp_path / 'user_kh'} line 2" in msg
    assert not store.session_file.exists()  # nothing pinned


def test_unknown_keys_need_confirmation_then_pin_in_one_batch(store):
    statuses = [_status(UNKNOWN, "h2"), _status(UNKNOWN, "h3", 2223, ED_B), _status(KNOWN, "h4")]
    with pytest.raises(WizardError) as info:
        require_trusted(statuses, store)
    assert ED_A_FP in info.value.what and ED_B_FP in info.value.what
    assert "--accept-new-host-keys" in (info.value.fix or "")
    assert not store.session_file.exists()
    pinned = require_trusted(statuses, store, accept_new=True)
    assert [s.name for s in pinned] == ["h2", "h3"]
    assert store.session_file.read_text() == f"[127.0.0.2]:2222 {ED_A}\n[127.0.0.2]:2223 {ED_B}\n"
    assert pin(statuses, store) == []  # already there


def test_refusing_policy_never_adds_and_records(store):
    policy = RefusingPolicy(store, name="h2")
    key = paramiko.PKey.from_type_string("ssh-ed25519", blob(ED_A))
    client = paramiko.SSHClient()
    with pytest.raises(WizardError) as info:
        policy.missing_host_key(client, "[127.0.0.2]:2222", key)
    assert ED_A_FP in info.value.what
    assert [(s.name, s.port, s.state, s.fingerprint) for s in policy.rejected] == [
        ("h2", 2222, UNKNOWN, ED_A_FP)
    ]
    assert len(client.get_host_keys()) == 0
    assert not store.session_file.exists()
    store.add("127.0.0.2", 2222, "ssh-ed25519", blob(ED_A))
    policy.missing_host_key(client, "[127.0.0.2]:2222", key)  # known now: accepted
    assert len(policy.rejected) == 1


def test_known_key_types_are_asked_first():
    avail = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    assert order_key_types(avail, ["ecdsa-sha2-nistp256"])[0] == "ecdsa-sha2-nistp256"
    assert order_key_types(avail, ["ssh-rsa"])[:3] == ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    assert sorted(order_key_types(avail, [])) == sorted(avail)
