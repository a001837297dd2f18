# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand rtnetlink codec checked against pyroute2's own message classes, both ways.

Every request the codec builds (the exact bytes it would send) is decoded with pyroute2's
``ifinfmsg``/``ifaddrmsg``/``rtmsg`` and its fields compared with what was meant; and messages
encoded by pyroute2 (as the kernel would answer) are parsed with the codec and the adapter's
snapshot decoding, and compared with what pyroute2 was given. A layout mistake (a field's
size or order, an attribute's number, a missing nested flag or padding) fails one direction
or the other.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket

import pytest
from pyroute2.netlink import nlmsgerr
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg, protinfo_bridge
from pyroute2.netlink.rtnl.ifinfmsg.plugins.ipvlan import ipvlan as ipvlan_data
from pyroute2.netlink.rtnl.ifinfmsg.plugins.vlan import vlan as vlan_data
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from ansible_collections.underlay.network.plugins.module_utils import _netlink_writes
from ansible_collections.underlay.network.plugins.module_utils import _rtnl_codec as rtnl
from ansible_collections.underlay.network.plugins.module_utils._netlink_reads import link_fields, link_status

MAC = "02:42:ac:11:00:02"
MAC_BYTES = bytes.fromhex(MAC.replace(":", ""))
SEQ = 7


def decoded(cls, request):
    """``request`` (type, flags, body) as the codec sends it, decoded by pyroute2's ``cls``."""
    kind, flags, body = request
    data = rtnl.message(kind, flags, SEQ, body)
    msg = cls(data)
    msg.decode()
    assert msg["header"]["length"] == len(data)
    assert msg["header"]["type"] == kind
    assert msg["header"]["flags"] == flags | rtnl.F_REQUEST
    assert msg["header"]["sequence_number"] == SEQ
    return msg


def attr_names(msg):
    return [item[0] for item in msg["attrs"]]


def encoded(msg, kind):
    """The payload (after nlmsghdr) of pyroute2 message ``msg``, as the codec's receive loop
    cuts it out of a kernel answer."""
    msg["header"]["type"] = kind
    msg.encode()
    data = bytes(msg.data)
    length, mtype, _flags, _seq, _pid = rtnl.HEADER.unpack_from(data)
    assert (length, mtype) == (len(data), kind)
    return data[16:length]


# -- the codec's requests, decoded by pyroute2 ----------------------------------------------

def test_message_headers_have_pyroute2s_layouts():
    for name, cls in (("ifinfomsg", ifinfmsg), ("ifaddrmsg", ifaddrmsg), ("rtmsg", rtmsg)):
        assert rtnl.MESSAGES[name].format == "=" + "".join(kind for _field, kind in cls.fields)
    assert rtnl.MESSAGES["nlmsghdr"].format == "=" + "".join(kind for _field, kind in ifinfmsg.header)
    assert rtnl.MESSAGES["nlmsgerr"].format == "=" + "".join(kind for _field, kind in nlmsgerr.fields)


def numbered(cls):
    """``{attribute name: number}`` of a pyroute2 message class's attribute table."""
    found = {}
    for position, entry in enumerate(cls.nla_map):
        if isinstance(entry[0], int):
            found[entry[1]] = entry[0]
        else:
            found[entry[0]] = position
    return found


UAPI_IF_LINK = "/usr/include/linux/if_link.h"  # Debian's linux-libc-dev: the kernel's own numbering


def uapi_enum(first):
    """The names of the kernel's uapi enum that starts with ``first``, in order (their values)."""
    with open(UAPI_IF_LINK, encoding="utf-8") as handle:
        text = handle.read()
    body = re.search(r"enum[^{]*\{\s*(" + first + r"\b[^}]*)\}", text).group(1)
    return [part.split("=")[0].strip() for part in body.split(",") if part.strip()]


class UapiIpvlan:
    """The ipvlan attribute table as the kernel numbers it: pyroute2 0.9.7's stops at
    IFLA_IPVLAN_MODE (it has no IFLA_IPVLAN_FLAGS)."""

    nla_map = tuple((name, "none") for name in uapi_enum("IFLA_IPVLAN_UNSPEC"))


ATTRIBUTE_TABLES = [
    (ifinfmsg, ("IFLA_ADDRESS", "IFLA_IFNAME", "IFLA_MTU", "IFLA_LINK", "IFLA_MASTER", "IFLA_PROTINFO",
                "IFLA_LINKINFO", "IFLA_IFALIAS", "IFLA_NET_NS_FD", "IFLA_EXT_MASK", "IFLA_LINK_NETNSID",
                "IFLA_OPERSTATE", "IFLA_PROMISCUITY", "IFLA_CARRIER")),
    (ifinfmsg.ifinfo, ("IFLA_INFO_KIND", "IFLA_INFO_DATA", "IFLA_INFO_SLAVE_KIND", "IFLA_INFO_SLAVE_DATA")),
    (vlan_data, ("IFLA_VLAN_ID", "IFLA_VLAN_PROTOCOL")),
    (ifinfmsg.ifinfo.macvlan_data, ("IFLA_MACVLAN_MODE",)),
    (ipvlan_data, ("IFLA_IPVLAN_MODE",)),
    (UapiIpvlan, ("IFLA_IPVLAN_MODE", "IFLA_IPVLAN_FLAGS")),
    (ifinfmsg.ifinfo.veth_data, ("VETH_INFO_PEER",)),
    (ifinfmsg.ifinfo.bridge_slave_data, ("IFLA_BRPORT_ISOLATED",)),
    (protinfo_bridge, ("IFLA_BRPORT_ISOLATED",)),
    (ifaddrmsg, ("IFA_ADDRESS", "IFA_LOCAL")),
    (rtmsg, ("RTA_DST", "RTA_OIF", "RTA_GATEWAY", "RTA_TABLE")),
]


@pytest.mark.parametrize("cls, names", ATTRIBUTE_TABLES)
def test_attribute_numbers_are_pyroute2s(cls, names):
    """Every attribute the codec speaks has the number pyroute2's table gives it."""
    numbers = numbered(cls)
    assert {name: getattr(rtnl, name) for name in names} == {name: numbers[name] for name in names}


def test_every_attribute_of_the_codec_is_checked():
    spoken = {name for name in dir(rtnl) if name.startswith(("IFLA_", "IFA_", "RTA_", "VETH_"))}
    assert spoken == set().union(*(names for _cls, names in ATTRIBUTE_TABLES))


@pytest.mark.parametrize("index, name", [(0, "eth0.100"), (12, None)])
def test_get_link_by_name_or_index(index, name):
    msg = decoded(ifinfmsg, rtnl.get_link(index, name))
    assert msg["header"]["type"] == rtnl.RTM_GETLINK
    assert (msg["family"], msg["index"], msg["flags"], msg["change"]) == (0, index, 0, 0)
    assert msg.get("IFLA_EXT_MASK") == rtnl.RTEXT_FILTER_SKIP_STATS
    assert msg.get("IFLA_IFNAME") == name
    assert attr_names(msg) == ["IFLA_EXT_MASK"] + (["IFLA_IFNAME"] if name else [])


def test_dump_requests():
    links = decoded(ifinfmsg, rtnl.dump_links())
    assert links["header"]["flags"] & rtnl.F_DUMP == rtnl.F_DUMP
    assert (links["index"], links.get("IFLA_EXT_MASK")) == (0, rtnl.RTEXT_FILTER_SKIP_STATS)
    addresses = decoded(ifaddrmsg, rtnl.dump_addresses(9, socket.AF_INET))
    assert (addresses["header"]["type"], addresses["family"], addresses["index"]) == (rtnl.RTM_GETADDR, 2, 9)
    assert addresses["attrs"] == []
    routes = decoded(rtmsg, rtnl.dump_routes(socket.AF_INET6))
    assert (routes["header"]["type"], routes["family"], routes["table"], routes["attrs"]) == \
        (rtnl.RTM_GETROUTE, 10, 0, [])


def test_new_link_macvlan_endpoint():
    """What ``op_endpoint_add_macvlan`` sends: made in the target namespace (its fd), with a MAC,
    on a parent, at a chosen ifindex."""
    msg = decoded(ifinfmsg, rtnl.new_link(
        rtnl.attr_str(rtnl.IFLA_IFNAME, "ulx0123"), rtnl.attr_u32(rtnl.IFLA_LINK, 3),
        rtnl.attr(rtnl.IFLA_ADDRESS, MAC_BYTES), rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, 11),
        rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "macvlan"),
                    rtnl.nested(rtnl.IFLA_INFO_DATA, rtnl.attr_u32(rtnl.IFLA_MACVLAN_MODE,
                                                                   rtnl.MACVLAN_MODES["private"]))),
        index=42))
    assert msg["header"]["type"] == rtnl.RTM_NEWLINK
    assert msg["header"]["flags"] == rtnl.F_REQUEST | rtnl.F_ACK | rtnl.F_CREATE | rtnl.F_EXCL
    assert (msg["family"], msg["index"], msg["flags"], msg["change"]) == (0, 42, 0, 0)
    assert (msg.get("IFLA_IFNAME"), msg.get("IFLA_LINK"), msg.get("IFLA_ADDRESS"), msg.get("IFLA_NET_NS_FD")) == \
        ("ulx0123", 3, MAC, 11)
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") == "macvlan"
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_MACVLAN_MODE") == "private"


def test_ipvlan_values_are_the_kernels():
    """Modes as pyroute2 and the uapi header number them; flags as the header defines them."""
    assert {name: rtnl.IPVLAN_MODES[name] for name in ("l2", "l3")} == \
        {"l2": ipvlan_data.modes["IPVLAN_MODE_L2"], "l3": ipvlan_data.modes["IPVLAN_MODE_L3"]}
    assert uapi_enum("IPVLAN_MODE_L2")[:3] == [f"IPVLAN_MODE_{mode.upper()}" for mode, _number in
                                               sorted(rtnl.IPVLAN_MODES.items(), key=lambda item: item[1])]
    with open(UAPI_IF_LINK, encoding="utf-8") as handle:
        defined = dict(re.findall(r"#define\s+IPVLAN_F_(\w+)\s+(0x[0-9a-fA-F]+)", handle.read()))
    assert {name: value for name, value in rtnl.IPVLAN_FLAGS.items() if value} == \
        {name.lower(): int(value, 16) for name, value in defined.items()}
    assert rtnl.IPVLAN_FLAGS["bridge"] == 0  # no flag: the kernel's default


@pytest.mark.parametrize("mode", sorted(rtnl.IPVLAN_MODES))
@pytest.mark.parametrize("flag", sorted(rtnl.IPVLAN_FLAGS))
def test_new_link_ipvlan_endpoint(mode, flag):
    """What ``op_endpoint_add_ipvlan`` sends: made in the target namespace, on a parent, with no
    MAC (an ipvlan has its parent's), its mode and flag as u16 attributes."""
    msg = decoded(ifinfmsg, rtnl.new_link(
        rtnl.attr_str(rtnl.IFLA_IFNAME, "ulx0123"), rtnl.attr_u32(rtnl.IFLA_LINK, 3),
        rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, 11), rtnl.ipvlan_info(mode, flag), index=42))
    assert msg["header"]["flags"] == rtnl.F_REQUEST | rtnl.F_ACK | rtnl.F_CREATE | rtnl.F_EXCL
    assert (msg["index"], msg.get("IFLA_IFNAME"), msg.get("IFLA_LINK"), msg.get("IFLA_NET_NS_FD")) == \
        (42, "ulx0123", 3, 11)
    assert msg.get("IFLA_ADDRESS") is None
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") == "ipvlan"
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_IPVLAN_MODE") == rtnl.IPVLAN_MODES[mode]
    # pyroute2 does not know IFLA_IPVLAN_FLAGS: its bytes are read as the kernel reads them
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    assert [name for name, _value in data["attrs"]][:1] == ["IFLA_IPVLAN_MODE"]
    info = rtnl.attrs(rtnl.ipvlan_info(mode, flag)[4:])
    inner = rtnl.attrs(info[rtnl.IFLA_INFO_DATA])
    assert (rtnl.u16(inner[rtnl.IFLA_IPVLAN_MODE]), rtnl.u16(inner[rtnl.IFLA_IPVLAN_FLAGS])) == \
        (rtnl.IPVLAN_MODES[mode], rtnl.IPVLAN_FLAGS[flag])


def test_change_link_ipvlan_mode():
    """What ``op_link_set_ipvlan_mode`` sends: RTM_NEWLINK on an existing index, no create flags
    (the kernel then calls ipvlan's changelink)."""
    msg = decoded(ifinfmsg, rtnl.change_link(5, rtnl.ipvlan_info("l3", "private")))
    assert msg["header"]["type"] == rtnl.RTM_NEWLINK
    assert msg["header"]["flags"] == rtnl.F_REQUEST | rtnl.F_ACK
    assert (msg["index"], msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")) == (5, "ipvlan")
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_IPVLAN_MODE") == 1


def test_new_link_veth_with_peer():
    """What ``op_endpoint_add_veth`` sends: the host end (its MAC kept on re-creation) and the
    peer, a whole ifinfomsg of its own, in the target namespace."""
    peer = (rtnl.IFINFO.pack(0, 0, 43, 0, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, "ulx9")
            + rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, 11) + rtnl.attr(rtnl.IFLA_ADDRESS, MAC_BYTES))
    msg = decoded(ifinfmsg, rtnl.new_link(
        rtnl.attr_str(rtnl.IFLA_IFNAME, "ulbh0a1b2c3"), rtnl.attr(rtnl.IFLA_ADDRESS, bytes.fromhex("02aabbccddee")),
        rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "veth"),
                    rtnl.nested(rtnl.IFLA_INFO_DATA, rtnl.nested(rtnl.VETH_INFO_PEER, peer))),
        index=44))
    assert (msg["index"], msg.get("IFLA_IFNAME"), msg.get("IFLA_ADDRESS")) == (44, "ulbh0a1b2c3", "02:aa:bb:cc:dd:ee")
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") == "veth"
    other = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    assert (other["family"], other["index"], other["flags"], other["change"]) == (0, 43, 0, 0)
    assert attr_names(other) == ["IFLA_IFNAME", "IFLA_NET_NS_FD", "IFLA_ADDRESS"]
    assert (other.get("IFLA_IFNAME"), other.get("IFLA_NET_NS_FD"), other.get("IFLA_ADDRESS")) == ("ulx9", 11, MAC)


def test_new_endpoints_with_their_mtu():
    """An endpoint's MTU (``_netlink_writes._mtu``): on a macvlan, and on both ends of a veth
    pair (the host end, a bridge port, and the peer in the target namespace)."""
    mtu = _netlink_writes._mtu(9000)  # pylint: disable=protected-access
    assert _netlink_writes._mtu(None) == ()  # pylint: disable=protected-access
    macvlan = decoded(ifinfmsg, rtnl.new_link(
        rtnl.attr_str(rtnl.IFLA_IFNAME, "ulx0123"), rtnl.attr_u32(rtnl.IFLA_LINK, 3),
        rtnl.attr(rtnl.IFLA_ADDRESS, MAC_BYTES), rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, 11), *mtu,
        rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "macvlan"))))
    assert (macvlan.get("IFLA_IFNAME"), macvlan.get("IFLA_MTU"), macvlan.get("IFLA_NET_NS_FD")) == ("ulx0123", 9000, 11)
    peer = (rtnl.IFINFO.pack(0, 0, 0, 0, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, "ulx9")
            + rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, 11) + rtnl.attr(rtnl.IFLA_ADDRESS, MAC_BYTES) + b"".join(mtu))
    veth = decoded(ifinfmsg, rtnl.new_link(
        rtnl.attr_str(rtnl.IFLA_IFNAME, "ulbh0a1b2c3"), *mtu,
        rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "veth"),
                    rtnl.nested(rtnl.IFLA_INFO_DATA, rtnl.nested(rtnl.VETH_INFO_PEER, peer)))))
    assert (veth.get("IFLA_IFNAME"), veth.get("IFLA_MTU")) == ("ulbh0a1b2c3", 9000)
    other = veth.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    assert attr_names(other) == ["IFLA_IFNAME", "IFLA_NET_NS_FD", "IFLA_ADDRESS", "IFLA_MTU"]
    assert (other.get("IFLA_IFNAME"), other.get("IFLA_MTU")) == ("ulx9", 9000)


@pytest.mark.parametrize("up, flags", [(True, 1), (False, 0), (None, None)])
def test_set_link_master_mtu_and_state(up, flags):
    msg = decoded(ifinfmsg, rtnl.set_link(5, rtnl.attr_u32(rtnl.IFLA_MASTER, 9), rtnl.attr_u32(rtnl.IFLA_MTU, 1400),
                                          up=up))
    assert msg["header"]["type"] == rtnl.RTM_SETLINK
    assert msg["header"]["flags"] == rtnl.F_REQUEST | rtnl.F_ACK
    assert (msg["family"], msg["index"]) == (0, 5)
    assert (msg["flags"], msg["change"]) == ((0, 0) if flags is None else (flags, 1))
    assert (msg.get("IFLA_MASTER"), msg.get("IFLA_MTU")) == (9, 1400)


def test_set_link_rename_with_alias_and_mac():
    msg = decoded(ifinfmsg, rtnl.set_link(5, rtnl.attr_str(rtnl.IFLA_IFNAME, "eth1"),
                                          rtnl.attr_str(rtnl.IFLA_IFALIAS, "underlay:container:web"),
                                          rtnl.attr(rtnl.IFLA_ADDRESS, MAC_BYTES)))
    assert (msg.get("IFLA_IFNAME"), msg.get("IFLA_IFALIAS"), msg.get("IFLA_ADDRESS")) == \
        ("eth1", "underlay:container:web", MAC)


@pytest.mark.parametrize("isolated", [True, False])
def test_set_link_bridge_port_isolated(isolated):
    msg = decoded(ifinfmsg, rtnl.set_link(5, rtnl.nested(rtnl.IFLA_PROTINFO, rtnl.attr(
        rtnl.IFLA_BRPORT_ISOLATED, bytes([1 if isolated else 0]))), family=rtnl.AF_BRIDGE))
    assert (msg["family"], msg["index"]) == (socket.AF_BRIDGE, 5)
    assert msg.get_nested("IFLA_PROTINFO", "IFLA_BRPORT_ISOLATED") == int(isolated)


def test_del_link():
    msg = decoded(ifinfmsg, rtnl.del_link(17))
    assert (msg["header"]["type"], msg["index"], msg["attrs"]) == (rtnl.RTM_DELLINK, 17, [])


@pytest.mark.parametrize("add", [True, False])
@pytest.mark.parametrize("cidr", ["10.1.2.3/24", "fd00::5/64"])
def test_address_add_and_delete(add, cidr):
    iface = ipaddress.ip_interface(cidr)
    family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    msg = decoded(ifaddrmsg, rtnl.change_address(add, 8, iface.ip.packed, iface.network.prefixlen, family))
    assert msg["header"]["type"] == (rtnl.RTM_NEWADDR if add else rtnl.RTM_DELADDR)
    assert bool(msg["header"]["flags"] & rtnl.F_CREATE) is add
    assert (msg["family"], msg["prefixlen"], msg["index"], msg["flags"], msg["scope"]) == \
        (family, iface.network.prefixlen, 8, 0, 0)
    assert (msg.get("IFA_LOCAL"), msg.get("IFA_ADDRESS")) == (str(iface.ip), str(iface.ip))


@pytest.mark.parametrize("add", [True, False])
def test_route_through_a_gateway(add):
    """What ``op_route_add_via``/``op_route_del_via`` send (the endpoint's default route)."""
    args = _netlink_writes._via("default", "10.0.0.1")  # pylint: disable=protected-access
    msg = decoded(rtmsg, rtnl.change_route(add, **args))
    assert msg["header"]["type"] == (rtnl.RTM_NEWROUTE if add else rtnl.RTM_DELROUTE)
    assert (msg["family"], msg["dst_len"], msg["src_len"], msg["tos"], msg["table"]) == (2, 0, 0, 0, 254)
    assert (msg["proto"], msg["scope"], msg["type"]) == ((4, 0, 1) if add else (0, 0, 0))
    assert (msg.get("RTA_DST"), msg.get("RTA_GATEWAY"), msg.get("RTA_TABLE"), msg.get("RTA_OIF")) == \
        ("0.0.0.0", "10.0.0.1", 254, None)


@pytest.mark.parametrize("add", [True, False])
@pytest.mark.parametrize("dst", ["10.5.0.128/25", "fd00:1::/64"])
def test_route_through_an_interface(add, dst):
    """What ``op_route_add``/``op_route_del`` send (a host access interface's route)."""
    net = ipaddress.ip_network(dst)
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    msg = decoded(rtmsg, rtnl.change_route(add, net.network_address.packed, net.prefixlen, oif=6,
                                           scope=rtnl.RT_SCOPE_LINK, family=family))
    assert (msg["family"], msg["dst_len"], msg["table"], msg["scope"]) == (family, net.prefixlen, 254, 253)
    assert (msg.get("RTA_DST"), msg.get("RTA_OIF"), msg.get("RTA_GATEWAY")) == (str(net.network_address), 6, None)


# -- pyroute2's messages, parsed by the codec ------------------------------------------------

def link_message(index, flags, attrs):
    msg = ifinfmsg()
    msg["index"], msg["flags"], msg["attrs"] = index, flags, attrs
    return rtnl.parse_link(encoded(msg, rtnl.RTM_NEWLINK))


COMMON = [("IFLA_IFNAME", "eth0.100"), ("IFLA_MTU", 1496), ("IFLA_ADDRESS", MAC), ("IFLA_LINK", 3)]


@pytest.mark.parametrize("protocol, name", [(0x8100, "802.1Q"), (0x88A8, "802.1ad")])
def test_vlan_link_is_read(protocol, name):
    fields, parent_here = link_fields(link_message(14, 1, COMMON + [
        ("IFLA_IFALIAS", "made by hand"),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "vlan"), ("IFLA_INFO_DATA", {"attrs": [
            ("IFLA_VLAN_ID", 100), ("IFLA_VLAN_PROTOCOL", protocol)]})]})]))
    assert fields == {"name": "eth0.100", "index": 14, "kind": "vlan", "mtu": 1496, "mac_address": MAC,
                      "admin_state": "up", "parent_index": 3, "vlan_id": 100, "protocol": name, "mode": None,
                      "flag": None, "master": None, "isolated": None, "alias": "made by hand"}
    assert parent_here is True


@pytest.mark.parametrize("mode", sorted(rtnl.MACVLAN_MODES))
def test_macvlan_link_is_read(mode):
    fields, _parent_here = link_message_fields(15, [
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "macvlan"), ("IFLA_INFO_DATA", {"attrs": [
            ("IFLA_MACVLAN_MODE", rtnl.MACVLAN_MODES[mode])]})]})])
    assert (fields["kind"], fields["mode"], fields["admin_state"]) == ("macvlan", mode, "down")


@pytest.mark.parametrize("mode", sorted(rtnl.IPVLAN_MODES))
def test_ipvlan_link_is_read(mode):
    """Its mode as pyroute2 encodes it; no IFLA_IPVLAN_FLAGS (pyroute2 cannot encode it) reads as
    the kernel's default flag, bridge; its parent is looked up by name."""
    fields, parent_here = link_message_fields(16, [
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "ipvlan"), ("IFLA_INFO_DATA", {"attrs": [
            ("IFLA_IPVLAN_MODE", rtnl.IPVLAN_MODES[mode])]})]})])
    assert (fields["kind"], fields["mode"], fields["flag"]) == ("ipvlan", mode, "bridge")
    assert parent_here is True


@pytest.mark.parametrize("flag", sorted(rtnl.IPVLAN_FLAGS))
def test_ipvlan_flag_is_read(flag):
    msg = ifinfmsg()
    msg["index"], msg["attrs"] = 17, [("IFLA_IFNAME", "eth0"), ("IFLA_LINK", 3)]
    payload = encoded(msg, rtnl.RTM_NEWLINK)
    payload = payload[:rtnl.IFINFO.size] + rtnl.ipvlan_info("l3s", flag) + payload[rtnl.IFINFO.size:]
    fields, _parent_here = link_fields(rtnl.parse_link(payload))
    assert (fields["name"], fields["kind"], fields["mode"], fields["flag"]) == ("eth0", "ipvlan", "l3s", flag)


def link_message_fields(index, extra):
    return link_fields(link_message(index, 0, COMMON + extra))


def test_parent_in_another_namespace_is_not_looked_up():
    """An endpoint's IFLA_LINK is an index in its parent's namespace (IFLA_LINK_NETNSID says so)."""
    _fields, parent_here = link_message_fields(2, [
        ("IFLA_LINK_NETNSID", 0),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "macvlan"), ("IFLA_INFO_DATA", {"attrs": [
            ("IFLA_MACVLAN_MODE", 4)]})]})])
    assert parent_here is False


@pytest.mark.parametrize("isolated", [1, 0])
def test_bridge_port_is_read(isolated):
    fields, parent_here = link_fields(link_message(20, 1, [
        ("IFLA_IFNAME", "ulbh0a1b2c3"), ("IFLA_MTU", 1500), ("IFLA_ADDRESS", MAC), ("IFLA_MASTER", 9),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge"),
                                     ("IFLA_INFO_SLAVE_DATA", {"attrs": [("IFLA_BRPORT_ISOLATED", isolated)]})]})]))
    assert (fields["kind"], fields["master"], fields["isolated"], fields["parent_index"]) == \
        ("veth", 9, bool(isolated), None)
    assert parent_here is False


def test_plain_link_is_read():
    fields, _parent_here = link_fields(link_message(1, 1, [("IFLA_IFNAME", "lo"), ("IFLA_MTU", 65536)]))
    assert (fields["name"], fields["kind"], fields["mac_address"], fields["alias"]) == ("lo", None, None, None)


@pytest.mark.parametrize("operstate, carrier, flags, promiscuity, expected", [
    (6, 1, 0x1, 0, {"oper_state": "up", "carrier": True, "promiscuous": False}),
    (2, 0, 0x1, 0, {"oper_state": "down", "carrier": False, "promiscuous": False}),
    (3, 0, 0x1 | 0x100, 1, {"oper_state": "lowerlayerdown", "carrier": False, "promiscuous": True}),
    (0, 1, 0x1, 2, {"oper_state": "unknown", "carrier": True, "promiscuous": True}),
])
def test_link_status_is_read(operstate, carrier, flags, promiscuity, expected):
    """What the parent preflight shows (``parent_state``): pyroute2's IFLA_OPERSTATE (named as
    ``ip`` prints it), IFLA_CARRIER and IFLA_PROMISCUITY, and the IFF_PROMISC flag."""
    names = {0: "UNKNOWN", 2: "DOWN", 3: "LOWERLAYERDOWN", 6: "UP"}
    msg = link_message(3, flags, [("IFLA_IFNAME", "eth0"), ("IFLA_MTU", 9000), ("IFLA_OPERSTATE", names[operstate]),
                                  ("IFLA_CARRIER", carrier), ("IFLA_PROMISCUITY", promiscuity)])
    assert link_status(msg) == expected
    assert link_fields(msg)[0]["mtu"] == 9000


def test_link_status_absent_attributes_are_unknown():
    msg = link_message(1, 1, [("IFLA_IFNAME", "lo")])
    assert link_status(msg) == {"oper_state": None, "carrier": None, "promiscuous": False}


@pytest.mark.parametrize("cidr", ["10.1.2.3/24", "fd00::5/64"])
def test_address_is_read(cidr):
    iface = ipaddress.ip_interface(cidr)
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    msg["prefixlen"], msg["scope"], msg["index"] = iface.network.prefixlen, 0, 8
    msg["attrs"] = [("IFA_ADDRESS", str(iface.ip)), ("IFA_LOCAL", str(iface.ip)), ("IFA_LABEL", "eth0")]
    (family, prefixlen, _flags, scope, index), nla = rtnl.parse_address(encoded(msg, rtnl.RTM_NEWADDR))
    assert (family, prefixlen, scope, index) == (msg["family"], iface.network.prefixlen, 0, 8)
    assert ipaddress.ip_address(nla[rtnl.IFA_LOCAL]) == ipaddress.ip_address(nla[rtnl.IFA_ADDRESS]) == iface.ip


def test_route_is_read():
    msg = rtmsg()
    msg["family"], msg["dst_len"], msg["table"], msg["proto"], msg["scope"], msg["type"] = 2, 25, 254, 4, 253, 1
    msg["attrs"] = [("RTA_TABLE", 254), ("RTA_DST", "10.5.0.128"), ("RTA_GATEWAY", "10.5.0.1"), ("RTA_OIF", 6)]
    header, nla = rtnl.parse_route(encoded(msg, rtnl.RTM_NEWROUTE))
    assert header == (2, 25, 0, 0, 254, 4, 253, 1, 0)
    assert (rtnl.u32(nla[rtnl.RTA_TABLE]), rtnl.u32(nla[rtnl.RTA_OIF])) == (254, 6)
    assert (str(ipaddress.ip_address(nla[rtnl.RTA_DST])), str(ipaddress.ip_address(nla[rtnl.RTA_GATEWAY]))) == \
        ("10.5.0.128", "10.5.0.1")


@pytest.mark.parametrize("code", [0, errno.ENODEV, errno.EEXIST])
def test_error_is_read(code):
    msg = nlmsgerr()
    msg["error"] = -code
    assert rtnl.error_code(encoded(msg, rtnl.NLMSG_ERROR)) == code
