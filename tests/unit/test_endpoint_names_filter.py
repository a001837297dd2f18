# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint_names filter: a host's batch results and items -> the records network_peers
takes on the other hosts, by network."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.underlay.network.plugins.filter.endpoint_names import FilterModule, endpoint_names
from ansible_collections.underlay.network.plugins.module_utils import _network_peers

ITEMS = [{"network": "vlan100", "container": "3f2a", "aliases": ["web"]},
         {"network": "vlan100", "container_netns": "blue"},
         {"network": "vlan100", "pid": 42, "aliases": ["worker", "jobs"]},
         {"network": "vlan100", "pid": 43},
         {"network": "vlan200", "container_netns": "/proc/9/ns/net"},
         {"network": "vlan200", "container_netns": "gone", "state": "absent"}]
RESULTS = [{"network": "vlan100", "container": "centos01", "ipv4_address": "10.0.0.10/24", "aliases": ["web"]},
           {"network": "vlan100", "container": "namespace blue", "ipv4_address": "10.0.0.11/24", "aliases": []},
           {"network": "vlan100", "container": "pid 42", "ipv4_address": "10.0.0.12/24"},
           {"network": "vlan100", "container": "pid 43", "ipv4_address": "10.0.0.13/24"},
           {"network": "vlan200", "container": "namespace /proc/9/ns/net", "ipv4_address": "10.2.0.5/24"},
           {"network": "vlan200", "container": "namespace gone", "state": "absent"}]


def test_each_endpoint_answers_to_its_own_name_and_aliases_as_on_its_host():
    assert endpoint_names(RESULTS, ITEMS, "host1") == {"vlan100": [
        {"host": "host1", "name": "centos01", "aliases": ["web"], "address": "10.0.0.10"},  # the container's name
        {"host": "host1", "name": "blue", "aliases": [], "address": "10.0.0.11"},  # the namespace's
        {"host": "host1", "name": "worker", "aliases": ["jobs"], "address": "10.0.0.12"},  # a PID: its aliases
    ]}  # a PID without aliases, a namespace path and a detached endpoint: no record


def test_the_records_are_peers_network_peers_takes():
    for records in endpoint_names(RESULTS, ITEMS, "host1").values():
        for index, record in enumerate(records):
            assert _network_peers.peer_record(f"peers[{index}]", record) == record


def test_nothing_attached_gives_nothing_and_the_filter_is_registered():
    assert endpoint_names([], [], "host1") == {}
    assert FilterModule().filters() == {"endpoint_names": endpoint_names}


@pytest.mark.parametrize("results, items", [(RESULTS, ITEMS[:2]), ("x", ITEMS), ([1], [2])])
def test_mismatched_input_is_refused(results, items):
    with pytest.raises(AnsibleFilterError):
        endpoint_names(results, items, "host1")
