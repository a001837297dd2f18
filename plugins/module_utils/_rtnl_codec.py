# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand rtnetlink codec and client: one raw NETLINK_ROUTE socket, messages packed and
parsed with ``struct``.

The adapter's frequent requests (read a link, list links, addresses and routes, create an
endpoint, set an address, a flag, a route) go through this: each costs a few microseconds of
Python on top of the kernel's own work, where a pyroute2 request costs 0.3-0.5 ms (see
bench/README.md). The rare, attribute-rich requests (VLAN, a network's own macvlan or bridge
link) go through pyroute2 instead, but for ipvlan links, which this codec makes
(pyroute2 0.9.7 cannot set ``IFLA_IPVLAN_FLAGS``) (``_netlink_pyroute2``). tests/unit/test_rtnl_codec.py checks
every layout below against pyroute2's own message classes, both ways.

Everything the codec speaks is listed here, in one place: the message headers (``MESSAGES``)
and the attributes (the ``IFLA_*``, ``IFA_*``, ``RTA_*`` constants, by the header they follow).
The socket belongs to the network namespace it was created in. Errors are raised as
``error(code, text)`` with the positive errno (``RtnlError``, whose ``code`` is that errno,
as pyroute2's NetlinkError has).
"""

from __future__ import annotations

import os
import socket
import struct

# -- messages --------------------------------------------------------------------------
NLMSG_ERROR = 2  # nlmsgerr: the negated errno (s32), then the request's header
NLMSG_DONE = 3   # the end of a dump (an s32 errno may follow)
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19    # ifinfomsg
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22                     # ifaddrmsg
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26                  # rtmsg

HEADER = struct.Struct("=IHHII")      # nlmsghdr: length, type, flags, seq, pid
IFINFO = struct.Struct("=BxHiII")     # ifinfomsg: family, (pad), type, index, flags, change
IFADDR = struct.Struct("=BBBBI")      # ifaddrmsg: family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")   # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
ERROR = struct.Struct("=i")           # nlmsgerr: error (negative errno; 0 is an acknowledgement)
MESSAGES = {"nlmsghdr": HEADER, "ifinfomsg": IFINFO, "ifaddrmsg": IFADDR, "rtmsg": RTMSG, "nlmsgerr": ERROR}

# nlmsghdr flags
F_REQUEST = 0x1
F_MULTI = 0x2
F_ACK = 0x4
F_DUMP = 0x300
F_EXCL = 0x200
F_CREATE = 0x400

# -- attributes --------------------------------------------------------------------------
NLA_F_NESTED = 0x8000
_NLA_TYPE_MASK = 0x3FFF
# after ifinfomsg
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_PROTINFO, IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_IFALIAS = 12, 16, 18, 20
IFLA_NET_NS_FD, IFLA_EXT_MASK, IFLA_PROMISCUITY, IFLA_CARRIER, IFLA_LINK_NETNSID = 28, 29, 30, 33, 37
OPER_STATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")  # IFLA_OPERSTATE (u8)
#   in IFLA_LINKINFO
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
#   in IFLA_INFO_DATA, by kind
IFLA_VLAN_ID, IFLA_VLAN_PROTOCOL = 1, 5     # vlan (read only: VLANs are made with pyroute2)
IFLA_MACVLAN_MODE = 1                       # macvlan
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}  # its values
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = 1, 2  # ipvlan, both u16 (linux/if_link.h)
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}               # IFLA_IPVLAN_MODE's values
IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}      # IFLA_IPVLAN_FLAGS's values
VETH_INFO_PEER = 1                          # veth: an ifinfomsg and its attributes
#   in IFLA_PROTINFO (family AF_BRIDGE) and IFLA_INFO_SLAVE_DATA (bridge ports)
IFLA_BRPORT_ISOLATED = 33
# after ifaddrmsg
IFA_ADDRESS, IFA_LOCAL = 1, 2
ADDRESS_NODAD = 0x02  # ifaddrmsg flag IFA_F_NODAD: an IPv6 address usable at once (no DAD)
# after rtmsg
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15

# -- values ------------------------------------------------------------------------------
AF_UNSPEC, AF_INET, AF_BRIDGE = 0, 2, 7
IFF_UP = 0x1
IFF_PROMISC = 0x100
RTEXT_FILTER_SKIP_STATS = 1 << 3
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RTNH_F_ONLINK = 4  # rtmsg flag: the gateway is on the link given (RTA_OIF), whatever routes exist yet
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
RTN_UNICAST = 1
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

_ATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_U16 = struct.Struct("=H")
_BUFFER_SIZE = 1 << 20
_BUFFER = []  # one receive buffer for every socket of the process (allocated once)


class RtnlError(OSError):
    """The kernel refused a request; ``code`` is the (positive) errno."""

    def __init__(self, code, text=None):
        super().__init__(code, text or os.strerror(code))
        self.code = code


def attr(kind, data):
    """One netlink attribute (type-length-value, padded to 4 bytes)."""
    length = 4 + len(data)
    return _ATTR.pack(length, kind) + data + b"\0" * (-length % 4)


def nested(kind, *parts):
    return attr(kind | NLA_F_NESTED, b"".join(parts))


def attr_u32(kind, value):
    return attr(kind, _U32.pack(value))


def attr_u16(kind, value):
    return attr(kind, _U16.pack(value))


def attr_str(kind, text):
    return attr(kind, text.encode() + b"\0")


def attrs(data, offset=0):
    """``{type: bytes}`` of the attributes in ``data`` from ``offset`` (the last one wins)."""
    found = {}
    end = len(data)
    while offset + 4 <= end:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < 4:
            break
        found[kind & _NLA_TYPE_MASK] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return found


def u32(data):
    return _U32.unpack_from(data)[0] if data is not None and len(data) >= 4 else None


def u16(data):
    return _U16.unpack_from(data)[0] if data is not None and len(data) >= 2 else None


def s32(data):
    return ERROR.unpack_from(data)[0] if data is not None and len(data) >= 4 else None


def text(data):
    return data.split(b"\0", 1)[0].decode() if data is not None else None


def mac_text(data):
    return ":".join(f"{byte:02x}" for byte in data) if data else None


# -- decoding: a message's payload (after nlmsghdr) into (header tuple, {type: bytes}) ---------
def parse_link(payload):
    return IFINFO.unpack_from(payload), attrs(payload, IFINFO.size)


def parse_address(payload):
    return IFADDR.unpack_from(payload), attrs(payload, IFADDR.size)


def parse_route(payload):
    return RTMSG.unpack_from(payload), attrs(payload, RTMSG.size)


def error_code(payload):
    """The positive errno of an NLMSG_ERROR payload (0: an acknowledgement)."""
    return -ERROR.unpack_from(payload)[0]


# -- encoding: each request the client sends, as (type, flags, body after nlmsghdr) ------------
def message(kind, flags, seq, body):
    """The whole message: nlmsghdr (``F_REQUEST`` added) and ``body``."""
    return HEADER.pack(16 + len(body), kind, flags | F_REQUEST, seq, 0) + body


def get_link(index=0, name=None):
    """One link, by index or by name (statistics left out)."""
    body = IFINFO.pack(AF_UNSPEC, 0, index, 0, 0) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
    if name is not None:
        body += attr_str(IFLA_IFNAME, name)
    return RTM_GETLINK, 0, body


def dump_links():
    body = IFINFO.pack(AF_UNSPEC, 0, 0, 0, 0) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
    return RTM_GETLINK, F_DUMP, body


def dump_addresses(index=0, family=AF_UNSPEC):
    """The addresses (of link ``index`` only, when given: the socket asks for strict checking)."""
    return RTM_GETADDR, F_DUMP, IFADDR.pack(family, 0, 0, 0, index)


def dump_routes(family):
    return RTM_GETROUTE, F_DUMP, RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)


def new_link(*parts, index=0):
    """Create a link from attributes ``parts`` (with ``index`` as its ifindex when given and free)."""
    return RTM_NEWLINK, F_ACK | F_CREATE | F_EXCL, IFINFO.pack(AF_UNSPEC, 0, index, 0, 0) + b"".join(parts)


def ipvlan_info(mode, flag):
    """The ``IFLA_LINKINFO`` of an ipvlan link in ``mode`` with ``flag``."""
    return nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "ipvlan"),
                  nested(IFLA_INFO_DATA, attr_u16(IFLA_IPVLAN_MODE, IPVLAN_MODES[mode]),
                         attr_u16(IFLA_IPVLAN_FLAGS, IPVLAN_FLAGS[flag])))


def change_link(index, *parts):
    """Change link ``index``'s kind-specific data (an ``IFLA_LINKINFO`` in ``parts``): RTM_NEWLINK
    on an existing link, which the kernel hands to the kind's changelink (RTM_SETLINK does not)."""
    return RTM_NEWLINK, F_ACK, IFINFO.pack(AF_UNSPEC, 0, index, 0, 0) + b"".join(parts)


def set_link(index, *parts, up=None, family=AF_UNSPEC):
    """Change link ``index``: attributes ``parts``, and IFF_UP when ``up`` is not None."""
    flags = change = 0
    if up is not None:
        flags, change = (IFF_UP if up else 0), IFF_UP
    return RTM_SETLINK, F_ACK, IFINFO.pack(family, 0, index, flags, change) + b"".join(parts)


def del_link(index):
    return RTM_DELLINK, F_ACK, IFINFO.pack(AF_UNSPEC, 0, index, 0, 0)


def change_address(add, index, packed, prefixlen, family=AF_INET, ifa_flags=0):
    kind, flags = (RTM_NEWADDR, F_ACK | F_CREATE | F_EXCL) if add else (RTM_DELADDR, F_ACK)
    body = IFADDR.pack(family, prefixlen, ifa_flags, 0, index) + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
    return kind, flags, body


def change_route(add, packed_dst, dst_len, gateway=None, oif=None, scope=RT_SCOPE_UNIVERSE, family=AF_INET,
                 rt_flags=0):
    """Add (protocol static, as pyroute2 and ``ip route add ... proto static``) or remove a
    main-table route; a removal matches any protocol, as ``ip route del`` does. ``rt_flags``:
    the rtmsg flags of an added route (``RTNH_F_ONLINK``)."""
    if add:
        kind, flags, header = RTM_NEWROUTE, F_ACK | F_CREATE | F_EXCL, (RTPROT_STATIC, scope, RTN_UNICAST)
    else:
        kind, flags, header = RTM_DELROUTE, F_ACK, (0, scope, 0)
    body = RTMSG.pack(family, dst_len, 0, 0, RT_TABLE_MAIN, *header, rt_flags if add else 0)
    body += attr(RTA_DST, packed_dst) + attr_u32(RTA_TABLE, RT_TABLE_MAIN)
    if gateway is not None:
        body += attr(RTA_GATEWAY, gateway)
    if oif is not None:
        body += attr_u32(RTA_OIF, oif)
    return kind, flags, body


class Rtnl:
    """A NETLINK_ROUTE socket of the current network namespace."""

    def __init__(self, error=RtnlError):
        self.error = error
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        try:
            # the kernel then filters dumps by the header's fields (addresses of one link)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            self.sock.bind((0, 0))
        except BaseException:
            self.sock.close()
            raise
        self.seq = 0
        if not _BUFFER:
            _BUFFER.append(bytearray(_BUFFER_SIZE))
        self._buffer = _BUFFER[0]

    def close(self):
        self.sock.close()

    def request(self, kind, flags, body):
        """Send one request; returns the ``(type, payload)`` messages of the answer (a dump's
        every message, or a get's reply), raising ``error`` for a negative acknowledgement."""
        self.seq += 1
        seq = self.seq
        dump = (flags & F_DUMP) == F_DUMP
        self.sock.send(message(kind, flags, seq, body))
        found = []
        view = memoryview(self._buffer)
        while True:
            size = self.sock.recv_into(self._buffer)
            offset = 0
            while offset + 16 <= size:
                length, mtype, mflags, mseq, _pid = HEADER.unpack_from(self._buffer, offset)
                if length < 16:
                    break
                payload = bytes(view[offset + 16:offset + length])
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue  # a late answer to an earlier request
                if mtype == NLMSG_ERROR:
                    code = error_code(payload)
                    if code:
                        raise self.error(code, os.strerror(code))
                    return found
                if mtype == NLMSG_DONE:
                    code = -(s32(payload) or 0)
                    if code > 0:
                        raise self.error(code, os.strerror(code))
                    return found
                found.append((mtype, payload))
                if not dump and not flags & F_ACK and not mflags & F_MULTI:
                    return found

    # -- requests ------------------------------------------------------------------
    def link(self, index=0, name=None):
        """The ``(ifinfo tuple, attrs)`` of one link, by index or name."""
        return parse_link(self.request(*get_link(index, name))[0][1])

    def links(self):
        return [parse_link(payload) for mtype, payload in self.request(*dump_links()) if mtype == RTM_NEWLINK]

    def addresses(self, index=0, family=AF_UNSPEC):
        """``(ifaddr tuple, attrs)`` of the addresses (of link ``index`` only, when given)."""
        return [parse_address(payload) for mtype, payload in self.request(*dump_addresses(index, family))
                if mtype == RTM_NEWADDR]

    def routes(self, family):
        return [parse_route(payload) for mtype, payload in self.request(*dump_routes(family))
                if mtype == RTM_NEWROUTE]

    def index(self, name):
        return self.link(name=name)[0][2]

    def newlink(self, *parts, index=0):
        self.request(*new_link(*parts, index=index))

    def changelink(self, index, *parts):
        self.request(*change_link(index, *parts))

    def setlink(self, index, *parts, up=None, family=AF_UNSPEC):
        self.request(*set_link(index, *parts, up=up, family=family))

    def dellink(self, index):
        self.request(*del_link(index))

    def address(self, add, index, packed, prefixlen, family=AF_INET, ifa_flags=0):
        self.request(*change_address(add, index, packed, prefixlen, family, ifa_flags))

    def route(self, add, packed_dst, dst_len, gateway=None, oif=None, scope=RT_SCOPE_UNIVERSE, family=AF_INET,
              rt_flags=0):
        self.request(*change_route(add, packed_dst, dst_len, gateway, oif, scope, family, rt_flags))
