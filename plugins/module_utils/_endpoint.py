# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint: attach containers (any network namespace) to stored networks.

One run handles a batch: each item is resolved to its namespace, given its lease (sticky per
owner), and planned against what its namespace holds. New interfaces are made inside the
target namespace under a scratch name and renamed there (as the CNI macvlan plugin does),
so a half-made endpoint never shows under its final name, and every step has an undo
(removing an endpoint is undone by making it again from its lease). The rename also sets
the owner mark (ifalias) by which a later run recognises the endpoint as its own. New
leases are written ahead of the kernel and settled after an interrupted run: see
_lease_journal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _netconf, _targets, _vlan
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._lease_journal import PendingProbe, ahead_table, settle
from ansible_collections.underlay.network.plugins.module_utils._leases import pool_from
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step
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
    leftover: Optional[str] = None   # scratch-named link an interrupted run left in the namespace
    stored_ifname: Optional[str] = None  # the interface name its stored lease (even a pending one) gives
    host_end: object = None  # detaching a bridge endpoint: its veth's host end (to undo the detach exactly)


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
    _netconf.network_name(network, f"{where}network")
    ifname = merged.get("ifname")
    if ifname is not None:
        v.interface_name(f"{where}ifname", ifname)
    address = merged.get("ipv4_address")
    if address is not None:
        parsed = _netconf.ip_address(f"{where}ipv4_address", str(address).split("/", 1)[0])
        if parsed.version != 4:
            raise UnderlayError(f"'{address}' is not an IPv4 address", f"{where}ipv4_address", address)
        address = str(parsed)
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
        routes=tuple(routes), state=v.state(merged.get("state"), f"{where}state"))


def build_spec(params):
    keys = ("network", "container", "pid", "container_netns", "runtime", "ifname", "ipv4_address", "mac_address",
            "default_route", "routes", "state")
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


@dataclass
class EndpointsCurrent:
    items: list
    definitions: dict   # network -> stored definition
    tables: dict        # network -> lease table as stored (for undo and "changed?")
    probes: dict        # network -> {ip: PendingProbe} of leases an interrupted run left pending
    owners: dict        # network -> {owner: (state, reason)} of every lease's owner (_targets.owner_state)


def owner_mark(network, owner):
    """The ifalias an endpoint carries, so a later run knows the link is ours and whose."""
    mark = f"underlay-network {network} {owner}"
    if len(mark.encode()) < 256:
        return mark
    return f"underlay-network {network} sha256:{hashlib.sha256(owner.encode()).hexdigest()}"


def read(ws, spec):
    definitions, tables, probes, owners = {}, {}, {}, {}
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
            if item.state == "absent" and current.link is not None and current.definition["driver"] == "bridge":
                current.host_end = ws.kernel.link(host_end_name(target.owner, item.network))
        items.append(current)
    return EndpointsCurrent(items=items, definitions=definitions, tables=tables, probes=probes, owners=owners)


def _resolve(item, inspections):
    """The item's target, or None when it is to be detached and provably gone already."""
    try:
        return _targets.resolve(item.target_kind, item.target, item.runtime, inspections)
    except UnderlayError:
        if item.state == "present":
            raise
    state, reason = _targets.owner_state(_owner(item, None), inspections)
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
                            tables={network: ws.store.leases(network) for network in current.tables})


def _owner(item, target):
    if target is not None:
        return target.owner
    if item.target_kind == "container":
        return f"container:{str(item.target).lstrip('/')}"
    return _targets.describe(item.target_kind, item.target)


@dataclass
class _Network:
    """One network while planning: its pool over the settled leases, and the MACs in use."""

    settled: object
    pool: object
    macs: dict


def plan(spec, current):
    result = Plan(before={"endpoints": []}, after={"endpoints": []})
    networks = {}
    for network, table in current.tables.items():
        settled = settle(table["leases"], current.probes[network], current.owners[network],
                         frozenset(_owner(item.spec, item.target) for item in current.items))
        pool = pool_from(network, current.definitions[network],
                         {"leases": settled.leases, "last_reserved": table.get("last_reserved")})
        networks[network] = _Network(settled, pool, {lease.get("mac_address"): lease["owner"]
                                                     for lease in settled.leases.values()})
        for owner, reason in settled.doubts:
            result.warnings.append(f"network '{network}': kept the lease of {owner}: cannot tell whether it still"
                                   f" exists ({reason})")
    kernel = Plan(before=None, after=None)
    for network, state in networks.items():
        for netns_path, name in state.settled.leftovers:
            kernel.add(f"remove '{name}', left in {netns_path} by an interrupted run", "link_del", name=name,
                       in_netns=netns_path)
    taken = {}  # netns path -> interface names chosen so far in this batch
    defaults = {}  # netns path -> the gateway of the default route given so far in this batch
    for item in current.items:
        before, after = _plan_item(kernel, item, networks[item.spec.network], taken, defaults)
        result.before["endpoints"].append(before)
        result.after["endpoints"].append(after)
    confirms = []
    for network, state in networks.items():
        stored = current.tables[network]
        final = {"leases": state.pool.leases, "last_reserved": state.pool.last_reserved}
        if stored["leases"] or stored.get("last_reserved"):
            restore = Step("restore the leases", "store_put_leases", {"network": network, "table": stored})
        else:  # there was no lease table yet
            restore = Step("remove the leases", "store_delete_leases", {"network": network})
        ahead = ahead_table(stored["leases"], state.settled.leases, final["leases"])
        if ahead is not None:
            result.add(f"record the new leases of network '{network}' as pending", "store_put_leases",
                       undo=restore, network=network, table={"leases": ahead, "last_reserved": final["last_reserved"]})
        if final["leases"] != stored["leases"]:
            confirms.append(Step(_save_action(network, state.settled), "store_put_leases",
                                 {"network": network, "table": final}, undo=restore))
    result.steps.extend(kernel.steps)
    result.steps.extend(confirms)
    return result


def _save_action(network, settled):
    action = f"save the leases of network '{network}'"
    notes = [f"{label} {_some(entries)}" for label, entries in (
        ("adopting what an interrupted run left:", settled.adopted),
        ("dropping what an interrupted run did not make:", settled.dropped),
        ("releasing", settled.released)) if entries]
    return action + (" (" + "; ".join(notes) + ")" if notes else "")


def _some(entries, shown=5):
    """The first few of ``entries`` and how many more (an action stays one readable line)."""
    text = "; ".join(entries[:shown])
    return text + (f" and {len(entries) - shown} more" if len(entries) > shown else "")


def _view(item, target, ifname, address, mac, gateway, prefix):
    return {"network": item.network, "container": target.container or target.label if target else item.describe,
            "ifname": ifname, "mac_address": mac, "ipv4_address": f"{address}/{prefix}" if address else None,
            "gateway": gateway, "netns": target.netns_path if target else None}


def _plan_item(result, current, network, taken, defaults):
    item, target, definition = current.spec, current.target, current.definition
    pool = network.pool
    owner = _owner(item, target)
    prefix = definition["ipam"]["subnet"].split("/")[1]
    gateway = definition["ipam"]["gateway"]
    existing_ip = pool.lease_of(owner)
    existing = dict(pool.leases.get(existing_ip, {})) if existing_ip else {}
    before = _view(item, target, existing.get("ifname"), existing_ip, existing.get("mac_address"), gateway, prefix) \
        if existing_ip else {"network": item.network, "container": item.describe, "state": "absent"}
    if current.leftover:
        result.add(f"remove '{current.leftover}', left in {target.label} by an interrupted run", "link_del",
                   name=current.leftover, in_netns=target.netns_path)
    if item.state == "absent":
        if current.link is not None:
            leased = existing_ip and existing.get("ifname") == current.link.name
            result.add(f"remove '{current.link.name}' from {target.label}", "link_del",
                       undo=recreate_steps(item.network, definition, existing_ip, existing,
                                           identity(current.link, current.host_end)) if leased else None,
                       name=current.link.name, in_netns=target.netns_path)
        if existing_ip:
            pool.release(owner)
            network.settled.released.append(f"{existing_ip} of {owner}")
        return before, {"network": item.network, "container": item.describe, "state": "absent"}

    link = current.link
    names = taken.setdefault(target.netns_path, set())
    ifname = item.ifname or existing.get("ifname") or (link.name if link else None) or current.stored_ifname \
        or _first_free(current.names | names)
    if ifname in names:
        raise UnderlayError(f"'{ifname}' in {target.label} is chosen twice in this batch (give one of them another"
                            " ifname)", "ifname", ifname)
    names.add(ifname)
    want_default = item.default_route
    if want_default is None:  # the first network to offer one (in the namespace, then in this batch) keeps it
        have = current.gateway_routes.get("default") or defaults.get(target.netns_path)
        want_default = not definition.get("internal") and (have is None or have == gateway)
    if want_default:
        defaults.setdefault(target.netns_path, gateway)
    details = {"container": target.container or target.label, "ifname": ifname, "netns_path": target.netns_path,
               "endpoint_id": hashlib.sha256(f"{definition['id']}/{owner}".encode()).hexdigest(),
               "routes": [list(route) for route in item.routes], "default_route": want_default}
    if target.container_id:
        details["container_id"] = target.container_id
    if target.runtime:
        details["runtime"] = target.runtime
    address = _address(item, pool, owner, link, details)
    mac = item.mac_address or (existing.get("mac_address") if existing_ip == address else None) or derived_mac(address)
    holder = network.macs.get(mac)
    if holder is not None and holder != owner:
        raise UnderlayError(f"{mac} is already used by {holder} on network '{item.network}'", "mac_address", mac)
    network.macs[mac] = owner
    # the lease says where the endpoint is now (a restarted container has a new PID/namespace)
    pool.leases[address] = dict(details, owner=owner, mac_address=mac)
    cidr = f"{address}/{prefix}"
    where = {"in_netns": target.netns_path}
    kind = "macvlan" if definition["driver"] == "macvlan" else "veth"
    if link is not None and link.kind != kind:
        raise UnderlayError(f"'{ifname}' already exists in {target.label} as a {link.kind or 'physical'} link,"
                            f" not this network's {kind}", "ifname", ifname)
    if link is None:
        _plan_create(result, item.network, target.netns_path, target.label, definition, ifname, mac, owner)
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
    routes = _wanted_routes(item.routes, want_default, gateway)
    if cidr not in have_addresses:
        result.add(f"announce {address} ({mac}) with a gratuitous ARP in {target.label}", "gratuitous_arp",
                   name=ifname, address=address, mac_address=mac, **where)
    dropped = leased_routes(existing, gateway)
    for dst, via in dropped:
        if (dst, via) not in routes and have_routes.get(dst) == via:
            result.add(f"remove route {dst} via {via} in {target.label} (no longer wanted)", "route_del_via",
                       undo=Step("restore it", "route_add_via", dict(where, dst=dst, gateway=via)),
                       dst=dst, gateway=via, **where)
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


def stored_item(network, address, lease):
    """The batch item that attaches a lease's owner again exactly as its lease records it
    (address, MAC, interface name, routes): what ``underlay-network`` restore and watch apply."""
    kind, value = lease["owner"].split(":", 1)
    target_key = {"container": "container", "netns": "container_netns", "pid": "pid"}[kind]
    item = {"network": network, target_key: int(value) if kind == "pid" else value, "ipv4_address": address,
            "runtime": lease.get("runtime") or "auto",
            "mac_address": lease.get("mac_address"), "ifname": lease.get("ifname"),
            "routes": [{"dst": dst, "gateway": via} for dst, via in lease.get("routes") or ()]}
    if lease.get("default_route") is not None:
        item["default_route"] = bool(lease["default_route"])
    return item


def _wanted_routes(routes, default_route, gateway):
    """``[(dst, gateway)]`` an endpoint is given: the default route first (when wanted), then ``routes``."""
    wanted = [("default", gateway)] if default_route else []
    return wanted + [tuple(route) for route in routes]


def leased_routes(lease, gateway):
    """The routes a lease records its endpoint was given, in the order they are applied."""
    return _wanted_routes(lease.get("routes") or (), lease.get("default_route"), gateway)


def _address(item, pool, owner, link, details):
    """The endpoint's address: static, its lease, the one a marked link of ours already holds
    (adopted, when free), or the next free one."""
    if item.ipv4_address is not None:
        return str(pool.claim(owner, ipaddress.ip_address(item.ipv4_address), **details))
    if pool.lease_of(owner) is None and link is not None and link.alias == owner_mark(item.network, owner):
        for cidr in _vlan.managed_addresses(link.addresses):
            held = ipaddress.ip_interface(cidr).ip
            if pool.why_unavailable(held, owner) is None:
                return str(pool.claim(owner, held, **details))
    return str(pool.allocate(owner, **details))


def _plan_create(result, network, netns_path, label, definition, ifname, mac, owner, identity=None):
    """Create the endpoint under its scratch name and rename it (setting the owner mark);
    ``identity`` (see ``identity``) makes a removed one again exactly as it was."""
    scratch = scratch_name(owner, network)
    where = {"in_netns": netns_path}
    same = identity or {}
    if definition["driver"] == "macvlan":
        result.add(f"create macvlan '{scratch}' on '{definition['parent']}' in {label}",
                   "endpoint_add_macvlan",
                   undo=Step(f"remove '{scratch}'", "link_del", dict(where, name=scratch)),
                   target_netns=netns_path, name=scratch, parent=definition["parent"],
                   mode=definition["mode"], mac_address=mac, **{k: same[k] for k in ("index",) if k in same})
    else:
        host_name = host_end_name(owner, network)
        result.add(f"create veth '{host_name}' on bridge '{definition['bridge_name']}' with peer in {label}",
                   "endpoint_add_veth", undo=Step(f"remove '{host_name}'", "link_del", {"name": host_name}),
                   target_netns=netns_path, host_name=host_name, name=scratch, mac_address=mac,
                   bridge=definition["bridge_name"], isolated=not definition.get("icc", True), **same)
    result.add(f"rename '{scratch}' to '{ifname}' in {label}", "link_rename",
               undo=Step("rename it back", "link_rename", dict(where, name=ifname, new_name=scratch)),
               name=scratch, new_name=ifname, alias=owner_mark(network, owner), **where)


def host_end_name(owner, network):
    """The host end of a bridge endpoint's veth pair."""
    return "ve" + scratch_name(owner, network)[2:13]


def identity(link, host_end=None):
    """What makes a removed endpoint again exactly as it was: its ifindex and, for a veth,
    its host end's ifindex and MAC."""
    found = {"index": link.index}
    if host_end is not None:
        found.update(host_index=host_end.index, host_mac=host_end.mac_address)
    return found


def recreate_steps(network, definition, address, lease, same=None):
    """The undo of removing an endpoint: the steps that make it again as its lease describes
    it (interface and owner mark, MAC, address, up, routes; ``same``: its ``identity``), or
    None when the lease cannot say."""
    if not all(lease.get(key) for key in ("ifname", "netns_path", "mac_address", "owner")):
        return None
    ifname, label, where = lease["ifname"], lease.get("container") or lease["owner"], {"in_netns": lease["netns_path"]}
    cidr = f"{address}/{definition['ipam']['subnet'].split('/')[1]}"
    steps = Plan(before=None, after=None)
    _plan_create(steps, network, lease["netns_path"], label, definition, ifname, lease["mac_address"], lease["owner"],
                 same)
    steps.add(f"add address {cidr} to '{ifname}' in {label}", "addr_add", name=ifname, address=cidr, **where)
    steps.add(f"set '{ifname}' up in {label}", "link_set", name=ifname, admin_state="up", **where)
    for dst, via in leased_routes(lease, definition["ipam"]["gateway"]):
        steps.add(f"route {dst} via {via} in {label}", "route_add_via", dst=dst, gateway=via, **where)
    first = dataclasses.replace(steps.steps[0], action=f"re-create '{ifname}' in {label}")
    return (first,) + tuple(steps.steps[1:])


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
    owners = {network: {lease["owner"]: ip for ip, lease in table["leases"].items()}
              for network, table in current.tables.items()}
    for item in current.items:
        table = current.tables[item.spec.network]["leases"]
        address = owners[item.spec.network].get(_owner(item.spec, item.target)) if item.target is not None else None
        if address is None:
            views.append({"network": item.spec.network, "container": item.spec.describe, "state": "absent"})
            continue
        lease = table[address]
        prefix = item.definition["ipam"]["subnet"].split("/")[1]
        views.append(_view(item.spec, item.target, lease.get("ifname"), address, lease.get("mac_address"),
                           item.definition["ipam"]["gateway"], prefix))
    return _shape(spec, views)


def predict(spec, current, planned):
    return _shape(spec, planned.after["endpoints"])
