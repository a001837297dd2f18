# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The frequent steps of the netlink adapter, through the hand codec: making an endpoint
(macvlan, ipvlan or veth) directly in its namespace, an ipvlan network's own links
(pyroute2 cannot set an ipvlan's flag), renaming, MTU/state/MAC, addresses, routes,
bridge port isolation, removal, a sysctl, an endpoint's IPv6 settings, the gratuitous ARP and
its IPv6 counterpart, the unsolicited neighbour advertisement."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket

from ansible_collections.underlay.network.plugins.module_utils import _netns
from ansible_collections.underlay.network.plugins.module_utils import _rtnl_codec as rtnl
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._packet_sockets import (
    gratuitous_arp_frame,
    unsolicited_na_message,
)

NetlinkError = rtnl.RtnlError


class LinkWrites:
    """The hand-codec half of ``NetlinkAdapter``'s steps (``self._rt``: its ``Rtnl``)."""

    def op_endpoint_add_macvlan(self, target_netns, name, parent, mode, mac_address, index=0, mtu=None):
        """A macvlan child of ``parent`` made directly inside ``target_netns`` (no move), with
        IPv6 off (see ``_netns.ipv6_off``). Left down: a later step sets it up. ``index``: the
        ifindex to take (re-creating a removed endpoint as it was), else the kernel's choice;
        ``mtu``: its MTU, else the parent's."""
        parent_index = self._index(parent)
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            self._rt.newlink(
                rtnl.attr_str(rtnl.IFLA_IFNAME, name), rtnl.attr_u32(rtnl.IFLA_LINK, parent_index),
                rtnl.attr(rtnl.IFLA_ADDRESS, _mac_bytes(mac_address)), rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, fd),
                *_mtu(mtu),
                rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "macvlan"),
                            rtnl.nested(rtnl.IFLA_INFO_DATA,
                                        rtnl.attr_u32(rtnl.IFLA_MACVLAN_MODE, rtnl.MACVLAN_MODES[mode]))),
                index=index)
            with self._undo_on_failure(self._root_adapter().other(target_netns), name):
                with _netns.entered(fd):
                    _netns.ipv6_off(name)
        finally:
            os.close(fd)

    def op_endpoint_add_ipvlan(self, target_netns, name, parent, mode, flag, index=0, mtu=None):
        """An ipvlan child of ``parent`` made directly inside ``target_netns``, as
        ``op_endpoint_add_macvlan`` makes a macvlan; it has the parent's MAC address."""
        parent_index = self._index(parent)
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            self._add_ipvlan(name, parent, mode, flag, rtnl.attr_u32(rtnl.IFLA_LINK, parent_index),
                             rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, fd), *_mtu(mtu), index=index)
            with self._undo_on_failure(self._root_adapter().other(target_netns), name):
                with _netns.entered(fd):
                    _netns.ipv6_off(name)
        finally:
            os.close(fd)

    def op_link_add_ipvlan(self, name, parent, mode, flag):
        """An ipvlan network's own link here (its host access interface)."""
        self._add_ipvlan(name, parent, mode, flag, rtnl.attr_u32(rtnl.IFLA_LINK, self._index(parent)))

    def _add_ipvlan(self, name, parent, mode, flag, *parts, index=0):
        try:
            self._rt.newlink(rtnl.attr_str(rtnl.IFLA_IFNAME, name), *parts, rtnl.ipvlan_info(mode, flag), index=index)
        except NetlinkError as err:
            if err.code == errno.EOPNOTSUPP:
                raise UnderlayError(
                    f"cannot create ipvlan '{name}' on '{parent}': this kernel has no ipvlan support (EOPNOTSUPP;"
                    " it needs CONFIG_IPVLAN or the ipvlan module)", "parent", parent) from None
            if err.code == errno.EBUSY:
                raise UnderlayError(
                    f"cannot create ipvlan '{name}' on '{parent}': the kernel refuses (EBUSY): '{parent}' already"
                    " carries macvlan links, and one parent cannot carry both", "parent", parent) from None
            raise

    def op_link_set_ipvlan_mode(self, name, mode, flag):
        """Set an ipvlan link's mode and flag (the kernel keeps them per parent: every ipvlan of
        the parent changes with it)."""
        self._rt.changelink(self._index(name), rtnl.ipvlan_info(mode, flag))

    def op_endpoint_add_veth(self, target_netns, host_name, name, mac_address, bridge, isolated, index=0,
                             host_index=0, host_mac=None, mtu=None):
        """A veth pair: ``host_name`` here, a port of ``bridge`` (isolated when icc is off); its
        peer ``name`` in ``target_netns``, left down. IPv6 is off on both ends (see
        ``_netns.ipv6_off``). ``index``, ``host_index`` and ``host_mac``, when given, re-create a
        removed endpoint as it was (a bridge's own MAC can follow the MACs of its ports);
        ``mtu``, when given, is both ends' MTU (else the kernel's default)."""
        bridge_index = self._index(bridge)
        fd = os.open(target_netns, os.O_RDONLY)
        try:
            peer = (rtnl.IFINFO.pack(0, 0, index, 0, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, name)
                    + rtnl.attr_u32(rtnl.IFLA_NET_NS_FD, fd) + rtnl.attr(rtnl.IFLA_ADDRESS, _mac_bytes(mac_address))
                    + b"".join(_mtu(mtu)))
            host_address = (rtnl.attr(rtnl.IFLA_ADDRESS, _mac_bytes(host_mac)),) if host_mac else ()
            self._rt.newlink(
                rtnl.attr_str(rtnl.IFLA_IFNAME, host_name), *host_address, *_mtu(mtu),
                rtnl.nested(rtnl.IFLA_LINKINFO, rtnl.attr_str(rtnl.IFLA_INFO_KIND, "veth"),
                            rtnl.nested(rtnl.IFLA_INFO_DATA, rtnl.nested(rtnl.VETH_INFO_PEER, peer))),
                index=host_index)
            with self._undo_on_failure(self, host_name):  # removing one end removes both
                with _netns.entered(fd):
                    _netns.ipv6_off(name)
                with _netns.inside(self.netns_path):
                    _netns.ipv6_off(host_name)
                index = self._index(host_name)
                self._rt.setlink(index, rtnl.attr_u32(rtnl.IFLA_MASTER, bridge_index))
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
                self._root_adapter().forget_indexes()
            raise

    def _set_isolated(self, index, isolated):
        self._rt.setlink(index, rtnl.nested(rtnl.IFLA_PROTINFO,
                                            rtnl.attr(rtnl.IFLA_BRPORT_ISOLATED, bytes([1 if isolated else 0]))),
                         family=rtnl.AF_BRIDGE)

    def op_gratuitous_arp(self, name, address, mac_address):
        """Announce ``address`` at ``mac_address`` on ``name`` (an ARP request for itself, sent to
        broadcast), so neighbours update stale entries at once, as Docker does after attach.
        A link without carrier cannot send: that is not worth undoing the endpoint for."""
        if mac_address is None:  # an ipvlan endpoint: the MAC is its parent's
            mac_address = self.link(name).mac_address
        frame = gratuitous_arp_frame(bytes.fromhex(mac_address.replace(":", "")),
                                     ipaddress.IPv4Address(address).packed)
        with _netns.inside(self.netns_path):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            sock.bind((name, 0))
            sock.send(frame)
        except OSError as err:
            if err.errno not in (errno.ENETDOWN, errno.ENXIO, errno.ENOBUFS):
                raise UnderlayError(f"gratuitous ARP on '{name}' failed: {err.strerror}") from None
        finally:
            self._root_adapter().closer.close_later(sock)

    def op_unsolicited_na(self, name, address, mac_address):
        """Announce IPv6 ``address`` at ``mac_address`` on ``name``: an unsolicited neighbour
        advertisement with the override flag to all nodes (ff02::1), IPv6's gratuitous ARP
        (RFC 4861 7.2.6), sent from the address itself (usable at once: it was added without
        DAD) with hop limit 255, through a raw ICMPv6 socket in the namespace (the kernel fills
        in the checksum). As for the ARP, a link that cannot send is not worth undoing for."""
        if mac_address is None:  # an ipvlan endpoint: the MAC is its parent's
            mac_address = self.link(name).mac_address
        message = unsolicited_na_message(bytes.fromhex(mac_address.replace(":", "")),
                                         ipaddress.IPv6Address(address).packed)
        with _netns.inside(self.netns_path):
            sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        try:
            index = self._index(name)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            sock.bind((str(address), 0, 0, 0))
            sock.sendto(message, ("ff02::1", 0, 0, index))
        except OSError as err:
            if err.errno not in (errno.ENETDOWN, errno.ENXIO, errno.ENOBUFS, errno.EADDRNOTAVAIL):
                raise UnderlayError(f"unsolicited neighbour advertisement on '{name}' failed: {err.strerror}") \
                    from None
        finally:
            sock.close()

    def op_endpoint_ipv6_on(self, name):
        """IPv6 on for endpoint ``name`` of a dual-stack network (see ``_netns.ipv6_endpoint``)."""
        with _netns.inside(self.netns_path):
            _netns.ipv6_endpoint(name)

    def op_endpoint_ipv6_off(self, name):
        """IPv6 off again on endpoint ``name`` (the undo of ``endpoint_ipv6_on``)."""
        with _netns.inside(self.netns_path):
            _netns.ipv6_off(name)

    def op_sysctl_set(self, key, value):
        with _netns.inside(self.netns_path):
            with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as handle:
                handle.write(str(value))

    def op_link_set_mac(self, name, mac_address):
        self._rt.setlink(self._index(name), rtnl.attr(rtnl.IFLA_ADDRESS, _mac_bytes(mac_address)))

    def op_route_add_via(self, dst, gateway, name=None):
        """Route ``dst`` through ``gateway``; with ``name``, on that link and ``onlink``: an
        endpoint's IPv6 default route, which would otherwise wait for the kernel to install the
        prefix route of its address (IPv6 does that only once the link is operationally up, up
        to a second after it was set up, when linkwatch gets to it)."""
        on_link = {"oif": self._index(name), "rt_flags": rtnl.RTNH_F_ONLINK} if name else {}
        self._rt.route(True, **_via(dst, gateway), **on_link)

    def op_route_del_via(self, dst, gateway):
        self._rt.route(False, **_via(dst, gateway))

    def op_port_set_isolated(self, name, isolated):
        self._set_isolated(self._index(name), isolated)

    def op_route_add(self, name, dst):
        net = ipaddress.ip_network(dst)
        self._rt.route(True, net.network_address.packed, net.prefixlen, oif=self._index(name),
                       scope=rtnl.RT_SCOPE_LINK, family=_family(net))

    def op_route_del(self, name, dst):
        net = ipaddress.ip_network(dst)
        self._rt.route(False, net.network_address.packed, net.prefixlen, oif=self._index(name),
                       scope=rtnl.RT_SCOPE_LINK, family=_family(net))

    def op_link_set(self, name, mtu=None, admin_state=None):
        parts = [rtnl.attr_u32(rtnl.IFLA_MTU, mtu)] if mtu is not None else []
        self._rt.setlink(self._index(name), *parts, up=None if admin_state is None else admin_state == "up")

    def op_link_rename(self, name, new_name, alias=None):
        """Rename ``name``; with ``alias``, set its ifalias in the same request."""
        index = self._index(name)
        parts = [rtnl.attr_str(rtnl.IFLA_IFNAME, new_name)]
        if alias is not None:
            parts.append(rtnl.attr_str(rtnl.IFLA_IFALIAS, alias))
        self._rt.setlink(index, *parts)
        self._root_adapter().learn_index(self.netns_path, name, new_name, index)

    def op_link_del(self, name):
        self._rt.dellink(self._index(name))

    def op_link_del_if_present(self, name):
        """Remove ``name``; already gone is fine (and so is its namespace: see ``apply``)."""
        if self.link(name) is not None:
            self.op_link_del(name)

    def op_addr_add(self, name, address, nodad=False):
        """Add ``address`` (CIDR) to ``name``; ``nodad``: an IPv6 address usable at once, without
        duplicate address detection (IFA_F_NODAD), as an endpoint's and a bridge's gateway are."""
        iface = ipaddress.ip_interface(address)
        self._rt.address(True, self._index(name), iface.ip.packed, iface.network.prefixlen, family=_family(iface),
                         ifa_flags=rtnl.ADDRESS_NODAD if nodad and iface.version == 6 else 0)

    def op_addr_del(self, name, address):
        iface = ipaddress.ip_interface(address)
        self._rt.address(False, self._index(name), iface.ip.packed, iface.network.prefixlen, family=_family(iface))

    OPS = {
        "endpoint_add_macvlan": op_endpoint_add_macvlan,
        "endpoint_add_veth": op_endpoint_add_veth,
        "endpoint_add_ipvlan": op_endpoint_add_ipvlan,
        "link_add_ipvlan": op_link_add_ipvlan,
        "link_set_ipvlan_mode": op_link_set_ipvlan_mode,
        "gratuitous_arp": op_gratuitous_arp,
        "unsolicited_na": op_unsolicited_na,
        "endpoint_ipv6_on": op_endpoint_ipv6_on,
        "endpoint_ipv6_off": op_endpoint_ipv6_off,
        "sysctl_set": op_sysctl_set,
        "link_set_mac": op_link_set_mac,
        "route_add_via": op_route_add_via,
        "route_del_via": op_route_del_via,
        "port_set_isolated": op_port_set_isolated,
        "route_add": op_route_add,
        "route_del": op_route_del,
        "link_set": op_link_set,
        "link_rename": op_link_rename,
        "link_del": op_link_del,
        "link_del_if_present": op_link_del_if_present,
        "addr_add": op_addr_add,
        "addr_del": op_addr_del,
    }


def _via(dst, gateway):
    """Route arguments for ``dst`` (a CIDR or ``default``) through ``gateway``."""
    if dst == "default":
        dst = "0.0.0.0/0" if ipaddress.ip_address(gateway).version == 4 else "::/0"
    net = ipaddress.ip_network(dst)
    return {"packed_dst": net.network_address.packed, "dst_len": net.prefixlen,
            "gateway": ipaddress.ip_address(gateway).packed, "family": _family(net)}


def _family(value):
    return socket.AF_INET if value.version == 4 else socket.AF_INET6


def _mtu(mtu):
    """The IFLA_MTU attribute of a new link, when ``mtu`` is given."""
    return (rtnl.attr_u32(rtnl.IFLA_MTU, mtu),) if mtu is not None else ()


def _mac_bytes(mac_address):
    return bytes.fromhex(mac_address.replace(":", "").replace("-", ""))
