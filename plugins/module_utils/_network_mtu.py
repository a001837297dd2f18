# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MTU of networks and endpoints: its floor (a function of the network: 68 for IPv4, 1280
when the network carries IPv6), its ceiling (an endpoint's uplink: the parent of a macvlan or
ipvlan network, a bridge network's bridge) and what an endpoint inherits. Pure."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

IPV4_FLOOR = 68     # RFC 791: every IPv4 host takes a 68-byte datagram unfragmented
IPV6_FLOOR = 1280   # RFC 8200: every IPv6 link carries 1280 bytes
CEILING = 65535


def subnets(definition):
    """The subnets a stored definition carries; the floor looks at their IP versions (dual stack
    adds its IPv6 subnet here, and every MTU check follows)."""
    found = [ipaddress.ip_network(definition["ipam"]["subnet"])]
    if definition.get("ipam6"):
        found.append(ipaddress.ip_network(definition["ipam6"]["subnet"]))
    return found


def floor(networks):
    """The least MTU a network with these subnets allows."""
    return IPV6_FLOOR if any(net.version == 6 for net in networks) else IPV4_FLOOR


def checked(field, value, networks=()):
    """``value`` (None: not given) as an MTU a network with subnets ``networks`` allows."""
    if value is None:
        return None
    number = v.integer(field, value, 0, CEILING)
    low = floor(networks)
    if number < low:
        why = "a network with IPv6 allows (RFC 8200)" if low == IPV6_FLOOR else "IPv4 allows (RFC 791)"
        raise UnderlayError(f"{number} is below {low}, the least MTU {why}", field, value)
    return number


def uplink_name(definition):
    """The link an endpoint of ``definition`` hangs off, whose MTU it cannot exceed: the parent
    (macvlan, ipvlan), else the bridge."""
    return definition.get("parent") or definition.get("bridge_name")


def uplink_label(definition):
    """``parent 'eth0.100'`` or ``bridge 'br-...'``: the uplink, as a message names it."""
    kind = "parent" if definition.get("parent") else "bridge"
    return f"{kind} '{uplink_name(definition)}'"


def describe_uplink(definition):
    return f"the {uplink_label(definition)} of network '{definition['name']}'"


def check_ceiling(field, mtu, uplink, what):
    """Refuse ``mtu`` above the MTU of ``uplink`` (a LinkSnapshot, or None when not there yet):
    the kernel refuses a macvlan or ipvlan larger than its parent, and a bridge would drop what
    its own MTU cannot carry."""
    if mtu is not None and uplink is not None and uplink.mtu is not None and mtu > uplink.mtu:
        raise UnderlayError(f"{mtu} is above the MTU {uplink.mtu} of {what}; raise that MTU first", field, mtu)
    return mtu


def endpoint_mtu(explicit, definition, uplink):
    """The MTU an endpoint is to have: its own (``explicit``), else its network's, else (a
    network on a parent) the parent's current MTU; None when the kernel's default is the answer
    (a bridge network without ``mtu``)."""
    if explicit is not None:
        return explicit
    if definition.get("mtu") is not None:
        return definition["mtu"]
    if definition.get("parent") and uplink is not None:
        return uplink.mtu
    return None
