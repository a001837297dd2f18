# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports' rules (what a network's leases imply), their plan, the host-port conflict
check and the fleet's own check."""

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_spec, _publish, _publish_rules
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan

BRIDGE = {"name": "web", "driver": "bridge", "bridge_name": "brweb",
          "ipam": {"subnet": "172.31.0.0/24", "gateway": "172.31.0.1", "ip_range": "172.31.0.0/24"}}


def lease(owner, *publish):
    return {"owner": owner, "container": owner, "publish": list(publish)}


def test_a_mapping_on_every_address_is_dnated_from_outside_and_from_the_host():
    [mapping] = _publish.parse("publish", "8080:80")
    inside, local = _publish_rules.dnat_rules("web", mapping, "172.31.0.2")
    assert (inside["chain"], local["chain"]) == ("prerouting", "output")
    assert inside["comment"] == "underlay.network:web:publish-in:0.0.0.0:8080/tcp>172.31.0.2:80"
    assert local["comment"] == "underlay.network:web:publish-local:0.0.0.0:8080/tcp>172.31.0.2:80"
    assert inside["expr"] == local["expr"] == [
        {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
        {"dnat": {"addr": "172.31.0.2", "port": 80}}]


def test_a_host_ip_is_matched_and_a_loopback_mapping_has_no_rule_from_outside():
    [bound] = _publish.parse("publish", "192.0.2.1:53:5353/udp")
    inside, _local = _publish_rules.dnat_rules("web", bound, "172.31.0.2")
    assert {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                      "right": "192.0.2.1"}} in inside["expr"]
    assert not _publish_rules.allows_loopback(bound)
    [loopback] = _publish.parse("publish", "127.0.0.1:8080:80")
    assert [rule["chain"] for rule in _publish_rules.dnat_rules("web", loopback, "172.31.0.2")] == ["output"]
    assert _publish_rules.allows_loopback(loopback)


def test_a_long_network_name_gets_a_short_hash_and_stays_under_128_bytes():
    name = "n" * 64
    [mapping] = _publish.parse("publish", "255.255.255.254:65535:65535/udp")
    for rule in _publish_rules.dnat_rules(name, mapping, "172.31.255.254"):
        assert len(rule["comment"].encode()) <= 127
        assert rule["comment"].startswith(f"underlay.network:{name}:publish-")
    other = _publish.parse("publish", "255.255.255.254:65534:65535/udp")[0]
    assert _publish_rules.dnat_rules(name, mapping, "172.31.255.254")[0]["comment"] != \
        _publish_rules.dnat_rules(name, other, "172.31.255.254")[0]["comment"]


def test_the_network_wants_hairpin_always_and_loopback_only_when_a_mapping_allows_it():
    rules, loopback = _publish_rules.wanted("web", BRIDGE, {"172.31.0.2": lease("netns:a", "192.0.2.1:80:80/tcp")})
    assert not loopback
    assert sorted(rules) == [
        "underlay.network:web:publish-hairpin:172.31.0.0/24>brweb",
        "underlay.network:web:publish-in:192.0.2.1:80/tcp>172.31.0.2:80",
        "underlay.network:web:publish-local:192.0.2.1:80/tcp>172.31.0.2:80"]
    rules, loopback = _publish_rules.wanted("web", BRIDGE, {"172.31.0.2": lease("netns:a", "0.0.0.0:80:80/tcp")})
    assert loopback and "underlay.network:web:publish-loopback:127.0.0.0/8>brweb" in rules
    assert _publish_rules.wanted("web", BRIDGE, {"172.31.0.2": {"owner": "netns:a"}}) == ({}, False)


def test_the_plan_replaces_exactly_the_changed_rules_and_sets_the_sysctls_once():
    old = {"172.31.0.2": lease("netns:a", "0.0.0.0:80:80/tcp", "0.0.0.0:53:53/udp")}
    new = {"172.31.0.2": lease("netns:a", "0.0.0.0:80:80/tcp", "0.0.0.0:54:53/udp")}
    have = {text: {"handle": 1, "chain": rule["chain"], "expr": rule["expr"]}
            for text, rule in _publish_rules.wanted("web", BRIDGE, old)[0].items()}
    foreign = "underlay.network:other:publish-in:0.0.0.0:1/tcp>10.0.0.2:1"
    have[foreign] = {"handle": 9, "chain": "prerouting", "expr": []}
    current = _publish_rules.PublishCurrent(rules=have, sysctls={"net.ipv4.ip_forward": "1",
                                                                 "net.ipv4.conf.brweb.route_localnet": "1"})
    steps = Plan(before=None, after=None)
    before, after = _publish_rules.plan_network(steps, "web", BRIDGE, new, current)
    assert [(step.op, step.args.get("comment_text") or step.args["rule"]["comment"]) for step in steps.steps] == [
        ("nft_delete_rule", "underlay.network:web:publish-in:0.0.0.0:53/udp>172.31.0.2:53"),
        ("nft_delete_rule", "underlay.network:web:publish-local:0.0.0.0:53/udp>172.31.0.2:53"),
        ("nft_add_rule", "underlay.network:web:publish-in:0.0.0.0:54/udp>172.31.0.2:53"),
        ("nft_add_rule", "underlay.network:web:publish-local:0.0.0.0:54/udp>172.31.0.2:53")]
    assert all(step.undo for step in steps.steps)
    assert len(before) == len(after) == 6
    fresh = Plan(before=None, after=None)
    _publish_rules.plan_network(fresh, "web", BRIDGE, new, _publish_rules.PublishCurrent(
        sysctls={"net.ipv4.ip_forward": "0", "net.ipv4.conf.brweb.route_localnet": "0"}))
    sysctls = [step for step in fresh.steps if step.op == "sysctl_set"]
    assert [(s.args["key"], s.args["value"], s.undo[0].args["value"] if isinstance(s.undo, tuple) else
             s.undo.args["value"]) for s in sysctls] == [
        ("net.ipv4.conf.brweb.route_localnet", "1", "0"), ("net.ipv4.ip_forward", "1", "0")]
    assert fresh.steps.index(sysctls[0]) < min(i for i, s in enumerate(fresh.steps) if s.op == "nft_add_rule")


def test_publish_is_refused_on_macvlan_and_internal_networks():
    mappings = _publish.parse_all("publish", ["8080:80"])
    _publish_rules.check_network("publish", mappings, "web", BRIDGE)
    _publish_rules.check_network("publish", (), "vlan", {"driver": "macvlan"})
    with pytest.raises(UnderlayError) as caught:
        _publish_rules.check_network("endpoints[2].publish", mappings, "vlan", {"driver": "macvlan"})
    assert str(caught.value).startswith("endpoints[2].publish: network 'vlan' is a macvlan network")
    assert "directly on the physical network" in str(caught.value)
    with pytest.raises(UnderlayError, match="publish: network 'db' is internal"):
        _publish_rules.check_network("publish", mappings, "db", dict(BRIDGE, internal=True))


def test_a_host_port_taken_by_another_endpoint_names_both():
    def mappings(*texts):
        return _publish.parse_all("publish", list(texts))

    taken = [("a on network 'web'", m) for m in mappings("8080:80", "192.0.2.1:53:53/udp")]
    fine = mappings("8081:80", "53:53/tcp", "192.0.2.2:53:53/udp")
    _publish_rules.check_host_ports(taken, [("publish", "b on network 'web'", fine)])
    with pytest.raises(UnderlayError) as caught:
        _publish_rules.check_host_ports(taken, [("publish", "b on network 'api'", mappings("53:5353/udp"))])
    assert str(caught.value) == ("publish: host port 53/udp (0.0.0.0:53->5353/udp) of b on network 'api' is already"
                                 " published by a on network 'web' (192.0.2.1:53->53/udp)")
    with pytest.raises(UnderlayError, match=r"^endpoints\[1\]\.publish: host port 9000/tcp .* of c .* by b"):
        _publish_rules.check_host_ports([], [("endpoints[0].publish", "b", mappings("9000:80")),
                                             ("endpoints[1].publish", "c", mappings("8999-9001:80-82"))])


def test_the_comment_tells_publish_rules_from_the_networks_own():
    assert _publish_rules.is_publish("underlay.network:web:publish-in:0.0.0.0:80/tcp>1.2.3.4:80")
    assert not _publish_rules.is_publish("underlay.network:web:masquerade:172.31.0.0/24>brweb")
    assert not _publish_rules.is_publish("someone else's")


FLEET = {"host1": {"trunks": [], "networks": [
    {"name": "web", "driver": "bridge", "subnet": "172.31.0.0/24"},
    {"name": "api", "driver": "bridge", "subnet": "172.32.0.0/24"}]},
    "host2": {"trunks": [], "networks": [{"name": "web", "driver": "bridge", "subnet": "172.31.0.0/24"}]}}


def messages(endpoints, hosts=None):
    problems, _summary = validate_fleet(hosts or FLEET, endpoints)
    return [str(problem) for problem in problems]


def test_fleet_plan_catches_a_host_port_used_twice_on_one_host_only():
    fine = [{"host": "host1", "network": "web", "container": "a", "publish": ["8080:80"]},
            {"host": "host2", "network": "web", "container": "b", "publish": ["8080:80"]},
            {"host": "host1", "network": "api", "container": "c", "publish": ["8080:80/udp"]},
            {"host": "host1", "network": "api", "container": "d", "publish": ["8080:80"], "state": "absent"}]
    assert messages(fine) == []
    clash = fine + [{"host": "host1", "network": "api", "container": "e", "publish": ["8000-8090:8000-8090"]}]
    assert messages(clash) == [
        "host1: underlay_endpoints[4].publish: host port 8080/tcp (0.0.0.0:8080->8080/tcp) of container e on network"
        " 'api' is already published by underlay_endpoints[0] (container a on network 'web') (0.0.0.0:8080->80/tcp)"]


def test_fleet_plan_names_a_bad_publish_and_publish_on_macvlan():
    hosts = dict(FLEET, host3={"trunks": [{"parent": "ens33", "vlans": [{"id": 100}]}], "networks": [
        {"name": "vlan100", "driver": "macvlan", "parent": "ens33.100", "subnet": "10.0.0.0/24"}]})
    found = messages([{"host": "host1", "network": "web", "container": "a", "publish": ["80:80/sctp"]},
                      {"host": "host3", "network": "vlan100", "container": "b", "publish": ["80:80"]}], hosts)
    assert len(found) == 2
    assert found[0].startswith("host1: underlay_endpoints[0]") and "protocol 'sctp'" in found[0]
    assert found[1].startswith("host3: underlay_endpoints[1].publish: network 'vlan100' is a macvlan network")


def test_fleet_plan_refuses_publish_on_an_internal_bridge_as_the_module_does():
    hosts = {"host1": {"trunks": [], "networks": [
        {"name": "db", "driver": "bridge", "subnet": "172.33.0.0/24", "internal": True},
        {"name": "web", "driver": "bridge", "subnet": "172.31.0.0/24"}]}}
    endpoints = [{"host": "host1", "network": "db", "container": "maria", "publish": ["3306:3306"]},
                 {"host": "host1", "network": "db", "container": "quiet"},
                 {"host": "host1", "network": "web", "container": "wp", "publish": ["3306:80"]}]
    with pytest.raises(UnderlayError) as caught:
        _publish_rules.check_network("underlay_endpoints[0].publish", _publish.parse_all("publish", ["3306:3306"]),
                                     "db", {"driver": "bridge", "internal": True})
    # one rule, one message: the fleet's problem is the module's refusal, under the host's name;
    # the refused item takes no host port (wp may publish 3306 on the host)
    assert messages(endpoints, hosts) == [f"host1: {caught.value}"]
    assert "network 'db' is internal" in str(caught.value)


def test_a_lease_gives_restore_and_watch_the_same_mappings_back():
    declared = _endpoint_spec.build_spec({"network": "web", "container_netns": "blue",
                                          "publish": ["8080:80", "127.0.0.1:53:53/udp", "8000-8001:9000-9001"]})
    mappings = declared.endpoints[0].publish
    stored = {"owner": "netns:blue", "ifname": "eth0", "mac_address": "02:42:ac:1f:00:02",
              "publish": _publish.to_strings(mappings)}
    item = _endpoint_spec.stored_item("web", "172.31.0.2", stored)
    again = _endpoint_spec.build_spec({"endpoints": [item]})
    assert again.endpoints[0].publish == mappings
    assert "publish" not in _endpoint_spec.stored_item("web", "172.31.0.3", {"owner": "netns:green"})
    with pytest.raises(UnderlayError, match=r"^endpoints\[0\]\.publish: '8080:80' is not a list"):
        _endpoint_spec.build_spec({"endpoints": [{"network": "web", "container_netns": "x", "publish": "8080:80"}]})
