# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network and endpoint planners are functions of their arguments: planning leaves
``current`` exactly as it was (new lease tables and definitions are in the plan's steps, not
written into what was read), and planning the same thing twice gives the same plan (the clock
is read by ``read``, not by ``plan``)."""

from __future__ import annotations

import copy

import pytest

import test_endpoint_planner as table
from endpoint_world import current, endpoint_link, lease, spec
from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _endpoint_plan, _macvlan
from ansible_collections.underlay.network.plugins.module_utils._netlink import LinkSnapshot

NOW = "2026-12-05T01:02:03.000004Z"


def assert_pure(planner, desired, current_state):
    """``planner(desired, current_state)`` changes nothing it is given and is deterministic."""
    kept = copy.deepcopy(current_state)
    planned = planner(desired, current_state)
    assert current_state == kept
    assert planner(desired, kept) == planned
    return planned


ENDPOINT_CASES = {
    "single attach": (dict(network="n1", container_netns="a"), dict(a={})),
    "re-attach on its lease": (dict(network="n1", container_netns="a"),
                               dict(tables={"n1": {"10.0.0.7": lease("n1", "a", mac="02:00:00:00:00:07",
                                                                     netns_path="/proc/9/ns/net")}}, a={})),
    "detach": (dict(network="n1", container_netns="a", state="absent"),
               dict(tables={"n1": {"10.0.0.7": table.LEASE_A}}, a=table.ATTACHED)),
    "batch": (dict(network="n1", endpoints=[{"container_netns": "a"}, {"network": "b1", "container_netns": "a"},
                                            {"container_netns": "b", "ipv4_address": "10.0.0.9"},
                                            {"container_netns": "c", "state": "absent"}]),
              dict(tables={"n1": {"10.0.0.9": lease("n1", "b", routes=[["10.9.0.0/16", "10.0.0.254"]]),
                                  "10.0.0.20": lease("n1", "c"), "10.0.0.21": lease("n1", "gone")}},
                   owners={"netns:gone": ("gone", None)},
                   a={}, b={"link": endpoint_link("n1", "b", address="10.0.0.9", mac="02:00:00:00:00:01")},
                   c={"link": endpoint_link("n1", "c", address="10.0.0.20")})),
}


@pytest.mark.parametrize("name", ENDPOINT_CASES)
def test_endpoint_plan_is_pure(name):
    params, world = ENDPOINT_CASES[name]
    batch = spec(**params)
    planned = assert_pure(_endpoint_plan.plan, batch, current(batch, **world))
    assert any(step.op == "store_put_leases" for step in planned.steps)  # the new tables are in the plan


@pytest.mark.parametrize("case", table.CASES, ids=[case["id"] for case in table.CASES])
def test_every_endpoint_table_case_is_pure(case):
    batch = spec(**case["params"])
    assert_pure(_endpoint_plan.plan, batch, current(batch, **case["world"]))


MACVLAN_LEASES = {"leases": {"10.0.0.5": {"owner": "container:web", "container": "web", "ifname": "eth1",
                                          "netns_path": "/proc/42/ns/net"}}, "last_reserved": "10.0.0.5"}


def macvlan_spec(**params):
    base = {"name": "vlan100", "parent": "eth0.100", "subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/25"}
    base.update(params)
    return _macvlan.build_spec(base)


def macvlan_current(definition=None, leases=None, **more):
    return _macvlan.MacvlanCurrent(definition=definition, others={}, now=NOW,
                                   leases=leases or {"leases": {}, "last_reserved": None}, **more)


def test_macvlan_plan_is_pure_and_takes_the_time_from_current():
    new = assert_pure(_macvlan.plan, macvlan_spec(host_access={"ifname": "shim", "address": "10.0.0.200"}),
                      macvlan_current(vlan_base=link("eth0")))
    definition = new.steps[-1].args["definition"]
    assert definition["created"] == NOW
    parent = link("eth0.100", kind="vlan")
    changed = assert_pure(_macvlan.plan, macvlan_spec(mode="private"),
                          macvlan_current(definition, MACVLAN_LEASES, parent=parent))
    assert changed.steps[-1].args["definition"]["created"] == NOW  # kept, not the time of this plan
    assert assert_pure(_macvlan.plan, macvlan_spec(), macvlan_current(dict(definition, created="then"),
                                                                      parent=parent)).steps[-1].args[
        "definition"]["created"] == "then"
    endpoint = LinkSnapshot(name="eth1", index=7, kind="macvlan", mtu=1500, mac_address="02:00:00:00:00:05",
                            admin_state="up", mode="bridge", addresses=("10.0.0.5/24",))
    removed = assert_pure(_macvlan.plan, macvlan_spec(state="absent", force=True),
                          macvlan_current(definition, MACVLAN_LEASES, parent=parent,
                                          owners={"container:web": ("alive", None)},
                                          endpoint_identities={"10.0.0.5": {"index": endpoint.index}}))
    assert removed.steps


def bridge_spec(**params):
    base = {"name": "bridge2", "bridge_name": "bridge2", "subnet": "172.30.0.0/24"}
    base.update(params)
    return _bridge.build_spec(base)


def bridge_current(definition=None, leases=None, **more):
    return _bridge.BridgeCurrent(definition=definition, others={}, now=NOW, forwarding="1",
                                 leases=leases or {"leases": {}, "last_reserved": None}, **more)


def test_bridge_plan_is_pure_and_takes_the_time_from_current():
    new = assert_pure(_bridge.plan, bridge_spec(mtu=1400), bridge_current(rules={}))
    definition = new.steps[-1].args["definition"]
    assert definition["created"] == NOW
    bridge = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    leases = {"leases": {"172.30.0.5": {"owner": "container:web", "container": "web", "ifname": "eth0",
                                        "netns_path": "/proc/42/ns/net"}}, "last_reserved": "172.30.0.5"}
    ports = (link("vh1", isolated=False),)
    assert assert_pure(_bridge.plan, bridge_spec(icc=False), bridge_current(definition, leases, bridge=bridge,
                                                                            ports=ports, rules={})).steps
    removed = assert_pure(_bridge.plan, bridge_spec(state="absent", force=True),
                          bridge_current(definition, leases, bridge=bridge, rules={},
                                         owners={"container:web": ("gone", None)}))
    assert [step.op for step in removed.steps][:1] == ["store_delete_leases"]
