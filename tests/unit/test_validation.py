# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


@pytest.mark.parametrize("value", ["eth0", "ens33.21", "a" * 15, "br-0123456789a", "veth0.4094"])
def test_interface_name_accepts(value):
    assert v.interface_name("name", value) == value


@pytest.mark.parametrize("value, fragment", [
    ("a" * 16, "16 characters long"),
    ("eth0/1", "'/'"),
    ("eth 0", "' '"),
    ("eth0:1", "':'"),
    ("", "non-empty"),
    (".", "not a valid"),
    ("..", "not a valid"),
    (None, "non-empty"),
])
def test_interface_name_rejects(value, fragment):
    with pytest.raises(UnderlayError) as err:
        v.interface_name("name", value)
    assert str(err.value).startswith("name: ")
    assert fragment in str(err.value)


@pytest.mark.parametrize("value, expected", [(1, 1), (4094, 4094), ("100", 100)])
def test_vlan_id_accepts(value, expected):
    assert v.vlan_id("vlan_id", value) == expected


@pytest.mark.parametrize("value, fragment", [
    (0, "0 is out of range (1-4094)"),
    (4095, "4095 is out of range (1-4094)"),
    ("abc", "'abc' is not an integer"),
    (True, "not an integer"),
    (1.5, "not an integer"),
    (None, "not an integer"),
])
def test_vlan_id_rejects(value, fragment):
    with pytest.raises(UnderlayError) as err:
        v.vlan_id("vlan_id", value)
    assert str(err.value) == f"vlan_id: {fragment}" or fragment in str(err.value)
    assert err.value.field == "vlan_id"


@pytest.mark.parametrize("value, expected", [
    ("10.0.0.5/24", "10.0.0.5/24"),
    ("10.0.0.5", "10.0.0.5/32"),
    (" 172.21.1.254/24 ", "172.21.1.254/24"),
    ("2001:DB8::1/64", "2001:db8::1/64"),
    ("10.0.0.0/31", "10.0.0.0/31"),
])
def test_host_address_normalises(value, expected):
    assert v.host_address("addresses", value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("10.0.0.300/24", "'10.0.0.300/24' is not an address in CIDR notation"),
    ("10.0.0.5/33", "not an address in CIDR notation"),
    ("not-a-cidr", "not an address"),
    ("10.0.0.0/24", "is the network address of 10.0.0.0/24"),
    ("10.0.0.255/24", "is the broadcast address"),
    ("", "not an address"),
])
def test_host_address_rejects(value, fragment):
    with pytest.raises(UnderlayError) as err:
        v.host_address("addresses", value)
    assert fragment in str(err.value)
    assert str(err.value).startswith("addresses: ")


def test_host_addresses_sorted_deduplicated_and_none_means_unmanaged():
    assert v.host_addresses("addresses", None) is None
    assert v.host_addresses("addresses", []) == []
    assert v.host_addresses("addresses", ["10.0.0.9/24", "10.0.0.5/24", "10.0.0.9/24", "fd00::1/64"]) == [
        "10.0.0.5/24", "10.0.0.9/24", "fd00::1/64"]


def test_host_addresses_rejects_same_ip_with_two_prefixes():
    with pytest.raises(UnderlayError, match="10.0.0.5 is given twice"):
        v.host_addresses("addresses", ["10.0.0.5/24", "10.0.0.5/16"])


@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("lab1", "/run/netns/lab1"),
    ("/proc/1/ns/net", "/proc/1/ns/net"),
])
def test_netns_path(value, expected):
    assert v.netns_path("netns", value) == expected


@pytest.mark.parametrize("value", ["a/b", "..", "", "a b"])
def test_netns_path_rejects(value):
    with pytest.raises(UnderlayError, match="^netns: "):
        v.netns_path("netns", value)


@pytest.mark.parametrize("value", ["802.1X", "8021q", "", None])
def test_vlan_protocol_rejects(value):
    with pytest.raises(UnderlayError, match="is not one of 802.1Q, 802.1ad"):
        v.vlan_protocol("protocol", value)


def test_mtu_range():
    assert v.mtu("mtu", None) is None
    assert v.mtu("mtu", 1400) == 1400
    with pytest.raises(UnderlayError, match="mtu: 67 is out of range"):
        v.mtu("mtu", 67)
