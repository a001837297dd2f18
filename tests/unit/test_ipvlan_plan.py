# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan_network's validation and planner tables (the macvlan planner with the ipvlan
LinkDriver), and what its endpoints get from container_endpoint's planner: no MAC of their
own, and in L3 mode a default route through their interface."""

from __future__ import annotations

import pytest

from endpoint_world import IPVLAN_L3, current as endpoint_current, endpoint_link, lease, spec as endpoint_spec
from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_plan, _endpoint_view, _info
from ansible_collections.underlay.network.plugins.module_utils import _ipvlan, _macvlan
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect

NO_LEASES = {"leases": {}, "last_reserved": None}
NOW = "2026-12-05T00:00:00.000000Z"
LEASES = {"leases": {"10.0.0.5": {"owner": "container:web", "container": "web", "ifname": "eth0",
                                  "netns_path": "/proc/7/ns/net"}}, "last_reserved": "10.0.0.5"}
PARENT = link("eth0.100", kind="vlan", parent="eth0", vlan_id=100, protocol="802.1Q")


def spec(**params):
    base = {"name": "lan", "parent": "eth0.100", "subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/25"}
    base.update(params)
    return _ipvlan.build_spec(base)


def current(definition=None, leases=None, others=None, **links):
    links.setdefault("parent", PARENT)
    return _macvlan.MacvlanCurrent(definition=definition, others=others or {}, leases=leases or NO_LEASES, now=NOW,
                                   **links)


def created(**params):
    """The definition a first run stores for ``spec(**params)``."""
    planned = _ipvlan.plan(spec(**params), current())
    return [step for step in planned.steps if step.op == "store_put_network"][0].args["definition"]


def other(driver, name="other", parent="eth0.100", subnet="10.9.0.0/24", **more):
    return dict({"name": name, "driver": driver, "parent": parent, "ipam": {"subnet": subnet}}, **more)


def test_defaults_are_dockers_l2_and_bridge():
    made = spec()
    assert (made.driver.name, made.mode, made.flag) == ("ipvlan", "l2", "bridge")


def test_new_network_stores_driver_mode_and_flag_and_a_rerun_changes_nothing():
    definition = created(mode="l3", flag="private")
    assert (definition["driver"], definition["mode"], definition["flag"]) == ("ipvlan", "l3", "private")
    assert definition["owned_parent"] is False
    assert _ipvlan.plan(spec(mode="l3", flag="private"), current(definition)).steps == []


def test_inspect_view_has_dockers_ipvlan_options():
    definition = created(flag="vepa")
    view = inspect(definition, {}, _ipvlan.options(definition))
    assert (view["Driver"], view["Options"]) == ("ipvlan", {"parent": "eth0.100", "ipvlan_mode": "l2",
                                                            "ipvlan_flag": "vepa"})
    planned = _ipvlan.plan(spec(flag="vepa"), current())
    assert _ipvlan.predict(spec(flag="vepa"), current(), planned)["Options"] == view["Options"]
    assert _info.OPTIONS["ipvlan"](definition) == view["Options"]


def test_macvlan_definitions_stay_as_they_were():
    """No ``flag`` key in a macvlan definition: a stored one is not rewritten by this release."""
    planned = _macvlan.plan(_macvlan.build_spec({"name": "m", "parent": "eth0.100", "subnet": "10.0.0.0/24"}),
                            current())
    assert "flag" not in planned.steps[-1].args["definition"]


def test_stored_params_declare_the_network_again():
    definition = created(mode="l3s", flag="private", internal=True)
    again = _ipvlan.build_spec(dict(_ipvlan.stored_params(definition), state_dir="/s"))
    assert again == spec(mode="l3s", flag="private", internal=True, state_dir="/s")


@pytest.mark.parametrize("params, message", [
    ({"mode": "l4"}, "mode: 'l4' is not one of l2, l3, l3s"),
    ({"mode": "bridge"}, "mode: 'bridge' is not one of l2, l3, l3s"),
    ({"flag": "passthru"}, "flag: 'passthru' is not one of bridge, private, vepa"),
    ({"mode": "l3", "host_access": {"ifname": "shim", "address": "10.0.0.9"}},
     "host_access: needs mode l2 and flag bridge, not l3 (flag bridge): the host access interface is an ipvlan"),
    ({"flag": "private", "host_access": {"ifname": "shim", "address": "10.0.0.9"}},
     "host_access: needs mode l2 and flag bridge, not l2 (flag private)"),
    ({"parent": None}, "parent: is required when state is present"),
    ({"parent": "bad name"}, "parent: "),
])
def test_bad_input_is_refused_naming_the_field(params, message):
    with pytest.raises(UnderlayError) as err:
        spec(**params)
    assert str(err.value).startswith(message)


def test_ipvlan_on_a_parent_of_a_macvlan_network_is_refused_naming_it():
    with pytest.raises(UnderlayError) as err:
        _ipvlan.plan(spec(), current(others={"vlan100": other("macvlan", "vlan100", mode="bridge")}))
    assert str(err.value) == ("parent: 'eth0.100' already carries the macvlan network 'vlan100': the kernel cannot"
                              " hang ipvlan and macvlan interfaces off one parent")


def test_macvlan_on_a_parent_of_an_ipvlan_network_is_refused_naming_it():
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(_macvlan.build_spec({"name": "m", "parent": "eth0.100", "subnet": "10.0.0.0/24"}),
                      current(others={"lan": other("ipvlan", "lan", mode="l2", flag="bridge")}))
    assert str(err.value) == ("parent: 'eth0.100' already carries the ipvlan network 'lan': the kernel cannot"
                              " hang macvlan and ipvlan interfaces off one parent")


def test_other_parents_do_not_conflict():
    assert _ipvlan.plan(spec(), current(others={"m": other("macvlan", "m", parent="eth1", mode="bridge")})).steps


@pytest.mark.parametrize("mode, flag, field", [("l3", "bridge", "mode"), ("l2", "private", "flag")])
def test_ipvlan_networks_of_one_parent_share_mode_and_flag(mode, flag, field):
    others = {"first": other("ipvlan", "first", mode="l2", flag="bridge")}
    assert _ipvlan.plan(spec(), current(others=others)).steps  # the same mode and flag: fine
    with pytest.raises(UnderlayError) as err:
        _ipvlan.plan(spec(mode=mode, flag=flag), current(others=others))
    assert err.value.field == field
    assert str(err.value).endswith("the ipvlan network 'first' on 'eth0.100' has mode l2 and flag bridge: the kernel"
                                   " keeps one mode and flag for all ipvlans of a parent")


def test_mode_and_flag_change_in_place_with_undo():
    definition = created()
    planned = _ipvlan.plan(spec(mode="l3", flag="private"), current(definition, LEASES))
    assert [step.op for step in planned.steps] == ["link_set_ipvlan_mode", "store_put_network"]
    step = planned.steps[0]
    assert step.action == "set ipvlan mode of web (10.0.0.5) to l3 (flag private)"
    assert step.args == {"name": "eth0", "in_netns": "/proc/7/ns/net", "mode": "l3", "flag": "private"}
    assert step.undo.args == {"name": "eth0", "in_netns": "/proc/7/ns/net", "mode": "l2", "flag": "bridge"}


def test_host_access_is_an_ipvlan_in_l2_bridge():
    access = {"ifname": "shim", "address": "10.0.0.200"}
    planned = _ipvlan.plan(spec(host_access=access), current())
    assert [step.op for step in planned.steps] == ["link_add_ipvlan", "addr_add", "link_set", "route_add",
                                                   "store_put_network"]
    assert planned.steps[0].args == {"name": "shim", "parent": "eth0.100", "mode": "l2", "flag": "bridge"}
    assert planned.actions[0] == "create host access interface 'shim' (ipvlan l2 bridge on 'eth0.100')"
    definition = planned.steps[-1].args["definition"]
    shim = link("shim", kind="ipvlan", parent="eth0.100", mode="l2", flag="bridge", addresses=("10.0.0.200/32",))
    assert _ipvlan.plan(spec(host_access=access), current(definition, shim=shim,
                                                          shim_routes=("10.0.0.0/25",))).steps == []
    with pytest.raises(UnderlayError, match="'shim' already exists as a macvlan link on 'eth0.100', not an? ipvlan"):
        _ipvlan.plan(spec(host_access=access), current(definition, shim=link("shim", kind="macvlan",
                                                                             parent="eth0.100")))


def test_absent_removes_the_shim_and_the_owned_parent():
    access = {"ifname": "shim", "address": "10.0.0.200"}
    definition = dict(created(host_access=access), owned_parent=True)
    planned = _ipvlan.plan(spec(state="absent"), current(definition, old_shim=link("shim", kind="ipvlan")))
    assert [(step.op, step.args) for step in planned.steps] == [
        ("store_delete_network", {"name": "lan"}), ("link_del", {"name": "shim"}), ("link_del", {"name": "eth0.100"})]


def test_a_network_of_the_other_driver_with_the_name_is_refused():
    with pytest.raises(UnderlayError, match="network 'lan' already exists with driver macvlan"):
        _ipvlan.plan(spec(), current(dict(created(), driver="macvlan")))


# -- its endpoints (container_endpoint's planner) -------------------------------------------------

def test_an_l2_endpoint_is_an_ipvlan_without_a_mac_of_its_own():
    batch = endpoint_spec(network="v2", container_netns="a")
    planned = _endpoint_plan.plan(batch, endpoint_current(batch, a={}))
    create = [step for step in planned.steps if step.op == "endpoint_add_ipvlan"][0]
    made = {key: create.args[key] for key in ("parent", "mode", "flag")}
    assert made == {"parent": "eth1", "mode": "l2", "flag": "bridge"}
    assert "mac_address" not in create.args
    assert "announce 10.2.0.2 (the parent's MAC) with a gratuitous ARP in namespace a" in planned.actions
    assert "route default via 10.2.0.1 in namespace a" in planned.actions
    saved = [step for step in planned.steps if step.action.startswith("save the leases")][0]
    assert "mac_address" not in saved.args["table"]["leases"]["10.2.0.2"]
    view = _endpoint_view.predict(batch, None, planned)
    assert (view["mac_address"], view["gateway"], view["ipv4_address"]) == (None, "10.2.0.1", "10.2.0.2/24")


def test_an_l3_endpoint_routes_through_its_interface_and_sends_no_arp():
    batch = endpoint_spec(network="v3", container_netns="a")
    planned = _endpoint_plan.plan(batch, endpoint_current(batch, a={}))
    route = [step for step in planned.steps if step.op == "route_add"][0]
    assert route.action == "route default via dev eth0 in namespace a"
    assert route.args == {"in_netns": "/run/netns/a", "name": "eth0", "dst": "0.0.0.0/0"}
    assert route.undo.op == "route_del" and route.undo.args == route.args
    assert not [step for step in planned.steps if step.op in ("gratuitous_arp", "route_add_via")]
    assert _endpoint_view.predict(batch, None, planned)["gateway"] is None


def test_an_attached_l3_endpoint_is_left_as_it_is():
    batch = endpoint_spec(network="v3", container_netns="a")
    attached = {"link": endpoint_link("v3", "a", address="10.3.0.2"), "gateway_routes": {"default": "dev eth0"}}
    tables = {"v3": {"10.3.0.2": lease("v3", "a")}}
    tables["v3"]["10.3.0.2"].pop("mac_address")
    planned = _endpoint_plan.plan(batch, endpoint_current(batch, tables=tables, a=attached))
    assert planned.steps == []


def test_an_l3_endpoint_does_not_take_another_networks_default_route():
    batch = endpoint_spec(network="v3", container_netns="a")
    planned = _endpoint_plan.plan(batch, endpoint_current(batch, a={"gateway_routes": {"default": "10.0.0.1"}}))
    assert not [step for step in planned.steps if step.op.startswith("route_")]


def test_detaching_an_ipvlan_endpoint_is_undone_by_making_it_again():
    batch = endpoint_spec(network="v3", container_netns="a", state="absent")
    held = dict(lease("v3", "a"))
    held.pop("mac_address")
    attached = {"link": endpoint_link("v3", "a", address="10.3.0.2")}
    planned = _endpoint_plan.plan(batch, endpoint_current(batch, tables={"v3": {"10.3.0.2": held}}, a=attached))
    undo = planned.steps[0].undo
    assert [step.op for step in undo] == ["endpoint_add_ipvlan", "link_rename", "addr_add", "link_set", "route_add"]
    assert undo[0].args["mode"] == "l3" and undo[-1].args["dst"] == "0.0.0.0/0"


def test_a_mac_for_an_ipvlan_endpoint_is_refused():
    batch = endpoint_spec(network="v2", container_netns="a", mac_address="02:42:0a:02:00:09")
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, endpoint_current(batch, a={}))
    assert str(err.value) == ("mac_address: '02:42:0a:02:00:09' cannot be set: an endpoint of an ipvlan network has"
                              " its parent's MAC address (leave mac_address out, or use a macvlan network)")


# -- drift (network_info) ----------------------------------------------------------------------

def test_drift_names_a_changed_mode_and_a_missing_device_route():
    held = dict(lease("v3", "a"), default_route=True)
    endpoint = _info.EndpointKernel(link=endpoint_link("v3", "a", address="10.3.0.2", mode="l2"), gateway_routes={})
    kernel = _info.NetworkKernel(parent=link("eth2"), endpoints={"10.3.0.2": endpoint})
    found = _info.drift(IPVLAN_L3, {"10.3.0.2": held}, kernel)
    assert found == [
        "endpoint namespace a (10.3.0.2): interface 'eth0' is in ipvlan mode l2 (flag None), the network's is l3"
        " (flag bridge)",
        "endpoint namespace a (10.3.0.2): route default via dev eth0 is missing"]
    fine = _info.EndpointKernel(link=endpoint_link("v3", "a", address="10.3.0.2", mode="l3", flag="bridge"),
                                gateway_routes={"default": "dev eth0"})
    kernel = _info.NetworkKernel(parent=link("eth2"), endpoints={"10.3.0.2": fine})
    assert _info.drift(IPVLAN_L3, {"10.3.0.2": held}, kernel) == []
