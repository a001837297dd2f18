# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: the only place that talks to the kernel (and imports pyroute2).

It reads kernel state into plain snapshots and carries out plan steps, turning netlink
errors into ``UnderlayError`` messages a user can act on. A namespace is entered with
setns(2) only for as long as it takes to open the netlink socket (the socket stays bound
to that namespace), which is far cheaper than a helper process per namespace.

Reads and the frequent steps go through ``_rtnl`` (a raw rtnetlink socket, a few
microseconds of Python per request); the rare ones (creating VLANs, networks' own macvlan
and bridge links) through pyroute2, opened only when first needed. Packet sockets (the
gratuitous ARP) take the kernel an RCU grace period to close, so they are closed by a
pool of threads, many at once, instead of one after another.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import importlib.util
import ipaddress
import os
import resource
import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _rtnl
from ansible_collections.underlay.network.plugins.module_utils._errors import (
    MissingLibraryError,
    UnderlayError,
)
from ansible_collections.underlay.network.plugins.module_utils._validation import (
    VLAN_PROTOCOLS,
    address_sort_key,
)

# pyroute2 is imported on first use (the rare steps; importing it costs a module run about
# 0.1 s); that it is installed is checked when an adapter opens, and reported by the module
# shell through missing_required_lib.
NetlinkError = _rtnl.RtnlError  # what every kernel request raises (pyroute2's errors are turned into it)


_PYROUTE2_FOUND = []


def _pyroute2_missing():
    """The ImportError to report when pyroute2 is not installed (None when it is; looked up once)."""
    if not _PYROUTE2_FOUND:
        _PYROUTE2_FOUND.append(importlib.util.find_spec("pyroute2") is not None)
    return None if _PYROUTE2_FOUND[0] else ImportError("No module named 'pyroute2'")


class _PyRoute2:
    """pyroute2's IPRoute, its NetlinkError turned into ``NetlinkError`` (``_rtnl.RtnlError``)."""

    def __init__(self):
        from pyroute2 import IPRoute  # pylint: disable=import-outside-toplevel
        self._ipr = IPRoute()

    def close(self):
        self._ipr.close()

    def link(self, *args, **kwargs):
        from pyroute2.netlink.exceptions import NetlinkError as PyRoute2Error  # pylint: disable=import-outside-toplevel
        try:
            return self._ipr.link(*args, **kwargs)
        except PyRoute2Error as err:
            raise NetlinkError(err.code, os.strerror(err.code) if err.code else str(err)) from None


CLONE_NEWNET = 0x40000000
IFF_UP = 0x1
_PROTOCOL_NAMES = {number: name for name, number in VLAN_PROTOCOLS.items()}
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
_MACVLAN_MODE_NAMES = {number: name for name, number in MACVLAN_MODES.items()}
MAIN_TABLE = 254
MAX_CLOSING_PACKET_SOCKETS = 256
_CLOSER_THREADS = 64
_ERRNO_TEXT = {
    errno.EPERM: "operation not permitted (CAP_NET_ADMIN is needed)",
    errno.ENODEV: "no such device",
    errno.EEXIST: "an interface with that name already exists",
    errno.EBUSY: "the device is busy",
    errno.ERANGE: "a value is out of the range the kernel accepts",
    errno.EINVAL: "the kernel rejected an argument as invalid",
    errno.EOPNOTSUPP: "the kernel does not support this operation",
    errno.EADDRNOTAVAIL: "the address is not assigned",
    errno.ENOSPC: "no space left for this object",
}


def _max_open_namespaces():
    """How many other namespaces' sockets a run keeps open at once: half of what the open-file
    limit leaves after the packet sockets being closed, between 64 and 4096."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(64, min(4096, (soft - MAX_CLOSING_PACKET_SOCKETS - 64) // 2))


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
    mode: Optional[str] = None  # macvlan mode
    master: Optional[int] = None  # index of the bridge this link is a port of
    isolated: Optional[bool] = None  # bridge port isolation (ports only)
    addresses: Tuple[str, ...] = field(default_factory=tuple)
    alias: Optional[str] = None  # ifalias: container_endpoint marks its endpoints with their owner


_LIBC = []


def _libc():
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _setns(fd):
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def _entered(fd):
    """Run the body with this thread in the network namespace ``fd`` (then back)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(fd)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def _ipv6_off(name):
    """``net.ipv6.conf.<name>.disable_ipv6 = 1`` in the namespace the thread is in.

    Endpoints are IPv4-only, so, as Docker (26 and later) does on IPv4-only networks, their
    interfaces get no IPv6 at all: no link-local address, no router solicitations, no SLAAC
    address from a router on the VLAN, and no multicast (DAD, MLD) flooded to every other
    endpoint of the network each time one comes up. Done while the link is still down.
    A kernel without IPv6 has nothing to turn off."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w", encoding="ascii") as handle:
            handle.write("1")
    except FileNotFoundError:
        if os.path.isdir("/proc/sys/net/ipv6"):
            raise UnderlayError(f"cannot turn IPv6 off on '{name}': it has no IPv6 settings") from None
    except OSError as err:
        raise UnderlayError(f"cannot turn IPv6 off on '{name}' (net.ipv6.conf.{name}.disable_ipv6): "
                            f"{err.strerror}") from None


def gratuitous_arp_frame(mac, ip):
    """An ARP request from ``mac``/``ip`` (bytes) for itself, to broadcast."""
    return (b"\xff" * 6 + mac + b"\x08\x06"              # Ethernet: broadcast, ARP
            + b"\x00\x01\x08\x00\x06\x04\x00\x01"      # Ethernet/IPv4, request
            + mac + ip + b"\x00" * 6 + ip)                  # sender = target = itself


class NetlinkAdapter:
    """Kernel access within one network namespace (``netns_path`` None: our own)."""

    def __init__(self, netns_path=None, netns_label=None):
        self.netns_path = netns_path
        self.netns_label = netns_label or netns_path
        self._rt = None
        self._pyroute2 = None
        self._others = collections.OrderedDict()
        self._root = None          # the adapter that opened this one (owns the closer pool)
        self._indexes = {}         # (netns_path, name) -> ifindex learnt while applying steps
        self._closer = None
        self._closing = collections.deque()
        self._max_others = None

    # -- opening -------------------------------------------------------------------
    def __enter__(self):
        missing = _pyroute2_missing()
        if missing is not None:
            raise MissingLibraryError("pyroute2", missing)
        if self.netns_path is None:
            self._rt = _rtnl.Rtnl(NetlinkError)
            return self
        if not os.path.exists(self.netns_path):
            raise UnderlayError(
                f"network namespace '{self.netns_label}' does not exist ({self.netns_path});"
                " it is never created implicitly", "netns", self.netns_label)
        self._rt = self._open_inside(lambda: _rtnl.Rtnl(NetlinkError))
        return self

    def _open_inside(self, factory):
        """``factory()`` called inside this adapter's namespace (a socket made there stays bound to it)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            try:
                target = os.open(self.netns_path, os.O_RDONLY)
            except OSError as err:
                raise UnderlayError(f"cannot open network namespace {self.netns_path}: {err.strerror}",
                                    "netns", self.netns_label) from None
            try:
                try:
                    _setns(target)
                except OSError as err:
                    raise UnderlayError(
                        f"cannot enter {self.netns_path}: {err.strerror} (is it a network namespace?)",
                        "netns", self.netns_label) from None
                try:
                    return factory()
                finally:
                    _setns(own)
            finally:
                os.close(target)
        finally:
            os.close(own)

    @property
    def _ipr(self):
        """pyroute2's IPRoute in this namespace, opened on first use (the rare steps)."""
        if self._pyroute2 is None:
            self._pyroute2 = _PyRoute2() if self.netns_path is None else self._open_inside(_PyRoute2)
        return self._pyroute2

    def __exit__(self, *exc_info):
        try:
            for other in self._others.values():
                other.__exit__(None, None, None)
            self._others = collections.OrderedDict()
            if self._rt is not None:
                self._rt.close()
                self._rt = None
            if self._pyroute2 is not None:
                self._pyroute2.close()
                self._pyroute2 = None
        finally:
            if self._closer is not None:
                self._closer.shutdown(wait=True)
                self._closer = None
                self._closing.clear()
        return False

    @property
    def where(self):
        return f"network namespace '{self.netns_label}'" if self.netns_path else "the host's network namespace"

    # -- reading -------------------------------------------------------------------
    def link(self, name):
        """The snapshot of interface ``name``, or None when there is none."""
        try:
            msg = self._rt.link(name=name)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise self._error(f"read interface '{name}'", err) from None
        return self._snapshot(msg)

    def link_by_index(self, index):
        try:
            return self._snapshot(self._rt.link(index=index))
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise self._error(f"read interface #{index}", err) from None

    def _snapshot(self, msg):
        """A ``LinkSnapshot`` of a raw link message (``(ifinfo, attrs)`` from ``_rtnl``)."""
        (_family, _type, index, flags, _change), nla = msg
        info = _rtnl.attrs(nla[_rtnl.IFLA_LINKINFO]) if _rtnl.IFLA_LINKINFO in nla else None
        kind = _rtnl.text(info.get(_rtnl.IFLA_INFO_KIND)) if info else None
        data = _rtnl.attrs(info[_rtnl.IFLA_INFO_DATA]) if info and _rtnl.IFLA_INFO_DATA in info else None
        vlan_id = protocol = mode = None
        if kind == "vlan" and data:
            if _rtnl.IFLA_VLAN_ID in data:
                vlan_id = struct.unpack_from("=H", data[_rtnl.IFLA_VLAN_ID])[0]
            raw = data.get(_rtnl.IFLA_VLAN_PROTOCOL)
            protocol = _protocol_name(struct.unpack_from(">H", raw)[0] if raw else None)
        if kind == "macvlan" and data:
            value = _rtnl.u32(data.get(_rtnl.IFLA_MACVLAN_MODE))
            mode = _MACVLAN_MODE_NAMES.get(value, str(value))
        master = _rtnl.u32(nla.get(_rtnl.IFLA_MASTER))
        isolated = None
        if info and _rtnl.text(info.get(_rtnl.IFLA_INFO_SLAVE_KIND)) == "bridge":
            slave = info.get(_rtnl.IFLA_INFO_SLAVE_DATA)
            if slave:
                flag = _rtnl.attrs(slave).get(_rtnl.IFLA_BRPORT_ISOLATED)
                isolated = bool(flag[0]) if flag else False
        parent_index = _rtnl.u32(nla.get(_rtnl.IFLA_LINK))
        parent = None
        if kind in ("vlan", "macvlan") and parent_index and _rtnl.IFLA_LINK_NETNSID not in nla:
            parent = _rtnl.text(self._rt.link(index=parent_index)[1].get(_rtnl.IFLA_IFNAME))
        return LinkSnapshot(
            name=_rtnl.text(nla.get(_rtnl.IFLA_IFNAME)),
            index=index,
            kind=kind,
            mtu=_rtnl.u32(nla.get(_rtnl.IFLA_MTU)),
            mac_address=_rtnl.mac_text(nla.get(_rtnl.IFLA_ADDRESS)),
            admin_state="up" if flags & IFF_UP else "down",
            parent=parent,
            parent_index=parent_index,
            vlan_id=vlan_id,
            protocol=protocol,
            mode=mode,
            master=master,
            isolated=isolated,
            addresses=self._addresses(index),
            alias=_rtnl.text(nla[_rtnl.IFLA_IFALIAS]) if nla.get(_rtnl.IFLA_IFALIAS) else None,
        )

    def _addresses(self, index):
        found = set()
        for (_family, prefixlen, _flags, _scope, owner), nla in self._rt.addresses(index=index):
            if owner != index:
                continue
            address = nla.get(_rtnl.IFA_LOCAL) or nla.get(_rtnl.IFA_ADDRESS)
            if address:
                found.add(f"{ipaddress.ip_address(address)}/{prefixlen}")
        return tuple(sorted(found, key=address_sort_key))

    def _main_routes(self, family):
        """``(rtmsg, attrs)`` of the main table's routes of ``family``."""
        return [(header, nla) for header, nla in self._rt.routes(family)
                if (_rtnl.u32(nla.get(_rtnl.RTA_TABLE)) or header[4]) == MAIN_TABLE]

    def routes(self, name):
        """Destinations (CIDR) of the main-table routes through interface ``name``."""
        link = self.link(name)
        if link is None:
            return ()
        found = set()
        for family in (2, 10):  # AF_INET, AF_INET6
            for header, nla in self._main_routes(family):
                if _rtnl.u32(nla.get(_rtnl.RTA_OIF)) != link.index or nla.get(_rtnl.RTA_GATEWAY):
                    continue
                dst = nla.get(_rtnl.RTA_DST)
                if dst is None:
                    continue
                net = ipaddress.ip_network(f"{ipaddress.ip_address(dst)}/{header[1]}", strict=False)
                if net.version == 6 and net.network_address.is_link_local:
                    continue
                found.add(str(net))
        return tuple(sorted(found))

    def ports(self, bridge):
        """Snapshots of the ports of bridge ``bridge`` (empty when it does not exist)."""
        link = self.link(bridge)
        if link is None:
            return ()
        return tuple(self._snapshot(msg) for msg in self._rt.links()
                     if _rtnl.u32(msg[1].get(_rtnl.IFLA_MASTER)) == link.index)

    def sysctl(self, key):
        """A sysctl of this namespace (``net.ipv4.ip_forward``), read inside it."""
        with self._inside():
            with open("/proc/sys/" + key.replace(".", "/"), encoding="ascii") as handle:
                return handle.read().strip()

    def op_sysctl_set(self, key, value):
        with self._inside():
            with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as handle:
                handle.write(str(value))

    @contextlib.contextmanager
    def _inside(self):
        """Run the body in this adapter's namespace (for /proc/sys/net, which follows the caller)."""
        if self.netns_path is None:
            yield
            return
        target = os.open(self.netns_path, os.O_RDONLY)
        try:
            with _entered(target):
                yield
        finally:
            os.close(target)

    def link_in(self, netns_path, name):
        """Snapshot of ``name`` in another namespace (None if it or the namespace is gone)."""
        if netns_path is not None and not os.path.exists(netns_path):
            return None
        with NetlinkAdapter(netns_path) as other:
            return other.link(name)

    # -- acting --------------------------------------------------------------------
    def other(self, netns_path):
        """An adapter for another namespace (kept open for the run; past _max_open_namespaces()
        the least recently used one is closed, and opened again should it be needed)."""
        if netns_path == self.netns_path:
            return self
        adapter = self._others.get(netns_path)
        if adapter is not None:
            self._others.move_to_end(netns_path)
            return adapter
        adapter = NetlinkAdapter(netns_path).__enter__()
        adapter._root = self._root or self
        self._others[netns_path] = adapter
        if self._max_others is None:
            self._max_others = _max_open_namespaces()
        while len(self._others) > self._max_others:
            self._others.popitem(last=False)[1].__exit__(None, None, None)
        return adapter

    def _close_later(self, sock):
        """Close a packet socket in the closer pool (its close waits for an RCU grace period;
        many closing at once share one), keeping at most MAX_CLOSING_PACKET_SOCKETS open."""
        root = self._root or self
        if root._closer is None:
            root._closer = ThreadPoolExecutor(max_workers=_CLOSER_THREADS, thread_name_prefix="underlay-close")
        root._closing.append(root._closer.submit(sock.close))
        while len(root._closing) > MAX_CLOSING_PACKET_SOCKETS:
            root._closing.popleft().result()

    def apply(self, step):
        """Carry out one plan step (``step.op`` names an ``op_*`` method; ``in_netns`` in its
        args, when present, names the namespace it acts in)."""
        args = dict(step.args)
        target = args.pop("in_netns", self.netns_path)
        adapter = self.other(target)
        # interface indexes are remembered from step to step; a removal (which may take other
        # links with it: a veth's peer, a parent's children) or a failure forgets them all
        forget = step.op.startswith("link_del")
        try:
            getattr(adapter, "op_" + step.op)(**args)
        except NetlinkError as err:
            forget = True
            raise adapter._error(step.action, err) from None
        except BaseException:
            forget = True
            raise
        finally:
            if forget:
                (self._root or self)._indexes.clear()

    def link_aliases(self):
        """``{name: ifalias or None}`` of every link of this namespace (one dump)."""
        return {_rtnl.text(nla.get(_rtnl.IFLA_IFNAME)): _rtnl.text(nla[_rtnl.IFLA_IFALIAS])
                if nla.get(_rtnl.IFLA_IFALIAS) else None for _header, nla in self._rt.links()}

    def gateway_routes(self):
        """``{dst: gateway}`` of main-table routes through a gateway (``default`` for 0/0)."""
        found = {}
        for header, nla in self._main_routes(socket.AF_INET):
            gateway = nla.get(_rtnl.RTA_GATEWAY)
            if not gateway:
                continue
            dst_len = header[1]
            dst = "default" if dst_len == 0 else f"{ipaddress.ip_address(nla.get(_rtnl.RTA_DST))}/{dst_len}"
            found[dst] = str(ipaddress.ip_address(gateway))
        return found

    def _index(self, name):
        indexes = (self._root or self)._indexes
        index = indexes.get((self.netns_path, name))
        if index is not None:
            return index
        try:
            index = self._rt.index(name)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                raise UnderlayError(f"interface '{name}' does not exist in {self.where}") from None
            raise
        indexes[(self.netns_path, name)] = index
        return index

    def op_link_add_vlan(self, name, parent, vlan_id, protocol, mtu=None):
        args = {"ifname": name, "kind": "vlan", "link": self._index(parent),
                "vlan_id": vlan_id, "vlan_protocol": VLAN_PROTOCOLS[protocol]}
        if mtu is not None:
            args["mtu"] = mtu
        try:
            self._ipr.link("add", **args)
        except NetlinkError as err:
            if err.code == errno.EOPNOTSUPP:
                raise UnderlayError(
                    f"cannot create VLAN sub-interface '{name}' (VLAN {vlan_id} on '{parent}'): this kernel "
                    "has no 802.1Q VLAN support (EOPNOTSUPP; it needs CONFIG_VLAN_8021Q or the 8021q module)",
                    "vlan_id", vlan_id) from None
            raise

    def op_link_add_macvlan(self, name, parent, mode):
        self._ipr.link("add", ifname=name, kind="macvlan", link=self._index(parent),
                       macvlan_mode=MACVLAN_MODES[mode])

    def op_endpoint_add_macvlan(self, target_netns, name, parent, mode, mac_address, index=0):
        """A macvlan child of ``parent`` made directly inside ``target_netns`` (no move), with
        IPv6 off (see ``_ipv6_off``). Left down: a later step sets it up. ``index``: the
        ifindex to take (re-creating a removed endpoint as it was), else the kernel's choice."""
        parent_index = self._index(parent)
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            self._rt.newlink(
                _rtnl.attr_str(_rtnl.IFLA_IFNAME, name), _rtnl.attr_u32(_rtnl.IFLA_LINK, parent_index),
                _rtnl.attr(_rtnl.IFLA_ADDRESS, _mac_bytes(mac_address)), _rtnl.attr_u32(_rtnl.IFLA_NET_NS_FD, fd),
                _rtnl.nested(_rtnl.IFLA_LINKINFO, _rtnl.attr_str(_rtnl.IFLA_INFO_KIND, "macvlan"),
                             _rtnl.nested(_rtnl.IFLA_INFO_DATA,
                                          _rtnl.attr_u32(_rtnl.IFLA_MACVLAN_MODE, MACVLAN_MODES[mode]))), index=index)
            with self._undo_on_failure((self._root or self).other(target_netns), name):
                with _entered(fd):
                    _ipv6_off(name)
        finally:
            os.close(fd)

    def op_endpoint_add_veth(self, target_netns, host_name, name, mac_address, bridge, isolated, index=0,
                             host_index=0, host_mac=None):
        """A veth pair: ``host_name`` here, a port of ``bridge`` (isolated when icc is off); its
        peer ``name`` in ``target_netns``, left down. IPv6 is off on both ends (see ``_ipv6_off``).
        ``index``, ``host_index`` and ``host_mac``, when given, re-create a removed endpoint as
        it was (a bridge's own MAC can follow the MACs of its ports)."""
        bridge_index = self._index(bridge)
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            peer = (_rtnl.IFINFO.pack(0, 0, index, 0, 0) + _rtnl.attr_str(_rtnl.IFLA_IFNAME, name)
                    + _rtnl.attr_u32(_rtnl.IFLA_NET_NS_FD, fd) + _rtnl.attr(_rtnl.IFLA_ADDRESS, _mac_bytes(mac_address)))
            host_address = (_rtnl.attr(_rtnl.IFLA_ADDRESS, _mac_bytes(host_mac)),) if host_mac else ()
            self._rt.newlink(
                _rtnl.attr_str(_rtnl.IFLA_IFNAME, host_name), *host_address,
                _rtnl.nested(_rtnl.IFLA_LINKINFO, _rtnl.attr_str(_rtnl.IFLA_INFO_KIND, "veth"),
                             _rtnl.nested(_rtnl.IFLA_INFO_DATA, _rtnl.nested(_rtnl.VETH_INFO_PEER, peer))),
                index=host_index)
            with self._undo_on_failure(self, host_name):  # removing one end removes both
                with _entered(fd):
                    _ipv6_off(name)
                with self._inside():
                    _ipv6_off(host_name)
                index = self._index(host_name)
                self._rt.setlink(index, _rtnl.attr_u32(_rtnl.IFLA_MASTER, bridge_index))
                if isolated:
                    self._set_isolated(index, True)
                self._rt.setlink(index, up=True)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _undo_on_failure(self, adapter, name):
        """A step made of several requests removes the link it made if a later request fails
        (the transaction undoes only the steps that completed)."""
        try:
            yield
        except BaseException:
            try:
                adapter._rt.dellink(adapter._index(name))
            except (NetlinkError, UnderlayError):
                pass
            finally:
                (self._root or self)._indexes.clear()
            raise

    def _set_isolated(self, index, isolated):
        self._rt.setlink(index, _rtnl.nested(_rtnl.IFLA_PROTINFO,
                                             _rtnl.attr(_rtnl.IFLA_BRPORT_ISOLATED, bytes([1 if isolated else 0]))),
                         family=_rtnl.AF_BRIDGE)

    def op_gratuitous_arp(self, name, address, mac_address):
        """Announce ``address`` at ``mac_address`` on ``name`` (an ARP request for itself, sent to
        broadcast), so neighbours update stale entries at once, as Docker does after attach.
        A link without carrier cannot send: that is not worth undoing the endpoint for."""
        frame = gratuitous_arp_frame(bytes.fromhex(mac_address.replace(":", "")),
                                     ipaddress.IPv4Address(address).packed)
        with self._inside():
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            sock.bind((name, 0))
            sock.send(frame)
        except OSError as err:
            if err.errno not in (errno.ENETDOWN, errno.ENXIO, errno.ENOBUFS):
                raise UnderlayError(f"gratuitous ARP on '{name}' failed: {err.strerror}") from None
        finally:
            self._close_later(sock)

    def op_link_set_mac(self, name, mac_address):
        self._rt.setlink(self._index(name), _rtnl.attr(_rtnl.IFLA_ADDRESS, _mac_bytes(mac_address)))

    def op_route_add_via(self, dst, gateway):
        self._rt.route(True, **_via(dst, gateway))

    def op_route_del_via(self, dst, gateway):
        self._rt.route(False, **_via(dst, gateway))

    def op_link_add_bridge(self, name, mtu=None):
        args = {"ifname": name, "kind": "bridge"}
        if mtu is not None:
            args["mtu"] = mtu
        self._ipr.link("add", **args)

    def op_port_set_isolated(self, name, isolated):
        self._set_isolated(self._index(name), isolated)

    def op_link_set_macvlan_mode(self, name, mode, netns_path=None):
        if netns_path is not None and netns_path != self.netns_path:
            with NetlinkAdapter(netns_path) as other:
                other.op_link_set_macvlan_mode(name, mode)
            return
        self._ipr.link("set", index=self._index(name), kind="macvlan", macvlan_mode=MACVLAN_MODES[mode])

    def op_link_del_in_netns(self, netns_path, name):
        """Remove ``name`` from another namespace; already gone (or the namespace) is fine."""
        if netns_path is not None and not os.path.exists(netns_path):
            return
        with NetlinkAdapter(netns_path) as other:
            if other.link(name) is not None:
                other.op_link_del(name)

    def op_route_add(self, name, dst):
        net = ipaddress.ip_network(dst)
        self._rt.route(True, net.network_address.packed, net.prefixlen, oif=self._index(name),
                       scope=_rtnl.RT_SCOPE_LINK, family=_family(net))

    def op_route_del(self, name, dst):
        net = ipaddress.ip_network(dst)
        self._rt.route(False, net.network_address.packed, net.prefixlen, oif=self._index(name),
                       scope=_rtnl.RT_SCOPE_LINK, family=_family(net))

    def op_link_set(self, name, mtu=None, admin_state=None):
        parts = [_rtnl.attr_u32(_rtnl.IFLA_MTU, mtu)] if mtu is not None else []
        self._rt.setlink(self._index(name), *parts, up=None if admin_state is None else admin_state == "up")

    def op_link_rename(self, name, new_name, alias=None):
        """Rename ``name``; with ``alias``, set its ifalias in the same request."""
        index = self._index(name)
        parts = [_rtnl.attr_str(_rtnl.IFLA_IFNAME, new_name)]
        if alias is not None:
            parts.append(_rtnl.attr_str(_rtnl.IFLA_IFALIAS, alias))
        self._rt.setlink(index, *parts)
        indexes = (self._root or self)._indexes
        indexes.pop((self.netns_path, name), None)
        indexes[(self.netns_path, new_name)] = index

    def op_link_del(self, name):
        self._rt.dellink(self._index(name))

    def op_addr_add(self, name, address):
        iface = ipaddress.ip_interface(address)
        self._rt.address(True, self._index(name), iface.ip.packed, iface.network.prefixlen, family=_family(iface))

    def op_addr_del(self, name, address):
        iface = ipaddress.ip_interface(address)
        self._rt.address(False, self._index(name), iface.ip.packed, iface.network.prefixlen, family=_family(iface))

    # -- errors --------------------------------------------------------------------
    def _error(self, action, err):
        text = _ERRNO_TEXT.get(err.code, os.strerror(err.code) if err.code else str(err))
        return UnderlayError(f"{action} failed in {self.where}: {text} ({errno.errorcode.get(err.code, err.code)})")


def _via(dst, gateway):
    """Route arguments for ``dst`` (a CIDR or ``default``) through ``gateway``."""
    net = ipaddress.ip_network("0.0.0.0/0" if dst == "default" else dst)
    return {"packed_dst": net.network_address.packed, "dst_len": net.prefixlen,
            "gateway": ipaddress.ip_address(gateway).packed, "family": _family(net)}


def _family(value):
    return socket.AF_INET if value.version == 4 else socket.AF_INET6


def _mac_bytes(mac_address):
    return bytes.fromhex(mac_address.replace(":", "").replace("-", ""))


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
