# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``docker network inspect``-shaped views of stored network definitions. Pure."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils import _publish


def containers(definition, leases):
    """The ``Containers`` map: one entry per lease, keyed like Docker by container id (an
    endpoint of a dual-stack network shows its IPv6 address beside its IPv4 one)."""
    prefix = ipaddress.ip_network(definition["ipam"]["subnet"]).prefixlen
    prefix6 = definition["ipam6"]["subnet"].split("/")[1] if definition.get("ipam6") else None
    view = {}
    for ip, lease in sorted(leases.items()):
        key = lease.get("container_id") or lease["owner"]
        view[key] = {
            "Name": lease.get("container") or lease["owner"],
            "EndpointID": lease.get("endpoint_id", ""),
            "MacAddress": lease.get("mac_address", ""),
            "IPv4Address": f"{ip}/{prefix}" if ipaddress.ip_address(ip).version == 4 else "",
            "IPv6Address": f"{ip}/{prefix}" if ipaddress.ip_address(ip).version == 6 else "",
        }
        if prefix6 and lease.get("ipv6_address"):
            view[key]["IPv6Address"] = f"{lease['ipv6_address']}/{prefix6}"
        if lease.get("publish"):  # its published ports, shaped like Docker's NetworkSettings.Ports
            view[key]["Ports"] = _publish.docker_ports(_publish.parse_all("publish", lease["publish"]))
    return view


def inspect(definition, leases, options):
    """One element of ``docker network inspect`` for ``definition``; ``options`` is the
    driver-specific ``Options`` map."""
    ipam = definition["ipam"]
    config = [{"Subnet": ipam["subnet"], "IPRange": ipam["ip_range"], "Gateway": ipam["gateway"],
               "AuxiliaryAddresses": dict(ipam.get("aux_addresses") or {})}]
    ipam6 = definition.get("ipam6")
    if ipam6:  # dual stack: the IPv6 entry after the IPv4 one, as Docker lists them
        config.append({"Subnet": ipam6["subnet"], "IPRange": ipam6["ip_range"], "Gateway": ipam6["gateway"],
                       "AuxiliaryAddresses": {}})
    return {
        "Name": definition["name"],
        "Id": definition["id"],
        "Created": definition.get("created", ""),
        "Scope": "local",
        "Driver": definition["driver"],
        "EnableIPv6": bool(ipam6) or ipaddress.ip_network(ipam["subnet"]).version == 6,
        "IPAM": {"Driver": "default", "Options": {}, "Config": config},
        "Internal": bool(definition.get("internal")),
        "Attachable": True,
        "Ingress": False,
        "ConfigOnly": False,
        "Containers": containers(definition, leases),
        "Options": options,
        "Labels": dict(definition.get("labels") or {}),
        # not in Docker's inspect (its user-defined networks always resolve names): whether
        # this network's endpoints resolve each other's names (the ``dns`` option)
        "EnableDNS": bool(definition.get("dns", True)),
    }
