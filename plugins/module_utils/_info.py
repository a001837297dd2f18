# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info: the stored networks, inspect-shaped, with where the kernel drifted."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _macvlan
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect
from ansible_collections.underlay.network.plugins.module_utils._netconf import network_name
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan

OPTIONS = {"macvlan": _macvlan.options, "bridge": _bridge.options}


@dataclass(frozen=True)
class InfoSpec:
    names: Optional[Tuple[str, ...]]
    state_dir: str
    netns: Optional[str]
    netns_path: Optional[str]


def build_spec(params):
    names = params.get("name")
    if names is not None:
        names = tuple(network_name(n) for n in names)
    netns = params.get("netns")
    return InfoSpec(names=names, state_dir=params.get("state_dir") or "/var/lib/underlay-network",
                    netns=netns, netns_path=v.netns_path("netns", netns))


def read(ws, spec):
    stored = ws.store.networks()
    if spec.names is not None:
        missing = [n for n in spec.names if n not in stored]
        if missing:
            raise UnderlayError(f"no network named {', '.join(repr(n) for n in missing)} in {spec.state_dir}",
                                "name", missing[0])
        stored = {n: stored[n] for n in spec.names}
    views = []
    for name, definition in sorted(stored.items()):
        leases = ws.store.leases(name)["leases"]
        options = OPTIONS.get(definition.get("driver"), lambda d: {})(definition)
        view = inspect(definition, leases, options)
        view["drift"] = drift(ws.kernel, definition, leases)
        views.append(view)
    return views


def drift(kernel, definition, leases):
    """Where the kernel no longer matches ``definition`` and its leases (human-readable)."""
    found = []
    parent = definition.get("parent")
    if parent:
        if kernel.link(parent) is None:
            found.append(f"parent '{parent}' is missing")
    bridge = definition.get("bridge_name")
    if bridge:
        link = kernel.link(bridge)
        if link is None or link.kind != "bridge":
            found.append(f"bridge '{bridge}' is missing")
        elif definition["ipam"]["gateway"] + "/" + definition["ipam"]["subnet"].split("/")[1] not in link.addresses:
            found.append(f"bridge '{bridge}' lacks its gateway address {definition['ipam']['gateway']}")
    access = definition.get("host_access")
    if access:
        shim = kernel.link(access["ifname"])
        if shim is None:
            found.append(f"host access interface '{access['ifname']}' is missing")
        else:
            if access["address"] not in shim.addresses:
                found.append(f"host access interface '{access['ifname']}' lacks its address {access['address']}")
            if shim.admin_state != "up":
                found.append(f"host access interface '{access['ifname']}' is down")
            ip_range = definition["ipam"]["ip_range"]
            if ip_range not in kernel.routes(access["ifname"]):
                found.append(f"route {ip_range} via host access interface '{access['ifname']}' is missing")
    for ip, lease in sorted(leases.items(), key=lambda item: ipaddress.ip_address(item[0])):
        if not lease.get("ifname") or "netns_path" not in lease:
            continue
        link = kernel.link_in(lease["netns_path"], lease["ifname"])
        who = lease.get("container") or lease["owner"]
        if link is None:
            found.append(f"endpoint {who} ({ip}): interface '{lease['ifname']}' is gone")
    return found


def plan(spec, current):
    return Plan(before={}, after={})
