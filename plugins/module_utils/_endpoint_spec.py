# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint: its parameters validated into an ``EndpointSpec`` per item (one batch)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _network_mtu, _network_spec, _publish, _targets
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR


TARGET_KEYS = _targets.TARGET_KEYS
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class EndpointSpec:
    network: str
    target_kind: str
    target: object
    runtime: str = "auto"
    ifname: Optional[str] = None
    ipv4_address: Optional[str] = None
    ipv6_address: Optional[str] = None  # static IPv6 address on a dual-stack network
    mac_address: Optional[str] = None
    default_route: Optional[bool] = None
    routes: Tuple[Tuple[str, str], ...] = ()
    state: str = "present"
    publish: tuple = ()  # _publish.PortMapping, sorted
    aliases: Tuple[str, ...] = ()  # further names on the network (Docker's --network-alias)
    mtu: Optional[int] = None  # None: the network's (see _network_mtu.endpoint_mtu)

    @property
    def describe(self):
        return _targets.describe(self.target_kind, self.target)


@dataclass(frozen=True)
class BatchSpec:
    endpoints: Tuple[EndpointSpec, ...]
    batch: bool
    state_dir: str
    netns: Optional[str]
    netns_path: Optional[str]


def mac_address(field_name, value):
    text = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(text):
        raise UnderlayError(f"'{value}' is not a MAC address (e.g. 02:42:0a:00:00:05)", field_name, value)
    if int(text[:2], 16) & 1:
        raise UnderlayError(f"'{value}' is a multicast MAC address; an interface needs a unicast one",
                            field_name, value)
    if text == "00:00:00:00:00:00":
        raise UnderlayError("the all-zero MAC address cannot be assigned", field_name, value)
    return text


def refuse_mac(driver, field_name, value):
    """An endpoint of an ipvlan network has its parent's MAC address: a MAC given for one is
    refused (container_endpoint when it plans, fleet_plan for the roles' items)."""
    if value is not None and driver == "ipvlan":
        raise UnderlayError(f"'{value}' cannot be set: an endpoint of an ipvlan network has its parent's MAC"
                            " address (leave mac_address out, or use a macvlan network)", field_name, value)


def derived_mac(address):
    """Docker's rule: 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in ipaddress.ip_address(address).packed)


def _item(params, defaults, index):
    where = f"endpoints[{index}]." if index is not None else ""
    merged = dict(defaults)
    merged.update({k: val for k, val in params.items() if val is not None})
    given = [k for k in TARGET_KEYS if merged.get(k) is not None]
    if len(given) != 1:
        raise UnderlayError(
            f"exactly one of container, pid, container_netns is needed (got {', '.join(given) or 'none'})",
            f"{where}container", None)
    network = merged.get("network")
    if not network:
        raise UnderlayError("is required", f"{where}network", None)
    _network_spec.network_name(network, f"{where}network")
    ifname = merged.get("ifname")
    if ifname is not None:
        v.interface_name(f"{where}ifname", ifname)
    address = _static_address(f"{where}ipv4_address", merged.get("ipv4_address"), 4)
    address6 = _static_address(f"{where}ipv6_address", merged.get("ipv6_address"), 6)
    mac = merged.get("mac_address")
    if mac is not None:
        mac = mac_address(f"{where}mac_address", mac)
    routes = []
    for route in merged.get("routes") or ():
        dst = route.get("dst")
        try:
            dst = "default" if dst in ("default", "0.0.0.0/0") else str(ipaddress.IPv4Network(dst))
            gateway = str(ipaddress.IPv4Address(route.get("gateway")))
        except (ValueError, TypeError):
            raise UnderlayError(f"{route!r} needs dst (an IPv4 network) and gateway (an IPv4 address)",
                                f"{where}routes", route) from None
        routes.append((dst, gateway))
    aliases = merged.get("aliases") or ()
    if not isinstance(aliases, (list, tuple)):
        raise UnderlayError(f"{aliases!r} is not a list of names", f"{where}aliases", aliases)
    aliases = tuple(dict.fromkeys(_dns_records.dns_name(f"{where}aliases", alias) for alias in aliases))
    return EndpointSpec(
        aliases=aliases, network=network, target_kind=given[0], target=merged[given[0]],
        runtime=v.choice(f"{where}runtime", merged.get("runtime") or "auto", ("auto",) + _targets.RUNTIMES),
        ifname=ifname, ipv4_address=address, ipv6_address=address6, mac_address=mac,
        default_route=merged.get("default_route"),
        routes=tuple(routes), state=v.state(merged.get("state"), f"{where}state"),
        publish=_publish_list(f"{where}publish", merged.get("publish")),
        mtu=_network_mtu.checked(f"{where}mtu", merged.get("mtu")))


def _static_address(field_name, value, version):
    """A static ``ipv4_address`` or ``ipv6_address`` (a prefix given is dropped: the network's
    applies), normalised; one of the other IP version is refused."""
    if value is None:
        return None
    parsed = _network_spec.ip_address(field_name, str(value).split("/", 1)[0])
    if parsed.version != version:
        raise UnderlayError(f"'{value}' is not an IPv{version} address", field_name, value)
    return str(parsed)


def _publish_list(field_name, values):
    if values is not None and not isinstance(values, (list, tuple)):
        raise UnderlayError(f"{values!r} is not a list of Docker -p strings", field_name, values)
    return _publish.parse_all(field_name, values)


def build_spec(params):
    keys = ("network", "container", "pid", "container_netns", "runtime", "ifname", "ipv4_address", "ipv6_address",
            "mac_address",
            "default_route", "routes", "state", "publish", "aliases", "mtu")
    top = {k: params.get(k) for k in keys}
    netns = params.get("netns")
    common = {"state_dir": params.get("state_dir") or DEFAULT_STATE_DIR, "netns": netns,
              "netns_path": v.netns_path("netns", netns)}
    if params.get("endpoints") is not None:
        defaults = {k: top[k] for k in ("network", "runtime", "state") if top[k] is not None}
        items = tuple(_item(item, defaults, i) for i, item in enumerate(params["endpoints"]))
        seen = {}
        for i, item in enumerate(items):
            key = (item.network, item.describe)
            if key in seen:
                raise UnderlayError(f"{item.describe} on network '{item.network}' is listed twice (items {seen[key]}"
                                    f" and {i})", f"endpoints[{i}]", None)
            seen[key] = i
        return BatchSpec(endpoints=items, batch=True, **common)
    return BatchSpec(endpoints=(_item(top, {}, None),), batch=False, **common)


def stored_item(network, address, lease):
    """The batch item that attaches a lease's owner again exactly as its lease records it
    (address, MAC, interface name, routes): what ``underlay-network`` restore and watch apply."""
    kind, value = lease["owner"].split(":", 1)
    target_key = {"container": "container", "netns": "container_netns", "pid": "pid"}[kind]
    item = {"network": network, target_key: int(value) if kind == "pid" else value, "ipv4_address": address,
            "ipv6_address": lease.get("ipv6_address"),
            "runtime": lease.get("runtime") or "auto",
            "mac_address": lease.get("mac_address"), "ifname": lease.get("ifname"),
            "routes": [{"dst": dst, "gateway": via} for dst, via in lease.get("routes") or ()]}
    if lease.get("publish"):
        item["publish"] = list(lease["publish"])
    if lease.get("aliases"):
        item["aliases"] = list(lease["aliases"])
    if lease.get("default_route") is not None:
        item["default_route"] = bool(lease["default_route"])
    if lease.get("mtu") is not None:
        item["mtu"] = lease["mtu"]
    return item
