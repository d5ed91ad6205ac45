"""Answers: typed, validated, errors with field path, YAML line, masked value and fix."""

from __future__ import annotations

import pytest
import yaml

from wizard.answers import AnswersError, parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids
from wizard.errors import EXIT_BAD_INPUT, WizardError

AP = """\
pattern: apim-active-passive
product:
  version: 2.6.0
  home: /opt/wso2am-2.6.0
  driver_jar: /srv/mysql-connector-java-5.1.49.jar
db:
  host: 10.0.0.10
  admin_password: env:DB_ADMIN_PASSWORD
  user: apimuser
  password: env:DB_PASSWORD
nodes:
  - name: active
    role: active
    address: 10.0.0.1
    ssh: {user: wso2}
  - name: passive
    role: passive
    address: 10.0.0.2
    ssh: {user: wso2}
lb:
  address: 10.0.0.3
  hostname: apim.example.com
  ssh: {user: root}
admin:
  password: env:ADMIN_PASSWORD
"""


def edit(text: str, **changes: object) -> str:
    data = yaml.safe_load(text)
    for path, value in changes.items():
        cur = data
        keys = path.split("__")
        for k in keys[:-1]:
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        last = keys[-1]
        if value is None:
            del cur[last]
        elif isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def problems(text: str) -> AnswersError:
    with pytest.raises(AnswersError) as info:
        parse_answers(text, "answers.yaml")
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value


def test_valid_answers_load_with_defaults():
    answers, pattern = parse_answers(AP)
    assert pattern.id == "apim-active-passive"
    assert answers.db.port == 3306
    assert answers.db.charset == "latin1"
    assert answers.nodes[1].member_port == 4000


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_every_pattern_example_validates(pattern_id):
    answers, pattern = parse_answers(example_yaml(pattern_id))
    assert answers.pattern == pattern_id == pattern.id
    assert "# " in example_yaml(pattern_id)  # commented


def test_literal_password_is_refused_with_reference_syntax_and_line():
    text = AP.replace("password: env:DB_PASSWORD", "password: hunter2secret")
    err = problems(text)
    rendered = err.render()
    assert "hunter2secret" not in rendered
    assert "********" in rendered
    assert "env:NAME" in rendered and "file:" in rendered and "prompt" in rendered
    (p,) = err.problems
    assert p.path == "db.password"
    assert p.line == 10


def test_all_problems_are_reported_at_once_one_line_each():
    text = edit(AP, db__port=99999, db__user="bad-user!", nodes__0__address="10.0.0.999")
    err = problems(text)
    paths = {p.path for p in err.problems}
    assert {"db.port", "db.user", "nodes.0.address"} <= paths
    body = err.what.splitlines()
    assert body[0].startswith("3 problems")
    assert all(line.startswith("  - line ") for line in body[1:])
    assert "99999" in err.what


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("db__databases", {"am": {"name": "apim-db"}}),
        ("db__databases", {"am": {"name": "x" * 65}}),
        ("db__user", "u" * 33),
        ("db__host", "not a host"),
        ("nodes__0__ssh__port", 0),
        ("nodes__0__offset", -1),
        ("nodes__0__offset", 60000),
        ("db__charset", "utf16"),
    ],
)
def test_field_rules(field, value):
    err = problems(edit(AP, **{field: value}))
    assert err.problems[0].path.startswith(field.split("__")[0])
    assert err.problems[0].fix


def test_two_nodes_on_one_host_need_different_offsets():
    same = edit(AP, nodes__1__address="10.0.0.1", nodes__1__offset=0, nodes__1__member_port=4010)
    err = problems(same)
    (p,) = err.problems
    assert p.path == "nodes.1.offset"
    assert "9443" in p.message and "collide" in p.message
    assert "offset" in p.fix
    # the role defaults (0 / 1) do not collide, and 168 apart collides 9443+168 with 9611
    parse_answers(edit(AP, nodes__1__address="10.0.0.1", nodes__1__member_port=4010))
    err = problems(
        edit(AP, nodes__1__address="10.0.0.1", nodes__1__offset=168, nodes__1__member_port=4010)
    )
    assert "9611" in err.problems[0].message


def test_hazelcast_member_ports_must_differ_on_one_host():
    err = problems(edit(AP, nodes__1__address="10.0.0.1"))
    (p,) = err.problems
    assert p.path == "nodes.1.member_port"
    assert "4000" in p.message


def test_role_counts_lb_and_names():
    text = edit(AP, nodes__1__role="active")
    err = problems(text)
    assert any("role passive" in p.message for p in err.problems)
    assert any("role active" in p.message and "give 2" in p.message for p in err.problems)
    err = problems(edit(AP, lb=None))
    assert any(p.path == "lb" for p in err.problems)
    err = problems(edit(AP, nodes__1__name="active"))
    assert any("used twice" in p.message for p in err.problems)
    err = problems(edit(AP, nodes__1__role="worker"))
    assert any("no node role 'worker'" in p.message for p in err.problems)


def test_unknown_version_names_the_supported_ones():
    err = problems(edit(AP, product__version="4.2.0"))
    (p,) = err.problems
    assert p.path == "product.version"
    assert "2.6.0" in p.fix


def test_unknown_pattern_lists_known_ones():
    err = problems(edit(AP, pattern="apim-huge"))
    assert any(p.path == "pattern" and "apim-all-in-one" in p.fix for p in err.problems)


def test_unknown_field_is_named():
    err = problems(edit(AP, db__pasword="env:X"))
    assert any(p.path == "db.pasword" for p in err.problems)


def test_yaml_syntax_error_has_line_and_column():
    with pytest.raises(WizardError) as info:
        parse_answers("pattern: x\ndb: [unclosed\n", "a.yaml")
    assert info.value.where.line == 3 or info.value.where.line == 2
    assert info.value.exit_code == EXIT_BAD_INPUT


def test_not_a_mapping():
    err = problems("- just\n- a list\n")
    assert "mapping" in err.problems[0].message


def test_app_user_must_not_be_the_admin():
    err = problems(edit(AP, db__user="root"))
    assert err.problems[0].path == "db.user"


def test_driver_jar_required_when_pattern_copies_it():
    err = problems(edit(AP, product__driver_jar=None))
    assert err.problems[0].path == "product.driver_jar"


def test_new_keystore_needs_passwords():
    err = problems(edit(AP, keystore={"replace": True}))
    assert {p.path for p in err.problems} == {"keystore.password", "truststore.password"}


def test_ssh_login_by_password_and_sudo_password_references():
    text = edit(
        AP,
        nodes__0__ssh={
            "user": "wso2",
            "password": "env:SSH_PW",
            "sudo": True,
            "sudo_password": "prompt",
        },
    )
    answers, _ = parse_answers(text)
    ssh = answers.nodes[0].ssh
    assert (ssh.password, ssh.sudo, ssh.sudo_password, ssh.transport) == (
        "env:SSH_PW", True, "prompt", "ssh"
    )  # fmt: skip
    err = problems(edit(AP, nodes__0__ssh={"user": "wso2", "sudo_password": "Sup3rSecret"}))
    assert err.problems[0].path == "nodes.0.ssh.sudo_password"
    assert "Sup3rSecret" not in err.render()


def test_local_transport_needs_no_login_but_ssh_needs_a_user():
    answers, _ = parse_answers(edit(AP, nodes__0__ssh={"transport": "local"}))
    assert answers.nodes[0].ssh.transport == "local" and answers.nodes[0].ssh.user is None
    err = problems(edit(AP, nodes__0__ssh={"port": 22}))
    assert err.problems[0].path.startswith("nodes.0.ssh")
    assert "user" in err.render()
    err = problems(edit(AP, nodes__0__ssh={"user": "wso2", "transport": "telnet"}))
    assert err.problems[0].path == "nodes.0.ssh.transport"


def test_runner_targets_carry_login_secrets_resolved_once(monkeypatch):
    from wizard.runner import Secrets, host_targets

    monkeypatch.setenv("SSH_PW", "pw-one")
    text = edit(
        AP,
        nodes__0__ssh={"user": "wso2", "password": "env:SSH_PW", "sudo": True,
                       "sudo_password": "env:SSH_PW"},
        nodes__1__ssh={"transport": "local"},
    )  # fmt: skip
    answers, _ = parse_answers(text)
    secrets = Secrets(answers, prompter=None)
    targets = host_targets(answers, secrets)
    active, passive = targets["active"], targets["passive"]
    assert active.password is not None and active.password.reveal() == "pw-one"
    assert active.sudo_password is active.password  # one reference, resolved once
    assert (active.use_agent, active.sudo, active.transport) == (False, True, "ssh")
    assert (passive.transport, passive.user, passive.password) == ("local", "", None)


def test_a_prompted_login_password_is_asked_once_by_its_answer_path():
    from wizard.runner import Secrets, host_targets

    text = edit(
        AP,
        nodes__0__ssh={"user": "wso2", "password": "prompt"},
        nodes__1__ssh={"user": "wso2", "password": "prompt", "sudo_password": "prompt"},
    )
    answers, _ = parse_answers(text)
    asked: list[str] = []

    def prompter(path: str, label: str) -> str:
        asked.append(path)
        return f"typed-{len(asked)}"

    targets = host_targets(answers, Secrets(answers, prompter))
    assert asked == ["nodes.0.ssh.password", "nodes.1.ssh.password", "nodes.1.ssh.sudo_password"]
    assert targets["passive"].sudo_password.reveal() == "typed-3"
