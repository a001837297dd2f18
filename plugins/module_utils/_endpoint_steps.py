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


IPV6_DEFAULT = "::/0"  # the IPv6 default route's destination, as gateway_routes reads it


def wanted_routes(routes, default_route, gateway, gateway6=None):
    """``[(dst, gateway)]`` an endpoint is given: the default route first (when wanted; on a
    dual-stack network, ``gateway6``, the IPv6 one beside it), then ``routes``."""
    wanted = [("default", gateway)] if default_route else []
    if default_route and gateway6:
        wanted.append((IPV6_DEFAULT, gateway6))
    return wanted + [tuple(route) for route in routes]


def leased_routes(lease, gateway, gateway6=None):
    """The routes a lease records its endpoint was given, in the order they are applied."""
    return wanted_routes(lease.get("routes") or (), lease.get("default_route"), gateway,
                         gateway6 if lease.get("ipv6_address") else None)


def ipv6_side(definition, address6):
    """``(IPV6/PREFIX, IPv6 gateway)`` of an endpoint with IPv6 address ``address6`` on a
    dual-stack ``definition``, else ``(None, None)``."""
    ipam6 = definition.get("ipam6")
    if not address6 or not ipam6:
        return None, None
    return f"{address6}/{ipam6['subnet'].split('/')[1]}", ipam6["gateway"]


def route_link(dst, ifname):
    """The extra argument of a ``route_add_via`` step: an IPv6 route (the endpoint's ``::/0``) is
    added on the endpoint's link, on-link (see ``op_route_add_via``)."""
    return {"name": ifname} if ":" in dst else {}


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
    if not all(lease.get(key) for key in ("ifname", "netns_path", "mac_address", "owner")):
        return None
    ifname, label, where = lease["ifname"], lease.get("container") or lease["owner"], {"in_netns": lease["netns_path"]}
    cidr = f"{address}/{definition['ipam']['subnet'].split('/')[1]}"
    steps = Plan(before=None, after=None)
    plan_create(steps, network, lease["netns_path"], label, definition, ifname, lease["mac_address"], lease["owner"],
                same, lease.get("mtu") or definition.get("mtu"))
    steps.add(f"add address {cidr} to '{ifname}' in {label}", "addr_add", name=ifname, address=cidr, **where)
    cidr6, gateway6 = ipv6_side(definition, lease.get("ipv6_address"))
    if cidr6:
        add_ipv6_address(steps, where, label, ifname, cidr6)
    steps.add(f"set '{ifname}' up in {label}", "link_set", name=ifname, admin_state="up", **where)
    for dst, via in leased_routes(lease, definition["ipam"]["gateway"], gateway6):
        steps.add(f"route {dst} via {via} in {label}", "route_add_via", dst=dst, gateway=via, **where,
                  **route_link(dst, ifname))
    first = dataclasses.replace(steps.steps[0], action=f"re-create '{ifname}' in {label}")
    return (first,) + tuple(steps.steps[1:])
