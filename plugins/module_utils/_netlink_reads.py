# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the netlink adapter reads: links (as ``LinkSnapshot``), their addresses, routes,
bridge ports, link aliases and sysctls of one namespace, all through the hand codec."""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _netns
from ansible_collections.underlay.network.plugins.module_utils import _rtnl_codec as rtnl
from ansible_collections.underlay.network.plugins.module_utils._validation import (
    VLAN_PROTOCOLS,
    address_sort_key,
)

NetlinkError = rtnl.RtnlError  # what every kernel request raises (pyroute2's errors are turned into it)
_PROTOCOL_NAMES = {number: name for name, number in VLAN_PROTOCOLS.items()}
_MACVLAN_MODE_NAMES = {number: name for name, number in rtnl.MACVLAN_MODES.items()}
_IPVLAN_MODE_NAMES = {number: name for name, number in rtnl.IPVLAN_MODES.items()}
_IPVLAN_FLAG_NAMES = {number: name for name, number in rtnl.IPVLAN_FLAGS.items()}
# the kinds of link whose IFLA_LINK names a parent (looked up by name when it is in the same namespace)
_CHILD_KINDS = ("vlan", "macvlan", "ipvlan")


@dataclass(frozen=True)
class LinkSnapshot:
    """One interface as the kernel reports it (plain data, comparable in tests)."""

    name: str
    index: int
    kind: Optional[str]
    mtu: int
    mac_address: Optional[str]
    admin_state: str
    parent: Optional[str] = None
    parent_index: Optional[int] = None
    vlan_id: Optional[int] = None
    protocol: Optional[str] = None
    mode: Optional[str] = None  # macvlan or ipvlan mode
    flag: Optional[str] = None  # ipvlan flag (bridge, private, vepa)
    master: Optional[int] = None  # index of the bridge this link is a port of
    isolated: Optional[bool] = None  # bridge port isolation (ports only)
    addresses: Tuple[str, ...] = field(default_factory=tuple)
    alias: Optional[str] = None  # ifalias: container_endpoint marks its endpoints with their owner
    oper_state: Optional[str] = None  # RFC 2863 operational state, as sysfs names it (up, down, lowerlayerdown...)
    carrier: Optional[bool] = None
    promiscuous: Optional[bool] = None  # in promiscuous mode, for whatever holder (a user, the kernel)


class LinkReads:
    """The reading half of ``NetlinkAdapter`` (``self._rt``: its ``_rtnl_codec.Rtnl``)."""

    def link(self, name):
        """The snapshot of interface ``name``, or None when there is none."""
        try:
            msg = self._rt.link(name=name)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise self._error(f"read interface '{name}'", err) from None
        return self._snapshot(msg)

    def _snapshot(self, msg):
        """A ``LinkSnapshot`` of a raw link message (``(ifinfo, attrs)`` from the codec), with its
        parent's name and its addresses asked for."""
        fields, parent_here = link_fields(msg)
        parent = rtnl.text(self._rt.link(index=fields["parent_index"])[1].get(rtnl.IFLA_IFNAME)) \
            if parent_here else None
        return LinkSnapshot(parent=parent, addresses=self._addresses(fields["index"]), **fields, **link_status(msg))

    def _addresses(self, index):
        found = set()
        for (_family, prefixlen, _flags, _scope, owner), nla in self._rt.addresses(index=index):
            if owner != index:
                continue
            address = nla.get(rtnl.IFA_LOCAL) or nla.get(rtnl.IFA_ADDRESS)
            if address:
                found.add(f"{ipaddress.ip_address(address)}/{prefixlen}")
        return tuple(sorted(found, key=address_sort_key))

    def _main_routes(self, family):
        """``(rtmsg, attrs)`` of the main table's routes of ``family``."""
        return [(header, nla) for header, nla in self._rt.routes(family)
                if (rtnl.u32(nla.get(rtnl.RTA_TABLE)) or header[4]) == rtnl.RT_TABLE_MAIN]

    def routes(self, name):
        """Destinations (CIDR) of the main-table routes through interface ``name``."""
        link = self.link(name)
        if link is None:
            return ()
        found = set()
        for family in (socket.AF_INET, socket.AF_INET6):
            for header, nla in self._main_routes(family):
                if rtnl.u32(nla.get(rtnl.RTA_OIF)) != link.index or nla.get(rtnl.RTA_GATEWAY):
                    continue
                dst = nla.get(rtnl.RTA_DST)
                if dst is None:
                    continue
                net = ipaddress.ip_network(f"{ipaddress.ip_address(dst)}/{header[1]}", strict=False)
                if net.version == 6 and net.network_address.is_link_local:
                    continue
                found.add(str(net))
        return tuple(sorted(found))

    def gateway_routes(self):
        """``{dst: gateway}`` of main-table routes through a gateway (``default`` for IPv4's 0/0,
        ``::/0`` for IPv6's); a default route through an interface alone (an ipvlan L3
        endpoint's) as ``dev NAME`` (``_endpoint_steps.default_via``)."""
        found = {}
        for family in (socket.AF_INET, socket.AF_INET6):
            for header, nla in self._main_routes(family):
                gateway = nla.get(rtnl.RTA_GATEWAY)
                dst_len = header[1]
                if dst_len == 0:
                    dst = "default" if family == socket.AF_INET else "::/0"
                else:
                    dst = f"{ipaddress.ip_address(nla.get(rtnl.RTA_DST))}/{dst_len}"
                if gateway:
                    found[dst] = str(ipaddress.ip_address(gateway))
                    continue
                oif = rtnl.u32(nla.get(rtnl.RTA_OIF))
                if dst_len == 0 and oif:
                    found[dst] = "dev " + rtnl.text(self._rt.link(index=oif)[1].get(rtnl.IFLA_IFNAME))
        return found

    def ports(self, bridge):
        """Snapshots of the ports of bridge ``bridge`` (empty when it does not exist)."""
        link = self.link(bridge)
        if link is None:
            return ()
        return tuple(self._snapshot(msg) for msg in self._rt.links()
                     if rtnl.u32(msg[1].get(rtnl.IFLA_MASTER)) == link.index)

    def link_aliases(self):
        """``{name: ifalias or None}`` of every link of this namespace (one dump)."""
        return {rtnl.text(nla.get(rtnl.IFLA_IFNAME)): rtnl.text(nla[rtnl.IFLA_IFALIAS])
                if nla.get(rtnl.IFLA_IFALIAS) else None for _header, nla in self._rt.links()}

    def sysctl(self, key):
        """A sysctl of this namespace (``net.ipv4.ip_forward``), read inside it."""
        with _netns.inside(self.netns_path):
            with open("/proc/sys/" + key.replace(".", "/"), encoding="ascii") as handle:
                return handle.read().strip()


def link_fields(msg):
    """What a raw link message (``(ifinfo, attrs)``) says of a ``LinkSnapshot`` by itself (every
    field but ``parent`` and ``addresses``), and whether its parent is in the same namespace
    (then ``parent_index`` is to be looked up for the parent's name)."""
    (_family, _type, index, flags, _change), nla = msg
    info = rtnl.attrs(nla[rtnl.IFLA_LINKINFO]) if rtnl.IFLA_LINKINFO in nla else None
    kind = rtnl.text(info.get(rtnl.IFLA_INFO_KIND)) if info else None
    data = rtnl.attrs(info[rtnl.IFLA_INFO_DATA]) if info and rtnl.IFLA_INFO_DATA in info else None
    vlan_id = protocol = mode = flag = None
    if kind == "vlan" and data:
        if rtnl.IFLA_VLAN_ID in data:
            vlan_id = struct.unpack_from("=H", data[rtnl.IFLA_VLAN_ID])[0]
        raw = data.get(rtnl.IFLA_VLAN_PROTOCOL)
        protocol = _protocol_name(struct.unpack_from(">H", raw)[0] if raw else None)
    if kind == "macvlan" and data:
        value = rtnl.u32(data.get(rtnl.IFLA_MACVLAN_MODE))
        mode = _MACVLAN_MODE_NAMES.get(value, str(value))
    if kind == "ipvlan" and data:
        value = rtnl.u16(data.get(rtnl.IFLA_IPVLAN_MODE)) or 0  # absent: l2, the kernel default
        mode = _IPVLAN_MODE_NAMES.get(value, str(value))
        value = rtnl.u16(data.get(rtnl.IFLA_IPVLAN_FLAGS)) or 0
        flag = _IPVLAN_FLAG_NAMES.get(value, str(value))
    isolated = None
    if info and rtnl.text(info.get(rtnl.IFLA_INFO_SLAVE_KIND)) == "bridge":
        slave = info.get(rtnl.IFLA_INFO_SLAVE_DATA)
        if slave:
            flag = rtnl.attrs(slave).get(rtnl.IFLA_BRPORT_ISOLATED)
            isolated = bool(flag[0]) if flag else False
    parent_index = rtnl.u32(nla.get(rtnl.IFLA_LINK))
    fields = {
        "name": rtnl.text(nla.get(rtnl.IFLA_IFNAME)),
        "index": index,
        "kind": kind,
        "mtu": rtnl.u32(nla.get(rtnl.IFLA_MTU)),
        "mac_address": rtnl.mac_text(nla.get(rtnl.IFLA_ADDRESS)),
        "admin_state": "up" if flags & rtnl.IFF_UP else "down",
        "parent_index": parent_index,
        "vlan_id": vlan_id,
        "protocol": protocol,
        "mode": mode,
        "flag": flag,
        "master": rtnl.u32(nla.get(rtnl.IFLA_MASTER)),
        "isolated": isolated,
        "alias": rtnl.text(nla[rtnl.IFLA_IFALIAS]) if nla.get(rtnl.IFLA_IFALIAS) else None,
    }
    return fields, bool(kind in _CHILD_KINDS and parent_index and rtnl.IFLA_LINK_NETNSID not in nla)


def link_status(msg):
    """The operational state, carrier and promiscuity a raw link message reports (what the
    parent preflight shows as ``parent_state``). Promiscuous: the IFF_PROMISC a user set, or the
    kernel's promiscuity count (a NIC without room in its unicast filter for macvlan's MACs,
    a bridge port, a passthru macvlan)."""
    (_family, _type, _index, flags, _change), nla = msg
    state = nla.get(rtnl.IFLA_OPERSTATE)
    carrier = nla.get(rtnl.IFLA_CARRIER)
    return {"oper_state": (rtnl.OPER_STATES[state[0]] if state[0] < len(rtnl.OPER_STATES) else str(state[0]))
            if state else None,
            "carrier": bool(carrier[0]) if carrier else None,
            "promiscuous": bool(flags & rtnl.IFF_PROMISC) or bool(rtnl.u32(nla.get(rtnl.IFLA_PROMISCUITY)))}


def _protocol_name(value):
    if value is None:
        return "802.1Q"
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            return value
    # the kernel reports the ethertype in network byte order; accept either order
    return _PROTOCOL_NAMES.get(value) or _PROTOCOL_NAMES.get(((value & 0xFF) << 8) | (value >> 8), hex(value))
