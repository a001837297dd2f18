# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small rtnetlink client for the netlink adapter: one raw NETLINK_ROUTE socket, messages
packed and parsed with ``struct``.

The adapter's frequent requests (read a link, list links, addresses and routes, create an
endpoint, set an address, a flag, a route) go through this: each costs a few microseconds of
Python on top of the kernel's own work, where a pyroute2 request costs 0.3-0.5 ms. That is
what keeps attaching a thousand endpoints in one run linear and cheap. The socket belongs to
the network namespace it was created in. Errors are raised as ``error(code, text)`` with
the positive errno (``RtnlError``, whose ``code`` is that errno, as pyroute2's NetlinkError has).
"""

from __future__ import annotations

import os
import socket
import struct

NLMSG_ERROR = 2
NLMSG_DONE = 3
F_REQUEST = 0x1
F_MULTI = 0x2
F_ACK = 0x4
F_DUMP = 0x300
F_EXCL = 0x200
F_CREATE = 0x400
NLA_F_NESTED = 0x8000
_NLA_TYPE_MASK = 0x3FFF
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26

AF_UNSPEC, AF_INET, AF_BRIDGE = 0, 2, 7
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_PROTINFO, IFLA_LINKINFO, IFLA_IFALIAS = 12, 18, 20
IFLA_NET_NS_FD, IFLA_EXT_MASK, IFLA_LINK_NETNSID = 28, 29, 37
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFLA_VLAN_ID, IFLA_VLAN_PROTOCOL = 1, 5
IFLA_MACVLAN_MODE = 1
IFLA_BRPORT_ISOLATED = 33
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RTEXT_FILTER_SKIP_STATS = 1 << 3
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RTN_UNICAST = 1

_HEADER = struct.Struct("=IHHII")
IFINFO = struct.Struct("=BxHiII")     # family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")      # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")   # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_ATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
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


def s32(data):
    return _I32.unpack_from(data)[0] if data is not None and len(data) >= 4 else None


def text(data):
    return data.split(b"\0", 1)[0].decode() if data is not None else None


def mac_text(data):
    return ":".join(f"{byte:02x}" for byte in data) if data else None


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

    def request(self, kind, body, flags=F_ACK):
        """Send one request; returns the ``(type, payload)`` messages of the answer (a dump's
        every message, or a get's reply), raising ``error`` for a negative acknowledgement."""
        self.seq += 1
        seq = self.seq
        dump = (flags & F_DUMP) == F_DUMP
        self.sock.send(_HEADER.pack(16 + len(body), kind, flags | F_REQUEST, seq, 0) + body)
        found = []
        view = memoryview(self._buffer)
        while True:
            size = self.sock.recv_into(self._buffer)
            offset = 0
            while offset + 16 <= size:
                length, mtype, mflags, mseq, _pid = _HEADER.unpack_from(self._buffer, offset)
                if length < 16:
                    break
                payload = bytes(view[offset + 16:offset + length])
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue  # a late answer to an earlier request
                if mtype == NLMSG_ERROR:
                    code = -_I32.unpack_from(payload)[0]
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
        body = IFINFO.pack(AF_UNSPEC, 0, index, 0, 0) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        if name is not None:
            body += attr_str(IFLA_IFNAME, name)
        messages = self.request(RTM_GETLINK, body, flags=0)
        payload = messages[0][1]
        return IFINFO.unpack_from(payload), attrs(payload, IFINFO.size)

    def links(self):
        body = IFINFO.pack(AF_UNSPEC, 0, 0, 0, 0) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        return [(IFINFO.unpack_from(payload), attrs(payload, IFINFO.size))
                for mtype, payload in self.request(RTM_GETLINK, body, flags=F_DUMP) if mtype == RTM_NEWLINK]

    def addresses(self, index=0, family=AF_UNSPEC):
        """``(ifaddr tuple, attrs)`` of the addresses (of link ``index`` only, when given)."""
        body = IFADDR.pack(family, 0, 0, 0, index)
        return [(IFADDR.unpack_from(payload), attrs(payload, IFADDR.size))
                for mtype, payload in self.request(RTM_GETADDR, body, flags=F_DUMP) if mtype == RTM_NEWADDR]

    def routes(self, family):
        body = RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        return [(RTMSG.unpack_from(payload), attrs(payload, RTMSG.size))
                for mtype, payload in self.request(RTM_GETROUTE, body, flags=F_DUMP) if mtype == RTM_NEWROUTE]

    def index(self, name):
        return self.link(name=name)[0][2]

    def newlink(self, *parts, index=0, flags=F_ACK | F_CREATE | F_EXCL):
        """Create a link (with ``index`` as its ifindex when given and free)."""
        self.request(RTM_NEWLINK, IFINFO.pack(AF_UNSPEC, 0, index, 0, 0) + b"".join(parts), flags=flags)

    def setlink(self, index, *parts, up=None, family=AF_UNSPEC):
        flags = change = 0
        if up is not None:
            flags, change = (1 if up else 0), 1  # IFF_UP
        self.request(RTM_SETLINK, IFINFO.pack(family, 0, index, flags, change) + b"".join(parts))

    def dellink(self, index):
        self.request(RTM_DELLINK, IFINFO.pack(AF_UNSPEC, 0, index, 0, 0))

    def address(self, add, index, packed, prefixlen, family=AF_INET):
        kind, flags = (RTM_NEWADDR, F_ACK | F_CREATE | F_EXCL) if add else (RTM_DELADDR, F_ACK)
        body = IFADDR.pack(family, prefixlen, 0, 0, index) + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        self.request(kind, body, flags=flags)

    def route(self, add, packed_dst, dst_len, gateway=None, oif=None, scope=RT_SCOPE_UNIVERSE, family=AF_INET):
        """Add (protocol static, as pyroute2 and ``ip route add ... proto static``) or remove a
        main-table route; a removal matches any protocol, as ``ip route del`` does."""
        if add:
            kind, flags, header = RTM_NEWROUTE, F_ACK | F_CREATE | F_EXCL, (RTPROT_STATIC, scope, RTN_UNICAST)
        else:
            kind, flags, header = RTM_DELROUTE, F_ACK, (0, scope, 0)
        body = RTMSG.pack(family, dst_len, 0, 0, RT_TABLE_MAIN, *header, 0)
        body += attr(RTA_DST, packed_dst) + attr_u32(RTA_TABLE, RT_TABLE_MAIN)
        if gateway is not None:
            body += attr(RTA_GATEWAY, gateway)
        if oif is not None:
            body += attr_u32(RTA_OIF, oif)
        self.request(kind, body, flags=flags)
