# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_plan and the roles' lists with ``driver: ipvlan``: the module's own validation, one
segment per parent shared with macvlan networks of other hosts, one driver per parent on a
host, no MAC for its endpoints, no ``flag`` on a macvlan network."""

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet

TRUNK = [{"parent": "ens33", "vlans": [{"id": 300}, {"id": 100}]}]


def ipvlan(name="vlan300", parent="ens33.300", subnet="10.3.0.0/24", **extra):
    return dict({"name": name, "driver": "ipvlan", "parent": parent, "subnet": subnet}, **extra)


def messages(networks, endpoints=(), other_networks=None):
    hosts = {"host1": {"trunks": TRUNK, "networks": networks}}
    if other_networks is not None:
        hosts["host2"] = {"trunks": TRUNK, "networks": other_networks}
    problems, summary = validate_fleet(hosts, list(endpoints))
    return [str(problem) for problem in problems], summary


def test_an_ipvlan_network_and_its_endpoint_are_accepted_and_summarised_per_vlan():
    found, summary = messages([ipvlan(ip_range="10.3.0.0/25", mode="l3", flag="private")],
                              [{"host": "host1", "container": "web", "network": "vlan300",
                                "ipv4_address": "10.3.0.5"}],
                              other_networks=[ipvlan(ip_range="10.3.0.128/25")])
    assert found == []
    found = [(item["host"], item["driver"]) for item in summary["VLAN 300"]]
    assert found == [("host1", "ipvlan"), ("host2", "ipvlan")]


@pytest.mark.parametrize("networks, endpoints, problem", [
    ([ipvlan(mode="l4")], [], "host1: underlay_networks[vlan300].mode: 'l4' is not one of l2, l3, l3s"),
    ([ipvlan(flag="passthru")], [], "host1: underlay_networks[vlan300].flag: 'passthru' is not one of bridge,"
     " private, vepa"),
    ([{"name": "m", "driver": "macvlan", "parent": "ens33.100", "subnet": "10.0.0.0/24", "flag": "private"}], [],
     "host1: underlay_networks[m].flag: flag 'private' is not an option of a macvlan network"),
    ([ipvlan(bridge_name="br0")], [], "host1: underlay_networks[vlan300].bridge_name: bridge_name 'br0' is not an option"
     " of an ipvlan network"),
    ([{"name": "m", "driver": "macvlan", "parent": "ens33.300", "subnet": "10.9.0.0/24"}, ipvlan()], [],
     "host1: underlay_networks[vlan300].parent: 'ens33.300' already carries the macvlan network 'm': the kernel"
     " cannot hang ipvlan and macvlan interfaces off one parent"),
    ([ipvlan(), {"name": "m", "driver": "macvlan", "parent": "ens33.300", "subnet": "10.9.0.0/24"}], [],
     "host1: underlay_networks[m].parent: 'ens33.300' already carries the ipvlan network 'vlan300': the kernel"
     " cannot hang macvlan and ipvlan interfaces off one parent"),
    ([ipvlan(), ipvlan("second", subnet="10.9.0.0/24", mode="l3")], [],
     "host1: underlay_networks[second].mode: the ipvlan network 'vlan300' on 'ens33.300' has mode l2 and flag"
     " bridge: the kernel keeps one mode and flag for all ipvlans of a parent"),
    ([ipvlan(), ipvlan("second", subnet="10.3.0.128/25")], [],
     "host1: underlay_networks[second].subnet: 10.3.0.128/25 overlaps 10.3.0.0/24 of network 'vlan300' on the"
     " same host"),
    ([ipvlan()], [{"host": "host1", "container": "web", "network": "vlan300", "mac_address": "02:42:0a:03:00:05"}],
     "host1: underlay_endpoints[0].mac_address: '02:42:0a:03:00:05' cannot be set: an endpoint of an ipvlan"
     " network has its parent's MAC address (leave mac_address out, or use a macvlan network)"),
])
def test_bad_ipvlan_items_are_problems_naming_host_item_and_value(networks, endpoints, problem):
    found, _summary = messages(networks, endpoints)
    assert found == [problem]


def test_macvlan_and_ipvlan_networks_of_other_hosts_share_the_vlan():
    """One VLAN is one segment whichever driver each host uses: the fleet-wide checks hold across."""
    found, _summary = messages([ipvlan(ip_range="10.3.0.0/25")], other_networks=[
        {"name": "vlan300", "driver": "macvlan", "parent": "ens33.300", "subnet": "10.3.0.0/24",
         "ip_range": "10.3.0.64/26"}])
    assert found == ["host2: underlay_networks[vlan300].ip_range: 10.3.0.64/26 overlaps 10.3.0.0/25, the ip_range of"
                     " host1's network vlan300 on VLAN 300: both hosts would hand out the same addresses"]
