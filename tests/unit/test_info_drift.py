# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info's drift: a stored definition and its leases against a kernel snapshot. Pure."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _nftables
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._info import (
    EndpointKernel,
    NetworkKernel,
    collection_rules,
    drift,
    wanted_routes,
)

IPAM = {"subnet": "172.30.0.0/24", "gateway": "172.30.0.1", "ip_range": "172.30.0.0/24", "aux_addresses": {}}
BRIDGE = {"name": "br", "driver": "bridge", "bridge_name": "br0", "ipam": IPAM, "icc": True, "internal": False,
          "masquerade": True, "mtu": None}
MASQUERADE = _nftables.comment("br", "masquerade", "172.30.0.0/24>br0")
MACVLAN = {"name": "mv", "driver": "macvlan", "parent": "veth0", "mode": "bridge",
           "ipam": {"subnet": "10.5.0.0/24", "gateway": "10.5.0.1", "ip_range": "10.5.0.0/24", "aux_addresses": {}}}
LEASE = {"owner": "netns:c1", "container": "c1", "ifname": "eth0", "netns_path": "/run/netns/c1",
         "mac_address": "02:42:0a:05:00:03"}
ENDPOINT = dataclasses.replace(link("eth0", kind="macvlan", mode="bridge", addresses=("10.5.0.3/24",)),
                               mac_address="02:42:0a:05:00:03")


def bridge_kernel(**changes):
    base = {"bridge": link("br0", kind="bridge", addresses=("172.30.0.1/24",)), "forwarding": "1",
            "rules": {MASQUERADE: {"handle": 3, "chain": "postrouting"}}}
    base.update(changes)
    return NetworkKernel(**base)


def macvlan_drift(lease=None, endpoint=ENDPOINT, routes=None):
    lease = dict(LEASE, **(lease or {}))
    kernel = NetworkKernel(parent=link("veth0"),
                           endpoints={"10.5.0.3": EndpointKernel(link=endpoint, gateway_routes=routes)})
    return drift(MACVLAN, {"10.5.0.3": lease}, kernel)


def test_a_bridge_as_defined_has_no_drift():
    assert drift(BRIDGE, {}, bridge_kernel()) == []


def test_flushed_rules_are_reported_each_by_its_comment():
    internal = dict(BRIDGE, internal=True, masquerade=False)
    assert drift(BRIDGE, {}, bridge_kernel(rules={})) == [f"nftables rule '{MASQUERADE}' is missing"]
    assert drift(internal, {}, bridge_kernel(rules={}, forwarding=None)) == [
        f"nftables rule '{_nftables.comment('br', 'internal-in', 'br0')}' is missing",
        f"nftables rule '{_nftables.comment('br', 'internal-out', 'br0')}' is missing"]


def test_rules_of_the_network_that_it_no_longer_implies_are_reported_and_other_networks_rules_ignored():
    stale = _nftables.comment("br", "masquerade", "172.31.0.0/24>br0")
    rules = {MASQUERADE: {}, stale: {}, _nftables.comment("other", "masquerade", "10.0.0.0/8>x"): {}}
    assert drift(BRIDGE, {}, bridge_kernel(rules=rules)) == [
        f"nftables rule '{stale}' is not one the definition implies"]


def test_rules_that_cannot_be_read_are_reported_not_raised():
    found = drift(BRIDGE, {}, bridge_kernel(rules="'nft' is not installed"))
    assert found == ["nftables rules cannot be read: 'nft' is not installed"]


def test_forwarding_off_while_masquerading():
    assert drift(BRIDGE, {}, bridge_kernel(forwarding="0")) == [
        "IPv4 forwarding is off (net.ipv4.ip_forward=0), so the masquerade of 172.30.0.0/24 forwards nothing"]
    assert drift(dict(BRIDGE, masquerade=False), {}, bridge_kernel(forwarding=None, rules=None)) == []


def test_bridge_down_and_mtu_other_than_defined():
    down = dataclasses.replace(bridge_kernel().bridge, admin_state="down", mtu=1500)
    assert drift(dict(BRIDGE, mtu=1400), {}, bridge_kernel(bridge=down)) == [
        "bridge 'br0' is down", "bridge 'br0' has MTU 1500, the definition says 1400"]


def test_a_port_that_lost_its_isolation_on_an_icc_off_bridge():
    ports = (link("vh1", isolated=True), link("vh2", isolated=False))
    assert drift(dict(BRIDGE, icc=False), {}, bridge_kernel(ports=ports)) == [
        "port 'vh2' of bridge 'br0' is not isolated, though icc is off"]
    assert drift(BRIDGE, {}, bridge_kernel(ports=ports)) == []


def test_an_endpoint_as_leased_has_no_drift():
    assert macvlan_drift() == []


def test_an_endpoint_whose_address_mac_mode_or_state_differ_from_its_lease():
    changed = dataclasses.replace(ENDPOINT, addresses=("10.5.0.9/24",), mac_address="02:00:00:00:00:09",
                                  mode="private", admin_state="down")
    where = "endpoint c1 (10.5.0.3): interface 'eth0'"
    assert macvlan_drift(endpoint=changed) == [
        f"{where} lacks its address 10.5.0.3/24 (has 10.5.0.9/24)",
        f"{where} has MAC 02:00:00:00:00:09, its lease says 02:42:0a:05:00:03",
        f"{where} is in macvlan mode private, the network's mode is bridge",
        f"{where} is down"]


def test_an_endpoint_that_is_gone_or_of_another_kind():
    assert macvlan_drift(endpoint=None) == ["endpoint c1 (10.5.0.3): interface 'eth0' is gone"]
    assert macvlan_drift(endpoint=dataclasses.replace(ENDPOINT, kind="veth")) == [
        "endpoint c1 (10.5.0.3): interface 'eth0' is a veth link, not this network's macvlan"]


def test_a_lease_without_a_mac_is_not_compared_by_mac():
    lease = {key: value for key, value in LEASE.items() if key != "mac_address"}
    kernel = NetworkKernel(parent=link("veth0"), endpoints={"10.5.0.3": EndpointKernel(link=ENDPOINT)})
    assert drift(MACVLAN, {"10.5.0.3": lease}, kernel) == []


def test_wanted_routes_come_from_the_lease_only_when_it_lists_them():
    assert wanted_routes(LEASE, "10.5.0.1") is None
    assert wanted_routes(dict(LEASE, routes=[], default_route=False), "10.5.0.1") == {}
    assert wanted_routes(dict(LEASE, routes=[["10.9.0.0/16", "10.5.0.254"]], default_route=True), "10.5.0.1") == {
        "default": "10.5.0.1", "10.9.0.0/16": "10.5.0.254"}
    assert wanted_routes(dict(LEASE, routes=[["default", "10.5.0.254"]], default_route=True), "10.5.0.1") == {
        "default": "10.5.0.254"}


@pytest.mark.parametrize("have, expected", [
    ({"default": "10.5.0.1", "10.9.0.0/16": "10.5.0.254"}, []),
    ({"default": "10.5.0.1", "10.9.0.0/16": "10.5.0.254", "10.8.0.0/16": "10.5.0.2"}, []),
    ({}, ["endpoint c1 (10.5.0.3): route 10.9.0.0/16 via 10.5.0.254 is missing",
          "endpoint c1 (10.5.0.3): route default via 10.5.0.1 is missing"]),
    ({"default": "10.5.0.7", "10.9.0.0/16": "10.5.0.254"},
     ["endpoint c1 (10.5.0.3): route default goes via 10.5.0.7, its lease says via 10.5.0.1"]),
])
def test_routes_a_lease_lists_are_checked(have, expected):
    lease = {"routes": [["10.9.0.0/16", "10.5.0.254"]], "default_route": True}
    assert macvlan_drift(lease=lease, routes=have) == expected


def test_drift_changes_none_of_its_inputs():
    leases = {"10.5.0.3": dict(LEASE, routes=[["10.9.0.0/16", "10.5.0.254"]], default_route=True)}
    kernel = NetworkKernel(endpoints={"10.5.0.3": EndpointKernel(link=ENDPOINT, gateway_routes={})})
    kept = copy.deepcopy((MACVLAN, leases, kernel))
    drift(MACVLAN, leases, kernel)
    assert (MACVLAN, leases, kernel) == kept


class _Nft:
    """Stands in for ``_nftables.Nftables``: counts reads, or fails like a host without nft."""

    def __init__(self, error=None):
        self.reads, self.error = 0, error

    def rules(self):
        self.reads += 1
        if self.error:
            raise UnderlayError(self.error)
        return {MASQUERADE: {}}


def test_nft_is_read_once_and_only_when_a_network_implies_rules():
    nft = _Nft(error="'nft' is not installed")
    plain = dict(BRIDGE, masquerade=False)
    assert collection_rules(nft, [MACVLAN, plain]) is None and nft.reads == 0
    assert collection_rules(nft, [MACVLAN, BRIDGE]) == "'nft' is not installed" and nft.reads == 1
    nft = _Nft()
    assert collection_rules(nft, [BRIDGE, dict(BRIDGE, name="other")]) == {MASQUERADE: {}} and nft.reads == 1
