# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner tables for vlan_subinterface: kernel state in, steps and diff out."""

from __future__ import annotations

import pytest

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _vlan
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

TRUNK = link("veth0", mtu=1500)


def vlan(name="veth0.100", vid=100, protocol="802.1Q", **kw):
    return link(name, kind="vlan", parent="veth0", vlan_id=vid, protocol=protocol, **kw)


def spec(**params):
    base = {"parent": "veth0", "vlan_id": 100}
    base.update(params)
    return _vlan.build_spec(base)


def ops(planned):
    return [(step.op, step.args) for step in planned.steps]


def test_build_spec_defaults():
    s = spec()
    assert (s.name, s.protocol, s.admin_state, s.state, s.mtu, s.addresses) == (
        "veth0.100", "802.1Q", "up", "present", None, None)


@pytest.mark.parametrize("params, message", [
    ({"vlan_id": 0}, "vlan_id: 0 is out of range (1-4094)"),
    ({"vlan_id": 4095}, "vlan_id: 4095 is out of range (1-4094)"),
    ({"vlan_id": "abc"}, "vlan_id: 'abc' is not an integer"),
    ({"name": "a-very-long-name"}, "name: 'a-very-long-name' is 16 characters long"),
    ({"name": "eth0/100"}, "name: 'eth0/100' contains '/'"),
    ({"parent": "averylongparent"}, "name: the default name 'averylongparent.100'"),
    ({"parent": None}, "parent: is required when state is present"),
    ({"addresses": ["10.0.0.300/24"]}, "addresses: '10.0.0.300/24' is not an address"),
    ({"protocol": "802.1X"}, "protocol: '802.1X' is not one of 802.1Q, 802.1ad"),
    ({"netns": "a/b"}, "netns: 'a/b' is neither"),
    ({"name": "veth0"}, "name: 'veth0' is the parent itself"),
    ({"state": "absent", "parent": None}, "name: name or parent is required"),
])
def test_build_spec_rejects(params, message):
    with pytest.raises(UnderlayError) as err:
        spec(**params)
    assert str(err.value).startswith(message)


def test_create_plan_orders_link_addresses_then_up():
    planned = _vlan.plan(spec(addresses=["10.0.0.5/24"], mtu=1400), _vlan.VlanCurrent(None, TRUNK))
    assert ops(planned) == [
        ("link_add_vlan", {"name": "veth0.100", "parent": "veth0", "vlan_id": 100, "protocol": "802.1Q", "mtu": 1400}),
        ("addr_add", {"name": "veth0.100", "address": "10.0.0.5/24"}),
        ("link_set", {"name": "veth0.100", "admin_state": "up"}),
    ]
    assert planned.before == {"state": "absent"}
    assert planned.after["mtu"] == 1400 and planned.after["addresses"] == ["10.0.0.5/24"]
    assert planned.steps[0].undo.op == "link_del"


def test_existing_matching_link_plans_nothing():
    current = _vlan.VlanCurrent(vlan(addresses=("10.0.0.5/24", "fe80::1/64")), TRUNK)
    planned = _vlan.plan(spec(addresses=["10.0.0.5/24"]), current)
    assert planned.steps == [] and not planned.changed
    assert planned.before == planned.after


def test_update_in_place_mtu_addresses_state():
    current = _vlan.VlanCurrent(vlan(mtu=1500, addresses=("10.0.0.5/24", "10.0.0.6/24"), admin_state="down"), TRUNK)
    planned = _vlan.plan(spec(mtu=1400, addresses=["10.0.0.6/24", "10.0.1.1/24"]), current)
    assert ops(planned) == [
        ("link_set", {"name": "veth0.100", "mtu": 1400}),
        ("addr_del", {"name": "veth0.100", "address": "10.0.0.5/24"}),
        ("addr_add", {"name": "veth0.100", "address": "10.0.1.1/24"}),
        ("link_set", {"name": "veth0.100", "admin_state": "up"}),
    ]
    assert planned.before["mtu"] == 1500 and planned.after["mtu"] == 1400
    assert planned.steps[0].undo.args == {"name": "veth0.100", "mtu": 1500}
    assert planned.steps[1].undo.op == "addr_add"


def test_addresses_omitted_are_not_managed():
    current = _vlan.VlanCurrent(vlan(addresses=("10.0.0.5/24",)), TRUNK)
    assert _vlan.plan(spec(), current).steps == []


def test_empty_address_list_removes_all_but_ipv6_link_local():
    current = _vlan.VlanCurrent(vlan(addresses=("10.0.0.5/24", "fe80::1/64")), TRUNK)
    assert ops(_vlan.plan(spec(addresses=[]), current)) == [
        ("addr_del", {"name": "veth0.100", "address": "10.0.0.5/24"})]


@pytest.mark.parametrize("existing, fragment", [
    (link("veth0.100", kind="veth"), "a veth link, not a VLAN sub-interface"),
    (link("veth0.100", kind="vlan", parent="veth1", vlan_id=100, protocol="802.1Q"), "parent 'veth1'"),
    (vlan(vid=200), "VLAN id 200"),
    (vlan(protocol="802.1ad"), "protocol 802.1ad"),
])
def test_mismatching_link_is_refused_without_recreate(existing, fragment):
    with pytest.raises(UnderlayError) as err:
        _vlan.plan(spec(), _vlan.VlanCurrent(existing, TRUNK))
    assert str(err.value).startswith("name: 'veth0.100' already exists as")
    assert fragment in str(err.value) and "recreate: true" in str(err.value)


def test_recreate_builds_under_scratch_name_before_removing():
    scratch = _vlan.temporary_name("veth0.100")
    assert len(scratch) <= 15
    planned = _vlan.plan(spec(recreate=True), _vlan.VlanCurrent(vlan(vid=200), TRUNK))
    assert [step.op for step in planned.steps] == ["link_add_vlan", "link_del", "link_rename", "link_set"]
    assert planned.steps[0].args["name"] == scratch
    assert planned.steps[2].args == {"name": scratch, "new_name": "veth0.100"}


def test_missing_parent_names_the_parent_and_namespace():
    with pytest.raises(UnderlayError, match="^parent: interface 'veth0' does not exist in network namespace 'lab'"):
        _vlan.plan(spec(netns="lab"), _vlan.VlanCurrent(None, None))


def test_mtu_above_parent_is_refused():
    with pytest.raises(UnderlayError, match=r"^mtu: 9000 is larger than the MTU of the parent 'veth0' \(1500\)"):
        _vlan.plan(spec(mtu=9000), _vlan.VlanCurrent(None, TRUNK))


def test_absent_plans():
    absent = spec(state="absent")
    assert _vlan.plan(absent, _vlan.VlanCurrent(None, None)).steps == []
    planned = _vlan.plan(absent, _vlan.VlanCurrent(vlan(), None))
    assert ops(planned) == [("link_del", {"name": "veth0.100"})]
    assert planned.after == {"state": "absent"} and planned.before["vlan_id"] == 100


def test_absent_refuses_to_remove_something_else():
    with pytest.raises(UnderlayError, match="is a veth link, not a VLAN sub-interface.*refusing to remove"):
        _vlan.plan(spec(state="absent"), _vlan.VlanCurrent(link("veth0.100"), None))
    with pytest.raises(UnderlayError, match="VLAN id 200"):
        _vlan.plan(spec(state="absent", parent=None, name="veth0.100"), _vlan.VlanCurrent(vlan(vid=200), None))


def test_predicted_interface_for_new_and_existing():
    new = _vlan.plan(spec(), _vlan.VlanCurrent(None, TRUNK))
    view = _vlan.predicted_interface(spec(), _vlan.VlanCurrent(None, TRUNK), new)
    assert view["index"] is None and view["mtu"] == 1500 and view["name"] == "veth0.100"
    existing = vlan(admin_state="down")
    cur = _vlan.VlanCurrent(existing, TRUNK)
    view = _vlan.predicted_interface(spec(), cur, _vlan.plan(spec(), cur))
    assert view["index"] == existing.index and view["admin_state"] == "up"
