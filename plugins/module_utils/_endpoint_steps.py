# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel steps of one endpoint that are planned from a lease alone: making it (under its
scratch name, then renamed and marked), and making a removed one again exactly as it was
(the undo of a detach; also what removing a network undoes with)."""

from __future__ import annotations

import dataclasses

from ansible_collections.underlay.network.plugins.module_utils._endpoint_names import host_end_name, owner_mark, scratch_name
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step

ROUTED_IPVLAN_MODES = ("l3", "l3s")  # ipvlan modes in which the host routes for the endpoints
DEVICE = "dev "  # a route's "gateway" that is an interface: ``dev NAME`` (as gateway_routes reads it)

# each driver's endpoint link kind (bridge endpoints are veth pairs)
ENDPOINT_KINDS = {"macvlan": "macvlan", "ipvlan": "ipvlan", "bridge": "veth"}


def endpoint_kind(definition):
    return ENDPOINT_KINDS[definition["driver"]]


def routed(definition):
    """Whether the host routes for the endpoints of ``definition`` (an ipvlan network in L3 or L3S mode)."""
    return definition["driver"] == "ipvlan" and definition.get("mode") in ROUTED_IPVLAN_MODES


def default_via(definition, ifname):
    """What an endpoint's default route goes through: the network's gateway, or when the host
    routes (``routed``) its own interface (``dev IFNAME``)."""
    return DEVICE + ifname if routed(definition) else definition["ipam"]["gateway"]


def endpoint_gateway(definition):
    """The gateway an endpoint of ``definition`` shows: none when the host routes (``routed``)."""
    return None if routed(definition) else definition["ipam"]["gateway"]


def route_step(result, add, dst, via, label, where, note="", ifname=None):
    """Add (or remove) the route to ``dst`` (a CIDR, ``default`` or ``::/0``) through ``via``, a
    gateway or ``dev NAME``; ``ifname``: the endpoint's interface (an IPv6 route through a
    gateway is added on it, see ``route_link``)."""
    verb = "route" if add else "remove route"
    if via.startswith(DEVICE):
        ops = ("route_add", "route_del") if add else ("route_del", "route_add")
        added = removed = dict(where, name=via[len(DEVICE):], dst="0.0.0.0/0" if dst == "default" else dst)
    else:
        ops = ("route_add_via", "route_del_via") if add else ("route_del_via", "route_add_via")
        removed = dict(where, dst=dst, gateway=via)
        added = dict(removed, **route_link(dst, ifname))
    args, undo = (added, removed) if add else (removed, added)
    result.add(f"{verb} {dst} via {via} in {label}{note}", ops[0],
               undo=Step("remove it" if add else "restore it", ops[1], undo), **args)


IPV6_DEFAULT = "::/0"  # the IPv6 default route's destination, as gateway_routes reads it


def wanted_routes(routes, default_route, gateway, gateway6=None):
    """``[(dst, gateway)]`` an endpoint is given: the default route first (when wanted; on a
    dual-stack network, ``gateway6``, the IPv6 one beside it), then ``routes``."""
    wanted = [("default", gateway)] if default_route else []
    if default_route and gateway6:
        wanted.append((IPV6_DEFAULT, gateway6))
    return wanted + [tuple(route) for route in routes]


def leased_routes(lease, gateway, gateway6=None):
    """The routes a lease records its endpoint was given, in the order they are applied
    (``gateway``, ``gateway6``: what its default routes go through, see ``default_via`` and
    ``default_via6``)."""
    return wanted_routes(lease.get("routes") or (), lease.get("default_route"), gateway,
                         gateway6 if lease.get("ipv6_address") else None)


def ipv6_side(definition, address6):
    """``(IPV6/PREFIX, IPv6 gateway)`` of an endpoint with IPv6 address ``address6`` on a
    dual-stack ``definition``, else ``(None, None)``."""
    ipam6 = definition.get("ipam6")
    if not address6 or not ipam6:
        return None, None
    return f"{address6}/{ipam6['subnet'].split('/')[1]}", ipam6["gateway"]


def default_via6(definition, ifname, address6):
    """``default_via``'s IPv6 counterpart for an endpoint with IPv6 address ``address6``: the
    network's IPv6 gateway, or when the host routes its own interface; None without IPv6."""
    gateway6 = ipv6_side(definition, address6)[1]
    if gateway6 is None:
        return None
    return DEVICE + ifname if routed(definition) else gateway6


def route_link(dst, ifname):
    """The extra arguments of a ``route_add_via`` step: an IPv6 route (the endpoint's ``::/0``) is
    added on the endpoint's link, on-link (see ``op_route_add_via``)."""
    return {"name": ifname} if ifname and ":" in dst else {}


def add_ipv6_address(result, where, label, ifname, cidr6):
    """IPv6 on for the endpoint (no router advertisements, no SLAAC), then its address, usable at
    once (no DAD): before the link comes up."""
    result.add(f"turn IPv6 on for '{ifname}' in {label} (accept_ra=0, autoconf=0)", "endpoint_ipv6_on",
               undo=Step("turn it off", "endpoint_ipv6_off", dict(where, name=ifname)), name=ifname, **where)
    result.add(f"add address {cidr6} to '{ifname}' in {label} (no DAD)", "addr_add",
               undo=Step("remove it", "addr_del", dict(where, name=ifname, address=cidr6)),
               name=ifname, address=cidr6, nodad=True, **where)


def plan_create(result, network, netns_path, label, definition, ifname, mac, owner, identity=None, mtu=None):
    """Create the endpoint under its scratch name and rename it (setting the owner mark);
    ``identity`` (see ``identity``) makes a removed one again exactly as it was. ``mtu``: of
    the endpoint (both ends of a veth pair); None leaves the kernel's choice (a macvlan takes
    its parent's)."""
    scratch = scratch_name(owner, network)
    where = {"in_netns": netns_path}
    same = dict(identity or {})
    mtu = same.pop("mtu", mtu)
    sized = {"mtu": mtu} if mtu is not None else {}
    shown = f" with MTU {mtu}" if mtu is not None else ""
    if definition["driver"] == "macvlan":
        result.add(f"create macvlan '{scratch}' on '{definition['parent']}'{shown} in {label}",
                   "endpoint_add_macvlan",
                   undo=Step(f"remove '{scratch}'", "link_del", dict(where, name=scratch)),
                   target_netns=netns_path, name=scratch, parent=definition["parent"],
                   mode=definition["mode"], mac_address=mac, **{k: same[k] for k in ("index",) if k in same},
                   **sized)
    elif definition["driver"] == "ipvlan":  # no MAC: an ipvlan has its parent's
        result.add(f"create ipvlan '{scratch}' on '{definition['parent']}'{shown} in {label}",
                   "endpoint_add_ipvlan",
                   undo=Step(f"remove '{scratch}'", "link_del", dict(where, name=scratch)),
                   target_netns=netns_path, name=scratch, parent=definition["parent"],
                   mode=definition["mode"], flag=definition.get("flag") or "bridge",
                   **{k: same[k] for k in ("index",) if k in same}, **sized)
    else:
        host_name = host_end_name(owner, network)
        result.add(f"create veth '{host_name}' on bridge '{definition['bridge_name']}' with peer in {label}{shown}",
                   "endpoint_add_veth", undo=Step(f"remove '{host_name}'", "link_del", {"name": host_name}),
                   target_netns=netns_path, host_name=host_name, name=scratch, mac_address=mac,
                   bridge=definition["bridge_name"], isolated=not definition.get("icc", True), **same, **sized)
    result.add(f"rename '{scratch}' to '{ifname}' in {label}", "link_rename",
               undo=Step("rename it back", "link_rename", dict(where, name=ifname, new_name=scratch)),
               name=scratch, new_name=ifname, alias=owner_mark(network, owner), **where)


def identity(link, host_end=None):
    """What makes a removed endpoint again exactly as it was: its ifindex and MTU and, for a
    veth, its host end's ifindex and MAC."""
    found = {"index": link.index, "mtu": link.mtu}
    if host_end is not None:
        found.update(host_index=host_end.index, host_mac=host_end.mac_address)
    return found


def recreate_steps(network, definition, address, lease, same=None):
    """The undo of removing an endpoint: the steps that make it again as its lease describes
    it (interface and owner mark, MAC, address, up, routes; ``same``: its ``identity``), or
    None when the lease cannot say."""
    needed = ("ifname", "netns_path", "owner") + (() if definition["driver"] == "ipvlan" else ("mac_address",))
    if not all(lease.get(key) for key in needed):
        return None
    ifname, label, where = lease["ifname"], lease.get("container") or lease["owner"], {"in_netns": lease["netns_path"]}
    cidr = f"{address}/{definition['ipam']['subnet'].split('/')[1]}"
    steps = Plan(before=None, after=None)
    plan_create(steps, network, lease["netns_path"], label, definition, ifname, lease.get("mac_address"),
                lease["owner"], same, lease.get("mtu") or definition.get("mtu"))
    steps.add(f"add address {cidr} to '{ifname}' in {label}", "addr_add", name=ifname, address=cidr, **where)
    cidr6 = ipv6_side(definition, lease.get("ipv6_address"))[0]
    if cidr6:
        add_ipv6_address(steps, where, label, ifname, cidr6)
    steps.add(f"set '{ifname}' up in {label}", "link_set", name=ifname, admin_state="up", **where)
    for dst, via in leased_routes(lease, default_via(definition, ifname),
                                  default_via6(definition, ifname, lease.get("ipv6_address"))):
        route_step(steps, True, dst, via, label, where, ifname=ifname)
    first = dataclasses.replace(steps.steps[0], action=f"re-create '{ifname}' in {label}")
    return (first,) + tuple(steps.steps[1:])


def mtu_steps(result, link, host_end, netns_path, label, mtu):
    """Give an endpoint's ``link`` (in ``netns_path``) the MTU ``mtu`` in place, and the host
    end of a veth pair (``host_end``, None for macvlan and ipvlan) too; each undone by its old MTU."""
    where = {"in_netns": netns_path}
    if link.mtu != mtu:
        result.add(f"set MTU of '{link.name}' in {label} from {link.mtu} to {mtu}", "link_set",
                   undo=Step("restore its MTU", "link_set", dict(where, name=link.name, mtu=link.mtu)),
                   name=link.name, mtu=mtu, **where)
    if host_end is not None and host_end.mtu != mtu:
        result.add(f"set MTU of '{host_end.name}' (the host end of '{link.name}') from {host_end.mtu} to {mtu}",
                   "link_set", undo=Step("restore its MTU", "link_set", {"name": host_end.name, "mtu": host_end.mtu}),
                   name=host_end.name, mtu=mtu)
