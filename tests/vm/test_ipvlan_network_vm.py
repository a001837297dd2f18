# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan_network on 802.1Q parents (Debian kernel in the VM, which has ipvlan), through
ansible-playbook: an L2 network whose endpoints share the VLAN parent's MAC and reach each
other and the router on the VLAN; an L3 network whose endpoint reaches the router through
the host (the router routes the subnet to the host, as the README says); both dual stack, over
IPv4 and IPv6; check mode byte-identical, --diff, re-runs unchanged, removal with the owned
VLAN; one driver per parent."""

from __future__ import annotations

import json

import underlay_testlib as lib
from underlay_snapshots import World

NETWORK = "underlay.network.ipvlan_network"
ENDPOINT = "underlay.network.container_endpoint"


def ping(ns, address):
    family = ["-6"] if ":" in address else []
    return lib.sh("ping", *family, "-c", "2", "-W", "2", address, ns=ns, check=False).returncode == 0


def test_ipvlan_l2_and_l3_on_vlan_parents(namespaces, tmp_path):
    host = namespaces.new("h")
    router = namespaces.new("r")
    namespaces.veth(host, "veth0", router, "trunk")
    for vid, address, address6 in ((300, "10.3.0.1/24", "fd00:300::1/64"), (301, "10.31.0.1/24", "fd00:301::1/64")):
        lib.sh("ip", "link", "add", "link", "trunk", "name", f"trunk.{vid}", "type", "vlan", "id", str(vid), ns=router)
        lib.sh("ip", "addr", "add", address, "dev", f"trunk.{vid}", ns=router)
        lib.sh("ip", "-6", "addr", "add", address6, "dev", f"trunk.{vid}", "nodad", ns=router)
        lib.sh("ip", "link", "set", f"trunk.{vid}", "up", ns=router)
    lib.sh("ip", "route", "add", "10.40.0.0/24", "via", "10.31.0.10", ns=router)  # the routes L3 mode needs
    lib.sh("ip", "-6", "route", "add", "fd00:40::/64", "via", "fd00:301::10", ns=router)
    c1, c2, c3 = namespaces.new("c"), namespaces.new("c"), namespaces.new("c")
    state_dir = str(tmp_path / "state")
    base = {"netns": host, "state_dir": state_dir}
    l2 = dict(base, name="vlan300", parent="veth0.300", subnet="10.3.0.0/24", ip_range="10.3.0.128/25",
              gateway="10.3.0.1", host_access={"ifname": "v300-shim", "address": "10.3.0.250"},
              ipv6_subnet="fd00:300::/64", ipv6_range="fd00:300::80/121")
    l3 = dict(base, name="routed", parent="veth0.301", mode="l3", subnet="10.40.0.0/24", ipv6_subnet="fd00:40::/64")
    world = World([host, router, c1, c2, c3], [state_dir])

    before = world.settle()
    checked = lib.run_tasks([{NETWORK: l2}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["diff"]["after"]["mode"] == "l2", checked.get("msg")
    assert world.changes_since(before) == []

    r = lib.run_tasks([
        {NETWORK: l2}, {NETWORK: l2}, {NETWORK: l3},
        {ENDPOINT: dict(base, network="vlan300", endpoints=[{"container_netns": c1}, {"container_netns": c2}])},
        {ENDPOINT: dict(base, network="routed", container_netns=c3)},
        {ENDPOINT: dict(base, network="vlan300", endpoints=[{"container_netns": c1}, {"container_netns": c2}])},
        {ENDPOINT: dict(base, network="routed", container_netns=c3)},
        {"underlay.network.macvlan_network": dict(base, name="mv", parent="veth0.300", subnet="10.9.0.0/24")},
    ], diff=True)
    assert [x.get("changed") for x in r[:7]] == [True, False, True, True, True, False, False], \
        [x.get("msg") for x in r]
    assert r[0]["actions"][0] == "create veth0.300 as VLAN 300 (802.1Q) on 'veth0'"
    assert r[0]["network"]["Options"] == {"parent": "veth0.300", "ipvlan_mode": "l2", "ipvlan_flag": "bridge"}
    assert r[7]["failed"] is True and r[7]["msg"] == (
        "parent: 'veth0.300' already carries the ipvlan network 'vlan300': the kernel cannot hang macvlan and"
        " ipvlan interfaces off one parent")
    assert [e["ipv4_address"] for e in r[3]["endpoints"]] == ["10.3.0.128/24", "10.3.0.129/24"]
    assert [e["ipv6_address"] for e in r[3]["endpoints"]] == ["fd00:300::80/64", "fd00:300::81/64"]
    assert r[0]["network"]["EnableIPv6"] is True
    routed6 = r[4]["endpoint"]["ipv6_address"].split("/")[0]
    lib.sh("ip", "addr", "add", "10.31.0.10/24", "dev", "veth0.301", ns=host)  # the host's address on VLAN 301
    lib.sh("ip", "-6", "addr", "add", "fd00:301::10/64", "dev", "veth0.301", "nodad", ns=host)

    parent_mac = json.loads(lib.sh("ip", "-j", "link", "show", "veth0.300", ns=host).stdout)[0]["address"]
    for container in (c1, c2):
        link = json.loads(lib.sh("ip", "-d", "-j", "link", "show", "eth0", ns=container).stdout)[0]
        assert link["linkinfo"]["info_kind"] == "ipvlan" and link["address"] == parent_mac
    assert ping(c1, "10.3.0.129"), "two L2 endpoints reach each other"
    assert ping(c1, "10.3.0.1") and ping(c2, "10.3.0.1"), "L2 endpoints reach the router on the VLAN"
    assert ping(router, "10.3.0.128"), "the router reaches an L2 endpoint"
    assert ping(host, "10.3.0.129"), "the host reaches its L2 endpoint through the shim"
    assert lib.sh("ip", "route", "show", "default", ns=c3).stdout.startswith("default dev eth0")
    assert ping(c3, "10.31.0.1"), "the L3 endpoint reaches the router through the host"
    assert ping(router, "10.40.0.2"), "the router reaches the L3 endpoint through the host"
    # IPv6: the same paths (no DAD wait: the addresses are usable at once)
    assert ping(c1, "fd00:300::81"), "two L2 endpoints reach each other over IPv6"
    assert ping(c1, "fd00:300::1") and ping(c2, "fd00:300::1"), "L2 endpoints reach the router over IPv6"
    assert ping(router, "fd00:300::80"), "the router reaches an L2 endpoint over IPv6"
    assert lib.sh("ip", "-6", "route", "show", "default", ns=c3).stdout.startswith("default dev eth0")
    assert ping(c3, "fd00:301::1"), "the L3 endpoint reaches the router through the host over IPv6"
    assert ping(router, routed6), "the router reaches the L3 endpoint through the host over IPv6"
    info = lib.run_tasks([{"underlay.network.network_info": base}])[0]
    assert {n["Name"]: n["drift"] for n in info["networks"]} == {"vlan300": [], "routed": []}

    settled = world.settle()
    checked = lib.run_tasks([{NETWORK: dict(l2, state="absent", force=True)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["diff"]["after"] == {"state": "absent"}
    assert world.changes_since(settled) == []
    gone = lib.run_tasks([{NETWORK: dict(l2, state="absent", force=True)},
                          {NETWORK: dict(l2, state="absent", force=True)}])
    assert [x["changed"] for x in gone] == [True, False], [x.get("msg") for x in gone]
    assert "remove sub-interface 'veth0.300' (created for this network)" in gone[0]["actions"]
    assert lib.sh("ip", "link", "show", "eth0", ns=c1, check=False).returncode != 0
    assert lib.sh("ip", "link", "show", "veth0.300", ns=host, check=False).returncode != 0
