# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_plan and names across hosts: a name (container, namespace, alias) given to endpoints
on two hosts of one macvlan network with dns on is refused before any host changes, naming
both; other networks, other hosts' own networks and detached endpoints are left alone."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet

TRUNK = [{"parent": "ens33", "vlans": [{"id": 100}]}]


def host(ip_range, **extra):
    return {"trunks": TRUNK, "networks": [
        dict({"name": "vlan100", "driver": "macvlan", "parent": "ens33.100", "subnet": "10.0.0.0/24",
              "gateway": "10.0.0.1", "ip_range": ip_range}, **extra),
        {"name": "local", "driver": "bridge", "subnet": "172.31.0.0/24"}]}


HOSTS = {"host1": host("10.0.0.0/25"), "host2": host("10.0.0.128/25")}


def problems(endpoints, hosts=None):
    found, _summary = validate_fleet(hosts or HOSTS, endpoints)
    return [(p.host, p.where, p.value, p.message) for p in found]


def test_a_name_on_two_hosts_of_one_network_is_refused_naming_both():
    found = problems([{"host": "host1", "container": "web", "network": "vlan100"},
                      {"host": "host2", "container_netns": "db", "network": "vlan100", "aliases": ["WEB"]}])
    assert found == [("host2", "underlay_endpoints[1].aliases", "WEB",
                      "'WEB' of container_netns db is also a name of host1's underlay_endpoints[0] (container web)"
                      " on network 'vlan100', whose endpoints resolve each other across hosts")]
    assert problems([{"host": "host1", "container_netns": "web", "network": "vlan100"},
                     {"host": "host2", "container": "/web", "network": "vlan100"}])[0][1:3] == (
        "underlay_endpoints[1].container", "web")


def test_distinct_names_bridges_dns_off_and_detached_endpoints_pass():
    assert problems([{"host": "host1", "container": "web", "network": "vlan100"},
                     {"host": "host2", "container": "web2", "network": "vlan100", "aliases": ["db"]}]) == []
    assert problems([{"host": "host1", "container": "web", "network": "local"},
                     {"host": "host2", "container": "web", "network": "local"}]) == []
    assert problems([{"host": "host1", "container": "web", "network": "vlan100"},
                     {"host": "host2", "container": "web", "network": "vlan100", "state": "absent"}]) == []
    quiet = {"host1": host("10.0.0.0/25", dns=False), "host2": host("10.0.0.128/25", dns=False)}
    assert problems([{"host": "host1", "container": "web", "network": "vlan100"},
                     {"host": "host2", "container": "web", "network": "vlan100"}], quiet) == []
    assert problems([{"host": "host1", "container_netns": "/proc/1/ns/net", "network": "vlan100"},
                     {"host": "host2", "container_netns": "/proc/1/ns/net", "network": "vlan100"}]) == []
