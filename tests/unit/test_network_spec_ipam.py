# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network addressing validation and the IPAM pool."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _network_spec
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._ipam import Pool

ip = ipaddress.ip_address


def test_defaults_and_normalisation():
    cfg = _network_spec.build_ipam({"subnet": "10.0.0.0/24"})
    assert cfg.as_dict() == {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/24",
                             "aux_addresses": {}}


@pytest.mark.parametrize("params, message", [
    ({"subnet": "10.0.0.0/33"}, "subnet: '10.0.0.0/33' is not a network in CIDR notation"),
    ({"subnet": "not-a-cidr"}, "subnet: 'not-a-cidr' is not a network in CIDR notation"),
    ({"subnet": "10.0.0.5/24"}, "subnet: '10.0.0.5/24' has host bits set; the network is 10.0.0.0/24"),
    ({"subnet": "10.0.0.0"}, "subnet: '10.0.0.0' has no prefix length"),
    ({"subnet": "10.0.0.0/24", "gateway": "10.0.1.1"}, "gateway: 10.0.1.1 is outside the subnet 10.0.0.0/24"),
    ({"subnet": "10.0.0.0/24", "gateway": "10.0.0.0"}, "gateway: 10.0.0.0 is the network address of 10.0.0.0/24"),
    ({"subnet": "10.0.0.0/24", "gateway": "nope"}, "gateway: 'nope' is not an IP address"),
    ({"subnet": "10.0.0.0/24", "ip_range": "10.0.1.0/25"}, "ip_range: 10.0.1.0/25 is outside the subnet 10.0.0.0/24"),
    ({"subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/16"}, "ip_range: 10.0.0.0/16 is larger than the subnet"),
    ({"subnet": "10.0.0.0/24", "aux_addresses": {"sw": "10.0.5.2"}},
     "aux_addresses.sw: 10.0.5.2 is outside the subnet 10.0.0.0/24"),
    ({"subnet": "10.0.0.0/24", "aux_addresses": {"gw": "10.0.0.1"}}, "aux_addresses.gw: 10.0.0.1 is the gateway"),
])
def test_bad_addressing(params, message):
    with pytest.raises(UnderlayError) as err:
        _network_spec.build_ipam(params)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("name", ["a b", "x" * 65, "", "net/1", None])
def test_bad_network_names(name):
    with pytest.raises(UnderlayError, match="^name: .* is not a valid network name"):
        _network_spec.network_name(name)


def test_network_id_is_stable_and_docker_shaped():
    assert _network_spec.network_id("vlan100") == _network_spec.network_id("vlan100")
    assert len(_network_spec.network_id("vlan100")) == 64 and _network_spec.network_id("a") != _network_spec.network_id("b")


def test_overlapping():
    nets = [("a", ipaddress.ip_network("10.0.0.0/25")), ("b", ipaddress.ip_network("10.1.0.0/16"))]
    assert _network_spec.overlapping(ipaddress.ip_network("10.0.0.0/24"), nets)[0] == "a"
    assert _network_spec.overlapping(ipaddress.ip_network("10.2.0.0/24"), nets) is None


def pool(subnet="10.0.0.0/29", leases=None, **params):
    params["subnet"] = subnet
    return Pool("n1", _network_spec.build_ipam(params), leases or {})


def test_allocation_skips_network_gateway_aux_broadcast_and_exhausts():
    p = pool(aux_addresses={"sw": "10.0.0.3"})   # hosts .1-.6, gateway .1, aux .3
    got = [str(p.allocate(f"c{i}")) for i in range(4)]
    assert got == ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    with pytest.raises(UnderlayError, match=r"^ip_range: no free address left in 10.0.0.0/29 of network 'n1'"):
        p.allocate("c9")


def test_allocation_from_ip_range_only():
    p = pool("10.0.0.0/24", ip_range="10.0.0.128/30")
    assert [str(p.allocate(f"c{i}")) for i in range(4)] == ["10.0.0.128", "10.0.0.129", "10.0.0.130", "10.0.0.131"]


def test_same_owner_keeps_its_address_and_release_allows_reuse():
    p = pool()
    first = p.allocate("c1")
    assert p.allocate("c1") == first
    p.allocate("c2")
    assert p.release("c1") == str(first)
    # the cursor moves on before wrapping round to the released address
    assert [str(p.allocate(f"n{i}")) for i in range(4)] == ["10.0.0.4", "10.0.0.5", "10.0.0.6", str(first)]


@pytest.mark.parametrize("address, message", [
    ("10.0.0.1", "10.0.0.1 is the gateway of network 'n1'"),
    ("10.0.0.3", "10.0.0.3 is the auxiliary address 'sw' of network 'n1'"),
    ("10.0.0.7", "10.0.0.7 is the broadcast address of 10.0.0.0/29"),
    ("10.0.1.5", "10.0.1.5 is outside the subnet 10.0.0.0/29"),
    ("10.0.0.4", "10.0.0.4 is already leased to container:other on network 'n1'"),
])
def test_static_claims_refused(address, message):
    p = pool(aux_addresses={"sw": "10.0.0.3"}, leases={"10.0.0.4": {"owner": "container:other"}})
    with pytest.raises(UnderlayError) as err:
        p.claim("container:me", ip(address))
    assert str(err.value).startswith("ipv4_address: " + message)


def test_static_claim_and_move():
    p = pool()
    p.claim("c1", ip("10.0.0.5"))
    p.claim("c1", ip("10.0.0.6"))
    assert p.leases == {"10.0.0.6": {"owner": "c1"}}


def test_allocation_walk_is_constant_per_address():
    """Each allocation probes only a few addresses past the cursor (no rescans)."""
    p = pool("10.0.0.0/20")
    probes = []

    class Counting(set):
        def __contains__(self, item):
            probes.append(item)
            return set.__contains__(self, item)

    p._leased = Counting(p._leased)
    for i in range(1500):
        p.allocate(f"c{i}")
    assert len(probes) <= 1500 + 2


def test_pool_does_not_alias_the_callers_table():
    table = {"10.0.0.2": {"owner": "c1", "mac_address": "02:42:0a:00:00:02"}}
    p = pool(leases=table)
    p.leases["10.0.0.2"]["mac_address"] = "02:00:00:00:00:01"
    assert table["10.0.0.2"]["mac_address"] == "02:42:0a:00:00:02"
