# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``underlay-network restore`` applies is what was declared: a stored definition turned
back into module parameters builds the spec that stored it, a lease turned back into a batch
item asks for the same address, MAC, interface and routes; and ``status`` renders a network."""

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _cli, _endpoint_spec, _macvlan

MACVLAN = {"name": "vlan100", "id": "x", "driver": "macvlan", "parent": "ens33.100", "mode": "bridge",
           "ipam": {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/25",
                    "aux_addresses": {"router": "10.0.0.2"}},
           "internal": True, "host_access": {"ifname": "shim100", "address": "10.0.0.254/32"},
           "owned_parent": True, "netns": None, "created": "2026-12-04T00:00:00Z"}
BRIDGE = {"name": "bridge2", "id": "y", "driver": "bridge", "bridge_name": "bridge2",
          "ipam": {"subnet": "172.28.0.0/16", "gateway": "172.28.5.254", "ip_range": "172.28.5.0/24",
                   "aux_addresses": {}},
          "icc": False, "internal": False, "masquerade": True, "mtu": 1400, "netns": None, "created": "x"}


def test_a_macvlan_definition_declares_itself_again():
    spec = _macvlan.build_spec(dict(_macvlan.stored_params(MACVLAN), state_dir="/s"))
    assert (spec.name, spec.parent, spec.mode, spec.internal) == ("vlan100", "ens33.100", "bridge", True)
    assert spec.ipam.as_dict() == MACVLAN["ipam"]
    assert spec.host_access == MACVLAN["host_access"]


def test_a_bridge_definition_declares_itself_again():
    spec = _bridge.build_spec(dict(_bridge.stored_params(BRIDGE), state_dir="/s"))
    assert (spec.bridge_name, spec.icc, spec.internal, spec.masquerade, spec.mtu) == ("bridge2", False, False, True,
                                                                                      1400)
    assert spec.ipam.as_dict() == BRIDGE["ipam"]


@pytest.mark.parametrize("owner, kind, target", [("container:web", "container", "web"),
                                                 ("netns:tenant-a", "container_netns", "tenant-a"),
                                                 ("pid:4242", "pid", 4242)])
def test_a_lease_asks_for_its_endpoint_again(owner, kind, target):
    lease = {"owner": owner, "ifname": "eth1", "mac_address": "02:00:00:00:00:07", "default_route": False,
             "routes": [["10.9.0.0/16", "10.0.0.3"]], "netns_path": "/proc/1/ns/net"}
    spec = _endpoint_spec.build_spec({"endpoints": [_endpoint_spec.stored_item("vlan100", "10.0.0.7", lease)]}).endpoints[0]
    assert (spec.network, spec.target_kind, spec.target) == ("vlan100", kind, target)
    assert (spec.ipv4_address, spec.mac_address, spec.ifname) == ("10.0.0.7", "02:00:00:00:00:07", "eth1")
    assert (spec.default_route, spec.routes) == (False, (("10.9.0.0/16", "10.0.0.3"),))


def test_a_lease_without_a_recorded_default_route_leaves_the_choice_to_the_engine():
    item = _endpoint_spec.stored_item("n", "10.0.0.7", {"owner": "netns:a", "mac_address": "02:00:00:00:00:07"})
    assert "default_route" not in item and item["routes"] == []


def test_status_shows_the_network_its_endpoints_and_its_drift():
    network = {"Name": "vlan100", "Driver": "macvlan", "Options": {"parent": "ens33.100", "macvlan_mode": "bridge"},
               "IPAM": {"Config": [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]},
               "Containers": {"c": {"Name": "web", "IPv4Address": "10.0.0.5/24", "IPv6Address": "",
                                    "MacAddress": "02:42:0a:00:00:05"}},
               "drift": ["parent 'ens33.100' is missing"]}
    assert _cli.status_lines(network) == [
        "vlan100  driver=macvlan  subnet=10.0.0.0/24  gateway=10.0.0.1  macvlan_mode=bridge parent=ens33.100",
        "  web  10.0.0.5/24  02:42:0a:00:00:05",
        "  drift: parent 'ens33.100' is missing"]
