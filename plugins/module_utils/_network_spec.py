# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of what every network definition shares: name, subnet, gateway, ip_range,
aux_addresses (Docker's ``--subnet --gateway --ip-range --aux-address``) and the IPv6 side
of a dual-stack network (``ipv6_subnet``, ``ipv6_gateway``, ``ipv6_range``: the same rules,
naming the IPv6 options). Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Dict

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

_NETWORK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# the options that give one family's subnet, gateway and range
IPV4_FIELDS = ("subnet", "gateway", "ip_range")
IPV6_FIELDS = ("ipv6_subnet", "ipv6_gateway", "ipv6_range")


@dataclass(frozen=True)
class IpamConfig:
    """Normalised addressing of one network (all values are ipaddress objects)."""

    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    ip_range: ipaddress.IPv4Network
    aux_addresses: Dict[str, ipaddress.IPv4Address]

    def as_dict(self):
        return {
            "subnet": str(self.subnet),
            "gateway": str(self.gateway),
            "ip_range": str(self.ip_range),
            "aux_addresses": {key: str(value) for key, value in sorted(self.aux_addresses.items())},
        }


def network_name(value, field_name="name"):
    if not isinstance(value, str) or not _NETWORK_NAME.match(value):
        raise UnderlayError(
            f"{value!r} is not a valid network name (1-64 characters of letters, digits, '_', '.', '-')",
            field_name, value)
    return value


def network_id(name):
    """Docker-style 64-hex-digit Id, stable for a given name."""
    return hashlib.sha256(f"underlay.network/{name}".encode()).hexdigest()


def cidr_network(field, value):
    if not isinstance(value, str):
        raise UnderlayError(f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/24)", field, value)
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise UnderlayError(f"'{value}' is not a network in CIDR notation (e.g. 10.0.0.0/24)", field, value) from None
    if "/" not in value:
        raise UnderlayError(f"'{value}' has no prefix length (e.g. {value}/24)", field, value)
    if net.network_address != ipaddress.ip_interface(value.strip()).ip:
        raise UnderlayError(f"'{value}' has host bits set; the network is {net}", field, value)
    return net


def ip_address(field, value):
    if not isinstance(value, str):
        raise UnderlayError(f"{value!r} is not an IP address", field, value)
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise UnderlayError(f"'{value}' is not an IP address", field, value) from None


def usable(subnet):
    """(first, last) host addresses of ``subnet`` as ints (whole range for /31, /32 and IPv6)."""
    first, last = int(subnet.network_address), int(subnet.broadcast_address)
    if subnet.version == 4 and subnet.prefixlen < 31:
        return first + 1, last - 1
    if subnet.version == 6 and subnet.prefixlen < 127:
        return first + 1, last
    return first, last


def address_conflict(ipam, address):
    """Why ``address`` cannot be an endpoint's address under ``ipam``, as ``(field, value,
    reason)`` blaming the option that excludes it, else None. Allocation follows the same
    rule (a host address of the subnet, neither the gateway nor an auxiliary address)."""
    subnet = ipam.subnet
    if address.version != subnet.version or address not in subnet:
        return "subnet", str(subnet), f"outside the subnet {subnet}"
    low, high = usable(subnet)
    if not low <= int(address) <= high:
        what = "network" if int(address) == int(subnet.network_address) else "broadcast"
        return "subnet", str(subnet), f"the {what} address of {subnet}"
    if address == ipam.gateway:
        return "gateway", str(ipam.gateway), "the gateway"
    for key, aux in sorted(ipam.aux_addresses.items()):
        if aux == address:
            return f"aux_addresses.{key}", str(aux), f"the auxiliary address '{key}'"
    return None


def build_ipam(params, fields=IPV4_FIELDS, version=None):
    """Validate subnet, gateway, ip_range and aux_addresses from ``params``; ``fields`` names the
    subnet, gateway and range options (``IPV6_FIELDS`` for the IPv6 side, which has no auxiliary
    addresses), ``version`` the IP version the subnet must have (None: either)."""
    subnet_field, gateway_field, range_field = fields
    raw_subnet = params.get(subnet_field)
    subnet = cidr_network(subnet_field, raw_subnet)
    if version is not None and subnet.version != version:
        raise UnderlayError(f"'{raw_subnet}' is an IPv{subnet.version} network; {subnet_field} takes an IPv{version}"
                            " one" + (" (the IPv4 subnet goes in subnet)" if version == 6 else ""),
                            subnet_field, raw_subnet)
    low, high = usable(subnet)
    if high < low:
        raise UnderlayError(f"{subnet} has no usable host addresses", subnet_field, str(subnet))

    def inside(field, address, label=None):
        shown = label or str(address)
        if address.version != subnet.version or address not in subnet:
            raise UnderlayError(f"{shown} is outside the subnet {subnet}", field, str(address))
        if not low <= int(address) <= high:
            what = "network" if int(address) == int(subnet.network_address) else "broadcast"
            raise UnderlayError(f"{shown} is the {what} address of {subnet}", field, str(address))
        return address

    gateway_param = params.get(gateway_field)
    gateway = (ipaddress.ip_address(low) if gateway_param is None
               else inside(gateway_field, ip_address(gateway_field, gateway_param)))

    range_param = params.get(range_field)
    ip_range = subnet if range_param is None else cidr_network(range_field, range_param)
    if ip_range.version != subnet.version or not ip_range.subnet_of(subnet):
        relation = "larger than" if ip_range.version == subnet.version and ip_range.supernet_of(subnet) \
            and ip_range != subnet else "outside"
        raise UnderlayError(f"{ip_range} is {relation} the subnet {subnet}", range_field, str(ip_range))

    aux = {}
    for key, value in sorted(((params.get("aux_addresses") or {}) if fields == IPV4_FIELDS else {}).items()):
        field = f"aux_addresses.{key}"
        address = inside(field, ip_address(field, value))
        if address == gateway:
            raise UnderlayError(f"{address} is the gateway", field, value)
        aux[str(key)] = address
    return IpamConfig(subnet=subnet, gateway=gateway, ip_range=ip_range, aux_addresses=aux)


def build_ipam6(params, ipam=None):
    """The IPv6 side of a dual-stack network from ``ipv6_subnet``, ``ipv6_gateway`` and
    ``ipv6_range`` (the rules of ``build_ipam``), None when ``ipv6_subnet`` is not given; a
    gateway or range without it is refused, and so is a second IPv6 subnet beside an IPv6
    ``subnet`` (``ipam``, the network's other side)."""
    subnet_field = IPV6_FIELDS[0]
    if params.get(subnet_field) is None:
        for field in IPV6_FIELDS[1:]:
            if params.get(field) is not None:
                raise UnderlayError(f"{params.get(field)} needs {subnet_field} (the IPv6 subnet it belongs to)", field,
                                    params.get(field))
        return None
    if ipam is not None and ipam.subnet.version == 6:
        raise UnderlayError(f"subnet {ipam.subnet} is IPv6 already: give the IPv4 subnet in subnet for dual stack",
                            subnet_field, params.get(subnet_field))
    return build_ipam(params, IPV6_FIELDS, version=6)


def ipam6_dict(ipam6):
    """How a definition stores the IPv6 side (``ipam6``): as ``ipam``, without auxiliary addresses."""
    return {"subnet": str(ipam6.subnet), "gateway": str(ipam6.gateway), "ip_range": str(ipam6.ip_range)}


def stored_ipam6(definition):
    """The IPv6 IpamConfig of a stored definition, None when it is IPv4 only."""
    raw = definition.get("ipam6")
    return build_ipam(raw, version=6) if raw else None


def ipv6_params(definition):
    """The module options that declare a stored definition's IPv6 side again (all None when none)."""
    raw = definition.get("ipam6") or {}
    return dict(zip(IPV6_FIELDS, (raw.get(key) for key in IPV4_FIELDS)))


def overlapping(subnet, others):
    """The first ``(name, subnet)`` of ``others`` whose subnet overlaps ``subnet``, else None."""
    for name, other in others:
        if other.version == subnet.version and other.overlaps(subnet):
            return name, other
    return None
