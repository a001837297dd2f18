# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What container_endpoint's planner is given, built directly (the planner is pure: it needs
no adapter): two stored networks, targets in named namespaces, the links and routes each
namespace holds, the stored lease tables."""

from __future__ import annotations

import dataclasses
import hashlib

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_names, _endpoint_spec, _targets
from ansible_collections.underlay.network.plugins.module_utils._endpoint_read import EndpointsCurrent, ItemCurrent
from ansible_collections.underlay.network.plugins.module_utils._netlink import LinkSnapshot

MACVLAN = {"name": "n1", "id": "1" * 64, "driver": "macvlan", "parent": "eth0", "mode": "bridge",
           "ipam": {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/24", "aux_addresses": {}},
           "internal": False, "host_access": None, "owned_parent": False, "netns": None,
           "created": "2026-12-01T00:00:00.000000Z"}
BRIDGE = {"name": "b1", "id": "2" * 64, "driver": "bridge", "bridge_name": "br-b1", "icc": True,
          "ipam": {"subnet": "172.30.0.0/24", "gateway": "172.30.0.1", "ip_range": "172.30.0.0/24",
                   "aux_addresses": {}},
          "internal": False, "masquerade": True, "mtu": None, "netns": None,
          "created": "2026-12-01T00:00:00.000000Z"}
INTERNAL = dict(BRIDGE, name="i1", id="3" * 64, bridge_name="br-i1", internal=True, masquerade=False,
                ipam={"subnet": "172.31.0.0/24", "gateway": "172.31.0.1", "ip_range": "172.31.0.0/24",
                      "aux_addresses": {}})
IPVLAN = dict(MACVLAN, name="v2", id="4" * 64, driver="ipvlan", parent="eth1", mode="l2", flag="bridge",
              ipam={"subnet": "10.2.0.0/24", "gateway": "10.2.0.1", "ip_range": "10.2.0.0/24", "aux_addresses": {}})
IPVLAN_L3 = dict(IPVLAN, name="v3", id="5" * 64, parent="eth2", mode="l3",
                 ipam={"subnet": "10.3.0.0/24", "gateway": "10.3.0.1", "ip_range": "10.3.0.0/24", "aux_addresses": {}})
DUAL = dict(MACVLAN, name="d1", id="6" * 64, parent="eth3",
            ipam={"subnet": "10.1.0.0/24", "gateway": "10.1.0.1", "ip_range": "10.1.0.0/24", "aux_addresses": {}},
            ipam6={"subnet": "fd00:1::/64", "gateway": "fd00:1::1", "ip_range": "fd00:1::/64"})
NETWORKS = {definition["name"]: definition for definition in (MACVLAN, BRIDGE, INTERNAL, IPVLAN, IPVLAN_L3, DUAL)}


def target(name):
    """A ``container_netns`` target named ``name`` (as _targets.resolve gives it)."""
    return _targets.Target(owner=f"netns:{name}", label=f"namespace {name}", netns_path=f"/run/netns/{name}")


def endpoint_link(network, namespace, name="eth0", address=None, mac=None, kind=None, admin_state="up", mode=None,
                  flag=None):
    """An endpoint of ours as the kernel reports it: marked with its owner, holding ``address``."""
    definition = NETWORKS[network]
    prefix = definition["ipam"]["subnet"].split("/")[1]
    kind = kind or {"bridge": "veth"}.get(definition["driver"], definition["driver"])
    return LinkSnapshot(name=name, index=10, kind=kind,
                        mtu=1500, mac_address=mac, admin_state=admin_state, mode=mode, flag=flag,
                        addresses=(f"{address}/{prefix}",) if address else (),
                        alias=_endpoint_names.owner_mark(network, f"netns:{namespace}"))


def lease(network, namespace, ifname="eth0", mac=None, **more):
    """A stored lease of network ``network`` for the endpoint of ``namespace`` (netns target),
    as container_endpoint writes one."""
    owner = f"netns:{namespace}"
    found = {"owner": owner, "container": f"namespace {namespace}", "ifname": ifname,
             "netns_path": f"/run/netns/{namespace}", "mac_address": mac, "routes": [], "default_route": True,
             "endpoint_id": hashlib.sha256(f"{NETWORKS[network]['id']}/{owner}".encode()).hexdigest()}
    found.update(more)
    return found


def spec(**params):
    return _endpoint_spec.build_spec(params)


def current(batch, tables=None, probes=None, owners=None, **namespaces):
    """``EndpointsCurrent`` for ``batch`` (a BatchSpec). ``tables``: network -> {ip: lease};
    ``namespaces``: namespace name -> ``dict(link=..., names=..., gateway_routes=..., ...)``
    (the ItemCurrent fields read from it), or None when the target is gone."""
    tables = tables or {}
    items = []
    for item in batch.endpoints:
        name = item.target
        seen = namespaces.get(name, {})
        if seen is None:
            items.append(ItemCurrent(spec=item, target=None, definition=NETWORKS[item.network]))
            continue
        fields = {key: value for key, value in seen.items() if key in {f.name for f in dataclasses.fields(ItemCurrent)}}
        per_network = seen.get(item.network, {})
        fields.update(per_network)
        if "stored_ifname" not in fields:
            held = next((entry for entry in tables.get(item.network, {}).values()
                         if entry["owner"] == f"netns:{name}"), {})
            fields["stored_ifname"] = item.ifname or held.get("ifname")
        items.append(ItemCurrent(spec=item, target=target(name), definition=NETWORKS[item.network], **fields))
    used = list(dict.fromkeys(item.network for item in batch.endpoints))  # in order, as read() finds them
    stored = {network: {"leases": dict(tables.get(network, {})), "last_reserved": None} for network in used}
    return EndpointsCurrent(
        items=items, definitions={network: NETWORKS[network] for network in used}, tables=stored,
        probes={network: dict((probes or {}).get(network, {})) for network in used},
        owners={network: {entry["owner"]: (owners or {}).get(entry["owner"], ("alive", None))
                          for entry in stored[network]["leases"].values()} for network in used})
