# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info: the stored networks, inspect-shaped, with where the kernel drifted."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import (
    _bridge,
    _dns_records,
    _endpoint_dns,
    _ipvlan,
    _macvlan,
    _network_mtu,
    _parent_state,
    _publish_rules,
    _resolv_conf,
    _runner,
)
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._endpoint_steps import (
    default_via,
    default_via6,
    endpoint_kind,
    ipv6_side,
    leased_routes,
)
from ansible_collections.underlay.network.plugins.module_utils._errors import MissingLibraryError, UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._inspect import inspect
from ansible_collections.underlay.network.plugins.module_utils._network_spec import build_ipam, network_name
from ansible_collections.underlay.network.plugins.module_utils._nftables import Nftables, owner
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR, StateDir

OPTIONS = {"macvlan": _macvlan.options, "ipvlan": _ipvlan.options, "bridge": _bridge.options}


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
    return InfoSpec(names=names, state_dir=params.get("state_dir") or DEFAULT_STATE_DIR,
                    netns=netns, netns_path=v.netns_path("netns", netns))


class Reader:
    """What network_info reads: the kernel of its namespace, its nftables table (asked only when
    a network implies rules), and the state files without the store's lock: every write is an
    atomic rename, so a reader never sees half a file, and a run holding the lock (or hung
    while holding it) never makes network_info wait."""

    def __init__(self, spec):
        self.store = StateDir(spec.state_dir)
        self.kernel = _runner.open_kernel(spec)
        self.nft = Nftables(spec.netns_path)

    def __enter__(self):
        self.store.check_readable()
        self.kernel.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.kernel.__exit__(*exc_info)


def read(ws, spec):
    # a network removed by a concurrent run between listing and reading is not listed
    stored = {name: definition for name, definition in ws.store.networks().items() if definition is not None}
    if spec.names is not None:
        missing = [n for n in spec.names if n not in stored]
        if missing:
            raise UnderlayError(f"no network named {', '.join(repr(n) for n in missing)} in {spec.state_dir}",
                                "name", missing[0])
        stored = {n: stored[n] for n in spec.names}
    tables = {name: ws.store.leases(name)["leases"] for name in stored}
    rules = collection_rules(ws.nft, stored.values(), tables)
    names = observe_names(ws.store, spec.state_dir)
    views = []
    for name, definition in sorted(stored.items()):
        leases = tables[name]
        options = OPTIONS.get(definition.get("driver"), lambda d: {})(definition)
        view = inspect(definition, leases, options)
        for lease in leases.values():  # Docker shows a container's aliases per network
            view["Containers"][lease.get("container_id") or lease["owner"]]["Aliases"] = list(lease.get("aliases", ()))
        # the names of its endpoints on other hosts (network_peers); Docker's overlay networks list
        # the other hosts as ``Peers`` ({Name, IP}), these are the records each host's endpoints resolve
        view["Peers"] = [{"Host": peer["host"], "Name": peer["name"], "Aliases": list(peer.get("aliases", ())),
                          "IP": peer["address"]} for peer in ws.store.peers(name)]
        observed = observe(ws.kernel, definition, leases, rules)
        if definition.get("parent"):  # the parent preflight, as the network modules return it
            view["parent_state"] = _parent_state.parent_state(observed.parent)
        view["drift"] = drift(definition, leases, observed)
        if _endpoint_dns.enabled(definition):
            view["drift"] += names_drift(leases, names)
        views.append(view)
    return views


@dataclass(frozen=True)
class NamesObserved:
    """The names resolver of the state directory as network_info sees it."""

    running: bool = False
    current: bool = False        # it serves what the state directory records now
    problems: tuple = ()         # namespaces it cannot serve ("PATH: why")
    missing: Optional[str] = None  # why it cannot even be asked (dnspython missing)
    files: dict = field(default_factory=dict)  # resolv.conf path -> text (None: absent)
    alive: frozenset = frozenset()  # the endpoints' namespace paths that exist (a stopped container needs no names)


def observe_names(store, state_dir):
    try:
        service = _endpoint_dns._service()  # pylint: disable=protected-access
    except MissingLibraryError as err:
        return NamesObserved(missing=str(err), alive=frozenset(
            lease["netns_path"] for name in store.networks() for lease in store.leases(name)["leases"].values()
            if lease.get("netns_path") and os.path.exists(lease["netns_path"])))
    networks = {name: (store.leases(name)["leases"], _dns_records.peer_records(store.peers(name)))
                for name, definition in store.networks().items()
                if definition is not None and _endpoint_dns.enabled(definition)}
    files = {}
    alive = frozenset(lease["netns_path"] for leases, _peers in networks.values() for lease in leases.values()
                      if lease.get("netns_path") and os.path.exists(lease["netns_path"]))
    for leases, _peers in networks.values():
        for lease in leases.values():
            path = (lease.get("resolv_conf") or {}).get("path")
            if path and path not in files:
                files[path] = _resolv_conf.read(path)
    served = service.served_fingerprints(state_dir)
    report = service._read_report(state_dir) or {} if served is not None else {}  # pylint: disable=protected-access
    return NamesObserved(running=served is not None, files=files, alive=alive,
                         current=service.serves(served, networks),
                         problems=tuple(report.get("problems") or ()))


def names_drift(leases, names):
    """Where names do not resolve as ``leases`` say: the resolver not running or not serving an
    endpoint's namespace, an endpoint's resolv.conf not pointing at it. Only endpoints that
    container_endpoint set up for names count (a lease made before names existed does not). Pure."""
    # endpoints attached with names (their lease records their resolv.conf) whose namespace exists
    present = {ip: lease for ip, lease in leases.items()
               if "resolv_conf" in lease and lease.get("netns_path") in names.alive}
    if not present:
        return []
    if names.missing:
        return [f"names are not served: {names.missing}"]
    if not names.running:
        return ["names are not served: the names resolver of the state directory is not running"]
    found = [] if names.current else ["the names resolver does not serve the stored records yet"]
    for ip, lease in sorted(present.items(), key=lambda item: ipaddress.ip_address(item[0])):
        who = f"endpoint {lease.get('container') or lease['owner']} ({ip})"
        why = [problem.split(": ", 1)[-1] for problem in names.problems
               if problem.startswith(f"{lease['netns_path']}: ")]
        if why:
            found.append(f"{who}: the names resolver does not answer in its namespace ({why[0]})")
        path = (lease.get("resolv_conf") or {}).get("path")
        if path and not _resolv_conf.points_at_resolver(names.files.get(path)):
            found.append(f"{who}: {path} does not point at the names resolver ({_resolv_conf.RESOLVER})")
    return found


@dataclass(frozen=True)
class EndpointKernel:
    """One lease's endpoint as the kernel holds it: its interface (None when the interface
    or its namespace is gone) and, when the lease lists routes, the routes of its namespace
    through a gateway (``{dst: gateway}``)."""

    link: object = None
    gateway_routes: Optional[dict] = None


@dataclass(frozen=True)
class NetworkKernel:
    """What the kernel holds of one network, read for ``drift``."""

    parent: object = None
    bridge: object = None
    ports: tuple = ()
    shim: object = None
    shim_routes: tuple = ()
    rules: object = None               # the collection's nftables rules ({comment: ...}), or the error reading them
    forwarding: Optional[str] = None   # net.ipv4.ip_forward, read when the network masquerades
    forwarding6: Optional[str] = None  # net.ipv6.conf.all.forwarding, read when a bridge network has IPv6
    endpoints: dict = field(default_factory=dict)  # leased address -> EndpointKernel


def collection_rules(nft, definitions, tables=None):
    """The collection's nftables rules, read once and only when a network implies rules, or
    its leases publish ports (``nft`` is needed only then); the error's text when they cannot
    be read."""
    if not any(_implied_rules(definition) for definition in definitions) and not any(
            _publish_rules.publishes(leases) for leases in (tables or {}).values()):
        return None
    try:
        return nft.rules()
    except UnderlayError as err:
        return err.detail


def _implied_rules(definition):
    """Comments of the nftables rules a bridge definition implies (as bridge_network writes them)."""
    if definition.get("driver") != "bridge" or not (definition.get("masquerade") or definition.get("internal")):
        return set()
    spec = _bridge.BridgeSpec(name=definition["name"], state="present", bridge_name=definition["bridge_name"],
                              ipam=build_ipam(definition["ipam"]), internal=bool(definition.get("internal")),
                              masquerade=bool(definition.get("masquerade")))
    return {rule["comment"] for rule in _bridge._wanted_rules(spec)}


def observe(kernel, definition, leases, rules):
    """Read what ``drift`` compares ``definition`` and its ``leases`` with (``rules``: the
    collection's nftables rules, read once for all networks)."""
    found = {"endpoints": {ip: _endpoint(kernel, lease, definition) for ip, lease in leases.items()
                           if lease.get("ifname") and "netns_path" in lease}}
    if definition.get("parent"):
        found["parent"] = kernel.link(definition["parent"])
    bridge = definition.get("bridge_name")
    if bridge:
        found["bridge"] = kernel.link(bridge)
        if not definition.get("icc", True) and found["bridge"] is not None and found["bridge"].kind == "bridge":
            found["ports"] = kernel.ports(bridge)  # only their isolation is compared
        if definition.get("masquerade"):
            found["forwarding"] = kernel.sysctl(_bridge.FORWARDING)
        if definition.get("ipam6"):
            found["forwarding6"] = kernel.sysctl(_bridge.FORWARDING6)
        if _implied_rules(definition) or _publish_rules.publishes(leases):
            found["rules"] = rules
    access = definition.get("host_access")
    if access:
        found["shim"] = kernel.link(access["ifname"])
        if found["shim"] is not None:
            found["shim_routes"] = kernel.routes(access["ifname"])
    return NetworkKernel(**found)


def _endpoint(kernel, lease, definition):
    try:
        inside = kernel.other(lease["netns_path"])
    except UnderlayError:  # the namespace is gone (or no longer one)
        return EndpointKernel()
    link = inside.link(lease["ifname"])
    routes = None
    if link is not None and wanted_routes(lease, *_gateways(definition, lease)) is not None:
        routes = inside.gateway_routes()
    return EndpointKernel(link=link, gateway_routes=routes)


def wanted_routes(lease, gateway, gateway6=None):
    """``{dst: gateway}`` of the routes a lease says its endpoint has (``default`` through the
    network's ``gateway`` when ``default_route``, and ``::/0`` through ``gateway6``, its IPv6
    gateway, on a dual-stack network; a route of ``routes`` to the same dst wins, as container_endpoint
    applies it last);
    None when the lease does not say."""
    if "routes" not in lease and "default_route" not in lease:
        return None
    return dict(leased_routes(lease, gateway, gateway6))


def _gateways(definition, lease):
    """What the endpoint's default routes go through: the IPv4 gateway and, for an endpoint with
    an IPv6 address, the IPv6 one of ``definition`` (its own interface where the host routes)."""
    ifname = lease["ifname"]
    return default_via(definition, ifname), default_via6(definition, ifname, lease.get("ipv6_address"))


def drift(definition, leases, kernel):
    """Where the kernel (a ``NetworkKernel``) no longer matches ``definition`` and its
    ``leases``: one human-readable line each, naming what and where. Pure."""
    found = []
    parent = definition.get("parent")
    if parent and kernel.parent is None:
        found.append(f"parent '{parent}' is missing")
    if definition.get("bridge_name"):
        found.extend(_bridge_drift(definition, kernel, leases))
    access = definition.get("host_access")
    if access:
        found.extend(_shim_drift(access, definition["ipam"]["ip_range"], kernel))
    uplink = kernel.parent if parent else kernel.bridge
    for ip in sorted(kernel.endpoints, key=ipaddress.ip_address):
        found.extend(_endpoint_drift(definition, ip, leases[ip], kernel.endpoints[ip], uplink))
    return found


def _bridge_drift(definition, kernel, leases=None):
    name, ipam, link = definition["bridge_name"], definition["ipam"], kernel.bridge
    found = []
    if link is None or link.kind != "bridge":
        found.append(f"bridge '{name}' is missing")
    else:
        if f"{ipam['gateway']}/{ipam['subnet'].split('/')[1]}" not in link.addresses:
            found.append(f"bridge '{name}' lacks its gateway address {ipam['gateway']}")
        ipam6 = definition.get("ipam6")
        if ipam6 and f"{ipam6['gateway']}/{ipam6['subnet'].split('/')[1]}" not in link.addresses:
            found.append(f"bridge '{name}' lacks its IPv6 gateway address {ipam6['gateway']}")
        if link.admin_state != "up":
            found.append(f"bridge '{name}' is down")
        if definition.get("mtu") and link.mtu != definition["mtu"]:
            found.append(f"bridge '{name}' has MTU {link.mtu}, the definition says {definition['mtu']}")
        if not definition.get("icc", True):
            found.extend(f"port '{port.name}' of bridge '{name}' is not isolated, though icc is off"
                         for port in kernel.ports if not port.isolated)
    if definition.get("masquerade") and kernel.forwarding != "1":
        found.append(f"IPv4 forwarding is off (net.ipv4.ip_forward={kernel.forwarding}), "
                     f"so the masquerade of {ipam['subnet']} forwards nothing")
    if definition.get("ipam6") and kernel.forwarding6 != "1":
        found.append(f"IPv6 forwarding is off ({_bridge.FORWARDING6}={kernel.forwarding6}), "
                     f"so {definition['ipam6']['subnet']} is not routed")
    found.extend(_rules_drift(definition, kernel.rules, leases))
    return found


def _rules_drift(definition, rules, leases=None):
    wanted = _implied_rules(definition)
    if definition.get("driver") == "bridge":  # the rules of its endpoints' published ports
        wanted = wanted | set(_publish_rules.wanted(definition["name"], definition, leases or {})[0])
    if isinstance(rules, str):
        return [f"nftables rules cannot be read: {rules}"]
    have = {text for text in rules or {} if owner(text) == definition["name"]}
    return ([f"nftables rule '{text}' is missing" for text in sorted(wanted - have)]
            + [f"nftables rule '{text}' is not one the definition implies" for text in sorted(have - wanted)])


def _shim_drift(access, ip_range, kernel):
    ifname, shim = access["ifname"], kernel.shim
    if shim is None:
        return [f"host access interface '{ifname}' is missing"]
    found = []
    if access["address"] not in shim.addresses:
        found.append(f"host access interface '{ifname}' lacks its address {access['address']}")
    if shim.admin_state != "up":
        found.append(f"host access interface '{ifname}' is down")
    if ip_range not in kernel.shim_routes:
        found.append(f"route {ip_range} via host access interface '{ifname}' is missing")
    return found


def _endpoint_drift(definition, ip, lease, endpoint, uplink=None):
    who = f"endpoint {lease.get('container') or lease['owner']} ({ip})"
    where = f"{who}: interface '{lease['ifname']}'"
    link = endpoint.link
    if link is None:
        return [f"{where} is gone"]
    kind = endpoint_kind(definition)
    if link.kind != kind:
        return [f"{where} is a {link.kind or 'physical'} link, not this network's {kind}"]
    found = []
    cidr = f"{ip}/{definition['ipam']['subnet'].split('/')[1]}"
    cidr6 = ipv6_side(definition, lease.get("ipv6_address"))[0]
    for wanted in (cidr, cidr6):
        if wanted and wanted not in link.addresses:
            has = ", ".join(link.addresses) or "none"
            found.append(f"{where} lacks its address {wanted} (has {has})")
    if definition.get("ipam6") and not lease.get("ipv6_address"):
        found.append(f"{where} has no IPv6 address on dual-stack network '{definition['name']}' yet (attach it"
                     " again)")
    if lease.get("mac_address") and link.mac_address != lease["mac_address"]:
        found.append(f"{where} has MAC {link.mac_address}, its lease says {lease['mac_address']}")
    if kind == "macvlan" and link.mode != definition.get("mode"):
        found.append(f"{where} is in macvlan mode {link.mode}, the network's mode is {definition.get('mode')}")
    if kind == "ipvlan" and (link.mode, link.flag) != (definition.get("mode"), definition.get("flag")):
        found.append(f"{where} is in ipvlan mode {link.mode} (flag {link.flag}), the network's is"
                     f" {definition.get('mode')} (flag {definition.get('flag')})")
    if link.admin_state != "up":
        found.append(f"{where} is down")
    mtu = _network_mtu.endpoint_mtu(lease.get("mtu"), definition, uplink)
    if mtu is not None and link.mtu != mtu:
        whose = "its own" if lease.get("mtu") is not None else "the network's" if definition.get("mtu") \
            else f"its {_network_mtu.uplink_label(definition)}'s"
        found.append(f"{where} has MTU {link.mtu}, {whose} is {mtu}")
    have = endpoint.gateway_routes or {}
    for dst, via in sorted((wanted_routes(lease, *_gateways(definition, lease)) or {}).items()):
        if dst not in have:
            found.append(f"{who}: route {dst} via {via} is missing")
        elif have[dst] != via:
            found.append(f"{who}: route {dst} goes via {have[dst]}, its lease says via {via}")
    return found


def plan(spec, current):
    return Plan(before={}, after={})
