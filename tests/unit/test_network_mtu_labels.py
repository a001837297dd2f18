# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks' ``mtu`` and ``labels``, endpoints' ``mtu`` (inherited, explicit, refused) and the
parent preflight: validation, planning, the inspect view and drift, without a kernel."""

from __future__ import annotations

import dataclasses

import pytest

from endpoint_world import NETWORKS, current, endpoint_link, lease, spec
from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import (
    _argspec,
    _bridge,
    _endpoint_plan,
    _endpoint_spec,
    _endpoint_view,
    _fleet,
    _macvlan,
    _network_mtu,
    _parent_state,
)
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._info import EndpointKernel, NetworkKernel, drift

NO_LEASES = {"leases": {}, "last_reserved": None}
NOW = "2026-12-05T00:00:00.000000Z"
PARENT = link("eth0", kind=None, mtu=9000, oper_state="up", carrier=True, promiscuous=False)


def macvlan_spec(**params):
    base = {"name": "storage", "parent": "eth0", "subnet": "10.30.0.0/24"}
    base.update(params)
    return _macvlan.build_spec(base)


def macvlan_current(definition=None, **links):
    return _macvlan.MacvlanCurrent(definition=definition, others={}, leases=NO_LEASES, now=NOW, **links)


def stored_by(planned):
    return next(step.args["definition"] for step in planned.steps if step.op == "store_put_network")


# -- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("labels, field, fragment", [
    (["a"], "labels", "is not a dict of labels"),
    ({"team": 3}, "labels.team", "3 is not a string"),
    ({"": "x"}, "labels", "is not a label name"),
    ({1: "x"}, "labels", "1 is not a label name"),
])
def test_labels_must_be_a_dict_of_strings(labels, field, fragment):
    for build in (macvlan_spec, lambda **p: _bridge.build_spec({"name": "b", "subnet": "172.30.0.0/24", **p})):
        with pytest.raises(UnderlayError) as err:
            build(labels=labels)
        assert (err.value.field, fragment in str(err.value)) == (field, True), str(err.value)


def test_labels_are_kept_sorted_and_default_empty():
    assert macvlan_spec(labels={"b": "2", "a": "1"}).labels == {"a": "1", "b": "2"}
    assert list(macvlan_spec(labels={"b": "2", "a": "1"}).labels) == ["a", "b"]
    assert macvlan_spec().labels == {} and macvlan_spec(labels=None).labels == {}


@pytest.mark.parametrize("mtu, subnet, fragment", [
    (67, "10.30.0.0/24", "67 is below 68, the least MTU IPv4 allows"),
    (0, "10.30.0.0/24", "0 is below 68"),
    (1279, "fd00:30::/64", "1279 is below 1280, the least MTU a network with IPv6 allows"),
    (65536, "10.30.0.0/24", "65536 is out of range"),
    ("jumbo", "10.30.0.0/24", "'jumbo' is not an integer"),
])
def test_network_mtu_below_the_floor_or_not_an_mtu_is_refused(mtu, subnet, fragment):
    with pytest.raises(UnderlayError) as err:
        macvlan_spec(mtu=mtu, subnet=subnet)
    assert err.value.field == "mtu" and fragment in str(err.value), str(err.value)


def test_the_floor_is_a_function_of_the_network():
    assert _network_mtu.floor(_network_mtu.subnets(NETWORKS["n1"])) == 68
    ipv6 = dict(NETWORKS["n1"], ipam=dict(NETWORKS["n1"]["ipam"], subnet="fd00::/64"))
    assert _network_mtu.floor(_network_mtu.subnets(ipv6)) == 1280
    assert macvlan_spec(mtu=1280, subnet="fd00:30::/64").mtu == 1280
    assert _bridge.build_spec({"name": "b", "subnet": "172.30.0.0/24", "mtu": 68}).mtu == 68


def test_every_network_module_takes_mtu_and_labels():
    options = _argspec.network()
    assert options["mtu"] == {"type": "int"} and options["labels"] == {"type": "dict", "default": {}}


@pytest.mark.parametrize("mtu, fragment", [(67, "67 is below 68"), (70000, "out of range"), (True, "not an integer")])
def test_endpoint_mtu_is_checked_with_the_item(mtu, fragment):
    with pytest.raises(UnderlayError) as err:
        items = [{"container_netns": "a"}, {"container_netns": "b", "mtu": mtu}]
        _endpoint_spec.build_spec({"network": "n1", "endpoints": items})
    assert err.value.field == "endpoints[1].mtu" and fragment in str(err.value), str(err.value)


# -- macvlan_network: mtu, labels, the parent preflight ---------------------------------------------

def test_mtu_and_labels_are_stored_shown_and_idempotent():
    wanted = macvlan_spec(mtu=9000, labels={"team": "storage"})
    planned = _macvlan.plan(wanted, macvlan_current(parent=PARENT))
    definition = stored_by(planned)
    assert (definition["mtu"], definition["labels"]) == (9000, {"team": "storage"})
    assert (planned.after["mtu"], planned.after["labels"]) == (9000, {"team": "storage"})
    view = _macvlan.report(wanted, macvlan_current(definition, parent=PARENT))
    assert view["Labels"] == {"team": "storage"}
    assert view["Options"]["com.docker.network.driver.mtu"] == "9000"
    assert _macvlan.plan(wanted, macvlan_current(definition, parent=PARENT)).steps == []


def test_changing_labels_changes_only_the_definition_and_shows_in_the_diff():
    definition = stored_by(_macvlan.plan(macvlan_spec(labels={"team": "a"}), macvlan_current(parent=PARENT)))
    planned = _macvlan.plan(macvlan_spec(labels={"team": "b", "site": "dc1"}), macvlan_current(definition, parent=PARENT))
    assert [step.op for step in planned.steps] == ["store_put_network"]
    assert (planned.before["labels"], planned.after["labels"]) == ({"team": "a"}, {"site": "dc1", "team": "b"})


def test_a_definition_stored_before_mtu_and_labels_existed_is_not_rewritten():
    definition = stored_by(_macvlan.plan(macvlan_spec(), macvlan_current(parent=PARENT)))
    old = {key: value for key, value in definition.items() if key not in ("mtu", "labels")}
    assert _macvlan.plan(macvlan_spec(), macvlan_current(old, parent=PARENT)).steps == []


def test_a_network_mtu_change_reaches_the_endpoints_that_inherit_it_in_place():
    definition = stored_by(_macvlan.plan(macvlan_spec(mtu=4000), macvlan_current(parent=PARENT)))
    held = {"owner": "netns:c1", "ifname": "eth0", "netns_path": "/run/netns/c1"}
    endpoints = {"10.30.0.2": (held, link("eth0", kind="macvlan", mtu=4000), None)}
    planned = _macvlan.plan(macvlan_spec(mtu=3000), macvlan_current(definition, parent=PARENT, inheriting=endpoints))
    step = next(step for step in planned.steps if step.op == "link_set")
    assert step.args == {"name": "eth0", "mtu": 3000, "in_netns": "/run/netns/c1"}
    assert step.undo.args == {"name": "eth0", "mtu": 4000, "in_netns": "/run/netns/c1"}
    assert step.action == "set MTU of 'eth0' in netns:c1 (10.30.0.2) from 4000 to 3000"
    # dropped: the endpoints follow the parent's MTU again
    back = _macvlan.plan(macvlan_spec(), macvlan_current(definition, parent=PARENT, inheriting=endpoints))
    assert [s.args["mtu"] for s in back.steps if s.op == "link_set"] == [9000]


@pytest.mark.parametrize("parent, base, name", [
    (link("eth0", mtu=1500), None, "the parent 'eth0'"),
    (None, link("eth0", mtu=1500), "the parent 'eth0'"),  # a parent the network creates: its base's MTU
])
def test_network_mtu_above_the_parents_is_refused(parent, base, name):
    wanted = macvlan_spec(mtu=9000, parent="eth0.30" if base else "eth0")
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(wanted, macvlan_current(parent=parent, vlan_base=base))
    assert err.value.field == "mtu"
    assert f"9000 is above the MTU 1500 of {name}" in str(err.value)


@pytest.mark.parametrize("state, fragment", [
    (dict(admin_state="down", carrier=False, oper_state="down"), "is administratively down and has no carrier"),
    (dict(oper_state="lowerlayerdown", carrier=False), "is down (operational state lowerlayerdown) and has no carrier"),
    (dict(oper_state="up", carrier=False), "has no carrier"),
])
def test_a_parent_down_or_without_carrier_is_a_warning_not_a_failure(state, fragment):
    parent = dataclasses.replace(PARENT, **state)
    planned = _macvlan.plan(macvlan_spec(), macvlan_current(parent=parent))
    assert planned.warnings == [f"parent 'eth0' of network 'storage' {fragment}: its endpoints reach nothing"
                                " through it until it is up with a carrier (see network.parent_state)"]
    assert [step.op for step in planned.steps] == ["store_put_network"]


def test_a_healthy_parent_gives_no_warning_and_its_state_is_returned():
    planned = _macvlan.plan(macvlan_spec(), macvlan_current(parent=PARENT))
    assert planned.warnings == []
    view = _macvlan.predict(macvlan_spec(), macvlan_current(parent=PARENT), planned)
    assert view["parent_state"] == {"oper_state": "up", "carrier": True, "promiscuous": False, "mtu": 9000}


def test_the_base_of_a_parent_to_create_is_checked_when_the_parent_is_missing():
    base = link("eth0", admin_state="down")
    planned = _macvlan.plan(macvlan_spec(parent="eth0.30"), macvlan_current(vlan_base=base))
    assert planned.warnings == [
        "'eth0' (where the parent 'eth0.30' is to be created) of network 'storage' is administratively down:"
        " its endpoints reach nothing through it until it is up with a carrier (see network.parent_state)"]
    assert _macvlan.predict(macvlan_spec(parent="eth0.30"), macvlan_current(vlan_base=base), planned)[
        "parent_state"] is None


def test_an_unknown_operational_state_is_not_a_warning():
    """Interfaces that report no operational state (loopback-like, some virtual NICs) say ``unknown``."""
    assert _parent_state.warnings("n", "eth0", dataclasses.replace(PARENT, oper_state="unknown", carrier=None)) == []


def test_bridge_network_stores_labels_and_shows_them():
    wanted = _bridge.build_spec({"name": "b", "subnet": "172.30.0.0/24", "labels": {"tier": "web"}, "mtu": 9000})
    planned = _bridge.plan(wanted, _bridge.BridgeCurrent(definition=None, others={}, leases=NO_LEASES, now=NOW))
    definition = stored_by(planned)
    assert (definition["labels"], definition["mtu"]) == ({"tier": "web"}, 9000)
    assert planned.steps[0].args == {"name": wanted.bridge_name, "mtu": 9000}
    view = _bridge.report(wanted, _bridge.BridgeCurrent(definition=definition, others={}, leases=NO_LEASES, now=NOW))
    assert view["Labels"] == {"tier": "web"}


def test_stored_params_give_mtu_and_labels_back():
    macvlan = stored_by(_macvlan.plan(macvlan_spec(mtu=9000, labels={"a": "b"}), macvlan_current(parent=PARENT)))
    assert macvlan_spec(**{k: v for k, v in _macvlan.stored_params(macvlan).items() if k != "name"}) == \
        macvlan_spec(mtu=9000, labels={"a": "b"})


# -- container_endpoint: the MTU an endpoint is to have ---------------------------------------------

MV9000 = dict(NETWORKS["n1"], parent="eth0")
BR9000 = dict(NETWORKS["b1"], mtu=9000)


def endpoint_plan(batch, uplinks, networks=None, **world):
    state = current(batch, **world)
    definitions = dict(state.definitions, **(networks or {}))
    items = [dataclasses.replace(item, definition=definitions[item.spec.network]) for item in state.items]
    state = dataclasses.replace(state, items=items, definitions=definitions, uplinks=uplinks)
    return state, _endpoint_plan.plan(batch, state)


def created(planned):
    return next(step for step in planned.steps if step.op.startswith("endpoint_add_"))


def test_a_macvlan_endpoint_inherits_its_parents_mtu():
    batch = spec(network="n1", container_netns="a")
    state, planned = endpoint_plan(batch, {"n1": PARENT}, a={})
    assert created(planned).args["mtu"] == 9000
    assert "mtu" not in planned.steps[0].args["table"]["leases"]["10.0.0.2"]  # inherited: not recorded
    assert _endpoint_view.predict(batch, state, planned)["mtu"] == 9000


def test_an_endpoint_with_its_own_mtu_keeps_it_in_its_lease():
    batch = spec(network="n1", container_netns="a", mtu=1500)
    _state, planned = endpoint_plan(batch, {"n1": PARENT}, a={})
    assert created(planned).args["mtu"] == 1500
    assert "with MTU 1500" in created(planned).action
    assert planned.steps[0].args["table"]["leases"]["10.0.0.2"]["mtu"] == 1500
    assert _endpoint_spec.stored_item("n1", "10.0.0.2", planned.steps[0].args["table"]["leases"]["10.0.0.2"])[
        "mtu"] == 1500


def test_an_endpoint_mtu_above_the_parents_is_refused():
    batch = spec(network="n1", container_netns="a", mtu=9001)
    with pytest.raises(UnderlayError) as err:
        endpoint_plan(batch, {"n1": PARENT}, a={})
    assert err.value.field == "mtu"
    assert str(err.value).startswith("mtu: 9001 is above the MTU 9000 of the parent 'eth0' of network 'n1'")


def test_a_network_mtu_above_a_parent_lowered_since_is_refused_naming_the_network():
    batch = spec(network="n1", container_netns="a")
    with pytest.raises(UnderlayError) as err:
        endpoint_plan(batch, {"n1": link("eth0", mtu=1500)}, networks={"n1": dict(NETWORKS["n1"], mtu=9000)}, a={})
    assert err.value.field == "network" and "network 'n1' has MTU 9000, above the MTU 1500 of its parent 'eth0'" \
        in str(err.value)


def test_an_attached_endpoint_takes_its_mtu_in_place_and_then_is_left_alone():
    batch = spec(network="n1", container_netns="a")
    attached = {"link": endpoint_link("n1", "a", address="10.0.0.7", mac="02:42:0a:00:00:07", mode="bridge"),
                "gateway_routes": {"default": "10.0.0.1"}}
    tables = {"n1": {"10.0.0.7": lease("n1", "a", mac="02:42:0a:00:00:07")}}
    state, planned = endpoint_plan(batch, {"n1": PARENT}, tables=tables, a=attached)
    assert planned.actions == ["set MTU of 'eth0' in namespace a from 1500 to 9000"]
    step = planned.steps[0]
    assert (step.args, step.undo.args) == ({"name": "eth0", "mtu": 9000, "in_netns": "/run/netns/a"},
                                           {"name": "eth0", "mtu": 1500, "in_netns": "/run/netns/a"})
    assert (planned.before["endpoints"][0]["mtu"], planned.after["endpoints"][0]["mtu"]) == (1500, 9000)
    same = dict(attached, link=dataclasses.replace(attached["link"], mtu=9000))
    assert endpoint_plan(batch, {"n1": PARENT}, tables=tables, a=same)[1].steps == []


def test_a_bridge_endpoint_gets_the_networks_mtu_on_both_ends_of_its_veth():
    batch = spec(network="b1", container_netns="a")
    bridge = link("br-b1", kind="bridge", mtu=9000)
    _state, planned = endpoint_plan(batch, {"b1": bridge}, networks={"b1": BR9000}, a={})
    assert created(planned).args["mtu"] == 9000
    attached = {"link": endpoint_link("b1", "a", address="172.30.0.7", mac="02:42:ac:1e:00:07"),
                "host_end": link("ulbhost", mtu=1500), "gateway_routes": {"default": "172.30.0.1"}}
    tables = {"b1": {"172.30.0.7": lease("b1", "a", mac="02:42:ac:1e:00:07")}}
    _state, planned = endpoint_plan(batch, {"b1": bridge}, networks={"b1": BR9000}, tables=tables, a=attached)
    assert planned.actions == ["set MTU of 'eth0' in namespace a from 1500 to 9000",
                               "set MTU of 'ulbhost' (the host end of 'eth0') from 1500 to 9000"]
    assert planned.steps[1].args == {"name": "ulbhost", "mtu": 9000}


def test_a_bridge_endpoint_without_any_mtu_keeps_the_kernels_default():
    batch = spec(network="b1", container_netns="a")
    state, planned = endpoint_plan(batch, {"b1": link("br-b1", kind="bridge", mtu=1500)}, a={})
    assert "mtu" not in created(planned).args
    assert _endpoint_view.predict(batch, state, planned)["mtu"] is None
    with pytest.raises(UnderlayError) as err:  # above the bridge's own MTU
        endpoint_plan(spec(network="b1", container_netns="a", mtu=9000), {"b1": link("br-b1", kind="bridge")}, a={})
    assert "9000 is above the MTU 1500 of the bridge 'br-b1' of network 'b1'" in str(err.value)


def test_re_creating_a_detached_endpoint_restores_its_mtu():
    batch = spec(network="n1", container_netns="a", state="absent")
    attached = {"link": dataclasses.replace(endpoint_link("n1", "a", address="10.0.0.7", mac="02:42:0a:00:00:07"),
                                            mtu=4000)}
    tables = {"n1": {"10.0.0.7": lease("n1", "a", mac="02:42:0a:00:00:07")}}
    _state, planned = endpoint_plan(batch, {"n1": PARENT}, tables=tables, a=attached)
    assert planned.steps[0].undo[0].args["mtu"] == 4000


# -- network_info: drift ------------------------------------------------------------------------

def mtu_drift(definition, endpoint_mtu, uplink, lease_mtu=None):
    endpoint = dataclasses.replace(endpoint_link("n1", "c1", address="10.0.0.3", mac="02:42:0a:00:00:03",
                                                 mode="bridge"), mtu=endpoint_mtu)
    leased = lease("n1", "c1", mac="02:42:0a:00:00:03")
    del leased["routes"], leased["default_route"]
    if lease_mtu is not None:
        leased["mtu"] = lease_mtu
    kernel = NetworkKernel(parent=uplink, endpoints={"10.0.0.3": EndpointKernel(link=endpoint)})
    return drift(definition, {"10.0.0.3": leased}, kernel)


@pytest.mark.parametrize("definition, endpoint_mtu, lease_mtu, expected", [
    (MV9000, 9000, None, []),
    (MV9000, 1500, None, ["has MTU 1500, its parent 'eth0''s is 9000"]),
    (dict(MV9000, mtu=4000), 9000, None, ["has MTU 9000, the network's is 4000"]),
    (MV9000, 9000, 1500, ["has MTU 9000, its own is 1500"]),
    (MV9000, 1500, 1500, []),
])
def test_an_endpoint_whose_mtu_differs_from_what_it_should_be_is_drift(definition, endpoint_mtu, lease_mtu, expected):
    found = mtu_drift(definition, endpoint_mtu, PARENT, lease_mtu)
    assert found == [f"endpoint namespace c1 (10.0.0.3): interface 'eth0' {line}" for line in expected]


# -- fleet_plan ---------------------------------------------------------------------------------

def test_fleet_plan_checks_mtu_and_labels_of_networks_and_endpoints():
    hosts = {"h1": {"networks": [
        {"name": "ok", "driver": "macvlan", "parent": "eth0", "subnet": "10.0.0.0/24", "mtu": 9000,
         "labels": {"a": "b"}},
        {"name": "low", "driver": "bridge", "subnet": "172.30.0.0/24", "mtu": 60},
        {"name": "bad", "driver": "bridge", "subnet": "172.31.0.0/24", "labels": {"n": 1}}]}}
    endpoints = [{"host": "h1", "network": "ok", "container_netns": "a", "mtu": 10}]
    problems = [str(problem) for problem in _fleet.validate_fleet(hosts, endpoints)[0]]
    assert any("underlay_networks[low].mtu" in line and "60 is below 68" in line for line in problems), problems
    assert any("underlay_networks[bad].labels.n" in line for line in problems), problems
    assert any("underlay_endpoints[0].mtu" in line and "10 is below 68" in line for line in problems), problems
    assert not any("underlay_networks[ok]" in line for line in problems), problems


def test_a_bridge_networks_mtu_is_not_refused_when_the_bridge_is_lower():
    """A veth may be larger than its bridge (the kernel refuses only a macvlan above its parent):
    endpoints still get the network's MTU, and network_info reports the bridge's own drift."""
    batch = spec(network="b1", container_netns="a")
    _state, planned = endpoint_plan(batch, {"b1": link("br-b1", kind="bridge", mtu=1500)}, networks={"b1": BR9000},
                                    a={})
    assert created(planned).args["mtu"] == 9000
