# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet plan validation (the management plane): each problem names host, item and value."""

from __future__ import annotations

import copy
import os
import re

import pytest
import yaml

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _endpoint_spec, _macvlan, _vlan
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "inventories", "example")


def macvlan(name, parent, subnet, ip_range=None, gateway=None, **extra):
    item = {"name": name, "driver": "macvlan", "parent": parent, "subnet": subnet}
    if ip_range:
        item["ip_range"] = ip_range
    if gateway:
        item["gateway"] = gateway
    item.update(extra)
    return item


def fleet(**hosts):
    return {name: {"trunks": spec.get("trunks", []), "networks": spec.get("networks", [])}
            for name, spec in hosts.items()}


TRUNK = [{"parent": "ens33", "vlans": [{"id": 100}, {"id": 21, "address": "172.21.1.254/24"}]}]
GOOD = fleet(
    host1={"trunks": TRUNK, "networks": [macvlan("vlan100", "ens33.100", "10.0.0.0/24", "10.0.0.0/25", "10.0.0.1")]},
    host2={"trunks": [{"parent": "ens33", "vlans": [{"id": 100}, {"id": 21, "address": "172.21.1.253/24"}]}],
           "networks": [macvlan("vlan100", "ens33.100", "10.0.0.0/24", "10.0.0.128/25", "10.0.0.1")]},
)


def messages(hosts, endpoints=()):
    problems, _summary = validate_fleet(hosts, list(endpoints))
    return [str(problem) for problem in problems]


def test_a_valid_plan_has_no_problems_and_a_summary_per_vlan():
    problems, summary = validate_fleet(GOOD, [{"host": "host1", "container": "web", "network": "vlan100"}])
    assert problems == []
    assert [(item["host"], item["ip_range"]) for item in summary["VLAN 100"]] == [
        ("host1", "10.0.0.0/25"), ("host2", "10.0.0.128/25")]


def load_example():
    def read(path):
        with open(os.path.join(EXAMPLE, path), encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    group = read("group_vars/container_hosts.yml")
    hosts = {}
    for host in ("host1", "host2"):
        own = read(f"host_vars/{host}.yml")
        # underlay_networks is "{{ LIST + LIST ... }}": the lists it adds, the host's own or the group's
        parts = re.findall(r"underlay_\w+", own["underlay_networks"])
        assert parts, own["underlay_networks"]
        networks = [network for part in parts for network in (own[part] if part in own else group[part])]
        hosts[host] = {"trunks": own["underlay_trunks"], "networks": networks}
    return hosts, read("group_vars/all.yml")["underlay_endpoints"]


def test_the_example_inventory_is_a_valid_plan():
    hosts, endpoints = load_example()
    problems, summary = validate_fleet(hosts, endpoints)
    assert problems == []
    assert sorted(summary) == sorted(["VLAN 100", "VLAN 200", "VLAN 21", "VLAN 22", "VLAN 300",
                                      "the untagged (native) VLAN",
                                      "host1's bridge network bridge2", "host1's bridge network isolated",
                                      "host1's bridge network wp-internal", "host1's bridge network wp-front",
                                      "host2's bridge network bridge2", "host2's bridge network isolated"])


@pytest.mark.parametrize("mutate, expected", [
    (lambda h: h["host1"]["trunks"][0]["vlans"].append({"id": 5000}),
     "host1: underlay_trunks[ens33].vlans[2].id: 5000 is out of range (1-4094)"),
    (lambda h: h["host1"]["trunks"][0]["vlans"].append({"id": 0}),
     "host1: underlay_trunks[ens33].vlans[2].id: 0 is out of range (1-4094)"),
    (lambda h: h["host1"]["trunks"][0]["vlans"].append({"id": 100}),
     "host1: underlay_trunks[ens33].vlans[2].id: VLAN 100 is listed twice on ens33"),
    (lambda h: h["host1"]["trunks"].append({"parent": "ens33", "vlans": [{"id": 7}]}),
     "host1: underlay_trunks[1].parent: 'ens33' is also the parent of underlay_trunks[0]; list all of its VLANs in one trunk"),
    (lambda h: h["host1"]["trunks"][0]["vlans"].append({"id": 300, "name": "averyverylongname"}),
     "host1: underlay_trunks[ens33].vlans[2].name: 'averyverylongname' is 17 characters long"),
    (lambda h: h["host1"]["trunks"][0]["vlans"].append({"id": 300, "address": "10.9.9.300/24"}),
     "host1: underlay_trunks[ens33].vlans[2].address: '10.9.9.300/24' is not an address in CIDR notation"),
    (lambda h: h["host2"]["networks"][0].update(ip_range="10.0.0.64/26"),
     "host2: underlay_networks[vlan100].ip_range: 10.0.0.64/26 overlaps 10.0.0.0/25, the ip_range of host1's "
     "network vlan100 on VLAN 100: both hosts would hand out the same addresses"),
    (lambda h: h["host2"]["networks"][0].update(subnet="10.0.0.0/16", ip_range="10.0.200.0/24"),
     "host2: underlay_networks[vlan100].subnet: 10.0.0.0/16 overlaps 10.0.0.0/24 of host1's network vlan100 on "
     "VLAN 100 but is not the same subnet"),
    (lambda h: h["host2"]["networks"][0].update(gateway="10.0.0.2"),
     "host2: underlay_networks[vlan100].gateway: 10.0.0.2 differs from 10.0.0.1, the gateway of host1's network "
     "vlan100 on VLAN 100"),
    (lambda h: h["host1"]["networks"][0].update(gateway="10.0.1.1"),
     "host1: underlay_networks[vlan100].gateway: 10.0.1.1 is outside the subnet 10.0.0.0/24"),
    (lambda h: h["host1"]["networks"][0].update(ip_range="10.1.0.0/25"),
     "host1: underlay_networks[vlan100].ip_range: 10.1.0.0/25 is outside the subnet 10.0.0.0/24"),
    (lambda h: h["host1"]["networks"][0].update(subnet="10.0.0.0/33"),
     "host1: underlay_networks[vlan100].subnet: '10.0.0.0/33' is not a network in CIDR notation"),
    (lambda h: h["host1"]["networks"].append(macvlan("other", "ens33.100", "10.0.0.0/26")),
     "host1: underlay_networks[other].subnet: 10.0.0.0/26 overlaps 10.0.0.0/24 of network 'vlan100' on the same host"),
    (lambda h: h["host1"]["networks"].append(macvlan("vlan100", "ens33.100", "10.5.0.0/24")),
     "host1: underlay_networks[vlan100].name: network 'vlan100' is defined twice on this host"),
    (lambda h: h["host1"]["networks"].append({"name": "x", "driver": "overlay", "subnet": "10.6.0.0/24"}),
     "host1: underlay_networks[x].driver: 'overlay' is not a known driver (macvlan, ipvlan, bridge)"),
    (lambda h: h["host1"]["networks"].append({"name": "b", "driver": "bridge", "subnet": "10.6.0.0/24",
                                              "mode": "private"}),
     "host1: underlay_networks[b].mode: mode 'private' is not an option of a bridge network"),
    (lambda h: h["host1"]["networks"].append({"name": "b", "driver": "bridge", "subnet": "10.0.0.128/25"}),
     "host1: underlay_networks[b].subnet: 10.0.0.128/25 overlaps 10.0.0.0/24 of network 'vlan100' on the same host"),
    (lambda h: h["host1"]["networks"].append(macvlan("ext21", "ens33.21", "172.21.1.0/24", gateway="172.21.1.1")),
     "host1: underlay_trunks[ens33].vlans[1].address (ens33.21): 172.21.1.254 lies in ip_range 172.21.1.0/24 of "
     "host1's network ext21 on VLAN 21, which may hand it out"),
    (lambda h: h["host2"]["trunks"][0]["vlans"][1].update(address="172.21.1.254/24"),
     "host2: underlay_trunks[ens33].vlans[1].address (ens33.21): 172.21.1.254 is also host1's "
     "underlay_trunks[ens33].vlans[1].address (ens33.21) on VLAN 21"),
    (lambda h: h["host2"]["networks"][0].update(host_access={"ifname": "shim", "address": "10.0.0.10"}),
     "host2: underlay_networks[vlan100].host_access.address: 10.0.0.10 lies in ip_range 10.0.0.0/25 of host1's "
     "network vlan100 on VLAN 100"),
])
def test_problems_name_host_item_and_value(mutate, expected):
    hosts = copy.deepcopy(GOOD)
    mutate(hosts)
    found = messages(hosts)
    assert any(message.startswith(expected) for message in found), found


def test_aux_addresses_exclude_a_host_address_from_the_pool():
    hosts = copy.deepcopy(GOOD)
    hosts["host1"]["networks"].append(macvlan("ext21", "ens33.21", "172.21.1.0/24", gateway="172.21.1.1",
                                              ip_range="172.21.1.0/24",
                                              aux_addresses={"host1": "172.21.1.254", "host2": "172.21.1.253"}))
    assert messages(hosts) == []


def test_a_vlan_is_one_segment_whatever_the_subinterface_is_called():
    hosts = copy.deepcopy(GOOD)
    hosts["host2"]["trunks"][0]["vlans"][0]["name"] = "vl100"
    hosts["host2"]["networks"][0].update(parent="vl100", ip_range="10.0.0.0/26")
    assert any("on VLAN 100" in message for message in messages(hosts))


def test_untagged_parents_share_the_native_segment_and_bridges_are_host_local():
    hosts = fleet(
        a={"networks": [macvlan("lan", "eth0", "10.9.0.0/16", "10.9.1.0/24"),
                        {"name": "b", "driver": "bridge", "subnet": "172.30.0.0/24"}]},
        b={"networks": [macvlan("lan", "eth1", "10.9.0.0/16", "10.9.1.128/25"),
                        {"name": "b", "driver": "bridge", "subnet": "172.30.0.0/24"}]},
    )
    found = messages(hosts)
    assert len(found) == 1 and "untagged (native) VLAN" in found[0], found


@pytest.mark.parametrize("endpoint, expected", [
    ({"host": "host3", "container": "web", "network": "vlan100"},
     "host3: underlay_endpoints[0].host: 'host3' is not a host of the inventory"),
    ({"host": "host1", "container": "web", "network": "vlan300"},
     "host1: underlay_endpoints[0].network: host host1 defines no network 'vlan300' (its networks: vlan100)"),
    ({"host": "host1", "container": "web"},
     "host1: underlay_endpoints[0].network: an endpoint needs a network"),
    ({"host": "host1", "container": "web", "pid": 1, "network": "vlan100"},
     "host1: underlay_endpoints[0]: give exactly one of container, pid, container_netns (got container, pid)"),
    ({"host": "host1", "container": "web", "network": "vlan100", "ipv4_address": "10.0.1.5"},
     "host1: underlay_endpoints[0].ipv4_address: 10.0.1.5 is outside the subnet 10.0.0.0/24 of network 'vlan100'"),
    ({"host": "host1", "container": "web", "network": "vlan100", "ipv4_address": "10.0.0.1"},
     "host1: underlay_endpoints[0].ipv4_address: 10.0.0.1 is reserved in network 'vlan100'"),
    ({"host": "host1", "container": "web", "network": "vlan100", "ipv4_address": "10.0.0.200"},
     "host1: underlay_endpoints[0].ipv4_address: 10.0.0.200 lies in ip_range 10.0.0.128/25 of host2's network vlan100"),
    ({"host": "host1", "container": "web", "network": "vlan100", "ipv4_address": "10.0.0.x"},
     "host1: underlay_endpoints[0].ipv4_address: '10.0.0.x' is not an IP address"),
])
def test_endpoint_problems(endpoint, expected):
    found = messages(GOOD, [endpoint])
    assert any(message.startswith(expected) for message in found), found


def test_the_same_static_address_on_two_hosts_of_one_vlan():
    hosts = copy.deepcopy(GOOD)
    for host in hosts.values():
        host["networks"][0]["aux_addresses"] = {}
    endpoints = [{"host": "host1", "container": "a", "network": "vlan100", "ipv4_address": "10.0.0.5"},
                 {"host": "host2", "container": "b", "network": "vlan100", "ipv4_address": "10.0.0.5"}]
    found = messages(hosts, endpoints)
    assert "host2: underlay_endpoints[1].ipv4_address: 10.0.0.5 is also host1's underlay_endpoints[0].ipv4_address " \
           "on VLAN 100" in found, found


def test_a_static_address_in_its_own_hosts_range_is_fine():
    endpoints = [{"host": "host1", "container": "a", "network": "vlan100", "ipv4_address": "10.0.0.5"}]
    assert messages(GOOD, endpoints) == []


def test_absent_networks_are_not_checked_against_others_but_endpoints_cannot_use_them():
    hosts = copy.deepcopy(GOOD)
    hosts["host2"]["networks"][0].update(ip_range="10.0.0.0/25", state="absent")
    assert messages(hosts) == []
    found = messages(hosts, [{"host": "host2", "container": "a", "network": "vlan100"}])
    assert found == ["host2: underlay_endpoints[0].network: host host2 defines no network 'vlan100' "
                     "(its networks: none)"]


def test_the_same_user_set_mac_twice_on_one_vlan_is_a_problem_however_it_is_written():
    endpoints = [{"host": "host1", "container": "a", "network": "vlan100", "mac_address": "02:00:00:00:00:05"},
                 {"host": "host2", "container": "b", "network": "vlan100", "mac_address": "02-00-00-00-00-05"},
                 {"host": "host1", "container": "c", "network": "vlan100", "mac_address": "02:00:00:00:00:0A"},
                 {"host": "host1", "container": "d", "network": "vlan100", "mac_address": "02:00:00:00:00:0a"}]
    assert messages(GOOD, endpoints) == [
        "host2: underlay_endpoints[1].mac_address: 02:00:00:00:00:05 is also host1's "
        "underlay_endpoints[0].mac_address on VLAN 100",
        "host1: underlay_endpoints[3].mac_address: 02:00:00:00:00:0a is also host1's "
        "underlay_endpoints[2].mac_address on VLAN 100"]


def test_one_mac_on_different_vlans_or_host_local_bridges_or_an_absent_endpoint_is_fine():
    hosts = copy.deepcopy(GOOD)
    for host in ("host1", "host2"):
        hosts[host]["networks"].append({"name": "br", "driver": "bridge", "subnet": "172.30.0.0/24"})
    hosts["host1"]["networks"].append(macvlan("vlan200", "ens33.200", "10.2.0.0/24"))
    mac = "02:00:00:00:00:05"
    endpoints = [{"host": "host1", "container": "a", "network": "vlan100", "mac_address": mac},
                 {"host": "host1", "container": "b", "network": "vlan200", "mac_address": mac},
                 {"host": "host1", "container": "c", "network": "br", "mac_address": mac},
                 {"host": "host2", "container": "d", "network": "br", "mac_address": mac},
                 {"host": "host2", "container": "e", "network": "vlan100", "mac_address": mac, "state": "absent"}]
    assert messages(hosts, endpoints) == []


@pytest.mark.parametrize("mac, expected", [
    ("02:00:00:00:00", "'02:00:00:00:00' is not a MAC address (e.g. 02:42:0a:00:00:05)"),
    ("01:00:5e:00:00:01", "'01:00:5e:00:00:01' is a multicast MAC address; an interface needs a unicast one"),
    ("00:00:00:00:00:00", "the all-zero MAC address cannot be assigned"),
])
def test_a_bad_mac_is_named_with_container_endpoints_own_message(mac, expected):
    found = messages(GOOD, [{"host": "host1", "container": "a", "network": "vlan100", "mac_address": mac}])
    assert found == [f"host1: underlay_endpoints[0].mac_address: {expected}"], found


@pytest.mark.parametrize("persist_format, protocol, expected", [
    ("ifcfg", "802.1ad", ["host1: underlay_trunks[ens33].vlans[1].protocol: 802.1ad cannot be written in an ifcfg file"]),
    (None, "802.1ad", ["host1: underlay_trunks[ens33].vlans[1].protocol: 802.1ad cannot be written in an ifcfg file"]),
    ("nmconnection", "802.1ad", []),
    ("networkd", "802.1ad", []),
    ("auto", "802.1ad", []),  # known on the host only: the module refuses it there if auto means ifcfg
    ("none", "802.1ad", []),
    ("ifcfg", "802.1Q", []),
    ("netplan", "802.1Q", ["host1: underlay_persist_format: 'netplan' is not one of ifcfg, nmconnection, networkd, "
                           "auto, none"]),
])
def test_persist_format_and_protocol_use_the_modules_rule(persist_format, protocol, expected):
    hosts = copy.deepcopy(GOOD)
    hosts["host1"]["trunks"][0]["vlans"][1]["protocol"] = protocol
    if persist_format is not None:
        hosts["host1"]["persist_format"] = persist_format
    found = messages(hosts)
    assert [message for message in found if "protocol" in message or "persist_format" in message] == \
        [message for message in found if any(message.startswith(e) for e in expected)]
    assert all(any(message.startswith(e) for message in found) for e in expected), found


def module_message(builder, params):
    """What the module's own spec builder says about ``params``."""
    with pytest.raises(UnderlayError) as err:
        builder(params)
    return err.value.field, err.value.detail


@pytest.mark.parametrize("extra, field", [
    ({"mac_address": "02:42:zz:00:00:01"}, "mac_address"),
    ({"ifname": "an-interface-name-too-long"}, "ifname"),
    ({"ifname": "eth/0"}, "ifname"),
    ({"routes": [{"dst": "nope", "gateway": "10.0.0.1"}]}, "routes"),
    ({"runtime": "lxc"}, "runtime"),
    ({"ipv4_address": "fe80::1"}, "ipv4_address"),
])
def test_an_endpoint_item_gets_container_endpoints_own_message(extra, field):
    item = dict({"container": "a", "network": "vlan100"}, **extra)
    expected_field, expected = module_message(_endpoint_spec.build_spec, item)
    assert expected_field == field
    found = messages(GOOD, [dict(item, host="host1")])
    assert found == [f"host1: underlay_endpoints[0].{field}: {expected}"], found


@pytest.mark.parametrize("network, field", [
    (macvlan("vlan300", "ens33.300", "10.3.0.0/24", mode="private",
             host_access={"ifname": "shim", "address": "10.3.0.9"}), "host_access"),
    (macvlan("vlan300", "ens33.300", "10.3.0.0/24", mode="fast"), "mode"),
    (macvlan("vlan300", "ens33.300", "10.3.0.0/24", host_access={"ifname": "ens33.300", "address": "10.3.0.9"}),
     "host_access.ifname"),
    ({"name": "br", "driver": "bridge", "subnet": "10.4.0.0/24", "internal": True, "masquerade": True}, "masquerade"),
    ({"name": "br", "driver": "bridge", "subnet": "fd00::/64"}, "subnet"),
    ({"name": "br", "driver": "bridge", "subnet": "10.4.0.0/24", "bridge_name": "a-bridge-name-too-long"},
     "bridge_name"),
    ({"name": "br", "driver": "bridge", "subnet": "10.4.0.0/24", "mtu": 20}, "mtu"),
])
def test_a_network_item_gets_the_network_modules_own_message(network, field):
    builder = {"macvlan": _macvlan.build_spec, "bridge": _bridge.build_spec}[network["driver"]]
    expected_field, expected = module_message(builder, network)
    assert expected_field == field
    hosts = copy.deepcopy(GOOD)
    hosts["host1"]["networks"].append(network)
    assert messages(hosts) == [f"host1: underlay_networks[{network['name']}].{field}: {expected}"]


def test_a_trunk_vlan_gets_vlan_subinterfaces_own_message_under_the_roles_names():
    hosts = copy.deepcopy(GOOD)
    hosts["host1"]["trunks"][0]["vlans"].append({"id": 4000, "name": "ens33", "mtu": 10})
    _field, expected = module_message(_vlan.build_spec, {"parent": "ens33", "vlan_id": 4000, "name": "ens33"})
    assert messages(hosts) == [f"host1: underlay_trunks[ens33].vlans[2].name: {expected}"]
    hosts["host1"]["trunks"][0]["vlans"][2] = {"id": 4000, "mtu": 10}
    _field, expected = module_message(_vlan.build_spec, {"parent": "ens33", "vlan_id": 4000, "mtu": 10})
    assert messages(hosts) == [f"host1: underlay_trunks[ens33].vlans[2].mtu: {expected}"]
    hosts["host1"]["trunks"][0]["vlans"][2] = {"id": 4000, "address": "10.9.9.0/24"}
    _field, expected = module_message(_vlan.build_spec, {"parent": "ens33", "vlan_id": 4000,
                                                         "addresses": ["10.9.9.0/24"]})
    problems, _summary = validate_fleet(hosts, [])
    assert [(str(p), p.value) for p in problems] == [
        (f"host1: underlay_trunks[ens33].vlans[2].address: {expected}", "10.9.9.0/24")]


def test_a_bad_vlan_address_does_not_hide_the_subinterface_from_its_networks():
    hosts = copy.deepcopy(GOOD)
    hosts["host1"]["trunks"][0]["vlans"].append({"id": 300, "name": "vl300", "address": "10.3.0.300/24"})
    hosts["host1"]["networks"].append(macvlan("v300", "vl300", "10.3.0.0/24", "10.3.0.0/25"))
    hosts["host2"]["networks"].append(macvlan("v300", "ens33.300", "10.3.0.0/24", "10.3.0.64/26"))
    found = messages(hosts)
    assert len(found) == 2, found
    assert found[0].startswith("host1: underlay_trunks[ens33].vlans[2].address: '10.3.0.300/24' is not an address")
    assert found[1].startswith("host2: underlay_networks[v300].ip_range: 10.3.0.64/26 overlaps 10.3.0.0/25, the "
                               "ip_range of host1's network v300 on VLAN 300")
