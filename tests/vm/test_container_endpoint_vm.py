# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint on VLAN parents (Debian kernel in the VM), through ansible-playbook."""

from __future__ import annotations

import underlay_testlib as lib


def test_containers_on_vlans_reach_their_gateway_only(namespaces, tmp_path):
    host = namespaces.new("h")
    router = namespaces.new("r")
    namespaces.veth(host, "veth0", router, "trunk")
    for vid, gateway in ((100, "10.0.0.1/24"), (200, "192.168.3.1/24")):
        lib.sh("ip", "link", "add", "link", "trunk", "name", f"trunk.{vid}", "type", "vlan", "id", str(vid), ns=router)
        lib.sh("ip", "addr", "add", gateway, "dev", f"trunk.{vid}", ns=router)
        lib.sh("ip", "link", "set", f"trunk.{vid}", "up", ns=router)
    c100a, c100b, c200 = namespaces.new("c"), namespaces.new("c"), namespaces.new("c")
    base = {"netns": host, "state_dir": str(tmp_path / "state")}
    r = lib.run_tasks([
        {"underlay.network.macvlan_network": dict(base, name="vlan100", parent="veth0.100", subnet="10.0.0.0/24",
                                                  ip_range="10.0.0.0/25", gateway="10.0.0.1")},
        {"underlay.network.macvlan_network": dict(base, name="vlan200", parent="veth0.200",
                                                  subnet="192.168.3.0/24", gateway="192.168.3.1")},
        {"underlay.network.container_endpoint": dict(base, network="vlan100", endpoints=[
            {"container_netns": c100a}, {"container_netns": c100b}])},
        {"underlay.network.container_endpoint": dict(base, network="vlan200", container_netns=c200,
                                                     default_route=False)},
    ])
    assert all(x.get("changed") for x in r), [x.get("msg") for x in r]
    assert [e["ipv4_address"] for e in r[2]["endpoints"]] == ["10.0.0.2/24", "10.0.0.3/24"]
    assert r[3]["endpoint"]["ipv4_address"] == "192.168.3.2/24"

    def ping(ns, address):
        return lib.sh("ping", "-c", "2", "-W", "2", address, ns=ns, check=False).returncode == 0

    assert ping(c100a, "10.0.0.1"), "VLAN 100 container reaches its gateway across the trunk"
    assert ping(c100a, "10.0.0.3"), "two containers on VLAN 100 reach each other"
    assert ping(c200, "192.168.3.1"), "VLAN 200 container reaches its gateway"
    assert not ping(c200, "10.0.0.2"), "VLAN 200 has no direct path to VLAN 100 (no route, no shared segment)"
