# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network modules (macvlan_network, ipvlan_network, bridge_network) share: their common options,
the stored-definition view, refusing or force-detaching endpoints on removal, and the
inspect-shaped return. Pure, but for ``read_owners`` and ``read_endpoint_identities`` (on
removal, the read side asks who still exists and where their endpoints are)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _network_mtu, _network_spec, _targets
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._endpoint_names import host_end_name
from ansible_collections.underlay.network.plugins.module_utils._endpoint_steps import identity, mtu_steps, recreate_steps
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR


# the drivers whose networks hang off a parent interface (a segment of their own per parent)
PARENT_DRIVERS = ("macvlan", "ipvlan")


@dataclass(frozen=True)
class NetworkSpec:
    """The fields every network module's spec has (a driver's spec adds its own)."""

    name: str
    state: str
    ipam: Optional[_network_spec.IpamConfig] = None
    ipam6: Optional[_network_spec.IpamConfig] = None  # the IPv6 side of a dual-stack network
    internal: bool = False
    dns: bool = True
    force: bool = False
    state_dir: str = DEFAULT_STATE_DIR
    netns: Optional[str] = None
    netns_path: Optional[str] = None
    mtu: Optional[int] = None   # None: the parent's (macvlan, ipvlan), the kernel's default (bridge)
    labels: dict = field(default_factory=dict)


def common_spec(params):
    """name, state, force, dns, mtu, labels, state_dir and netns, validated (the spec fields every
    network has; a driver checks ``mtu`` again against its subnets: see ``_network_mtu.checked``)."""
    netns = params.get("netns")
    return {"name": _network_spec.network_name(params.get("name")),
            "state": v.state(params.get("state")),
            "force": bool(params.get("force")),
            "dns": v.boolean("dns", True if params.get("dns") is None else params.get("dns")),
            "mtu": _network_mtu.checked("mtu", params.get("mtu")),
            "labels": v.labels("labels", params.get("labels")),
            "state_dir": params.get("state_dir") or DEFAULT_STATE_DIR,
            "netns": netns, "netns_path": v.netns_path("netns", netns)}


def spec_subnets(ipam, ipam6):
    """The subnets of a spec's addressing (the MTU floor looks at their versions)."""
    return [ipam.subnet] + ([ipam6.subnet] if ipam6 is not None else [])


def ipam6_entry(spec):
    """The ``ipam6`` entry of the definition ``spec`` stores: none for an IPv4-only network (so
    a definition stored before dual stack existed compares equal)."""
    return {"ipam6": _network_spec.ipam6_dict(spec.ipam6)} if spec.ipam6 is not None else {}


def check_driver(spec, definition, driver):
    """``definition`` (the stored one, or None), unless it is of another driver than ``driver``."""
    if definition and definition.get("driver") != driver:
        raise UnderlayError(f"network '{spec.name}' already exists with driver {definition.get('driver')}",
                            "name", spec.name)
    return definition


def definition_view(definition):
    """The managed fields of a stored definition, as ``--diff`` shows them."""
    if not definition:
        return {"state": "absent"}
    view = {key: value for key, value in definition.items() if key not in ("id", "created", "netns")}
    view["dns"] = bool(definition.get("dns", True))  # stored before names existed: on, as by default
    view["mtu"] = definition.get("mtu")  # stored before every network had these: the defaults
    view["labels"] = dict(definition.get("labels") or {})
    view["state"] = "present"
    return view


def owner_label(lease):
    return lease.get("container") or lease["owner"]


def describe_endpoints(leases):
    return ", ".join(f"{owner_label(lease)} ({ip})" for ip, lease in sorted(leases.items()))


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def restore_definition(name, definition):
    """The undo of writing ``name``'s definition: the previous one back, or none."""
    if definition is None:
        return Step(f"remove network definition '{name}'", "store_delete_network", {"name": name})
    return Step(f"restore network definition '{name}'", "store_put_network", {"definition": definition})


def check_leases_fit(spec, leases):
    """Refuse new addressing that would strand an address already leased, blaming the
    option that would exclude it (subnet, gateway or an auxiliary address; on the IPv6 side,
    ipv6_subnet or ipv6_gateway, and dropping IPv6 while an endpoint holds an IPv6 address)."""
    ipv6_names = dict(zip(_network_spec.IPV4_FIELDS, _network_spec.IPV6_FIELDS))
    for ip, lease in sorted(leases.items()):
        conflict = _network_spec.address_conflict(spec.ipam, ipaddress.ip_address(ip))
        address6 = lease.get("ipv6_address")
        if conflict is None and address6:
            if spec.ipam6 is None:
                conflict = ("ipv6_subnet", None, "without its IPv6 address (the network would have no IPv6):"
                            " detach it first")
                ip = address6
            else:
                conflict = _network_spec.address_conflict(spec.ipam6, ipaddress.ip_address(address6))
                if conflict:
                    conflict, ip = (ipv6_names.get(conflict[0], conflict[0]),) + conflict[1:], address6
        if conflict:
            field, value, role = conflict
            raise UnderlayError(
                f"cannot change the addressing of network '{spec.name}': {ip} is leased to {owner_label(lease)}"
                f" and would be {role}", field, value)


def check_overlap(spec, others, parent=None):
    """Refuse a subnet that overlaps another network's, naming it. The one exception, whichever
    network came first: macvlan or ipvlan networks on different parents (``parent`` is None for
    a bridge network), which are separate segments."""
    candidates = []
    for name, other in sorted(others.items()):
        if parent is not None and other.get("driver") in PARENT_DRIVERS and other.get("parent") != parent:
            continue
        candidates.extend((name, subnet) for subnet in _network_mtu.subnets(other))
    for field_name, ipam in (("subnet", spec.ipam), ("ipv6_subnet", spec.ipam6)):
        clash = _network_spec.overlapping(ipam.subnet, candidates) if ipam is not None else None
        if clash:
            where = others[clash[0]].get("parent")
            raise UnderlayError(
                f"{ipam.subnet} overlaps the subnet {clash[1]} of network '{clash[0]}'"
                + (f" on parent '{where}'" if where else ""), field_name, str(ipam.subnet))


def read_owners(spec, leases):
    """On removal, whether each lease's owner still exists (``_targets.owner_state``); the
    containers are asked about in one runtime call."""
    if spec.state != "absent":
        return {}
    owners = {lease["owner"]: lease.get("runtime") for lease in leases["leases"].values()}
    inspections = _targets.Inspections()
    _targets.prefetch_containers(inspections, _targets.leased_containers(leases["leases"].values()))
    return {owner: _targets.owner_state(owner, inspections, runtime) for owner, runtime in sorted(owners.items())}


def read_endpoint_identities(kernel, spec, definition, leases):
    """On removal, the ``identity`` of each leased endpoint still in the kernel, so that
    undoing its detach makes it again exactly as it was."""
    if spec.state != "absent" or not definition:
        return {}
    found = {}
    for ip, lease in leases["leases"].items():
        if lease.get("ifname") and lease.get("netns_path"):
            link = kernel.link_in(lease["netns_path"], lease["ifname"])
            if link is not None:
                host_end = kernel.link(host_end_name(lease["owner"], spec.name)) \
                    if definition.get("driver") == "bridge" else None
                found[ip] = identity(link, host_end)
    return found


def read_inheriting_endpoints(kernel, spec, definition, leases):
    """When the network's ``mtu`` changes: ``{ip: (lease, link, host_end)}`` of each endpoint
    that inherits it (its lease has no ``mtu`` of its own) and is in the kernel now (a stopped
    container's endpoint is made again with the network's MTU). ``host_end``: a bridge
    endpoint's veth end on the host, else None."""
    if spec.state != "present" or not definition or definition.get("mtu") == spec.mtu:
        return {}
    found = {}
    for ip, lease in leases["leases"].items():
        if lease.get("mtu") is None and lease.get("ifname") and lease.get("netns_path"):
            link = kernel.link_in(lease["netns_path"], lease["ifname"])
            if link is not None:
                host_end = kernel.link(host_end_name(lease["owner"], spec.name)) \
                    if definition.get("driver") == "bridge" else None
                found[ip] = (lease, link, host_end)
    return found


def plan_inherited_mtu(result, desired, endpoints, uplink):
    """The attached endpoints that inherit the network's MTU take the new one in place (both
    ends of a veth pair): ``endpoints`` as ``read_inheriting_endpoints`` gives them, ``desired``
    the new definition, ``uplink`` its parent (None for a bridge). Nothing when the kernel's
    default is the answer (a bridge network whose ``mtu`` is dropped keeps what it has)."""
    mtu = _network_mtu.endpoint_mtu(None, desired, uplink)
    if mtu is None:
        return
    for ip, (lease, link, host_end) in sorted(endpoints.items()):
        mtu_steps(result, link, host_end, lease["netns_path"], f"{owner_label(lease)} ({ip})", mtu)


def plan_detach(result, spec, definition, table, owners, identities=None):
    """On removal: leases whose owner is provably gone are released (as Docker forgets the
    endpoints of removed containers); endpoints whose owner lives, or may (``owners`` maps an
    owner to ``owner_state``'s answer), block removal unless ``force`` detaches them.

    Adds the lease release (undoable) and returns the link deletions, each undone by
    re-creating the endpoint from its lease; the caller adds them last.
    """
    endpoints = table["leases"]
    attached = {ip: lease for ip, lease in endpoints.items() if _state(owners, lease)[0] != "gone"}
    if attached and not spec.force:
        raise UnderlayError(
            f"network '{spec.name}' has endpoints attached: {_describe_attached(owners, attached)};"
            " detach them first or set force: true", "name", spec.name)
    if endpoints or table.get("last_reserved"):
        gone = sorted(set(endpoints) - set(attached))
        result.add(f"release the leases of network '{spec.name}'"
                   + (f" (owners gone: {describe_endpoints({ip: endpoints[ip] for ip in gone})})" if gone else ""),
                   "store_delete_leases",
                   undo=Step("restore the leases", "store_put_leases", {"network": spec.name, "table": table}),
                   network=spec.name)
    identities = identities or {}

    def newest_first(item):
        """Endpoints are removed newest first, so an undo (which runs in reverse) makes them
        again in the order they were made and a bridge numbers its ports as before."""
        same = identities.get(item[0]) or {}
        return -same.get("host_index", same.get("index", 0)), item[0]

    return [Step(f"detach {owner_label(lease)} ({ip}): remove '{lease['ifname']}'", "link_del_if_present",
                 {"in_netns": lease["netns_path"], "name": lease["ifname"]},
                 undo=recreate_steps(spec.name, definition, ip, lease, identities.get(ip)))
            for ip, lease in sorted(attached.items(), key=newest_first)
            if lease.get("ifname") and "netns_path" in lease]


def plan_removal(spec, current, before, undoable=None, links=None):
    """Removing a network: everything undoable first (the lease release, ``undoable``'s steps,
    the definition), then the link deletions, which have no undo: the endpoints', then
    ``links``' (the driver's own). ``undoable`` and ``links`` add steps to the plan they get."""
    result = Plan(before=before, after={"state": "absent"})
    definition = current.definition
    if definition is None:
        return result
    detach = plan_detach(result, spec, definition, current.leases, current.owners or {},
                         current.endpoint_identities or {})
    if undoable:
        undoable(result)
    result.add(f"remove network definition '{spec.name}'", "store_delete_network",
               undo=restore_definition(spec.name, definition), name=spec.name)
    result.steps.extend(detach)
    if links:
        links(result)
    return result


def _state(owners, lease):
    return owners.get(lease["owner"]) or ("unknown", "it was not asked")


def _describe_attached(owners, attached):
    described = []
    for ip, lease in sorted(attached.items()):
        state, reason = _state(owners, lease)
        unsure = f"; cannot tell whether it still exists: {reason}" if state == "unknown" else ""
        described.append(f"{owner_label(lease)} ({ip}{unsure})")
    return ", ".join(described)


def network_view(definition, leases, options):
    """``docker network inspect`` of ``definition``; ``options`` renders its Options map."""
    return inspect(definition, leases, options(definition)) if definition else {}


def predicted_view(spec, current, planned, options):
    """The return value in check mode: from the definition the plan would store."""
    if spec.state == "absent":
        return {}
    definition = current.definition
    for step in planned.steps:
        if step.op == "store_put_network":
            definition = step.args["definition"]
    return network_view(definition, current.leases["leases"], options)
