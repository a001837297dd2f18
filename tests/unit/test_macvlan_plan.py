# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner tables for macvlan_network: stored state and kernel snapshots in, steps out."""

from __future__ import annotations

import pytest

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _macvlan
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect

NO_LEASES = {"leases": {}, "last_reserved": None}
NOW = "2026-12-05T00:00:00.000000Z"  # the time read() gives the planner


def spec(**params):
    base = {"name": "vlan100", "parent": "eth0.100", "subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/25"}
    base.update(params)
    return _macvlan.build_spec(base)


def stored(**changes):
    s = spec(**changes)
    definition = {"name": s.name, "id": "x" * 64, "driver": "macvlan", "parent": s.parent, "mode": s.mode,
                  "ipam": s.ipam.as_dict(), "internal": s.internal, "host_access": s.host_access,
                  "owned_parent": True, "netns": None, "created": "2026-01-01T00:00:00.000000Z"}
    return definition


def current(definition=None, leases=None, others=None, **links):
    return _macvlan.MacvlanCurrent(definition=definition, others=others or {}, leases=leases or NO_LEASES, now=NOW,
                                   **links)


def test_new_network_on_missing_vlan_parent_creates_and_owns_it():
    planned = _macvlan.plan(spec(), current(vlan_base=link("eth0")))
    assert [s.op for s in planned.steps] == ["link_add_vlan", "link_set", "store_put_network"]
    assert planned.steps[0].args["vlan_id"] == 100 and planned.steps[0].args["parent"] == "eth0"
    assert planned.after["owned_parent"] is True and planned.before == {"state": "absent"}
    assert planned.steps[-1].undo.op == "store_delete_network"


def test_existing_parent_is_not_owned_and_rerun_is_empty():
    parent = link("eth0.100", kind="vlan", parent="eth0", vlan_id=100, protocol="802.1Q")
    planned = _macvlan.plan(spec(), current(parent=parent))
    assert [s.op for s in planned.steps] == ["store_put_network"]
    assert planned.after["owned_parent"] is False
    definition = dict(planned.steps[0].args["definition"])
    assert _macvlan.plan(spec(), current(definition, parent=parent)).steps == []


@pytest.mark.parametrize("links, message", [
    ({}, "parent: interface 'eth0.100' does not exist in the host's network namespace, nor does 'eth0'"),
])
def test_missing_parent_and_base(links, message):
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(), current(**links))
    assert str(err.value).startswith(message)


def test_plain_missing_parent():
    with pytest.raises(UnderlayError, match="^parent: interface 'veth9' does not exist in network namespace 'h1'$"):
        _macvlan.plan(spec(parent="veth9", netns="h1"), current())


def test_overlap_names_the_other_network():
    others = {"other": stored(name="other", subnet="10.0.0.0/16", ip_range=None)}
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(), current(others=others, parent=link("eth0.100")))
    assert str(err.value) == ("subnet: 10.0.0.0/24 overlaps the subnet 10.0.0.0/16 of network 'other'"
                              " on parent 'eth0.100'")
    others = {"elsewhere": dict(stored(name="elsewhere", subnet="10.0.0.0/16", ip_range=None), parent="eth1")}
    assert _macvlan.plan(spec(), current(others=others, parent=link("eth0.100"))).steps


LEASES = {"leases": {"10.0.0.5": {"owner": "container:web", "container": "web", "ifname": "eth1",
                                  "netns_path": "/proc/42/ns/net"}}, "last_reserved": "10.0.0.5"}


def test_mode_change_is_in_place_on_each_endpoint():
    parent = link("eth0.100", kind="vlan")
    planned = _macvlan.plan(spec(mode="private"), current(stored(), LEASES, parent=parent))
    assert [(s.op, s.args) for s in planned.steps] == [
        ("link_set_macvlan_mode", {"name": "eth1", "mode": "private", "in_netns": "/proc/42/ns/net"}),
        ("store_put_network", {"definition": planned.steps[1].args["definition"]}),
    ]
    assert planned.steps[0].undo.args["mode"] == "bridge"


@pytest.mark.parametrize("params, message", [
    ({"subnet": "10.1.0.0/24", "ip_range": None},
     "subnet: cannot change the addressing of network 'vlan100': 10.0.0.5 is leased to web and would be outside"
     " the subnet 10.1.0.0/24"),
    ({"aux_addresses": {"sw": "10.0.0.5"}},
     "aux_addresses.sw: cannot change the addressing of network 'vlan100': 10.0.0.5 is leased to web and would be"
     " the auxiliary address 'sw'"),
    ({"gateway": "10.0.0.5"},
     "gateway: cannot change the addressing of network 'vlan100': 10.0.0.5 is leased to web and would be the"
     " gateway"),
])
def test_addressing_change_that_strands_a_lease_is_refused_naming_the_option(params, message):
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(**params), current(stored(), LEASES, parent=link("eth0.100")))
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("leased, subnet, role", [
    ("10.0.0.7", "10.0.0.0/29", "broadcast address of 10.0.0.0/29"),
    ("10.0.0.8", "10.0.0.8/29", "network address of 10.0.0.8/29"),
])
def test_shrinking_the_subnet_onto_a_leased_network_or_broadcast_address_is_refused(leased, subnet, role):
    leases = {"leases": {leased: dict(LEASES["leases"]["10.0.0.5"])}, "last_reserved": leased}
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(subnet=subnet, ip_range=None), current(stored(), leases, parent=link("eth0.100")))
    assert str(err.value).endswith(f"{leased} is leased to web and would be the {role}")
    assert (err.value.field, err.value.value) == ("subnet", subnet)
    wider = spec(subnet="10.0.0.0/28", ip_range=None)
    assert _macvlan.plan(wider, current(stored(), leases, parent=link("eth0.100"))).steps


def test_host_access_on_a_leased_address_is_refused():
    access = {"ifname": "shim", "address": "10.0.0.5"}
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(host_access=access), current(stored(), LEASES, parent=link("eth0.100")))
    assert str(err.value) == "host_access.address: 10.0.0.5 is leased to the endpoint web of network 'vlan100'"


@pytest.mark.parametrize("parent, links", [
    ("lo", {"parent": link("lo", kind=None, index=1)}),
    ("lo.100", {"vlan_base": link("lo", kind=None, index=1)}),
])
def test_loopback_parent_is_refused(parent, links):
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(parent=parent), current(**links))
    assert str(err.value) == "parent: 'lo' is the loopback interface, which cannot carry a macvlan network"


@pytest.mark.parametrize("old, new", [("bridge", "passthru"), ("passthru", "private")])
def test_mode_change_to_or_from_passthru_with_endpoints_is_refused(old, new):
    parent = link("eth0.100", kind="vlan")
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(mode=new), current(stored(mode=old), LEASES, parent=parent))
    assert str(err.value).startswith(f"mode: cannot change network 'vlan100' from mode {old} to {new} while"
                                     " endpoints are attached: web (10.0.0.5)")
    assert [s.op for s in _macvlan.plan(spec(mode=new), current(stored(mode=old), parent=parent)).steps] == [
        "store_put_network"]


@pytest.mark.parametrize("other, clash", [
    ({"driver": "bridge", "bridge_name": "br0", "ipam": {"subnet": "10.0.0.128/25"}},
     "subnet: 10.0.0.0/24 overlaps the subnet 10.0.0.128/25 of network 'other'"),
    ({"driver": "macvlan", "parent": "eth0.100", "ipam": {"subnet": "10.0.0.0/16"}},
     "subnet: 10.0.0.0/24 overlaps the subnet 10.0.0.0/16 of network 'other' on parent 'eth0.100'"),
    ({"driver": "macvlan", "parent": "eth1", "ipam": {"subnet": "10.0.0.0/16"}}, None),
])
def test_overlap_is_one_rule_with_bridge_networks(other, clash):
    planned = current(others={"other": other}, parent=link("eth0.100"))
    if clash is None:
        assert _macvlan.plan(spec(), planned).steps
        return
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(), planned)
    assert str(err.value) == clash


def absent_current(owner_state, old_shim=None, **extra):
    return current(stored(**extra), LEASES, parent=link("eth0.100", kind="vlan"), old_shim=old_shim,
                   owners={"container:web": owner_state})


def test_absent_with_live_endpoints_needs_force_and_deletes_links_last():
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(state="absent"), absent_current(("alive", None)))
    assert str(err.value) == ("name: network 'vlan100' has endpoints attached: web (10.0.0.5);"
                              " detach them first or set force: true")
    access = {"ifname": "shim", "address": "10.0.0.9"}
    planned = _macvlan.plan(spec(state="absent", force=True),
                            absent_current(("alive", None), link("shim", kind="macvlan"), host_access=access))
    assert [s.op for s in planned.steps] == ["store_delete_leases", "store_delete_network", "link_del_if_present",
                                             "link_del", "link_del"]
    assert [s.args for s in planned.steps[3:]] == [{"name": "shim"}, {"name": "eth0.100"}]
    assert all(s.undo is not None for s in planned.steps[:2])


def test_absent_releases_leases_whose_owner_is_gone():
    planned = _macvlan.plan(spec(state="absent"), absent_current(("gone", None)))
    assert [s.op for s in planned.steps] == ["store_delete_leases", "store_delete_network", "link_del"]
    assert planned.actions[0] == "release the leases of network 'vlan100' (owners gone: web (10.0.0.5))"


def test_absent_with_an_owner_that_cannot_be_asked_needs_force_and_says_why():
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(spec(state="absent"), absent_current(("unknown", "podman could not be asked: no storage")))
    assert str(err.value) == ("name: network 'vlan100' has endpoints attached: web (10.0.0.5; cannot tell whether"
                              " it still exists: podman could not be asked: no storage); detach them first or set"
                              " force: true")


def test_replaced_host_access_gives_up_its_route_first_and_is_removed_last():
    parent = link("eth0.100", kind="vlan")
    old = stored(host_access={"ifname": "shim", "address": "10.0.0.9"})
    planned = _macvlan.plan(spec(host_access={"ifname": "shim2", "address": "10.0.0.9"}),
                            current(old, parent=parent, old_shim=link("shim", kind="macvlan", parent="eth0.100"),
                                    old_shim_routes=("10.0.0.0/25",)))
    assert [s.op for s in planned.steps] == ["route_del", "link_add_macvlan", "addr_add", "link_set", "route_add",
                                             "store_put_network", "link_del"]
    assert planned.steps[0].undo.args == {"name": "shim", "dst": "10.0.0.0/25"}
    assert planned.steps[-1].args == {"name": "shim"} and planned.steps[-1].undo is None


def test_owned_parent_kept_while_another_network_uses_it():
    others = {"b": stored(name="b", subnet="10.9.0.0/24", ip_range=None)}
    planned = _macvlan.plan(spec(state="absent"), current(stored(), others=others,
                                                          parent=link("eth0.100", kind="vlan")))
    assert [s.op for s in planned.steps] == ["store_delete_network"]


@pytest.mark.parametrize("params, message", [
    ({"mode": "bridged"}, "mode: 'bridged' is not one of bridge, private, vepa, passthru"),
    ({"name": "has space"}, "name: 'has space' is not a valid network name"),
    ({"parent": None}, "parent: is required when state is present"),
    ({"subnet": None}, "subnet: is required when state is present"),
    ({"host_access": {"ifname": "shim", "address": "10.9.0.1"}}, "host_access.address: 10.9.0.1 is outside"),
    ({"host_access": {"ifname": "shim", "address": "10.0.0.1"}}, "host_access.address: 10.0.0.1 is the gateway"),
    ({"host_access": {"ifname": "eth0.100", "address": "10.0.0.9"}}, "host_access.ifname: 'eth0.100' is the parent"),
    ({"mode": "private", "host_access": {"ifname": "shim", "address": "10.0.0.9"}},
     "host_access: needs mode bridge, not private"),
    ({"mode": "vepa", "host_access": {"ifname": "shim", "address": "10.0.0.9"}},
     "host_access: needs mode bridge, not vepa"),
])
def test_bad_spec(params, message):
    with pytest.raises(UnderlayError) as err:
        spec(**params)
    assert str(err.value).startswith(message)


def test_inspect_shape():
    view = inspect(stored(aux_addresses={"sw": "10.0.0.2"}), LEASES["leases"], {"parent": "eth0.100",
                                                                                "macvlan_mode": "bridge"})
    assert view["IPAM"]["Config"] == [{"Subnet": "10.0.0.0/24", "IPRange": "10.0.0.0/25", "Gateway": "10.0.0.1",
                                       "AuxiliaryAddresses": {"sw": "10.0.0.2"}}]
    assert view["Containers"] == {"container:web": {"Name": "web", "EndpointID": "", "MacAddress": "",
                                                    "IPv4Address": "10.0.0.5/24", "IPv6Address": ""}}
    assert (view["Driver"], view["Scope"], view["Internal"]) == ("macvlan", "local", False)
