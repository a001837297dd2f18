# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vlan_subinterface on this machine's kernel, which has no 802.1Q support.

Everything happens in throwaway namespaces. What can be proven here: the EOPNOTSUPP answer
becomes one clear message, check mode plans without touching the kernel, bad input is
refused with the field named, and nothing changes on any failure. The VLAN behaviour
itself is proven in the VM lane (tests/vm).
"""

from __future__ import annotations

import os

import pytest

import underlay_testlib as lib


@pytest.fixture
def trunk(namespaces):
    """A namespace holding a veth trunk 'veth0' (peer 'veth1' in a second namespace)."""
    host = namespaces.new("h")
    peer = namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    return host


def test_kernel_without_8021q_gives_one_clear_error_and_changes_nothing(trunk):
    before = lib.kernel_snapshot(trunk)
    results = lib.run_tasks([{"underlay.network.vlan_subinterface": {
        "parent": "veth0", "vlan_id": 100, "netns": trunk, "addresses": ["10.100.0.1/24"]}}])
    result = results[0]
    assert result["failed"] is True
    assert "no 802.1Q VLAN support" in result["msg"] and "EOPNOTSUPP" in result["msg"]
    assert "veth0.100" in result["msg"]
    assert lib.kernel_snapshot(trunk) == before


def test_check_mode_plans_creation_without_touching_the_kernel(trunk):
    before = lib.kernel_snapshot(trunk)
    result = lib.run_tasks([{"underlay.network.vlan_subinterface": {
        "parent": "veth0", "vlan_id": 100, "netns": trunk, "addresses": ["10.100.0.1/24"], "mtu": 1400}}],
        check_mode=True, diff=True)[0]
    assert result["changed"] is True and not result.get("failed")
    assert result["actions"] == [
        "create veth0.100 as VLAN 100 (802.1Q) on 'veth0' with MTU 1400",
        "add address 10.100.0.1/24 to 'veth0.100'",
        "set 'veth0.100' up",
    ]
    assert result["diff"]["before"] == {"state": "absent"}
    assert result["diff"]["after"]["mtu"] == 1400
    assert result["interface"]["name"] == "veth0.100" and result["interface"]["index"] is None
    assert "+    \"vlan_id\": 100" in result["_stdout"]  # --diff rendered for the reviewer
    assert lib.kernel_snapshot(trunk) == before


def test_absent_when_missing_is_unchanged(trunk):
    result = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": trunk,
                                                  "state": "absent"})
    assert result["changed"] is False and result["interface"] == {}


@pytest.mark.parametrize("args, message", [
    ({"vlan_id": 0}, "vlan_id: 0 is out of range (1-4094)"),
    ({"vlan_id": 4095}, "vlan_id: 4095 is out of range (1-4094)"),
    ({"vlan_id": "abc"}, "vlan_id"),
    ({"name": "sixteen-chars-xx"}, "name: 'sixteen-chars-xx' is 16 characters long"),
    ({"name": "veth0/100"}, "name: 'veth0/100' contains '/'"),
    ({"parent": "veth7"}, "parent: interface 'veth7' does not exist in network namespace"),
    ({"addresses": ["10.0.0.300/24"]}, "addresses: '10.0.0.300/24' is not an address in CIDR notation"),
    ({"protocol": "802.1X"}, "protocol"),
    ({"mtu": 9000}, "mtu: 9000 is larger than the MTU of the parent 'veth0' (1500)"),
])
def test_bad_input_is_refused_and_changes_nothing(trunk, args, message):
    params = {"parent": "veth0", "vlan_id": 100, "netns": trunk}
    params.update(args)
    before = lib.kernel_snapshot(trunk)
    result = lib.run_module("vlan_subinterface", params)
    assert result.get("failed") is True, result
    assert message in result["msg"]
    assert "802.1X" in result["msg"] if args.get("protocol") else True
    assert lib.kernel_snapshot(trunk) == before


def test_missing_namespace_is_an_error_and_never_created(trunk):
    ghost = trunk + "ghost"
    result = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": ghost})
    assert result["failed"] is True
    assert result["msg"] == (f"netns: network namespace '{ghost}' does not exist (/run/netns/{ghost});"
                             " it is never created implicitly")
    assert not os.path.exists(f"/run/netns/{ghost}")


def test_parent_missing_in_the_given_namespace_though_present_elsewhere(namespaces, trunk):
    other = namespaces.new("o")  # has no veth0, while `trunk` does
    result = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": other})
    assert result["failed"] is True
    assert result["msg"] == f"parent: interface 'veth0' does not exist in network namespace '{other}'"


def test_existing_link_of_another_kind_is_refused_and_kept(trunk):
    lib.sh("ip", "link", "add", "veth0.100", "type", "veth", "peer", "name", "vpeer", ns=trunk)
    before = lib.kernel_snapshot(trunk)
    refused = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": trunk})
    assert refused["failed"] is True
    assert refused["msg"].startswith("name: 'veth0.100' already exists as a veth link, not a VLAN sub-interface")
    assert "recreate: true" in refused["msg"]
    # recreate builds the replacement first; this kernel refuses it, so the veth must survive
    replaced = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": trunk,
                                                    "recreate": True})
    assert replaced["failed"] is True and "EOPNOTSUPP" in replaced["msg"]
    absent = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": trunk,
                                                  "state": "absent"})
    assert absent["failed"] is True and "refusing to remove it" in absent["msg"]
    assert lib.kernel_snapshot(trunk) == before
