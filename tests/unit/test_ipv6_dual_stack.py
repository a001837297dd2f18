# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dual stack: the IPv6 side of a network (validation, stored definition, overlap)."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket

import pytest

from endpoint_world import DUAL, MACVLAN, current, endpoint_link, lease
from endpoint_world import spec as endpoint_spec
from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import (
    _bridge,
    _endpoint_names,
    _endpoint_plan,
    _endpoint_view,
    _leases,
    _macvlan,
    _network_spec,
    _store,
)
from ansible_collections.underlay.network.plugins.module_utils import _rtnl_codec as rtnl
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet
from ansible_collections.underlay.network.plugins.module_utils._info import EndpointKernel, NetworkKernel, drift
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect
from ansible_collections.underlay.network.plugins.module_utils._packet_sockets import unsolicited_na_message

NO_LEASES = {"leases": {}, "last_reserved": None}
NOW = "2026-12-05T00:00:00.000000Z"
V6 = {"ipv6_subnet": "fd00:10::/64"}


def macvlan_spec(**params):
    base = {"name": "dual", "parent": "eth0", "subnet": "10.0.0.0/24"}
    base.update(params)
    return _macvlan.build_spec(base)


def macvlan_current(definition=None, others=None):
    return _macvlan.MacvlanCurrent(definition=definition, others=others or {}, leases=NO_LEASES, now=NOW,
                                   parent=link("eth0"))


def test_ipv6_side_defaults_to_the_first_host_and_the_whole_subnet():
    ipam6 = _network_spec.build_ipam6(V6)
    assert _network_spec.ipam6_dict(ipam6) == {"subnet": "fd00:10::/64", "gateway": "fd00:10::1",
                                               "ip_range": "fd00:10::/64"}
    assert _network_spec.build_ipam6({}) is None


@pytest.mark.parametrize("params, message", [
    ({"ipv6_subnet": "10.9.0.0/24"},
     "ipv6_subnet: '10.9.0.0/24' is an IPv4 network; ipv6_subnet takes an IPv6 one (the IPv4 subnet goes in subnet)"),
    ({"ipv6_subnet": "fd00:10::1/64"}, "ipv6_subnet: 'fd00:10::1/64' has host bits set; the network is fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_gateway": "fd00:11::1"},
     "ipv6_gateway: fd00:11::1 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_gateway": "10.0.0.1"},
     "ipv6_gateway: 10.0.0.1 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_range": "fd00:11::/80"},
     "ipv6_range: fd00:11::/80 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_range": "fd00:10::/48"},
     "ipv6_range: fd00:10::/48 is larger than the subnet fd00:10::/64"),
    ({"ipv6_gateway": "fd00:10::1"}, "ipv6_gateway: fd00:10::1 needs ipv6_subnet (the IPv6 subnet it belongs to)"),
    ({"ipv6_range": "fd00:10::/80"}, "ipv6_range: fd00:10::/80 needs ipv6_subnet (the IPv6 subnet it belongs to)"),
])
def test_bad_ipv6_addressing_names_the_ipv6_option(params, message):
    with pytest.raises(UnderlayError) as err:
        _network_spec.build_ipam6(params)
    assert str(err.value).startswith(message)


def test_a_second_ipv6_subnet_beside_an_ipv6_subnet_is_refused():
    with pytest.raises(UnderlayError) as err:
        macvlan_spec(subnet="fd00:1::/64", **V6)
    assert str(err.value).startswith("ipv6_subnet: subnet fd00:1::/64 is IPv6 already")


@pytest.mark.parametrize("build, params", [
    (macvlan_spec, {}),
    (lambda **params: _bridge.build_spec(params), {"name": "dual", "subnet": "10.0.0.0/24"}),
])
def test_every_driver_takes_the_ipv6_side_and_its_mtu_floor(build, params):
    spec = build(**dict(params, ipv6_subnet="fd00:10::/64", ipv6_gateway="fd00:10::fe"))
    assert str(spec.ipam6.gateway) == "fd00:10::fe"
    with pytest.raises(UnderlayError) as err:
        build(**dict(params, ipv6_subnet="fd00:10::/64", mtu=1279))
    assert "1280" in str(err.value)


def test_definition_stores_the_ipv6_side_rerun_is_empty_and_dropping_it_is_a_change():
    planned = _macvlan.plan(macvlan_spec(**V6), macvlan_current())
    definition = planned.steps[-1].args["definition"]
    assert definition["ipam6"] == {"subnet": "fd00:10::/64", "gateway": "fd00:10::1", "ip_range": "fd00:10::/64"}
    assert _store.definition_problem("dual", definition) is None
    assert _macvlan.plan(macvlan_spec(**V6), macvlan_current(definition)).steps == []
    single = _macvlan.plan(macvlan_spec(), macvlan_current(definition))
    assert [s.op for s in single.steps] == ["store_put_network"] and "ipam6" not in single.after
    assert single.before["ipam6"]["subnet"] == "fd00:10::/64"
    assert _macvlan.stored_params(definition)["ipv6_subnet"] == "fd00:10::/64"


def test_an_ipv4_only_definition_stored_before_dual_stack_is_unchanged():
    planned = _macvlan.plan(macvlan_spec(), macvlan_current())
    definition = planned.steps[-1].args["definition"]
    assert "ipam6" not in definition
    assert _macvlan.plan(macvlan_spec(), macvlan_current(definition)).steps == []


def test_a_stored_definition_with_a_bad_ipv6_side_is_corrupt():
    definition = _macvlan.plan(macvlan_spec(**V6), macvlan_current()).steps[-1].args["definition"]
    broken = dict(definition, ipam6={"subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "ip_range": "10.1.0.0/24"})
    assert _store.definition_problem("dual", broken).startswith("ipam6.subnet: '10.1.0.0/24' is an IPv4 network")
    assert _store.definition_problem("dual", dict(definition, ipam6={"subnet": 5})) \
        == "'ipam6' is not an object with subnet, gateway and ip_range"


def test_overlapping_ipv6_subnets_are_refused_naming_the_other_network():
    other = {"driver": "bridge", "ipam": {"subnet": "10.5.0.0/24"}, "ipam6": {"subnet": "fd00:10::/56"}}
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(macvlan_spec(**V6), macvlan_current(others={"other": other}))
    assert str(err.value) == "ipv6_subnet: fd00:10::/64 overlaps the subnet fd00:10::/56 of network 'other'"
    assert _network_spec.overlapping(ipaddress.ip_network("fd00:10:0:ff::/64"),
                                     [("other", ipaddress.ip_network("fd00:10::/56"))]) is not None


# -- IPAM and the endpoint planner on a dual-stack network ---------------------------------

SCRATCH = _endpoint_names.scratch_name("netns:a", "d1")


def dual_lease(namespace, address6, **more):
    return lease("d1", namespace, ipv6_address=address6, **more)


def test_a_new_endpoint_gets_an_ipv6_address_beside_its_ipv4_one_usable_at_once():
    batch = endpoint_spec(network="d1", container_netns="a")
    planned = _endpoint_plan.plan(batch, current(batch, a={}))
    kernel = [action for action in planned.actions if "namespace a" in action]
    assert kernel == [
        f"create macvlan '{SCRATCH}' on 'eth3' in namespace a",
        f"rename '{SCRATCH}' to 'eth0' in namespace a",
        "add address 10.1.0.2/24 to 'eth0' in namespace a",
        "turn IPv6 on for 'eth0' in namespace a (accept_ra=0, autoconf=0)",
        "add address fd00:1::2/64 to 'eth0' in namespace a (no DAD)",
        "set 'eth0' up in namespace a",
        "announce 10.1.0.2 (02:42:0a:01:00:02) with a gratuitous ARP in namespace a",
        "announce fd00:1::2 (02:42:0a:01:00:02) with an unsolicited neighbour advertisement in namespace a",
        "route default via 10.1.0.1 in namespace a",
        "route ::/0 via fd00:1::1 in namespace a"]
    added = next(step for step in planned.steps if step.args.get("address") == "fd00:1::2/64")
    assert added.args["nodad"] is True and added.undo.op == "addr_del"
    saved = next(step for step in planned.steps if step.action.startswith("save the leases"))
    assert saved.args["table"]["leases"]["10.1.0.2"]["ipv6_address"] == "fd00:1::2"
    assert saved.args["table"]["last_reserved6"] == "fd00:1::2"
    view = _endpoint_view.predict(batch, None, planned)
    assert (view["ipv4_address"], view["ipv6_address"]) == ("10.1.0.2/24", "fd00:1::2/64")


def test_an_ipv4_only_network_keeps_ipv6_off_and_refuses_a_static_ipv6_address():
    batch = endpoint_spec(network="n1", container_netns="a")
    planned = _endpoint_plan.plan(batch, current(batch, a={}))
    assert not [step for step in planned.steps if step.op in ("endpoint_ipv6_on", "unsolicited_na")]
    assert "ipv6_address" not in _endpoint_view.predict(batch, None, planned)
    batch = endpoint_spec(network="n1", container_netns="a", ipv6_address="fd00:1::5")
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, current(batch, a={}))
    assert str(err.value) == "ipv6_address: fd00:1::5 cannot be given: network 'n1' has no IPv6 (no ipv6_subnet)"


@pytest.mark.parametrize("address, fragment", [
    ("fd00:1::1", "fd00:1::1 is the gateway of network 'd1'"),
    ("fd00:2::5", "fd00:2::5 is outside the subnet fd00:1::/64 of network 'd1'"),
    ("fd00:1::7", "fd00:1::7 is already leased to netns:b on network 'd1'"),
])
def test_a_static_ipv6_address_has_the_rules_of_ipv4_address(address, fragment):
    batch = endpoint_spec(network="d1", container_netns="a", ipv6_address=address)
    world = dict(tables={"d1": {"10.1.0.9": dual_lease("b", "fd00:1::7")}}, a={})
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, current(batch, **world))
    assert err.value.field == "ipv6_address" and fragment in str(err.value)


def test_an_ipv4_address_in_ipv6_address_is_refused():
    with pytest.raises(UnderlayError) as err:
        endpoint_spec(network="d1", container_netns="a", ipv6_address="10.1.0.5")
    assert str(err.value) == "ipv6_address: '10.1.0.5' is not an IPv6 address"


def test_a_restarted_target_gets_both_addresses_back_and_a_batch_never_shares_one():
    restarted = dual_lease("a", "fd00:1::70", mac="02:42:0a:01:00:07", netns_path="/proc/99/ns/net")
    world = dict(tables={"d1": {"10.1.0.7": restarted}}, a={}, b={}, c={})
    batch = endpoint_spec(network="d1", endpoints=[{"container_netns": name} for name in ("a", "b", "c")])
    planned = _endpoint_plan.plan(batch, current(batch, **world))
    views = _endpoint_view.predict(batch, None, planned)
    assert [(v["ipv4_address"], v["ipv6_address"]) for v in views] == [
        ("10.1.0.7/24", "fd00:1::70/64"), ("10.1.0.2/24", "fd00:1::2/64"), ("10.1.0.3/24", "fd00:1::3/64")]


def test_an_attached_dual_stack_endpoint_is_left_alone_and_a_lost_ipv6_address_comes_back():
    link = endpoint_link("d1", "a", address="10.1.0.7", mac="02:42:0a:01:00:07")
    table = {"d1": {"10.1.0.7": dual_lease("a", "fd00:1::70", mac="02:42:0a:01:00:07")}}
    routes = {"default": "10.1.0.1", "::/0": "fd00:1::1"}
    batch = endpoint_spec(network="d1", container_netns="a")
    whole = dataclasses.replace(link, addresses=link.addresses + ("fd00:1::70/64",))
    assert _endpoint_plan.plan(batch, current(batch, tables=table, a={"link": whole, "gateway_routes": routes})
                               ).steps == []
    planned = _endpoint_plan.plan(batch, current(batch, tables=table, a={"link": link, "gateway_routes": routes}))
    assert planned.actions == [
        "turn IPv6 on for 'eth0' in namespace a (accept_ra=0, autoconf=0)",
        "add address fd00:1::70/64 to 'eth0' in namespace a (no DAD)",
        "announce fd00:1::70 (02:42:0a:01:00:07) with an unsolicited neighbour advertisement in namespace a"]


def test_detach_releases_both_addresses_and_its_undo_makes_the_ipv6_side_again():
    link = endpoint_link("d1", "a", address="10.1.0.7", mac="02:42:0a:01:00:07")
    table = {"d1": {"10.1.0.7": dual_lease("a", "fd00:1::70", mac="02:42:0a:01:00:07")}}
    batch = endpoint_spec(network="d1", container_netns="a", state="absent")
    planned = _endpoint_plan.plan(batch, current(batch, tables=table, a={"link": link}))
    undo = [step.action for step in planned.steps[0].undo]
    assert "add address fd00:1::70/64 to 'eth0' in namespace a (no DAD)" in undo
    assert undo[-1] == "route ::/0 via fd00:1::1 in namespace a"
    saved = next(step for step in planned.steps if step.op == "store_put_leases")
    assert saved.args["table"]["leases"] == {}


def test_lease_allocates_both_addresses_under_the_lock_and_the_table_stays_keyed_by_ipv4(tmp_path):
    definition = _macvlan.plan(macvlan_spec(**V6, ipv6_range="fd00:10::/125"), macvlan_current()
                               ).steps[-1].args["definition"]
    with _store.StateDir(str(tmp_path)) as store:
        store.put_network(definition)
        first = _leases.lease(store, "dual", "netns:a")
        second = _leases.lease(store, "dual", "netns:b", ipv6_address="fd00:10::5")
        third = _leases.lease(store, "dual", "netns:c")
        again = _leases.lease(store, "dual", "netns:a")
        table = store.leases("dual")
    assert (first, second, third, again) == ("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.2")
    assert {ip: entry["ipv6_address"] for ip, entry in table["leases"].items()} == {
        "10.0.0.2": "fd00:10::2", "10.0.0.3": "fd00:10::5", "10.0.0.4": "fd00:10::6"}
    assert table["last_reserved6"] == "fd00:10::6"  # the walk goes on after the static one, as for IPv4
    assert _store.lease_table_problem(table) is None


def test_a_lease_table_holding_one_ipv6_address_twice_is_corrupt():
    table = {"leases": {"10.0.0.2": {"owner": "netns:a", "ipv6_address": "fd00:10::5"},
                        "10.0.0.3": {"owner": "netns:b", "ipv6_address": "fd00:10::5"}}}
    assert _store.lease_table_problem(table) \
        == "fd00:10::5 is the ipv6_address of the leases of both 10.0.0.2 and 10.0.0.3"
    assert _store.lease_table_problem({"leases": {"10.0.0.2": {"owner": "x", "ipv6_address": "nope"}}}) \
        == "ipv6_address 'nope' of the lease of 10.0.0.2 is not an IP address"


def test_dropping_or_moving_the_ipv6_side_under_a_leased_ipv6_address_is_refused():
    definition = _macvlan.plan(macvlan_spec(**V6), macvlan_current()).steps[-1].args["definition"]
    leases = {"leases": {"10.0.0.2": {"owner": "netns:a", "ipv6_address": "fd00:10::5"}}, "last_reserved": None}
    for params, fragment in (({}, "ipv6_subnet: cannot change the addressing of network 'dual': fd00:10::5 is leased"
                                  " to netns:a and would be without its IPv6 address"),
                             ({"ipv6_subnet": "fd00:11::/64"}, "ipv6_subnet: cannot change the addressing"),
                             ({**V6, "ipv6_gateway": "fd00:10::5"}, "ipv6_gateway: cannot change the addressing")):
        planned = _macvlan.MacvlanCurrent(definition=definition, others={}, leases=leases, now=NOW, parent=link("eth0"))
        with pytest.raises(UnderlayError) as err:
            _macvlan.plan(macvlan_spec(**params), planned)
        assert str(err.value).startswith(fragment), str(err.value)


def test_inspect_shows_the_ipv6_entry_and_each_endpoints_ipv6_address():
    view = inspect(DUAL, {"10.1.0.7": dual_lease("a", "fd00:1::70")}, {})
    assert view["EnableIPv6"] is True and len(view["IPAM"]["Config"]) == 2
    assert view["IPAM"]["Config"][1]["Gateway"] == "fd00:1::1"
    entry = view["Containers"]["netns:a"]
    assert (entry["IPv4Address"], entry["IPv6Address"]) == ("10.1.0.7/24", "fd00:1::70/64")
    assert inspect(MACVLAN, {}, {})["EnableIPv6"] is False


# -- bridge networks and drift -----------------------------------------------------------------

def bridge_current(definition=None, forwarding6="0", **links):
    return _bridge.BridgeCurrent(definition=definition, others={}, leases=NO_LEASES, now=NOW, rules={},
                                 forwarding="1", forwarding6=forwarding6, **links)


def test_a_dual_stack_bridge_gets_its_ipv6_gateway_and_ipv6_forwarding_and_no_nat66():
    spec = _bridge.build_spec({"name": "br6", "bridge_name": "br6", "subnet": "172.30.0.0/24", **V6})
    planned = _bridge.plan(spec, bridge_current())
    gateway6 = next(step for step in planned.steps if step.args.get("address") == "fd00:10::1/64")
    assert gateway6.op == "addr_add" and gateway6.args["nodad"] is True
    forwarding = next(step for step in planned.steps if step.args.get("key") == "net.ipv6.conf.all.forwarding")
    assert forwarding.args["value"] == "1" and forwarding.undo.args == {"key": "net.ipv6.conf.all.forwarding",
                                                                        "value": "0"}
    rules = [step.args["rule"]["comment"] for step in planned.steps if step.op == "nft_add_rule"]
    assert rules == ["underlay.network:br6:masquerade:172.30.0.0/24>br6"]  # IPv4's NAT only
    routed = _bridge.build_spec({"name": "br6", "bridge_name": "br6", "subnet": "172.30.0.0/24", "masquerade": False,
                                 **V6})
    definition = _bridge.plan(routed, bridge_current()).steps[-1].args["definition"]
    bridge = link("br6", kind="bridge", addresses=("172.30.0.1/24", "fd00:10::1/64"))
    assert _bridge.plan(routed, bridge_current(definition, forwarding6="1", bridge=bridge)).steps == []


def test_an_internal_dual_stack_bridge_is_refused():
    with pytest.raises(UnderlayError) as err:
        _bridge.build_spec({"name": "br6", "subnet": "172.30.0.0/24", "internal": True, **V6})
    assert str(err.value).startswith("ipv6_subnet: an internal bridge network is IPv4 only for now")


def test_drift_covers_the_ipv6_side():
    lease6 = dual_lease("a", "fd00:1::70", mac="02:42:0a:01:00:07")
    endpoint = endpoint_link("d1", "a", address="10.1.0.7", mac="02:42:0a:01:00:07", mode="bridge")
    routes = {"default": "10.1.0.1", "::/0": "fd00:1::1"}
    whole = dataclasses.replace(endpoint, addresses=endpoint.addresses + ("fd00:1::70/64",))
    kernel = NetworkKernel(parent=link("eth3"),
                           endpoints={"10.1.0.7": EndpointKernel(link=whole, gateway_routes=routes)})
    assert drift(DUAL, {"10.1.0.7": lease6}, kernel) == []
    wrong = dataclasses.replace(endpoint, addresses=endpoint.addresses + ("fd00:1::99/64",))
    kernel = NetworkKernel(parent=link("eth3"), endpoints={"10.1.0.7": EndpointKernel(
        link=wrong, gateway_routes={"default": "10.1.0.1"})})
    assert drift(DUAL, {"10.1.0.7": lease6}, kernel) == [
        "endpoint namespace a (10.1.0.7): interface 'eth0' lacks its address fd00:1::70/64"
        " (has 10.1.0.7/24, fd00:1::99/64)",
        "endpoint namespace a (10.1.0.7): route ::/0 via fd00:1::1 is missing"]
    bridge = {"name": "br6", "driver": "bridge", "bridge_name": "br6", "icc": True, "masquerade": False,
              "ipam": {"subnet": "172.30.0.0/24", "gateway": "172.30.0.1", "ip_range": "172.30.0.0/24"},
              "ipam6": {"subnet": "fd00:10::/64", "gateway": "fd00:10::1", "ip_range": "fd00:10::/64"}}
    kernel = NetworkKernel(bridge=link("br6", kind="bridge", addresses=("172.30.0.1/24",)), forwarding6="0")
    assert drift(bridge, {}, kernel) == [
        "bridge 'br6' lacks its IPv6 gateway address fd00:10::1",
        "IPv6 forwarding is off (net.ipv6.conf.all.forwarding=0), so fd00:10::/64 is not routed"]


# -- fleet_plan --------------------------------------------------------------------------------

def fleet_hosts(first6, second6, bridge6=None):
    def host(address, ip_range, ipv6):
        networks = [{"name": "v100", "driver": "macvlan", "parent": "ens33.100", "subnet": "10.0.0.0/24",
                     "ip_range": ip_range, **ipv6}]
        if bridge6:
            networks.append({"name": "br", "driver": "bridge", "subnet": "172.30.0.0/24", **bridge6})
        return {"trunks": [{"parent": "ens33", "vlans": [{"id": 100, "address": address}]}], "networks": networks}
    return {"host1": host("10.0.0.251/24", "10.0.0.0/26", first6),
            "host2": host("10.0.0.252/24", "10.0.0.64/26", second6)}


def fleet_messages(hosts, endpoints=()):
    problems, _summary = validate_fleet(hosts, list(endpoints))
    return [str(problem) for problem in problems]


def test_fleet_dual_stack_hosts_sharing_a_vlan_split_the_ipv6_range_by_the_ipv4_rules():
    good = fleet_hosts({"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::100/120"},
                       {"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::200/120"})
    assert fleet_messages(good) == []
    same_range = fleet_hosts({"ipv6_subnet": "fd00:100::/64"}, {"ipv6_subnet": "fd00:100::/64"})
    assert fleet_messages(same_range) == [
        "host2: underlay_networks[v100].ipv6_range: fd00:100::/64 overlaps fd00:100::/64, the ipv6_range of"
        " host1's network v100 on VLAN 100: both hosts would hand out the same addresses"]
    other_gateway = fleet_hosts({"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::100/120"},
                                {"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::200/120",
                                 "ipv6_gateway": "fd00:100::fe"})
    assert fleet_messages(other_gateway) == [
        "host2: underlay_networks[v100].ipv6_gateway: fd00:100::fe differs from fd00:100::1, the gateway of"
        " host1's network v100 on VLAN 100"]
    overlapping = fleet_hosts({"ipv6_subnet": "fd00:100::/64"}, {"ipv6_subnet": "fd00:100::/56"})
    assert any(message.startswith("host2: underlay_networks[v100].ipv6_subnet: fd00:100::/56 overlaps fd00:100::/64")
               for message in fleet_messages(overlapping))


def test_fleet_a_bridge_ipv6_subnet_overlapping_a_network_of_its_host_is_refused():
    hosts = fleet_hosts({"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::100/120"},
                        {"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::200/120"},
                        bridge6={"ipv6_subnet": "fd00:100::/80"})
    found = fleet_messages(hosts)
    assert "host1: underlay_networks[br].ipv6_subnet: fd00:100::/80 overlaps fd00:100::/64 of network 'v100' on the" \
           " same host" in found, found


@pytest.mark.parametrize("endpoints, expected", [
    ([{"host": "host1", "container": "a", "network": "v100", "ipv6_address": "fd00:100::5"},
      {"host": "host2", "container": "b", "network": "v100", "ipv6_address": "fd00:100::5"}],
     "host2: underlay_endpoints[1].ipv6_address: fd00:100::5 is also host1's underlay_endpoints[0].ipv6_address"
     " on VLAN 100"),
    ([{"host": "host1", "container": "a", "network": "v100", "ipv6_address": "fd00:100::1"}],
     "host1: underlay_endpoints[0].ipv6_address: fd00:100::1 is reserved in network 'v100' (the gateway)"),
    ([{"host": "host1", "container": "a", "network": "v100", "ipv6_address": "fd00:200::5"}],
     "host1: underlay_endpoints[0].ipv6_address: fd00:200::5 is outside the subnet fd00:100::/64 of network 'v100'"),
    ([{"host": "host1", "container": "a", "network": "v100", "ipv6_address": "fd00:100::205"}],
     "host1: underlay_endpoints[0].ipv6_address: fd00:100::205 lies in ip_range fd00:100::200/120 of host2's"
     " network v100 on VLAN 100"),
])
def test_fleet_static_ipv6_addresses_follow_the_ipv4_rules(endpoints, expected):
    hosts = fleet_hosts({"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::100/120"},
                        {"ipv6_subnet": "fd00:100::/64", "ipv6_range": "fd00:100::200/120"})
    found = fleet_messages(hosts, endpoints)
    assert any(message.startswith(expected) for message in found), found


def test_fleet_a_static_ipv6_address_on_an_ipv4_only_network_is_refused():
    found = fleet_messages(fleet_hosts({}, {}), [{"host": "host1", "container": "a", "network": "v100",
                                                  "ipv6_address": "fd00:100::5"}])
    assert found == ["host1: underlay_endpoints[0].ipv6_address: fd00:100::5 cannot be given: network 'v100' has no"
                     " IPv6 (no ipv6_subnet)"], found


def test_the_ipv6_default_route_is_added_on_link_and_the_address_without_dad():
    """The codec's requests: an on-link route (rtmsg flags RTNH_F_ONLINK, the link as RTA_OIF)
    and an address with IFA_F_NODAD in its ifaddrmsg."""
    _kind, _flags, body = rtnl.change_route(True, bytes(16), 0, ipaddress.ip_address("fd00:1::1").packed, oif=7,
                                            family=socket.AF_INET6, rt_flags=rtnl.RTNH_F_ONLINK)
    assert rtnl.RTMSG.unpack(body[:rtnl.RTMSG.size])[-1] == rtnl.RTNH_F_ONLINK
    _kind, _flags, body = rtnl.change_route(False, bytes(16), 0, family=socket.AF_INET6, rt_flags=rtnl.RTNH_F_ONLINK)
    assert rtnl.RTMSG.unpack(body[:rtnl.RTMSG.size])[-1] == 0
    _kind, _flags, body = rtnl.change_address(True, 7, bytes(16), 64, socket.AF_INET6, rtnl.ADDRESS_NODAD)
    assert rtnl.IFADDR.unpack(body[:rtnl.IFADDR.size])[2] == rtnl.ADDRESS_NODAD
    batch = endpoint_spec(network="d1", container_netns="a")
    planned = _endpoint_plan.plan(batch, current(batch, a={}))
    route = next(step for step in planned.steps if step.args.get("dst") == "::/0")
    assert route.args["name"] == "eth0"


def test_the_unsolicited_neighbour_advertisement_is_rfc_4861_shaped():
    message = unsolicited_na_message(bytes.fromhex("02420a010002"), ipaddress.ip_address("fd00:1::2").packed)
    assert message[:4] == bytes([136, 0, 0, 0]) and message[4] == 0x20  # type, code, checksum; override only
    assert message[8:24] == ipaddress.ip_address("fd00:1::2").packed
    assert message[24:] == bytes([2, 1]) + bytes.fromhex("02420a010002")  # target link-layer address option
