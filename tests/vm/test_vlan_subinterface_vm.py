# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vlan_subinterface on a kernel with 802.1Q (the Debian kernel booted by tests/vm/run),
driven through ansible-playbook, in throwaway namespaces."""

from __future__ import annotations

import json

import pytest

import underlay_testlib as lib

MODULE = "underlay.network.vlan_subinterface"


@pytest.fixture
def trunk(namespaces):
    """Two namespaces joined by a veth trunk: veth0 in the first, veth1 in the second."""
    a = namespaces.new("a")
    b = namespaces.new("b")
    namespaces.veth(a, "veth0", b, "veth1")
    return a, b


def link_details(ns, name):
    out = lib.sh("ip", "-d", "-j", "link", "show", "dev", name, ns=ns, check=False)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0]


def global_addresses(interface):
    """The ``interface`` return lists every address; drop the kernel's IPv6 link-local ones."""
    return [a for a in interface["addresses"] if not a.startswith("fe80:")]


def addresses(ns, name):
    data = json.loads(lib.sh("ip", "-j", "addr", "show", "dev", name, ns=ns).stdout)[0]
    return sorted(f"{a['local']}/{a['prefixlen']}" for a in data["addr_info"] if a["family"] == "inet")


def test_lifecycle_through_ansible_playbook(trunk):
    ns = trunk[0]
    vlan = {"parent": "veth0", "vlan_id": 100, "netns": ns}
    r = lib.run_tasks([
        {MODULE: dict(vlan, addresses=["10.100.0.1/24"])},                             # 0 create
        {MODULE: dict(vlan, addresses=["10.100.0.1/24"])},                             # 1 re-run
        {MODULE: dict(vlan, mtu=1400, addresses=["10.100.0.2/24", "10.100.1.1/24"])},  # 2 change
        {MODULE: dict(vlan, mtu=1400, addresses=["10.100.0.2/24", "10.100.1.1/24"])},  # 3 re-run
        {MODULE: {"parent": "veth0", "vlan_id": 300, "name": "svlan300", "protocol": "802.1ad",
                  "netns": ns}},                                                       # 4 QinQ
        {MODULE: dict(vlan, admin_state="down")},                                      # 5 down
    ], diff=True)
    for i, result in enumerate(r):
        assert not result.get("failed"), (i, result.get("msg"))
    assert [x["changed"] for x in r] == [True, False, True, False, True, True]
    created = r[0]["interface"]
    assert created["name"] == "veth0.100" and created["parent"] == "veth0" and created["vlan_id"] == 100
    assert created["protocol"] == "802.1Q" and created["admin_state"] == "up"
    assert global_addresses(created) == ["10.100.0.1/24"] and isinstance(created["index"], int)
    assert r[1]["actions"] == []
    assert r[2]["diff"]["before"]["mtu"] == 1500 and r[2]["diff"]["after"]["mtu"] == 1400
    assert global_addresses(r[2]["interface"]) == ["10.100.0.2/24", "10.100.1.1/24"]
    assert r[2]["interface"]["index"] == created["index"]  # changed in place, not re-created

    details = link_details(ns, "veth0.100")
    assert details["mtu"] == 1400 and "UP" not in details["flags"]
    assert details["linkinfo"]["info_kind"] == "vlan"
    assert details["linkinfo"]["info_data"]["id"] == 100
    assert addresses(ns, "veth0.100") == ["10.100.0.2/24", "10.100.1.1/24"]
    qinq = link_details(ns, "svlan300")["linkinfo"]["info_data"]
    assert qinq["protocol"] == "802.1ad" and qinq["id"] == 300
    assert r[4]["interface"]["protocol"] == "802.1ad"

    gone = lib.run_tasks([
        {MODULE: dict(vlan, state="absent")},
        {MODULE: dict(vlan, state="absent")},
        {MODULE: {"name": "svlan300", "vlan_id": 300, "netns": ns, "state": "absent"}},
    ])
    assert [x["changed"] for x in gone] == [True, False, True]
    assert link_details(ns, "veth0.100") is None and link_details(ns, "svlan300") is None


def test_check_mode_creates_and_changes_nothing(trunk):
    ns = trunk[0]
    lib.run_tasks([{MODULE: {"parent": "veth0", "vlan_id": 100, "netns": ns, "addresses": ["10.100.0.1/24"]}}])
    before = lib.kernel_snapshot(ns)
    r = lib.run_tasks([
        {MODULE: {"parent": "veth0", "vlan_id": 101, "netns": ns, "addresses": ["10.101.0.1/24"]}},
        {MODULE: {"parent": "veth0", "vlan_id": 100, "netns": ns, "mtu": 1300, "addresses": []}},
        {MODULE: {"parent": "veth0", "vlan_id": 100, "netns": ns, "state": "absent"}},
    ], check_mode=True, diff=True)
    assert [x["changed"] for x in r] == [True, True, True]
    assert r[1]["actions"] == ["set MTU of 'veth0.100' from 1500 to 1300",
                               "remove address 10.100.0.1/24 from 'veth0.100'"]
    assert lib.kernel_snapshot(ns) == before
    assert link_details(ns, "veth0.101") is None


def test_vlan_traffic_is_separated(trunk):
    """B reaches A over VLAN 100; the same address on VLAN 200 of the same trunk does not."""
    a, b = trunk
    r = lib.run_tasks([
        {MODULE: {"parent": "veth0", "vlan_id": 100, "netns": a, "addresses": ["10.100.0.1/24"]}},
        {MODULE: {"parent": "veth1", "vlan_id": 100, "netns": b, "addresses": ["10.100.0.2/24"]}},
    ])
    assert all(not x.get("failed") for x in r), [x.get("msg") for x in r]
    same_vlan = lib.sh("ping", "-c", "2", "-W", "2", "10.100.0.1", ns=b, check=False)
    assert same_vlan.returncode == 0, same_vlan.stdout + same_vlan.stderr

    r = lib.run_tasks([
        {MODULE: {"parent": "veth1", "vlan_id": 100, "netns": b, "state": "absent"}},
        {MODULE: {"parent": "veth1", "vlan_id": 200, "netns": b, "addresses": ["10.100.0.2/24"]}},
    ])
    assert all(not x.get("failed") for x in r), [x.get("msg") for x in r]
    other_vlan = lib.sh("ping", "-c", "2", "-W", "1", "10.100.0.1", ns=b, check=False)
    assert other_vlan.returncode != 0, "VLAN 200 reached VLAN 100 across the trunk"


def test_recreate_replaces_a_wrong_vlan_in_place_of_refusing(trunk):
    ns = trunk[0]
    lib.sh("ip", "link", "add", "link", "veth0", "name", "veth0.100", "type", "vlan", "id", "200", ns=ns)
    wanted = {"parent": "veth0", "vlan_id": 100, "netns": ns, "addresses": ["10.100.0.1/24"]}
    r = lib.run_tasks([{MODULE: wanted}, {MODULE: dict(wanted, recreate=True)}, {MODULE: wanted}])
    assert r[0]["failed"] is True and "already exists as a VLAN sub-interface with VLAN id 200" in r[0]["msg"]
    assert r[1]["changed"] is True and not r[1].get("failed")
    assert r[2]["changed"] is False
    assert link_details(ns, "veth0.100")["linkinfo"]["info_data"]["id"] == 100
    assert addresses(ns, "veth0.100") == ["10.100.0.1/24"]


def test_failure_after_creation_is_rolled_back(trunk):
    """The kernel refuses the IPv6 address (IPv6 disabled in the namespace) after the link
    was created: the link must be gone again and the message must say so."""
    ns = trunk[0]
    lib.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
    before = lib.kernel_snapshot(ns)
    result = lib.run_module("vlan_subinterface", {"parent": "veth0", "vlan_id": 100, "netns": ns,
                                                  "addresses": ["10.100.0.1/24", "fd00:100::1/64"]})
    assert result["failed"] is True
    assert "add address fd00:100::1/64 to 'veth0.100' failed" in result["msg"]
    assert "rolled back:" in result["msg"] and "remove 'veth0.100'" in result["msg"]
    assert lib.kernel_snapshot(ns) == before
