# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface option validation (format ifcfg): every refusal names the field and the value."""

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _ifcfg, _persist
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

VLAN = {"name": "ens33.21", "type": "vlan", "parent": "ens33", "vlan_id": 21}


def test_defaults():
    spec = _persist.build_spec({"name": "ens33"})
    assert _ifcfg.paths(spec) == ("/etc/sysconfig/network-scripts/ifcfg-ens33",)
    # bootproto None: BOOTPROTO already in the file is kept, else none is written
    assert (spec.type, spec.format, spec.bootproto, spec.onboot, spec.state) == ("ethernet", "ifcfg", None, True,
                                                                                 "present")
    assert spec.preserve_unmanaged is True and spec.extra == () and spec.default_dir is True


@pytest.mark.parametrize("value, expected", [
    ("00:0c:29:3e:5b:7a", "00:0C:29:3E:5B:7A"),
    ("00-0C-29-3E-5B-7A", "00:0C:29:3E:5B:7A"),
    (" 000c293e5b7a ", "00:0C:29:3E:5B:7A"),
    ("02:42:AC:11:00:02", "02:42:AC:11:00:02"),
])
def test_hwaddr_is_written_upper_case_with_colons(value, expected):
    assert _persist.build_spec({"name": "eth0", "hwaddr": value}).hwaddr == expected


def test_dir_is_normalised():
    assert _ifcfg.paths(_persist.build_spec({"name": "eth0", "dir": "/tmp/x//y/"})) == ("/tmp/x/y/ifcfg-eth0",)


def test_absent_needs_only_the_name():
    spec = _persist.build_spec({"name": "ens33.21", "state": "absent", "type": "vlan"})
    assert spec.state == "absent" and _ifcfg.paths(spec)[0].endswith("/ifcfg-ens33.21")


@pytest.mark.parametrize("params, field, value, fragment", [
    ({"name": "a" * 16}, "name", "a" * 16, "16 characters long"),
    ({"name": "eth/0"}, "name", "eth/0", "'/'"),
    ({"name": "eth:0"}, "name", "eth:0", "':'"),
    ({"name": "eth 0"}, "name", "eth 0", "' '"),
    ({"name": ".."}, "name", "..", "not a valid"),
    ({"name": "eth\x000"}, "name", "eth\x000", "control character"),
    ({"name": None}, "name", None, "non-empty"),
    ({"name": "eth0", "format": "netplan"}, "format", "netplan", "not one of ifcfg"),
    ({"name": "eth0", "type": "bond"}, "type", "bond", "not one of ethernet, vlan, bridge"),
    ({"name": "eth0", "state": "gone"}, "state", "gone", "not one of"),
    ({"name": "eth0", "bootproto": "manual"}, "bootproto", "manual", "not one of"),
    ({"name": "eth0", "dir": "relative/dir"}, "dir", "relative/dir", "not an absolute path"),
    ({"name": "eth0", "dir": "/tmp/a\nb"}, "dir", "/tmp/a\nb", "control character"),
    ({"name": "eth0", "mtu": 67}, "mtu", 67, "67 is out of range (68-65535)"),
    ({"name": "eth0", "mtu": 65536}, "mtu", 65536, "out of range"),
    ({"name": "eth0", "address": "10.0.0.0/24"}, "address", "10.0.0.0/24", "network address"),
    ({"name": "eth0", "address": "10.0.0.300/24"}, "address", "10.0.0.300/24", "not an address in CIDR"),
    ({"name": "eth0", "address": "2001:db8::1/64"}, "address", "2001:db8::1/64", "not IPv4"),
    ({"name": "eth0", "hwaddr": "00:0c:29:3e:5b"}, "hwaddr", "00:0c:29:3e:5b", "not a MAC address"),
    ({"name": "eth0", "hwaddr": "00:0c-29:3e:5b:7a"}, "hwaddr", "00:0c-29:3e:5b:7a", "not a MAC address"),
    ({"name": "eth0", "hwaddr": "01:00:5e:00:00:01"}, "hwaddr", "01:00:5e:00:00:01", "multicast"),
    ({"name": "eth0", "hwaddr": "00:00:00:00:00:00"}, "hwaddr", "00:00:00:00:00:00", "all-zero"),
    ({"name": "br0", "type": "bridge", "hwaddr": "02:00:00:00:00:01"}, "hwaddr", "02:00:00:00:00:01", "use extra"),
    (dict(VLAN, protocol="802.1ad"), "protocol", "802.1ad", "802.1ad cannot be written in an ifcfg file"),
    (dict(VLAN, protocol="802.1q"), "protocol", "802.1q", "not one of 802.1Q, 802.1ad"),
    ({"name": "eth0", "protocol": "802.1Q"}, "protocol", "802.1Q", "only for type vlan"),
    ({"name": "eth0", "onboot": "yes"}, "onboot", "yes", "not a boolean"),
    ({"name": "eth0", "parent": "ens33"}, "parent", "ens33", "only for type vlan"),
    ({"name": "eth0", "vlan_id": 5}, "vlan_id", 5, "only for type vlan"),
    (dict(VLAN, parent=None), "parent", None, "required with type vlan"),
    (dict(VLAN, vlan_id=None), "vlan_id", None, "required with type vlan"),
    (dict(VLAN, vlan_id=0), "vlan_id", 0, "0 is out of range (1-4094)"),
    (dict(VLAN, vlan_id=4095), "vlan_id", 4095, "4095 is out of range (1-4094)"),
    (dict(VLAN, parent="ens 33"), "parent", "ens 33", "' '"),
    (dict(VLAN, vlan_id=22), "name", "ens33.21", "ends in '.21' but vlan_id is 22"),
    (dict(VLAN, name="ens33"), "name", "ens33", "the parent itself"),
    ({"name": "eth0", "extra": ["NAME"]}, "extra", ["NAME"], "dictionary"),
    ({"name": "eth0", "extra": {"name": "x"}}, "extra", "name", "upper case"),
    ({"name": "eth0", "extra": {"1X": "x"}}, "extra", "1X", "not a valid key"),
    ({"name": "eth0", "extra": {"A-B": "x"}}, "extra", "A-B", "not a valid key"),
    ({"name": "eth0", "extra": {"A B": "x"}}, "extra", "A B", "not a valid key"),
    ({"name": "eth0", "extra": {"": "x"}}, "extra", "", "not a valid key"),
    ({"name": "eth0", "extra": {"PATH": "/x"}}, "extra", "PATH", "bash itself uses"),
    ({"name": "eth0", "extra": {"IFS": ","}}, "extra", "IFS", "bash itself uses"),
    ({"name": "eth0", "extra": {"BASH_ENV": "/x"}}, "extra", "BASH_ENV", "bash itself uses"),
    ({"name": "eth0", "extra": {"MTU": 9000}}, "extra", "MTU", "module's own options"),
    ({"name": "eth0", "extra": {"DEVICE": "eth1"}}, "extra", "DEVICE", "module's own options"),
    ({"name": "br0", "type": "bridge", "extra": {"TYPE": "Ethernet"}}, "extra", "TYPE", "module's own options"),
    (dict(VLAN, extra={"PHYSDEV": "x"}), "extra", "PHYSDEV", "module's own options"),
    ({"name": "eth0", "extra": {"NAME": "two\nlines"}}, "extra.NAME", "two\nlines", "control character"),
    ({"name": "eth0", "extra": {"NAME": "nul\x00"}}, "extra.NAME", "nul\x00", "control character"),
    ({"name": "eth0", "extra": {"NAME": "cr\r"}}, "extra.NAME", "cr\r", "control character"),
    ({"name": "eth0", "extra": {"NAME": None}}, "extra.NAME", None, "not a string, number or boolean"),
    ({"name": "eth0", "extra": {"NAME": ["a"]}}, "extra.NAME", ["a"], "not a string, number or boolean"),
])
def test_refusals_name_field_and_value(params, field, value, fragment):
    with pytest.raises(UnderlayError) as err:
        _persist.build_spec(params)
    assert err.value.field == field and err.value.value == value
    assert str(err.value).startswith(f"{field}: ") and fragment in str(err.value)


def test_tab_is_a_value_like_any_other():
    spec = _persist.build_spec({"name": "eth0", "extra": {"NAME": "a\tb"}})
    assert spec.extra == (("NAME", "a\tb"),)
