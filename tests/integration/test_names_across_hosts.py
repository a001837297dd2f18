# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names across hosts (issue 17, item 2) on the real kernel: two "hosts" (namespaces, each with
its own state_dir) joined by a veth (the shared segment), a macvlan network ``lan`` with the same
name on each (parent: that veth's end), ``container_netns`` endpoints on both. network_peers,
run on each host with the other host's endpoints as site.yml does, makes an endpoint on host1
resolve host2's endpoint by name and alias (asked at 127.0.0.11 from inside the endpoint's
namespace) and ping it by name; an endpoint of another network of host1 resolves none of them;
a re-run changes nothing; check mode changes nothing (state files, resolver state, resolv.conf);
``state: absent`` takes the names away; bad input is refused naming field and value."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

import underlay_testlib as lib
from test_names import ask, resolv

MODULE = "network_peers"


def host_tasks(common, ip_range):
    return [
        {"underlay.network.macvlan_network": dict(common, name="lan", parent="seg", subnet="10.64.0.0/24",
                                                  gateway="10.64.0.1", ip_range=ip_range)},
        {"underlay.network.macvlan_network": dict(common, name="lan2", parent="seg", subnet="10.65.0.0/24")},
        {"underlay.network.bridge_network": dict(common, name="br", bridge_name="br-x", subnet="10.66.0.0/24")},
        {"underlay.network.macvlan_network": dict(common, name="quiet", parent="seg", subnet="10.67.0.0/24",
                                                  dns=False)},
    ]


@pytest.fixture
def fleet(namespaces, tmp_path):
    h1, h2 = namespaces.new("h"), namespaces.new("h")
    namespaces.veth(h1, "seg", h2, "seg")
    hosts = {}
    for name, ns, ip_range in (("host1", h1, "10.64.0.64/26"), ("host2", h2, "10.64.0.128/26")):
        common = {"netns": ns, "state_dir": str(tmp_path / name)}
        r = lib.run_tasks(host_tasks(common, ip_range))
        assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
        hosts[name] = SimpleNamespace(ns=ns, common=common, state_dir=common["state_dir"])
    eps = SimpleNamespace(a1=namespaces.new("a"), c1=namespaces.new("c"), b2=namespaces.new("b"),
                          d2=namespaces.new("d"))
    try:
        r = lib.run_tasks([
            {"underlay.network.container_endpoint": dict(hosts["host1"].common, endpoints=[
                {"network": "lan", "container_netns": eps.a1, "aliases": ["web"]},
                {"network": "lan2", "container_netns": eps.c1}])},
            {"underlay.network.container_endpoint": dict(hosts["host2"].common, endpoints=[
                {"network": "lan", "container_netns": eps.b2, "aliases": ["mariadb", "db"]},
                {"network": "lan", "container_netns": eps.d2, "ipv4_address": "10.64.0.140"}])},
        ])
        assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
        address = {}
        for result in r:
            for item in result["endpoints"]:
                address[item["netns"].rsplit("/", 1)[-1]] = item["ipv4_address"].split("/")[0]
        yield SimpleNamespace(hosts=hosts, eps=eps, address=address)
    finally:
        for host in hosts.values():
            lib.stop_resolver(host.state_dir)


def peers_of(fleet, host):
    """What site.yml gives ``host``: the other host's endpoints of ``lan``, with their names."""
    eps, other = fleet.eps, "host2" if host == "host1" else "host1"
    found = {"host1": [{"host": "host1", "name": eps.a1, "address": fleet.address[eps.a1], "aliases": ["web"]}],
             "host2": [{"host": "host2", "name": eps.b2, "address": fleet.address[eps.b2], "aliases": ["mariadb", "db"]},
                       {"host": "host2", "name": eps.d2, "address": fleet.address[eps.d2]}]}
    return found[other]


def give(fleet, host, check_mode=False, **args):
    params = dict(fleet.hosts[host].common, network="lan", peers=peers_of(fleet, host))
    params.update(args)
    return lib.run_module(MODULE, params, check_mode=check_mode, diff=True)


def observed(fleet):
    """What check mode must leave byte-identical: both state dirs (the resolver's pid and served
    fingerprints among them, not its log) and every endpoint's resolv.conf."""
    found = {}
    for name, host in fleet.hosts.items():
        state = lib.tree_snapshot(host.state_dir) or {}
        state.pop(os.path.join("dns", "resolver.log"), None)
        found[name] = state
    found["resolv"] = {ns: resolv(ns) for ns in vars(fleet.eps).values()}
    return found


def test_endpoints_resolve_each_other_across_hosts(fleet):
    eps, address = fleet.eps, fleet.address
    assert ask(eps.a1, eps.b2) == []  # before: only the local endpoints' names

    before = observed(fleet)
    checked = give(fleet, "host1", check_mode=True)
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert [peer["name"] for peer in checked["peers"]] == [eps.b2, eps.d2]
    assert any(eps.b2 in line for line in checked["diff"]["after"]["peers"])
    assert checked["diff"]["before"]["peers"] == []
    assert observed(fleet) == before
    assert ask(eps.a1, eps.b2) == []

    for host in ("host1", "host2"):
        done = give(fleet, host)
        assert done["changed"] is True and not done.get("failed"), done.get("msg")
        assert any("wait until the names resolver serves" in action for action in done["actions"]), done["actions"]
    # host1's endpoint: host2's endpoints by name and alias, its own too; the resolver answered
    # as soon as the module returned
    assert ask(eps.a1, eps.b2) == [address[eps.b2]]
    assert ask(eps.a1, "mariadb") == [address[eps.b2]]
    assert ask(eps.a1, "DB") == [address[eps.b2]]
    assert ask(eps.a1, eps.d2) == [address[eps.d2]]
    assert ask(eps.a1, "web") == [address[eps.a1]]
    # and the other way
    assert ask(eps.b2, "web") == [address[eps.a1]]
    assert ask(eps.d2, eps.a1) == [address[eps.a1]]
    # an endpoint of another network of host1 resolves none of lan's names
    assert ask(eps.c1, eps.b2) == [] and ask(eps.c1, "mariadb") == [] and ask(eps.c1, "web") == []
    # through the namespace's resolv.conf: ping by name over the shared segment
    lib.sh("ping", "-c", "1", "-W", "2", "mariadb", ns=eps.a1)
    lib.sh("ping", "-c", "1", "-W", "2", "web", ns=eps.b2)

    info = lib.run_module("network_info", dict(fleet.hosts["host1"].common, name=["lan"]))
    assert info["networks"][0]["Peers"] == [
        {"Host": "host2", "Name": eps.b2, "Aliases": ["mariadb", "db"], "IP": address[eps.b2]},
        {"Host": "host2", "Name": eps.d2, "Aliases": [], "IP": address[eps.d2]}]
    assert info["networks"][0]["drift"] == []

    for host in ("host1", "host2"):
        again = give(fleet, host)
        assert again["changed"] is False and again["actions"] == [], again

    before = observed(fleet)
    checked = give(fleet, "host1", check_mode=True, state="absent")
    assert checked["changed"] is True and checked["peers"] == []
    assert observed(fleet) == before

    gone = give(fleet, "host1", state="absent")
    assert gone["changed"] is True and gone["peers"] == []
    assert ask(eps.a1, eps.b2) == [] and ask(eps.a1, "mariadb") == []
    assert ask(eps.a1, "web") == [address[eps.a1]]
    assert ask(eps.b2, "web") == [address[eps.a1]]  # host2 keeps its records
    assert not os.path.exists(os.path.join(fleet.hosts["host1"].state_dir, "peers"))
    assert give(fleet, "host1", state="absent")["changed"] is False


def bad_cases(fleet):
    eps, address = fleet.eps, fleet.address
    b2 = {"host": "host2", "name": eps.b2, "address": address[eps.b2]}
    return [
        ({"network": "nope"}, "network", "no network named 'nope'"),
        ({"network": "br"}, "network", "is a bridge network"),
        ({"network": "quiet"}, "network", "has dns off"),
        ({"peers": [dict(b2, name="web")]}, "peers[0].name", "'web' of web on host2"),
        ({"peers": [dict(b2, aliases=[eps.a1])]}, "peers[0].aliases", "already a name of the local endpoint"),
        ({"peers": [dict(b2, address="10.99.0.5")]}, "peers[0].address", "not a host address of the subnet"),
        ({"peers": [dict(b2, address=address[eps.a1])]}, "peers[0].address",
         f"is also the address of netns:{eps.a1}"),
        ({"peers": [b2, dict(b2, name="other")]}, "peers[1].address", "is also the address of peers[0]"),
        ({"peers": [b2, dict(b2, name="other", address="10.64.0.200", aliases=[eps.b2.upper()])]}, "peers[1].aliases",
         "is also a name of peers[0]"),
        ({"peers": [dict(b2, aliases=["-bad"])]}, "peers[0].aliases", "'-bad' is not a valid DNS name"),
        ({"peers": [dict(b2, address="10.64.0.300")]}, "peers[0].address", "is not an IPv4 address"),
        ({"peers": [dict(b2, address="10.64.0.1")]}, "peers[0].address", "is the gateway"),
    ]


def test_bad_input_is_refused_naming_field_and_value_and_changes_nothing(fleet):
    assert give(fleet, "host1")["changed"] is True
    before = observed(fleet)
    for args, field, message in bad_cases(fleet):
        result = give(fleet, "host1", **args)
        assert result.get("failed") is True, (args, result)
        assert result.get("field") == field, (args, result)
        assert message in result["msg"], (args, result["msg"])
        assert observed(fleet) == before, args


def test_a_corrupt_peer_file_is_refused_and_kept(fleet):
    path = os.path.join(fleet.hosts["host1"].state_dir, "peers", "lan.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    result = give(fleet, "host1")
    assert result.get("failed") is True and "is corrupt" in result["msg"] and path in result["msg"], result
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == "{not json"


def test_the_peers_survive_a_reboot_restore_serves_them(fleet, namespaces):
    from ansible_collections.underlay.network.plugins.module_utils import _restore  # pylint: disable=import-outside-toplevel
    eps, host1 = fleet.eps, fleet.hosts["host1"]
    assert give(fleet, "host1")["changed"] is True
    # a reboot of host1: no resolver, the endpoints' namespaces back empty (their links gone)
    assert lib.stop_resolver(host1.state_dir)
    for name in (eps.a1, eps.c1):
        namespaces.recreate(name)
    assert ask(eps.a1, eps.b2) == []
    report = _restore.restore(host1.state_dir, netns=host1.ns)
    assert report.changed and not report.problems, report.problems
    assert ask(eps.a1, eps.b2) == [fleet.address[eps.b2]] and ask(eps.a1, "mariadb") == [fleet.address[eps.b2]]
    assert ask(eps.c1, eps.b2) == []
    assert give(fleet, "host1")["changed"] is False
