# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint: attach containers (any network namespace) to stored networks.

One run handles a batch: each item is resolved to its namespace, given its lease (sticky per
owner), and planned against what its namespace holds. New interfaces are made inside the
target namespace under a scratch name and renamed there (as the CNI macvlan plugin does),
so a half-made endpoint never shows under its final name, and every step has an undo.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _targets, _vlan
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._leases import pool_for
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step

TARGET_KEYS = ("container", "pid", "container_netns")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class EndpointSpec:
    network: str
    target_kind: str
    target: object
    runtime: str = "auto"
    ifname: Optional[str] = None
    ipv4_address: Optional[str] = None
    mac_address: Optional[str] = None
    default_route: Optional[bool] = None
    routes: Tuple[Tuple[str, str], ...] = ()
    state: str = "present"

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


@dataclass
class ItemCurrent:
    spec: EndpointSpec
    target: Optional[_targets.Target]
    definition: dict
    link: object = None
    names: frozenset = frozenset()
    gateway_routes: dict = field(default_factory=dict)


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
    ifname = merged.get("ifname")
    if ifname is not None:
        v.interface_name(f"{where}ifname", ifname)
    address = merged.get("ipv4_address")
    if address is not None:
        try:
            address = str(ipaddress.IPv4Address(str(address).split("/", 1)[0].strip()))
        except ValueError:
            raise UnderlayError(f"'{merged['ipv4_address']}' is not an IPv4 address", f"{where}ipv4_address",
                                merged["ipv4_address"]) from None
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
    return EndpointSpec(
        network=network, target_kind=given[0], target=merged[given[0]],
        runtime=v.choice(f"{where}runtime", merged.get("runtime") or "auto", ("auto",) + _targets.RUNTIMES),
        ifname=ifname, ipv4_address=address, mac_address=mac, default_route=merged.get("default_route"),
        routes=tuple(routes), state=v.choice(f"{where}state", merged.get("state") or "present", ("present", "absent")))


def build_spec(params):
    keys = ("network", "container", "pid", "container_netns", "runtime", "ifname", "ipv4_address", "mac_address",
            "default_route", "routes", "state")
    top = {k: params.get(k) for k in keys}
    netns = params.get("netns")
    common = {"state_dir": params.get("state_dir") or "/var/lib/underlay-network", "netns": netns,
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


@dataclass
class EndpointsCurrent:
    items: list
    pools: dict       # network -> Pool (in memory; the plan decides leases on these)
    tables: dict      # network -> lease table as stored (for undo and "changed?")
    stale: dict       # network -> owners whose container/namespace/process is gone


def read(ws, spec):
    items, pools, tables, stale = [], {}, {}, {}
    definitions = {}  # each network's definition is read once per run, not once per item
    # containers (targets, and owners of leases) are asked about in one runtime call per batch
    inspections = _targets.Inspections()
    names = [item.target for item in spec.endpoints if item.target_kind == "container"]
    for network in {item.network for item in spec.endpoints}:
        table = ws.store.leases(network)
        names += [lease["owner"].split(":", 1)[1] for lease in table["leases"].values()
                  if str(lease.get("owner", "")).startswith("container:")]
    if names:
        inspections.prefetch(names)
    for item in spec.endpoints:
        if item.network not in definitions:
            definitions[item.network] = ws.store.network(item.network)
        definition = definitions[item.network]
        if definition is None:
            raise UnderlayError(f"network '{item.network}' does not exist (state_dir {spec.state_dir})",
                                "network", item.network)
        if item.network not in pools:
            tables[item.network] = ws.store.leases(item.network)
            pools[item.network] = pool_for(ws.store, item.network)
            stale[item.network] = sorted(lease["owner"] for lease in tables[item.network]["leases"].values()
                                         if not _targets.owner_alive(lease["owner"], inspections))
        try:
            target = _targets.resolve(item.target_kind, item.target, item.runtime, inspections)
        except UnderlayError:
            if item.state == "present":
                raise
            target = None  # gone already: only its lease is left to release
        current = ItemCurrent(spec=item, target=target, definition=definition)
        if target is not None:
            inside = ws.kernel.other(target.netns_path)
            lease = pools[item.network].leases.get(pools[item.network].lease_of(target.owner) or "", {})
            name = item.ifname or lease.get("ifname")
            current.link = inside.link(name) if name else None
            if name is None:  # the names are needed only to pick the first free ethN
                current.names = frozenset(inside.link_names())
            current.gateway_routes = inside.gateway_routes()
        items.append(current)
    return EndpointsCurrent(items=items, pools=pools, tables=tables, stale=stale)


def reread(ws, spec, current):
    """After applying: the lease tables as stored now, for the targets already resolved.
    ``report`` renders endpoints from the leases alone, so the kernel and the container
    runtime are not asked again."""
    return EndpointsCurrent(items=current.items, tables={}, stale={},
                            pools={network: pool_for(ws.store, network) for network in current.pools})


def _owner(item, target):
    if target is not None:
        return target.owner
    if item.target_kind == "container":
        return f"container:{str(item.target).lstrip('/')}"
    return _targets.describe(item.target_kind, item.target)


def plan(spec, current):
    result = Plan(before={"endpoints": []}, after={"endpoints": []})
    released = {network: [] for network in current.pools}
    for network, owners in current.stale.items():
        for owner in owners:
            address = current.pools[network].release(owner)
            if address:
                released[network].append(f"{address} of {owner}, which no longer exists")
    for item in current.items:
        before, after = _plan_item(result, item, current.pools[item.spec.network], released[item.spec.network])
        result.before["endpoints"].append(before)
        result.after["endpoints"].append(after)
    for network, pool in current.pools.items():
        table = {"leases": pool.leases, "last_reserved": pool.last_reserved}
        if table["leases"] != current.tables[network]["leases"]:
            action = f"save the leases of network '{network}'"
            if released[network]:
                action += " (releasing " + "; ".join(released[network]) + ")"
            result.add(action, "store_put_leases",
                       undo=Step("restore the leases", "store_put_leases",
                                 {"network": network, "table": current.tables[network]}),
                       network=network, table=table)
    return result


def _view(item, target, ifname, address, mac, gateway, prefix):
    return {"network": item.network, "container": target.container or target.label if target else item.describe,
            "ifname": ifname, "mac_address": mac, "ipv4_address": f"{address}/{prefix}" if address else None,
            "gateway": gateway, "netns": target.netns_path if target else None}


def _plan_item(result, current, pool, released):
    item, target, definition = current.spec, current.target, current.definition
    owner = _owner(item, target)
    prefix = definition["ipam"]["subnet"].split("/")[1]
    gateway = definition["ipam"]["gateway"]
    existing_ip = pool.lease_of(owner)
    existing = dict(pool.leases.get(existing_ip, {})) if existing_ip else {}
    before = _view(item, target, existing.get("ifname"), existing_ip, existing.get("mac_address"), gateway, prefix) \
        if existing_ip else {"network": item.network, "container": item.describe, "state": "absent"}
    if item.state == "absent":
        if current.link is not None:
            result.add(f"remove '{current.link.name}' from {target.label}", "link_del",
                       name=current.link.name, in_netns=target.netns_path)
        if existing_ip:
            pool.release(owner)
            released.append(f"{existing_ip} of {owner}")
        return before, {"network": item.network, "container": item.describe, "state": "absent"}

    ifname = item.ifname or existing.get("ifname") or (current.link.name if current.link else None) \
        or _first_free(current.names)
    details = {"container": target.container or target.label, "ifname": ifname, "netns_path": target.netns_path,
               "endpoint_id": hashlib.sha256(f"{definition['id']}/{owner}".encode()).hexdigest()}
    if target.container_id:
        details["container_id"] = target.container_id
    if item.ipv4_address is not None:
        address = str(pool.claim(owner, ipaddress.ip_address(item.ipv4_address), **details))
    else:
        address = str(pool.allocate(owner, **details))
    mac = item.mac_address or (existing.get("mac_address") if existing_ip == address else None) or derived_mac(address)
    # the lease says where the endpoint is now (a restarted container has a new PID/namespace)
    pool.leases[address] = dict(details, owner=owner, mac_address=mac)
    cidr = f"{address}/{prefix}"
    where = {"in_netns": target.netns_path}
    want_default = item.default_route
    if want_default is None:
        have = current.gateway_routes.get("default")
        want_default = not definition.get("internal") and (have is None or have == gateway)
    link = current.link
    kind = "macvlan" if definition["driver"] == "macvlan" else "veth"
    if link is not None and link.kind != kind:
        raise UnderlayError(f"'{ifname}' already exists in {target.label} as a {link.kind or 'physical'} link,"
                            f" not this network's {kind}", "ifname", ifname)
    if link is None:
        _plan_create(result, item, target, definition, ifname, mac, owner)
        have_addresses, have_routes, state = set(), {}, "down"
    else:
        if link.mac_address != mac:
            result.add(f"set MAC of '{ifname}' in {target.label} to {mac}", "link_set_mac",
                       undo=Step("restore its MAC", "link_set_mac",
                                 dict(where, name=ifname, mac_address=link.mac_address)),
                       name=ifname, mac_address=mac, **where)
        have_addresses = set(_vlan.managed_addresses(link.addresses))
        have_routes, state = current.gateway_routes, link.admin_state
    for stale_address in sorted(have_addresses - {cidr}):
        result.add(f"remove address {stale_address} from '{ifname}' in {target.label}", "addr_del",
                   undo=Step("restore it", "addr_add", dict(where, name=ifname, address=stale_address)),
                   name=ifname, address=stale_address, **where)
    if cidr not in have_addresses:
        result.add(f"add address {cidr} to '{ifname}' in {target.label}", "addr_add",
                   undo=Step("remove it", "addr_del", dict(where, name=ifname, address=cidr)),
                   name=ifname, address=cidr, **where)
    if state != "up":
        result.add(f"set '{ifname}' up in {target.label}", "link_set",
                   undo=Step("set it down", "link_set", dict(where, name=ifname, admin_state="down")),
                   name=ifname, admin_state="up", **where)
    routes = list(item.routes)
    if want_default:
        routes.insert(0, ("default", gateway))
    if cidr not in have_addresses:
        result.add(f"announce {address} ({mac}) with a gratuitous ARP in {target.label}", "gratuitous_arp",
                   name=ifname, address=address, mac_address=mac, **where)
    for dst, via in routes:
        if have_routes.get(dst) == via:
            continue
        if dst in have_routes:
            result.add(f"remove route {dst} via {have_routes[dst]} in {target.label}", "route_del_via",
                       undo=Step("restore it", "route_add_via", dict(where, dst=dst, gateway=have_routes[dst])),
                       dst=dst, gateway=have_routes[dst], **where)
        result.add(f"route {dst} via {via} in {target.label}", "route_add_via",
                   undo=Step("remove it", "route_del_via", dict(where, dst=dst, gateway=via)),
                   dst=dst, gateway=via, **where)
    return before, _view(item, target, ifname, address, mac, gateway, prefix)


def _plan_create(result, item, target, definition, ifname, mac, owner):
    scratch = scratch_name(owner, item.network)
    where = {"in_netns": target.netns_path}
    if definition["driver"] == "macvlan":
        result.add(f"create macvlan '{scratch}' on '{definition['parent']}' in {target.label}",
                   "endpoint_add_macvlan",
                   undo=Step(f"remove '{scratch}'", "link_del", dict(where, name=scratch)),
                   target_netns=target.netns_path, name=scratch, parent=definition["parent"],
                   mode=definition["mode"], mac_address=mac)
    else:
        host_name = "ve" + scratch[2:13]
        result.add(f"create veth '{host_name}' on bridge '{definition['bridge_name']}' with peer in {target.label}",
                   "endpoint_add_veth", undo=Step(f"remove '{host_name}'", "link_del", {"name": host_name}),
                   target_netns=target.netns_path, host_name=host_name, name=scratch, mac_address=mac,
                   bridge=definition["bridge_name"], isolated=not definition.get("icc", True))
    result.add(f"rename '{scratch}' to '{ifname}' in {target.label}", "link_rename",
               undo=Step("rename it back", "link_rename", dict(where, name=ifname, new_name=scratch)),
               name=scratch, new_name=ifname, **where)


def _first_free(names):
    index = 0
    while f"eth{index}" in names:
        index += 1
    return f"eth{index}"


def scratch_name(owner, network):
    return "ul" + hashlib.sha256(f"{owner}/{network}".encode()).hexdigest()[:12]


def _shape(spec, views):
    return list(views) if spec.batch else views[0]


def result_key(spec):
    return "endpoints" if spec.batch else "endpoint"


def report(spec, current):
    views = []
    for item in current.items:
        pool = current.pools[item.spec.network]
        owner = _owner(item.spec, item.target)
        address = pool.lease_of(owner) if item.target is not None else None
        if address is None:
            views.append({"network": item.spec.network, "container": item.spec.describe, "state": "absent"})
            continue
        lease = pool.leases[address]
        prefix = item.definition["ipam"]["subnet"].split("/")[1]
        views.append(_view(item.spec, item.target, lease.get("ifname"), address, lease.get("mac_address"),
                           item.definition["ipam"]["gateway"], prefix))
    return _shape(spec, views)


def predict(spec, current, planned):
    return _shape(spec, planned.after["endpoints"])
