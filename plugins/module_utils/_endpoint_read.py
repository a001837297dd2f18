# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint: what a batch acts on, read from the state store, the container
runtimes and each target's namespace (``read``), and the lease tables again after applying
(``reread``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_dns, _network_mtu, _publish_rules, _targets
from ansible_collections.underlay.network.plugins.module_utils._endpoint_names import host_end_name, owner_mark, owner_of, scratch_name
from ansible_collections.underlay.network.plugins.module_utils._endpoint_spec import EndpointSpec
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._lease_journal import PendingProbe


@dataclass
class ItemCurrent:
    spec: EndpointSpec
    target: Optional[_targets.Target]
    definition: dict
    link: object = None
    names: frozenset = frozenset()
    gateway_routes: dict = field(default_factory=dict)
    leftover: Optional[str] = None   # scratch-named link an interrupted run left in the namespace
    stored_ifname: Optional[str] = None  # the interface name its stored lease (even a pending one) gives
    host_end: object = None  # a bridge endpoint's veth's host end (its MTU; to undo a detach exactly)


@dataclass
class EndpointsCurrent:
    items: list
    definitions: dict   # network -> stored definition
    tables: dict        # network -> lease table as stored (for undo and "changed?")
    probes: dict        # network -> {ip: PendingProbe} of leases an interrupted run left pending
    owners: dict        # network -> {owner: (state, reason)} of every lease's owner (_targets.owner_state)
    publish: _publish_rules.PublishCurrent = field(default_factory=_publish_rules.PublishCurrent)
    names: object = None  # _endpoint_dns.NamesCurrent (None: no network of the batch has dns on)
    uplinks: dict = field(default_factory=dict)  # network -> LinkSnapshot of its parent or bridge (None: missing)


def read(ws, spec):
    definitions, tables, probes, owners, uplinks = {}, {}, {}, {}, {}
    # containers (targets, and owners of leases) are asked about in one runtime call per batch
    inspections = _targets.Inspections()
    wanted = [(item.target, item.runtime) for item in spec.endpoints if item.target_kind == "container"]
    for item in spec.endpoints:
        if item.network in definitions:
            continue
        definitions[item.network] = ws.store.network(item.network)
        if definitions[item.network] is None:
            raise UnderlayError(f"network '{item.network}' does not exist (state_dir {spec.state_dir})",
                                "network", item.network)
        tables[item.network] = ws.store.leases(item.network)
        uplink = _network_mtu.uplink_name(definitions[item.network])
        uplinks[item.network] = ws.kernel.link(uplink) if uplink else None
        wanted += _targets.leased_containers(tables[item.network]["leases"].values())
    _targets.prefetch_containers(inspections, wanted)
    for network, table in tables.items():
        owners[network] = {lease["owner"]: _targets.owner_state(lease["owner"], inspections, lease.get("runtime"))
                           for lease in table["leases"].values()}
        probes[network] = {ip: _probe(ws.kernel, network, lease)
                           for ip, lease in table["leases"].items() if lease.get("pending")}
    own = _targets.host_namespaces(spec.netns_path)
    by_owner = {network: {lease["owner"]: lease for lease in table["leases"].values()}
                for network, table in tables.items()}
    items = []
    for item in spec.endpoints:
        target = _resolve(item, inspections)
        current = ItemCurrent(spec=item, target=target, definition=definitions[item.network])
        if target is not None:
            _targets.refuse_host_namespace(item.target_kind, item.target, target, own)
            _read_item(ws.kernel.other(target.netns_path), current, by_owner[item.network].get(target.owner, {}))
            if current.link is not None and current.definition["driver"] == "bridge":
                current.host_end = ws.kernel.link(host_end_name(target.owner, item.network))
        items.append(current)
    return EndpointsCurrent(items=items, definitions=definitions, tables=tables, probes=probes, owners=owners,
                            publish=_publish_rules.read(ws, spec, definitions, tables),
                            names=_endpoint_dns.read(ws, spec, definitions, items), uplinks=uplinks)


def _resolve(item, inspections):
    """The item's target, or None when it is to be detached and provably gone already."""
    try:
        return _targets.resolve(item.target_kind, item.target, item.runtime, inspections)
    except UnderlayError:
        if item.state == "present":
            raise
    state, reason = _targets.owner_state(owner_of(item, None), inspections)
    if state == "unknown":
        raise UnderlayError(f"cannot tell whether {item.describe} still exists ({reason}); its lease is kept",
                            item.target_kind, item.target)
    return None  # gone (or stopped): only its lease is left to release


def _read_item(inside, current, lease):
    """What the item's namespace holds: its link (by the given or stored name, else one
    carrying our owner mark), a scratch-named leftover, the names taken, the gateway routes."""
    item, owner = current.spec, current.target.owner
    name = current.stored_ifname = item.ifname or lease.get("ifname")
    scratch = scratch_name(owner, item.network)
    if name is None:
        # no lease: pick the first free ethN, and recognise an endpoint of ours left without one
        aliases = inside.link_aliases()
        current.names = frozenset(aliases)
        mark = owner_mark(item.network, owner)
        marked = sorted(n for n, alias in aliases.items() if alias == mark and n != scratch)
        current.link = inside.link(marked[0]) if marked else None
        current.leftover = scratch if scratch in aliases else None
    else:
        current.link = inside.link(name)
        if current.link is None and not lease.get("pending"):  # a pending lease's leftover: see _probe
            current.leftover = scratch if inside.link(scratch) is not None else None
    current.gateway_routes = inside.gateway_routes()


def _probe(kernel, network, lease):
    """What the kernel holds for a lease an interrupted run left pending."""
    path = lease.get("netns_path")
    if not path or not os.path.exists(path):
        return PendingProbe()
    inside = kernel.other(path)
    scratch = scratch_name(lease["owner"], network)
    link = inside.link(lease["ifname"]) if lease.get("ifname") else None
    return PendingProbe(link=link, ours=link is not None and link.alias == owner_mark(network, lease["owner"]),
                        leftover=scratch if inside.link(scratch) is not None else None)


def reread(ws, spec, current):
    """After applying: the lease tables as stored now, for the targets already resolved.
    ``report`` renders endpoints from the leases alone, so the kernel and the container
    runtime are not asked again."""
    return EndpointsCurrent(items=current.items, definitions=current.definitions, probes={}, owners={},
                            tables={network: ws.store.leases(network) for network in current.tables},
                            uplinks=current.uplinks)
