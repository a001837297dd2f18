# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dual stack: the IPv6 side of a network (validation, stored definition, overlap)."""

from __future__ import annotations

import ipaddress

import pytest

from fake_adapter import link

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _macvlan, _network_spec, _store
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

NO_LEASES = {"leases": {}, "last_reserved": None}
NOW = "2026-12-05T00:00:00.000000Z"
V6 = {"ipv6_subnet": "fd00:10::/64"}


def macvlan_spec(**params):
    base = {"name": "dual", "parent": "eth0", "subnet": "10.0.0.0/24"}
    base.update(params)
    return _macvlan.build_spec(base)


def macvlan_current(definition=None, others=None):
    return _macvlan.MacvlanCurrent(definition=definition, others=others or {}, leases=NO_LEASES, now=NOW,
                                   parent=link("eth0"))


def test_ipv6_side_defaults_to_the_first_host_and_the_whole_subnet():
    ipam6 = _network_spec.build_ipam6(V6)
    assert _network_spec.ipam6_dict(ipam6) == {"subnet": "fd00:10::/64", "gateway": "fd00:10::1",
                                               "ip_range": "fd00:10::/64"}
    assert _network_spec.build_ipam6({}) is None


@pytest.mark.parametrize("params, message", [
    ({"ipv6_subnet": "10.9.0.0/24"},
     "ipv6_subnet: '10.9.0.0/24' is an IPv4 network; ipv6_subnet takes an IPv6 one (the IPv4 subnet goes in subnet)"),
    ({"ipv6_subnet": "fd00:10::1/64"}, "ipv6_subnet: 'fd00:10::1/64' has host bits set; the network is fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_gateway": "fd00:11::1"},
     "ipv6_gateway: fd00:11::1 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_gateway": "10.0.0.1"},
     "ipv6_gateway: 10.0.0.1 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_range": "fd00:11::/80"},
     "ipv6_range: fd00:11::/80 is outside the subnet fd00:10::/64"),
    ({"ipv6_subnet": "fd00:10::/64", "ipv6_range": "fd00:10::/48"},
     "ipv6_range: fd00:10::/48 is larger than the subnet fd00:10::/64"),
    ({"ipv6_gateway": "fd00:10::1"}, "ipv6_gateway: needs ipv6_subnet (the IPv6 subnet it belongs to)"),
    ({"ipv6_range": "fd00:10::/80"}, "ipv6_range: needs ipv6_subnet (the IPv6 subnet it belongs to)"),
])
def test_bad_ipv6_addressing_names_the_ipv6_option(params, message):
    with pytest.raises(UnderlayError) as err:
        _network_spec.build_ipam6(params)
    assert str(err.value).startswith(message)


def test_a_second_ipv6_subnet_beside_an_ipv6_subnet_is_refused():
    with pytest.raises(UnderlayError) as err:
        macvlan_spec(subnet="fd00:1::/64", **V6)
    assert str(err.value).startswith("ipv6_subnet: subnet fd00:1::/64 is IPv6 already")


@pytest.mark.parametrize("build, params", [
    (macvlan_spec, {}),
    (lambda **params: _bridge.build_spec(params), {"name": "dual", "subnet": "10.0.0.0/24"}),
])
def test_every_driver_takes_the_ipv6_side_and_its_mtu_floor(build, params):
    spec = build(**dict(params, ipv6_subnet="fd00:10::/64", ipv6_gateway="fd00:10::fe"))
    assert str(spec.ipam6.gateway) == "fd00:10::fe"
    with pytest.raises(UnderlayError) as err:
        build(**dict(params, ipv6_subnet="fd00:10::/64", mtu=1279))
    assert "1280" in str(err.value)


def test_definition_stores_the_ipv6_side_rerun_is_empty_and_dropping_it_is_a_change():
    planned = _macvlan.plan(macvlan_spec(**V6), macvlan_current())
    definition = planned.steps[-1].args["definition"]
    assert definition["ipam6"] == {"subnet": "fd00:10::/64", "gateway": "fd00:10::1", "ip_range": "fd00:10::/64"}
    assert _store.definition_problem("dual", definition) is None
    assert _macvlan.plan(macvlan_spec(**V6), macvlan_current(definition)).steps == []
    single = _macvlan.plan(macvlan_spec(), macvlan_current(definition))
    assert [s.op for s in single.steps] == ["store_put_network"] and "ipam6" not in single.after
    assert single.before["ipam6"]["subnet"] == "fd00:10::/64"
    assert _macvlan.stored_params(definition)["ipv6_subnet"] == "fd00:10::/64"


def test_an_ipv4_only_definition_stored_before_dual_stack_is_unchanged():
    planned = _macvlan.plan(macvlan_spec(), macvlan_current())
    definition = planned.steps[-1].args["definition"]
    assert "ipam6" not in definition
    assert _macvlan.plan(macvlan_spec(), macvlan_current(definition)).steps == []


def test_a_stored_definition_with_a_bad_ipv6_side_is_corrupt():
    definition = _macvlan.plan(macvlan_spec(**V6), macvlan_current()).steps[-1].args["definition"]
    broken = dict(definition, ipam6={"subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "ip_range": "10.1.0.0/24"})
    assert _store.definition_problem("dual", broken).startswith("ipam6.subnet: '10.1.0.0/24' is an IPv4 network")
    assert _store.definition_problem("dual", dict(definition, ipam6={"subnet": 5})) \
        == "'ipam6' is not an object with subnet, gateway and ip_range"


def test_overlapping_ipv6_subnets_are_refused_naming_the_other_network():
    other = {"driver": "bridge", "ipam": {"subnet": "10.5.0.0/24"}, "ipam6": {"subnet": "fd00:10::/56"}}
    with pytest.raises(UnderlayError) as err:
        _macvlan.plan(macvlan_spec(**V6), macvlan_current(others={"other": other}))
    assert str(err.value) == "ipv6_subnet: fd00:10::/64 overlaps the subnet fd00:10::/56 of network 'other'"
    assert _network_spec.overlapping(ipaddress.ip_network("fd00:10:0:ff::/64"),
                                     [("other", ipaddress.ip_network("fd00:10::/56"))]) is not None
