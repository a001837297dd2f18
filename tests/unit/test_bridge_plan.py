# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner tables for bridge_network and the nftables rule tagging."""

from __future__ import annotations

import ipaddress

import pytest

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _nftables
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

NO_LEASES = {"leases": {}, "last_reserved": None}
MASQUERADE = "underlay.network:bridge2:masquerade:172.30.0.0/24>bridge2"
NOW = "2026-12-05T00:00:00.000000Z"  # the time read() gives the planner


def listed(handle=3):
    """A rule as Nftables.rules lists it."""
    rule = _nftables.masquerade_rule("bridge2", ipaddress.ip_network("172.30.0.0/24"), "bridge2")
    return {"handle": handle, "chain": "postrouting", "expr": rule["expr"]}


def spec(**params):
    base = {"name": "bridge2", "bridge_name": "bridge2", "subnet": "172.30.0.0/24"}
    base.update(params)
    return _bridge.build_spec(base)


def current(definition=None, others=None, rules=None, forwarding="1", leases=None, **links):
    return _bridge.BridgeCurrent(definition=definition, others=others or {}, leases=leases or NO_LEASES, now=NOW,
                                 rules=rules or {}, forwarding=forwarding, **links)


def ops(planned):
    return [s.op for s in planned.steps]


def test_defaults():
    s = spec(bridge_name=None)
    assert s.bridge_name.startswith("br-") and len(s.bridge_name) == 15
    assert (s.icc, s.masquerade, s.internal) == (True, True, False)
    assert spec(internal=True).masquerade is False


def test_create_plan():
    planned = _bridge.plan(spec(mtu=1400), current(forwarding="0"))
    assert ops(planned) == ["link_add_bridge", "addr_add", "link_set", "nft_add_rule", "sysctl_set",
                            "store_put_network"]
    assert planned.steps[1].args == {"name": "bridge2", "address": "172.30.0.1/24"}
    assert planned.steps[3].args["rule"]["comment"] == "underlay.network:bridge2:masquerade:172.30.0.0/24>bridge2"
    assert planned.steps[4].undo.args == {"key": "net.ipv4.ip_forward", "value": "0"}


def test_existing_bridge_rerun_is_empty_and_icc_isolates_ports():
    first = _bridge.plan(spec(), current())
    definition = first.steps[-1].args["definition"]
    bridge = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    rules = {MASQUERADE: listed()}
    ports = (link("vh1", isolated=False), link("vh2", isolated=False))
    assert _bridge.plan(spec(), current(definition, rules=rules, bridge=bridge, ports=ports)).steps == []
    planned = _bridge.plan(spec(icc=False), current(definition, rules=rules, bridge=bridge, ports=ports))
    assert ops(planned) == ["port_set_isolated", "port_set_isolated", "store_put_network"]
    assert planned.steps[0].args == {"name": "vh1", "isolated": True}


def test_internal_swaps_nat_for_isolation_rules():
    first = _bridge.plan(spec(), current())
    definition = first.steps[-1].args["definition"]
    rules = {MASQUERADE: listed(),
             "underlay.network:other:masquerade:10.0.0.0/24>x": listed(4)}
    bridge = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    planned = _bridge.plan(spec(internal=True), current(definition, rules=rules, bridge=bridge))
    assert [(s.op, s.args.get("comment_text") or s.args.get("rule", {}).get("comment")) for s in planned.steps][:3] == [
        ("nft_delete_rule", "underlay.network:bridge2:masquerade:172.30.0.0/24>bridge2"),
        ("nft_add_rule", "underlay.network:bridge2:internal-in:bridge2"),
        ("nft_add_rule", "underlay.network:bridge2:internal-out:bridge2"),
    ]


def test_rule_deletion_is_undone_by_adding_the_rule_back_exactly():
    definition = _bridge.plan(spec(), current()).steps[-1].args["definition"]
    bridge = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    planned = _bridge.plan(spec(masquerade=False), current(definition, rules={MASQUERADE: listed()}, bridge=bridge))
    delete = planned.steps[0]
    assert (delete.op, delete.undo.op) == ("nft_delete_rule", "nft_add_rule")
    assert delete.undo.args["rule"] == _nftables.masquerade_rule("bridge2", ipaddress.ip_network("172.30.0.0/24"),
                                                                 "bridge2")


LEASES = {"leases": {"172.30.0.5": {"owner": "container:web", "container": "web", "ifname": "eth0",
                                    "netns_path": "/proc/42/ns/net"},
                     "172.30.0.6": {"owner": "pid:77", "ifname": "eth0", "netns_path": "/proc/77/ns/net"}},
          "last_reserved": "172.30.0.6"}


def absent(force=False, **owners):
    definition = _bridge.plan(spec(), current()).steps[-1].args["definition"]
    bridge = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    state = dict(current(definition, rules={MASQUERADE: listed()}, leases=LEASES, bridge=bridge).__dict__)
    state["owners"] = {"container:web": owners.get("web", ("alive", None)), "pid:77": owners.get("pid", ("gone", None))}
    return _bridge.plan(spec(state="absent", force=force), _bridge.BridgeCurrent(**state))


def assert_undoable_first(planned):
    """Steps without undo come last, so a failure before them is rolled back completely."""
    undoable = [step.undo is not None for step in planned.steps]
    assert undoable == sorted(undoable, reverse=True), [(s.op, s.undo is not None) for s in planned.steps]


def test_absent_releases_the_leases_of_gone_owners_without_force():
    planned = absent(web=("gone", None))
    assert ops(planned) == ["store_delete_leases", "nft_delete_rule", "store_delete_network", "link_del"]
    assert planned.actions[0] == "release the leases of network 'bridge2' (owners gone: web (172.30.0.5), pid:77" \
                                 " (172.30.0.6))"
    assert_undoable_first(planned)


@pytest.mark.parametrize("web, shown", [
    (("alive", None), "web (172.30.0.5)"),
    (("unknown", "docker could not be asked: socket missing"),
     "web (172.30.0.5; cannot tell whether it still exists: docker could not be asked: socket missing)"),
])
def test_absent_is_refused_while_an_owner_lives_or_may(web, shown):
    with pytest.raises(UnderlayError) as err:
        absent(web=web)
    assert str(err.value) == (f"name: network 'bridge2' has endpoints attached: {shown};"
                              " detach them first or set force: true")


def test_forced_absent_detaches_live_endpoints_and_deletes_links_last():
    planned = absent(force=True)
    assert ops(planned) == ["store_delete_leases", "nft_delete_rule", "store_delete_network", "link_del_if_present",
                            "link_del"]
    assert planned.steps[3].args == {"in_netns": "/proc/42/ns/net", "name": "eth0"}
    assert planned.steps[1].undo.op == "nft_add_rule"
    assert_undoable_first(planned)


def test_new_bridge_name_renames_in_place():
    first = _bridge.plan(spec(), current())
    definition = first.steps[-1].args["definition"]
    old = link("bridge2", kind="bridge", addresses=("172.30.0.1/24",))
    rules = {MASQUERADE: listed()}
    planned = _bridge.plan(spec(bridge_name="bridge3"), current(definition, rules=rules, old_bridge=old))
    assert ops(planned)[:3] == ["link_set", "link_rename", "link_set"]
    assert "link_add_bridge" not in ops(planned) and "link_del" not in ops(planned)


@pytest.mark.parametrize("params, links, others, message", [
    ({"bridge_name": "x" * 16}, {}, {}, "bridge_name: 'xxxxxxxxxxxxxxxx' is 16 characters long"),
    ({}, {"bridge": link("bridge2")}, {}, "bridge_name: 'bridge2' already exists as a veth link, not a bridge"),
    ({}, {}, {"n1": {"ipam": {"subnet": "172.30.0.0/16"}}},
     "subnet: 172.30.0.0/24 overlaps the subnet 172.30.0.0/16 of network 'n1'"),
    ({}, {}, {"mv": {"driver": "macvlan", "parent": "eth0", "ipam": {"subnet": "172.30.0.128/25"}}},
     "subnet: 172.30.0.0/24 overlaps the subnet 172.30.0.128/25 of network 'mv' on parent 'eth0'"),
    ({"icc": "maybe"}, {}, {}, "icc: 'maybe' is not a boolean"),
    ({"gateway": "172.30.0.0"}, {}, {}, "gateway: 172.30.0.0 is the network address"),
])
def test_refusals(params, links, others, message):
    with pytest.raises(UnderlayError) as err:
        _bridge.plan(spec(**params), current(others=others, **links))
    assert str(err.value).startswith(message)


def test_rule_tags_name_their_network():
    rule = _nftables.masquerade_rule("n1", ipaddress.ip_network("10.1.0.0/24"), "br0")
    assert _nftables.owner(rule["comment"]) == "n1"
    assert _nftables.owner("someone else's rule") is None and _nftables.owner(None) is None
    assert [r["chain"] for r in _nftables.isolation_rules("n1", "br0")] == ["forward", "forward"]
