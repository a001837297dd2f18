# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table tests of container_endpoint's planner: given what was read, the actions, the saved
lease tables and the views it decides on (steps are compared by their actions, which name the
operation, the values and the namespace)."""

from __future__ import annotations

import pytest

from endpoint_world import current, endpoint_link, lease, spec

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_names, _endpoint_plan, _endpoint_view
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._lease_journal import PendingProbe

A = "/run/netns/a"
SCRATCH_A = _endpoint_names.scratch_name("netns:a", "n1")
SCRATCH_Y = _endpoint_names.scratch_name("netns:y", "n1")
HOST_END_A = _endpoint_names.host_end_name("netns:a", "b1")
PENDING = "record the new leases of network 'n1' as pending"
SAVE = "save the leases of network 'n1'"


def create_macvlan(ifname, address, mac, default="10.0.0.1"):
    """The actions that make a new endpoint of netns:a on n1 (macvlan) from nothing."""
    return ([f"create macvlan '{SCRATCH_A}' on 'eth0' in namespace a",
             f"rename '{SCRATCH_A}' to '{ifname}' in namespace a",
             f"add address {address}/24 to '{ifname}' in namespace a",
             f"set '{ifname}' up in namespace a",
             f"announce {address} ({mac}) with a gratuitous ARP in namespace a"]
            + ([f"route default via {default} in namespace a"] if default else []))


ATTACHED = {"link": endpoint_link("n1", "a", address="10.0.0.7", mac="02:42:0a:00:00:07"),
            "gateway_routes": {"default": "10.0.0.1"}}
LEASE_A = lease("n1", "a", mac="02:42:0a:00:00:07")

CASES = [
    dict(id="new attach takes the first free address and Docker's MAC",
         params=dict(network="n1", container_netns="a"), world=dict(a={}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02") + [SAVE],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")}},
         after=dict(ifname="eth0", ipv4_address="10.0.0.2/24", mac_address="02:42:0a:00:00:02")),
    dict(id="static address",
         params=dict(network="n1", container_netns="a", ipv4_address="10.0.0.50"), world=dict(a={}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.50", "02:42:0a:00:00:32") + [SAVE],
         saved={"n1": {"10.0.0.50": ("netns:a", "eth0", "02:42:0a:00:00:32")}},
         after=dict(ifname="eth0", ipv4_address="10.0.0.50/24", mac_address="02:42:0a:00:00:32")),
    dict(id="given MAC",
         params=dict(network="n1", container_netns="a", mac_address="02:00:00:00:00:AA"), world=dict(a={}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.2", "02:00:00:00:00:aa") + [SAVE],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:00:00:00:00:aa")}},
         after=dict(mac_address="02:00:00:00:00:aa")),
    dict(id="sticky lease: a restarted target gets its address, MAC and name back, no pending write",
         params=dict(network="n1", container_netns="a"),
         world=dict(tables={"n1": {"10.0.0.7": lease("n1", "a", ifname="eth1", mac="02:00:00:00:00:07",
                                                     netns_path="/proc/99/ns/net")}}, a={}),
         actions=create_macvlan("eth1", "10.0.0.7", "02:00:00:00:00:07") + [SAVE],
         saved={"n1": {"10.0.0.7": ("netns:a", "eth1", "02:00:00:00:00:07")}},
         after=dict(ifname="eth1", ipv4_address="10.0.0.7/24", mac_address="02:00:00:00:00:07", netns=A)),
    dict(id="attached as its lease says: nothing to do",
         params=dict(network="n1", container_netns="a"), world=dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=ATTACHED),
         actions=[], saved={}, after=dict(ifname="eth0", ipv4_address="10.0.0.7/24")),
    dict(id="the MAC is set back to the lease's",
         params=dict(network="n1", container_netns="a"),
         world=dict(tables={"n1": {"10.0.0.7": LEASE_A}},
                    a=dict(ATTACHED, link=endpoint_link("n1", "a", address="10.0.0.7", mac="02:00:00:00:00:01"))),
         actions=["set MAC of 'eth0' in namespace a to 02:42:0a:00:00:07"], saved={},
         after=dict(mac_address="02:42:0a:00:00:07")),
    dict(id="a new static address replaces the old one in place",
         params=dict(network="n1", container_netns="a", ipv4_address="10.0.0.8"),
         world=dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=ATTACHED),
         actions=[PENDING, "set MAC of 'eth0' in namespace a to 02:42:0a:00:00:08",
                  "remove address 10.0.0.7/24 from 'eth0' in namespace a",
                  "add address 10.0.0.8/24 to 'eth0' in namespace a",
                  "announce 10.0.0.8 (02:42:0a:00:00:08) with a gratuitous ARP in namespace a", SAVE],
         saved={"n1": {"10.0.0.8": ("netns:a", "eth0", "02:42:0a:00:00:08")}},
         after=dict(ipv4_address="10.0.0.8/24")),
    dict(id="routes: one no longer wanted is removed, a new one added",
         params=dict(network="n1", container_netns="a", routes=[{"dst": "10.8.0.0/16", "gateway": "10.0.0.254"}]),
         world=dict(tables={"n1": {"10.0.0.7": dict(LEASE_A, routes=[["10.9.0.0/16", "10.0.0.254"]])}},
                    a=dict(ATTACHED, gateway_routes={"default": "10.0.0.1", "10.9.0.0/16": "10.0.0.254"})),
         actions=["remove route 10.9.0.0/16 via 10.0.0.254 in namespace a (no longer wanted)",
                  "route 10.8.0.0/16 via 10.0.0.254 in namespace a", SAVE],
         saved={"n1": {"10.0.0.7": ("netns:a", "eth0", "02:42:0a:00:00:07")}}, after={}),
    dict(id="a namespace with a default route elsewhere keeps it",
         params=dict(network="n1", container_netns="a"), world=dict(a={"gateway_routes": {"default": "192.0.2.1"}}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02", default=None) + [SAVE],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")}}, after={}),
    dict(id="default_route true takes the default route over",
         params=dict(network="n1", container_netns="a", default_route=True),
         world=dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=dict(ATTACHED, gateway_routes={"default": "192.0.2.1"})),
         actions=["remove route default via 192.0.2.1 in namespace a", "route default via 10.0.0.1 in namespace a"],
         saved={}, after={}),
    dict(id="a new endpoint with default_route true replaces the namespace's default route",
         params=dict(network="n1", container_netns="a", default_route=True),
         world=dict(a={"gateway_routes": {"default": "192.0.2.1"}}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02", default=None)
         + ["remove route default via 192.0.2.1 in namespace a", "route default via 10.0.0.1 in namespace a", SAVE],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")}}, after={}),
    dict(id="an internal network offers no default route",
         params=dict(network="i1", container_netns="a"), world=dict(a={}),
         actions=["record the new leases of network 'i1' as pending",
                  f"create veth '{_endpoint_names.host_end_name('netns:a', 'i1')}' on bridge 'br-i1' with peer in"
                  " namespace a",
                  f"rename '{_endpoint_names.scratch_name('netns:a', 'i1')}' to 'eth0' in namespace a",
                  "add address 172.31.0.2/24 to 'eth0' in namespace a", "set 'eth0' up in namespace a",
                  "announce 172.31.0.2 (02:42:ac:1f:00:02) with a gratuitous ARP in namespace a",
                  "save the leases of network 'i1'"],
         saved={"i1": {"172.31.0.2": ("netns:a", "eth0", "02:42:ac:1f:00:02")}}, after=dict(gateway="172.31.0.1")),
    dict(id="a scratch-named link an interrupted run left is removed first",
         params=dict(network="n1", container_netns="a"), world=dict(a={"leftover": SCRATCH_A}),
         actions=[PENDING, f"remove '{SCRATCH_A}', left in namespace a by an interrupted run"]
         + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02") + [SAVE],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")}}, after={}),
    dict(id="detach removes the endpoint and releases its lease",
         params=dict(network="n1", container_netns="a", state="absent"),
         world=dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=ATTACHED),
         actions=["remove 'eth0' from namespace a", SAVE + " (releasing 10.0.0.7 of netns:a)"],
         saved={"n1": {}}, after=dict(state="absent")),
    dict(id="detach of a target that is gone releases its lease only",
         params=dict(network="n1", container_netns="a", state="absent"),
         world=dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=None),
         actions=[SAVE + " (releasing 10.0.0.7 of netns:a)"], saved={"n1": {}}, after=dict(state="absent")),
    dict(id="detach of what is not attached: nothing to do",
         params=dict(network="n1", container_netns="a", state="absent"), world=dict(a={}),
         actions=[], saved={}, after=dict(state="absent")),
    dict(id="pending leases settle: one the kernel holds is adopted, one it does not is dropped",
         params=dict(network="n1", container_netns="a"),
         world=dict(tables={"n1": {"10.0.0.9": lease("n1", "x", pending=True),
                                   "10.0.0.10": lease("n1", "y", pending=True)}},
                    probes={"n1": {"10.0.0.9": PendingProbe(link=endpoint_link("n1", "x", address="10.0.0.9"),
                                                            ours=True),
                                   "10.0.0.10": PendingProbe(leftover=SCRATCH_Y)}},
                    a={}),
         actions=[PENDING, f"remove '{SCRATCH_Y}', left in /run/netns/y by an interrupted run"]
         + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02")
         + [SAVE + " (adopting what an interrupted run left: 10.0.0.9 of netns:x; dropping what an interrupted run"
                   " did not make: 10.0.0.10 of netns:y)"],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02"), "10.0.0.9": ("netns:x", "eth0", None)}},
         after={}),
    dict(id="the lease of an owner that is gone is released",
         params=dict(network="n1", container_netns="a"),
         world=dict(tables={"n1": {"10.0.0.2": lease("n1", "old")}}, owners={"netns:old": ("gone", None)}, a={}),
         actions=[PENDING] + create_macvlan("eth0", "10.0.0.2", "02:42:0a:00:00:02")
         + [SAVE + " (releasing 10.0.0.2 of netns:old, which no longer exists)"],
         saved={"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")}}, after={}),
]


def saved(planned):
    """network -> {ip: (owner, ifname, mac)} of the confirming lease writes of ``planned``."""
    return {step.args["network"]: {ip: (entry["owner"], entry.get("ifname"), entry.get("mac_address"))
                                   for ip, entry in step.args["table"]["leases"].items()}
            for step in planned.steps if step.action.startswith("save the leases")}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_endpoint_plan(case):
    batch = spec(**case["params"])
    planned = _endpoint_plan.plan(batch, current(batch, **case["world"]))
    assert planned.actions == case["actions"]
    assert saved(planned) == case["saved"]
    view = _endpoint_view.predict(batch, current(batch, **case["world"]), planned)
    assert {key: view.get(key) for key in case["after"]} == case["after"]
    for step in planned.steps:
        if step.action == PENDING:  # written ahead: every address new to its owner is marked pending
            assert any(entry.get("pending") for entry in step.args["table"]["leases"].values())


def test_detach_is_undone_by_re_creating_the_endpoint_as_its_lease_says():
    batch = spec(network="n1", container_netns="a", state="absent")
    planned = _endpoint_plan.plan(batch, current(batch, tables={"n1": {"10.0.0.7": LEASE_A}}, a=ATTACHED))
    undo = planned.steps[0].undo
    assert [step.action for step in undo] == ["re-create 'eth0' in namespace a"] + create_macvlan(
        "eth0", "10.0.0.7", "02:42:0a:00:00:07")[1:4] + ["route default via 10.0.0.1 in namespace a"]
    assert undo[0].args["index"] == ATTACHED["link"].index  # made again with its ifindex
    assert planned.steps[1].undo.args["table"]["leases"] == {"10.0.0.7": LEASE_A}


def test_two_networks_in_one_namespace_get_eth0_and_eth1_and_one_default_route():
    batch = spec(network="n1", endpoints=[{"container_netns": "a"}, {"network": "b1", "container_netns": "a"}])
    planned = _endpoint_plan.plan(batch, current(batch, a={}))
    views = _endpoint_view.predict(batch, None, planned)
    assert [(v["network"], v["ifname"], v["ipv4_address"]) for v in views] == [
        ("n1", "eth0", "10.0.0.2/24"), ("b1", "eth1", "172.30.0.2/24")]
    routes = [action for action in planned.actions if action.startswith("route ")]
    assert routes == ["route default via 10.0.0.1 in namespace a"]  # the first network to offer one keeps it
    assert f"create veth '{HOST_END_A}' on bridge 'br-b1' with peer in namespace a" in planned.actions
    assert saved(planned) == {"n1": {"10.0.0.2": ("netns:a", "eth0", "02:42:0a:00:00:02")},
                              "b1": {"172.30.0.2": ("netns:a", "eth1", "02:42:ac:1e:00:02")}}
    # kernel steps of both items first, then one confirming write per network
    assert planned.actions[-2:] == [SAVE, "save the leases of network 'b1'"]


def test_one_network_many_namespaces_get_consecutive_addresses():
    batch = spec(network="n1", endpoints=[{"container_netns": name} for name in ("a", "b", "c")])
    planned = _endpoint_plan.plan(batch, current(batch, a={}, b={}, c={}))
    assert sorted(saved(planned)["n1"].items()) == [
        ("10.0.0.2", ("netns:a", "eth0", "02:42:0a:00:00:02")), ("10.0.0.3", ("netns:b", "eth0", "02:42:0a:00:00:03")),
        ("10.0.0.4", ("netns:c", "eth0", "02:42:0a:00:00:04"))]
    assert planned.actions.count(PENDING) == 1  # one write ahead for the whole batch


@pytest.mark.parametrize("params, world, field, fragment", [
    (dict(network="n1", container_netns="a", ipv4_address="10.0.0.7"),
     dict(tables={"n1": {"10.0.0.7": lease("n1", "b")}}, a={}), "ipv4_address", "already leased to netns:b"),
    (dict(network="n1", container_netns="a", ipv4_address="10.0.0.1"), dict(a={}), "ipv4_address", "10.0.0.1"),
    (dict(network="n1", container_netns="a", mac_address="02:00:00:00:00:0b"),
     dict(tables={"n1": {"10.0.0.7": lease("n1", "b", mac="02:00:00:00:00:0b")}}, a={}), "mac_address",
     "already used by netns:b"),
    (dict(network="n1", container_netns="a", ifname="eth0"),
     dict(a={"link": endpoint_link("n1", "a", kind="dummy")}), "ifname", "as a dummy link, not this network's macvlan"),
    (dict(endpoints=[{"network": "n1", "container_netns": "a", "ifname": "eth5"},
                     {"network": "b1", "container_netns": "a", "ifname": "eth5"}]),
     dict(a={}), "ifname", "chosen twice in this batch"),
], ids=["address taken", "gateway address", "MAC taken", "name taken by another kind", "one name twice in a batch"])
def test_endpoint_plan_refuses(params, world, field, fragment):
    batch = spec(**params)
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, current(batch, **world))
    assert err.value.field == field
    assert fragment in str(err.value)


def test_an_owner_that_cannot_be_asked_about_keeps_its_lease_with_a_warning():
    batch = spec(network="n1", container_netns="a")
    world = dict(tables={"n1": {"10.0.0.2": lease("n1", "old")}}, owners={"netns:old": ("unknown", "docker is down")},
                 a={})
    planned = _endpoint_plan.plan(batch, current(batch, **world))
    assert planned.warnings == ["network 'n1': kept the lease of netns:old: cannot tell whether it still exists"
                                " (docker is down)"]
    assert sorted(saved(planned)["n1"]) == ["10.0.0.2", "10.0.0.3"]


@pytest.mark.parametrize("params, world", [
    (dict(network="n1", container_netns="a"), dict(a={})),
    (dict(network="n1", container_netns="a", state="absent"), dict(tables={"n1": {"10.0.0.7": LEASE_A}}, a=ATTACHED)),
    (dict(network="n1", endpoints=[{"container_netns": "a"}, {"network": "b1", "container_netns": "a"},
                                   {"container_netns": "b", "state": "absent"}]),
     dict(tables={"n1": {"10.0.0.7": lease("n1", "b")}}, a={}, b=None)),
], ids=["attach", "detach", "batch"])
def test_report_after_applying_shows_what_predict_showed(params, world):
    """``predict`` (check mode) and ``report`` over the tables the plan saves (after applying)
    return the same value."""
    batch = spec(**params)
    before = current(batch, **world)
    planned = _endpoint_plan.plan(batch, before)
    after = current(batch, **world)
    for network, table in saved(planned).items():
        step = next(s for s in planned.steps if s.action.startswith("save the leases") and s.args["network"] == network)
        after.tables[network] = step.args["table"]
        assert set(step.args["table"]["leases"]) == set(table)
    assert _endpoint_view.report(batch, after) == _endpoint_view.predict(batch, before, planned)
