"""Choosing loopback addresses and ports for a lab."""

from __future__ import annotations

import socket

import pytest

from wizard.errors import WizardError
from wizard.lab import addresses, users

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0200007F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:0D47 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 2 1
   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0300007F:24FB 0200007F:08AE 01 00000000:00000000 00:00000000 00000000     0        0 4 1
"""


def test_proc_net_tcp_lists_only_listening_sockets() -> None:
    got = addresses.parse_proc_net_tcp(PROC_NET_TCP)
    assert got == {("127.0.0.2", 2222), ("127.0.0.1", 3399), ("0.0.0.0", 2024)}


def test_busy_addresses_ignore_localhost_and_wildcard() -> None:
    busy = addresses.busy_addresses(addresses.parse_proc_net_tcp(PROC_NET_TCP))
    assert busy == {"127.0.0.2"}  # the connected socket on .3 is not a listener


def test_first_free_block_is_taken() -> None:
    assert addresses.allocate_addresses(4, set()) == [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
    ]
    # another lab holds .2-.5: the next lab starts after it
    other = {f"127.0.0.{i}" for i in range(2, 6)}
    assert addresses.allocate_addresses(2, other) == ["127.0.0.6", "127.0.0.7"]
    # a hole too small for the block is skipped
    assert addresses.allocate_addresses(3, {"127.0.0.4"}) == [
        "127.0.0.5",
        "127.0.0.6",
        "127.0.0.7",
    ]


def test_no_room_is_a_clear_error() -> None:
    busy = {f"127.0.0.{i}" for i in range(2, 255, 2)}
    with pytest.raises(WizardError) as err:
        addresses.allocate_addresses(2, busy)
    assert "consecutive free loopback addresses" in err.value.what
    assert "lab down" in (err.value.fix or "")
    with pytest.raises(ValueError):
        addresses.allocate_addresses(0, set())


def test_port_taken_counts_wildcard_listeners() -> None:
    listening = addresses.parse_proc_net_tcp(PROC_NET_TCP)
    assert addresses.port_taken(2024, ["127.0.0.9"], listening)  # 0.0.0.0:2024
    assert addresses.port_taken(2222, ["127.0.0.2", "127.0.0.3"], listening)
    assert not addresses.port_taken(2222, ["127.0.0.3"], listening)


def test_pick_port_moves_off_a_taken_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        got = addresses.pick_port(taken, ["127.0.0.1"])
        assert got != taken and got >= 1024
        assert addresses.can_bind("127.0.0.1", got)
    # free again: the preferred port is used
    assert addresses.pick_port(taken, ["127.0.0.1"]) == taken


def test_pick_port_honours_avoid() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert addresses.pick_port(free, ["127.0.0.1"], avoid=[free]) != free


def test_host_user_names_follow_the_address() -> None:
    assert users.base_name("127.0.0.3") == "cwlab3"
    assert users.candidate_names("127.0.0.12", tries=3) == ["cwlab12", "cwlab12-1", "cwlab12-2"]
