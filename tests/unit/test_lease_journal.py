# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settling leases an interrupted run left pending, and the write-ahead table (pure)."""

from __future__ import annotations

import copy

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils._lease_journal import (
    PendingProbe,
    ahead_table,
    settle,
)

LEASES = {
    "10.0.0.2": {"owner": "netns:a", "ifname": "eth0", "netns_path": "/run/netns/a"},
    "10.0.0.3": {"owner": "netns:b", "ifname": "eth0", "netns_path": "/run/netns/b", "pending": True},
    "10.0.0.4": {"owner": "netns:c", "ifname": "eth0", "netns_path": "/run/netns/c", "pending": True},
    "10.0.0.5": {"owner": "container:gone", "ifname": "eth0"},
    "10.0.0.6": {"owner": "container:asleep", "ifname": "eth0"},
}


def test_pending_leases_adopted_or_dropped_and_owners_released_only_when_gone():
    stored = copy.deepcopy(LEASES)
    probes = {
        "10.0.0.3": PendingProbe(link=link("eth0", addresses=("10.0.0.3/24",)), ours=True),
        "10.0.0.4": PendingProbe(link=link("eth0", addresses=()), ours=True, leftover="ul0123456789ab"),
    }
    states = {"container:gone": ("gone", None), "container:asleep": ("unknown", "docker could not be asked")}
    settled = settle(stored, probes, states)
    assert stored == LEASES  # its input is not changed
    assert sorted(settled.leases) == ["10.0.0.2", "10.0.0.3", "10.0.0.6"]
    assert "pending" not in settled.leases["10.0.0.3"]
    assert settled.adopted == ["10.0.0.3 of netns:b"] and settled.dropped == ["10.0.0.4 of netns:c"]
    assert settled.released == ["10.0.0.5 of container:gone, which no longer exists"]
    assert settled.doubts == [("container:asleep", "docker could not be asked")]
    # the half-made endpoint of an owner this run does not attach is removed, with the scratch link
    assert settled.leftovers == [("/run/netns/c", "ul0123456789ab"), ("/run/netns/c", "eth0")]
    # ... but one this run attaches is its to finish
    assert settle(stored, probes, states, frozenset({"netns:c"})).leftovers == [("/run/netns/c", "ul0123456789ab")]


def test_adopted_pending_lease_replaces_the_owners_old_address():
    stored = {"10.0.0.2": {"owner": "netns:a", "ifname": "eth0"},
              "10.0.0.9": {"owner": "netns:a", "ifname": "eth0", "pending": True}}
    held = {"10.0.0.9": PendingProbe(link=link("eth0", addresses=("10.0.0.9/24",)))}
    assert sorted(settle(stored, held, {}).leases) == ["10.0.0.9"]
    assert sorted(settle(stored, {}, {}).leases) == ["10.0.0.2"]  # never made: the old one stays


def test_ahead_table_marks_only_new_addresses_and_keeps_leases_being_released():
    settled = {"10.0.0.2": {"owner": "netns:a"}, "10.0.0.5": {"owner": "netns:old"}}
    final = {"10.0.0.2": {"owner": "netns:a", "netns_path": "/proc/9/ns/net"}, "10.0.0.3": {"owner": "netns:b"}}
    ahead = ahead_table(settled, settled, final)
    assert ahead == {"10.0.0.2": {"owner": "netns:a", "netns_path": "/proc/9/ns/net"},
                     "10.0.0.3": {"owner": "netns:b", "pending": True},
                     "10.0.0.5": {"owner": "netns:old"}}
    assert "pending" not in final["10.0.0.3"]
    # nothing new (a release, a changed namespace path): no write ahead
    assert ahead_table(settled, settled, {"10.0.0.2": {"owner": "netns:a", "netns_path": "/x"}}) is None
