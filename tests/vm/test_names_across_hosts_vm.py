# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names across hosts over a VLAN (issue 17, items 2 and 3; Debian kernel in the VM, 802.1Q):
two host namespaces, each trunked (veth0) to a switch namespace that bridges VLAN 100 of both
trunks and holds the gateway; a macvlan network ``vlan100`` on ``veth0.100`` on each host, each
host with its own state_dir and ip_range; endpoints on both. Each host is driven exactly as
playbooks/site.yml drives it (the networks, one container_endpoint batch, the endpoint_names
filter over the batch, network_peers with the other host's records; site.yml itself runs on
the host kernel in tests/integration/test_site_playbook.py): the endpoints resolve each other's
names and aliases across hosts at 127.0.0.11 and ping each other by name over the VLAN; a
re-run changes nothing."""

from __future__ import annotations

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.filter.endpoint_names import endpoint_names


ask = lib.resolve_a  # the names resolver's answer inside a namespace


def switch(namespaces):
    """The switch: one bridge joining VLAN 100 of every trunk, with the gateway on it."""
    sw = namespaces.new("sw")
    lib.sh("ip", "link", "add", "br100", "type", "bridge", ns=sw)
    lib.sh("ip", "addr", "add", "10.0.0.1/24", "dev", "br100", ns=sw)
    lib.sh("ip", "link", "set", "br100", "up", ns=sw)
    return sw


def trunk(namespaces, sw, host, port):
    namespaces.veth(host, "veth0", sw, port)
    lib.sh("ip", "link", "add", "link", port, "name", f"{port}.100", "type", "vlan", "id", "100", ns=sw)
    lib.sh("ip", "link", "set", f"{port}.100", "master", "br100", "up", ns=sw)


def converge(hosts, endpoints):
    """site.yml's path, host by host: networks, the endpoints batch, then the names across hosts."""
    attached, results = {}, []
    for name, host in hosts.items():
        items = [{key: value for key, value in item.items() if key != "host"} for item in endpoints
                 if item["host"] == name]  # the endpoints role's underlay_endpoints_here
        r = lib.run_tasks([
            {"underlay.network.macvlan_network": dict(host["common"], name="vlan100", parent="veth0.100",
                                                      subnet="10.0.0.0/24", gateway="10.0.0.1",
                                                      ip_range=host["ip_range"])},
            {"underlay.network.container_endpoint": dict(host["common"], endpoints=items)},
        ])
        assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
        results.extend(r)
        attached[name] = endpoint_names(r[1]["endpoints"], items, name)
    for name, host in hosts.items():
        peers = [record for other, found in attached.items() if other != name for record in found.get("vlan100", [])]
        r = lib.run_tasks([{"underlay.network.network_peers": dict(host["common"], network="vlan100", peers=peers)}])
        assert not r[0].get("failed"), r[0].get("msg")
        results.append(r[0])
    return results


def test_names_resolve_across_hosts_over_the_vlan_and_ping_by_name(namespaces, tmp_path):
    sw = switch(namespaces)
    h1, h2 = namespaces.new("h"), namespaces.new("h")
    trunk(namespaces, sw, h1, "t1")
    trunk(namespaces, sw, h2, "t2")
    hosts = {"host1": {"common": {"netns": h1, "state_dir": str(tmp_path / "host1")}, "ip_range": "10.0.0.0/25"},
             "host2": {"common": {"netns": h2, "state_dir": str(tmp_path / "host2")}, "ip_range": "10.0.0.128/25"}}
    a, b, c = namespaces.new("a"), namespaces.new("b"), namespaces.new("c")
    endpoints = [{"host": "host1", "network": "vlan100", "container_netns": a, "aliases": ["web"]},
                 {"host": "host2", "network": "vlan100", "container_netns": b, "aliases": ["mariadb", "db"]},
                 {"host": "host2", "network": "vlan100", "container_netns": c, "ipv4_address": "10.0.0.200"}]
    try:
        first = converge(hosts, endpoints)
        assert all(result["changed"] for result in first)
        address = {a: ask(a, a), b: ask(b, b)}
        assert address[a][0].startswith("10.0.0.") and address[b][0].startswith("10.0.0.")
        # host1's endpoint resolves host2's endpoints by name and alias, and the other way
        assert ask(a, b) == address[b] and ask(a, "mariadb") == address[b] and ask(a, "db") == address[b]
        assert ask(a, c) == ["10.0.0.200"]
        assert ask(b, "web") == address[a] and ask(c, a) == address[a]
        # by name, over the VLAN (through the namespaces' resolv.conf)
        lib.sh("ping", "-c", "1", "-W", "3", "mariadb", ns=a)
        lib.sh("ping", "-c", "1", "-W", "3", "web", ns=b)
        lib.sh("ping", "-c", "1", "-W", "3", c, ns=a)

        again = converge(hosts, endpoints)
        assert [result["changed"] for result in again] == [False] * len(again), [r.get("actions") for r in again]
    finally:
        for host in hosts.values():
            lib.stop_resolver(host["common"]["state_dir"])
