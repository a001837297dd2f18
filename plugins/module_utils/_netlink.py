# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: the only place that talks to the kernel (and imports pyroute2).

It reads kernel state into plain snapshots and carries out plan steps, turning netlink
errors into ``UnderlayError`` messages a user can act on. A namespace is entered with
setns(2) only for as long as it takes to open the netlink socket (the socket stays bound
to that namespace), which is far cheaper than a helper process per namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils._errors import (
    MissingLibraryError,
    UnderlayError,
)
from ansible_collections.underlay.network.plugins.module_utils._validation import (
    VLAN_PROTOCOLS,
    address_sort_key,
)

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError as exc:  # reported by the module shell through missing_required_lib
    IPRoute = None
    NetlinkError = None
    PYROUTE2_IMPORT_ERROR = exc
else:
    PYROUTE2_IMPORT_ERROR = None

CLONE_NEWNET = 0x40000000
IFF_UP = 0x1
_PROTOCOL_NAMES = {number: name for name, number in VLAN_PROTOCOLS.items()}
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
_MACVLAN_MODE_NAMES = {number: name for name, number in MACVLAN_MODES.items()}
MAIN_TABLE = 254
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


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class NetlinkAdapter:
    """Kernel access within one network namespace (``netns_path`` None: our own)."""

    def __init__(self, netns_path=None, netns_label=None):
        self.netns_path = netns_path
        self.netns_label = netns_label or netns_path
        self._ipr = None
        self._others = {}

    # -- opening -------------------------------------------------------------------
    def __enter__(self):
        if IPRoute is None:
            raise MissingLibraryError("pyroute2", PYROUTE2_IMPORT_ERROR)
        if self.netns_path is None:
            self._ipr = IPRoute()
            return self
        if not os.path.exists(self.netns_path):
            raise UnderlayError(
                f"network namespace '{self.netns_label}' does not exist ({self.netns_path});"
                " it is never created implicitly", "netns", self.netns_label)
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
                    self._ipr = IPRoute()
                finally:
                    _setns(own)
            finally:
                os.close(target)
        finally:
            os.close(own)
        return self

    def __exit__(self, *exc_info):
        for other in self._others.values():
            other.__exit__(None, None, None)
        self._others = {}
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
        return False

    @property
    def where(self):
        return f"network namespace '{self.netns_label}'" if self.netns_path else "the host's network namespace"

    # -- reading -------------------------------------------------------------------
    def link(self, name):
        """The snapshot of interface ``name``, or None when there is none."""
        try:
            msg = self._ipr.link("get", ifname=name)[0]
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise self._error(f"read interface '{name}'", err) from None
        return self._snapshot(msg)

    def link_by_index(self, index):
        try:
            return self._snapshot(self._ipr.link("get", index=index)[0])
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise self._error(f"read interface #{index}", err) from None

    def _snapshot(self, msg):
        info = msg.get("IFLA_LINKINFO")
        kind = info.get("IFLA_INFO_KIND") if info else None
        data = info.get("IFLA_INFO_DATA") if info else None
        vlan_id = protocol = mode = None
        if kind == "vlan" and data:
            vlan_id = data.get("IFLA_VLAN_ID")
            protocol = _protocol_name(data.get("IFLA_VLAN_PROTOCOL"))
        if kind == "macvlan" and data:
            mode = _MACVLAN_MODE_NAMES.get(data.get("IFLA_MACVLAN_MODE"), str(data.get("IFLA_MACVLAN_MODE")))
        master = msg.get("IFLA_MASTER")
        isolated = None
        if info and info.get("IFLA_INFO_SLAVE_KIND") == "bridge":
            slave = info.get("IFLA_INFO_SLAVE_DATA")
            isolated = bool(slave.get("IFLA_BRPORT_ISOLATED")) if slave else None
        parent_index = msg.get("IFLA_LINK")
        parent = None
        if kind in ("vlan", "macvlan") and parent_index and msg.get("IFLA_LINK_NETNSID") is None:
            parent_msg = self._ipr.link("get", index=parent_index)[0]
            parent = parent_msg.get("IFLA_IFNAME")
        return LinkSnapshot(
            name=msg.get("IFLA_IFNAME"),
            index=msg["index"],
            kind=kind,
            mtu=msg.get("IFLA_MTU"),
            mac_address=(msg.get("IFLA_ADDRESS") or None),
            admin_state="up" if msg["flags"] & IFF_UP else "down",
            parent=parent,
            parent_index=parent_index,
            vlan_id=vlan_id,
            protocol=protocol,
            mode=mode,
            master=master,
            isolated=isolated,
            addresses=self._addresses(msg["index"]),
        )

    def _addresses(self, index):
        found = set()
        for msg in self._ipr.get_addr(index=index):
            if msg.get("index") != index:
                continue
            address = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
            if address:
                found.add(f"{ipaddress.ip_address(address)}/{msg['prefixlen']}")
        return tuple(sorted(found, key=address_sort_key))

    def routes(self, name):
        """Destinations (CIDR) of the main-table routes through interface ``name``."""
        link = self.link(name)
        if link is None:
            return ()
        found = set()
        for family in (2, 10):  # AF_INET, AF_INET6
            for msg in self._ipr.get_routes(family=family, oif=link.index, table=MAIN_TABLE):
                if msg.get("RTA_OIF") != link.index or msg.get("RTA_TABLE", MAIN_TABLE) != MAIN_TABLE:
                    continue
                if msg.get("RTA_GATEWAY"):
                    continue
                dst = msg.get("RTA_DST")
                if dst is None:
                    continue
                net = ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False)
                if net.version == 6 and net.network_address.is_link_local:
                    continue
                found.add(str(net))
        return tuple(sorted(found))

    def ports(self, bridge):
        """Snapshots of the ports of bridge ``bridge`` (empty when it does not exist)."""
        link = self.link(bridge)
        if link is None:
            return ()
        return tuple(self._snapshot(msg) for msg in self._ipr.get_links() if msg.get("IFLA_MASTER") == link.index)

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
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.netns_path, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def link_in(self, netns_path, name):
        """Snapshot of ``name`` in another namespace (None if it or the namespace is gone)."""
        if netns_path is not None and not os.path.exists(netns_path):
            return None
        with NetlinkAdapter(netns_path) as other:
            return other.link(name)

    # -- acting --------------------------------------------------------------------
    def other(self, netns_path):
        """An adapter for another namespace, opened once per run."""
        if netns_path == self.netns_path:
            return self
        if netns_path not in self._others:
            self._others[netns_path] = NetlinkAdapter(netns_path).__enter__()
        return self._others[netns_path]

    def apply(self, step):
        """Carry out one plan step (``step.op`` names an ``op_*`` method; ``in_netns`` in its
        args, when present, names the namespace it acts in)."""
        args = dict(step.args)
        target = args.pop("in_netns", self.netns_path)
        adapter = self.other(target)
        try:
            getattr(adapter, "op_" + step.op)(**args)
        except NetlinkError as err:
            raise adapter._error(step.action, err) from None

    def link_names(self):
        return {msg.get("IFLA_IFNAME") for msg in self._ipr.get_links()}

    def gateway_routes(self):
        """``{dst: gateway}`` of main-table routes through a gateway (``default`` for 0/0)."""
        found = {}
        for msg in self._ipr.get_routes(family=2, table=MAIN_TABLE):
            gateway = msg.get("RTA_GATEWAY")
            if not gateway or msg.get("RTA_TABLE", MAIN_TABLE) != MAIN_TABLE:
                continue
            dst = "default" if msg["dst_len"] == 0 else f"{msg.get('RTA_DST')}/{msg['dst_len']}"
            found[dst] = gateway
        return found

    def _index(self, name):
        try:
            return self._ipr.link("get", ifname=name)[0]["index"]
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                raise UnderlayError(f"interface '{name}' does not exist in {self.where}") from None
            raise

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

    def op_endpoint_add_macvlan(self, target_netns, name, parent, mode, mac_address):
        """A macvlan child of ``parent`` made directly inside ``target_netns`` (no move)."""
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            self._ipr.link("add", ifname=name, kind="macvlan", link=self._index(parent),
                           macvlan_mode=MACVLAN_MODES[mode], address=mac_address, net_ns_fd=fd)
        finally:
            os.close(fd)

    def op_endpoint_add_veth(self, target_netns, host_name, name, mac_address, bridge, isolated):
        """A veth pair: ``host_name`` here, a port of ``bridge``; its peer ``name`` in ``target_netns``."""
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            self._ipr.link("add", ifname=host_name, kind="veth",
                           peer={"ifname": name, "net_ns_fd": fd, "address": mac_address})
        finally:
            os.close(fd)
        index = self._index(host_name)
        self._ipr.link("set", index=index, master=self._index(bridge))
        if isolated:
            self._ipr.brport("set", index=index, isolated=1)
        self._ipr.link("set", index=index, state="up")

    def op_gratuitous_arp(self, name, address, mac_address):
        """Announce ``address`` at ``mac_address`` on ``name`` (an ARP request for itself, sent to
        broadcast), so neighbours update stale entries at once, as Docker does after attach.
        A link without carrier cannot send: that is not worth undoing the endpoint for."""
        mac = bytes.fromhex(mac_address.replace(":", ""))
        ip = ipaddress.IPv4Address(address).packed
        frame = (b"\xff" * 6 + mac + b"\x08\x06"              # Ethernet: broadcast, ARP
                 + b"\x00\x01\x08\x00\x06\x04\x00\x01"      # Ethernet/IPv4, request
                 + mac + ip + b"\x00" * 6 + ip)                  # sender = target = itself
        with self._inside():
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
                try:
                    sock.bind((name, 0))
                    sock.send(frame)
                except OSError as err:
                    if err.errno not in (errno.ENETDOWN, errno.ENXIO, errno.ENOBUFS):
                        raise UnderlayError(f"gratuitous ARP on '{name}' failed: {err.strerror}") from None

    def op_link_set_mac(self, name, mac_address):
        self._ipr.link("set", index=self._index(name), address=mac_address)

    def op_route_add_via(self, dst, gateway):
        self._ipr.route("add", **_via(dst, gateway))

    def op_route_del_via(self, dst, gateway):
        self._ipr.route("del", **_via(dst, gateway))

    def op_link_add_bridge(self, name, mtu=None):
        args = {"ifname": name, "kind": "bridge"}
        if mtu is not None:
            args["mtu"] = mtu
        self._ipr.link("add", **args)

    def op_port_set_isolated(self, name, isolated):
        self._ipr.brport("set", index=self._index(name), isolated=1 if isolated else 0)

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
        self._ipr.route("add", dst=str(net.network_address), dst_len=net.prefixlen, oif=self._index(name),
                        scope=253)  # RT_SCOPE_LINK

    def op_route_del(self, name, dst):
        net = ipaddress.ip_network(dst)
        self._ipr.route("del", dst=str(net.network_address), dst_len=net.prefixlen, oif=self._index(name),
                        scope=253)

    def op_link_set(self, name, mtu=None, admin_state=None):
        args = {"index": self._index(name)}
        if mtu is not None:
            args["mtu"] = mtu
        if admin_state is not None:
            args["state"] = admin_state
        self._ipr.link("set", **args)

    def op_link_rename(self, name, new_name):
        self._ipr.link("set", index=self._index(name), ifname=new_name)

    def op_link_del(self, name):
        self._ipr.link("del", index=self._index(name))

    def op_addr_add(self, name, address):
        iface = ipaddress.ip_interface(address)
        self._ipr.addr("add", index=self._index(name), address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def op_addr_del(self, name, address):
        iface = ipaddress.ip_interface(address)
        self._ipr.addr("del", index=self._index(name), address=str(iface.ip), prefixlen=iface.network.prefixlen)

    # -- errors --------------------------------------------------------------------
    def _error(self, action, err):
        text = _ERRNO_TEXT.get(err.code, os.strerror(err.code) if err.code else str(err))
        return UnderlayError(f"{action} failed in {self.where}: {text} ({errno.errorcode.get(err.code, err.code)})")


def _via(dst, gateway):
    """Route arguments for ``dst`` (a CIDR or ``default``) through ``gateway``."""
    net = ipaddress.ip_network("0.0.0.0/0" if dst == "default" else dst)
    return {"dst": str(net.network_address), "dst_len": net.prefixlen, "gateway": gateway}


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
