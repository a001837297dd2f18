# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint's planner: attach containers (any network namespace) to stored networks.

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

import hashlib
import ipaddress
from dataclasses import dataclass

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _endpoint_dns, _network_mtu, _publish, _publish_rules, _vlan
from ansible_collections.underlay.network.plugins.module_utils._endpoint_names import first_free, owner_mark, owner_of
from ansible_collections.underlay.network.plugins.module_utils._endpoint_spec import derived_mac
from ansible_collections.underlay.network.plugins.module_utils._endpoint_spec import refuse_mac
from ansible_collections.underlay.network.plugins.module_utils._endpoint_steps import (
    add_ipv6_address,
    default_via,
    default_via6,
    endpoint_gateway,
    endpoint_kind,
    identity,
    ipv6_side,
    leased_routes,
    mtu_steps,
    plan_create,
    recreate_steps,
    route_step,
    wanted_routes,
)
from ansible_collections.underlay.network.plugins.module_utils._endpoint_view import view
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._lease_journal import ahead_table, settle
from ansible_collections.underlay.network.plugins.module_utils._leases import pool6_from, pool_from, table_of
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step


@dataclass
class _Network:
    """One network while planning: its pools over the settled leases, and the MACs in use."""

    settled: object
    pool: object
    macs: dict
    uplink: object = None  # LinkSnapshot of its parent or bridge (the MTU's ceiling; a macvlan's default)
    pool6: object = None  # the IPv6 pool of a dual-stack network (see _leases.pool6_from)


def plan(spec, current):
    """The plan of a batch. Pure: ``current`` is left as it was read (each network's pool is
    built over a copy of its settled leases); the new lease tables are in the plan, in its
    ``store_put_leases`` steps (written ahead as pending when an address is new, then
    confirmed), and the store takes them from there."""
    result = Plan(before={"endpoints": []}, after={"endpoints": []})
    networks = {}
    for network, table in current.tables.items():
        settled = settle(table["leases"], current.probes[network], current.owners[network],
                         frozenset(owner_of(item.spec, item.target) for item in current.items))
        pool = pool_from(network, current.definitions[network],
                         {"leases": settled.leases, "last_reserved": table.get("last_reserved")})
        pool6 = pool6_from(network, current.definitions[network],
                           {"leases": settled.leases, "last_reserved6": table.get("last_reserved6")})
        networks[network] = _Network(settled, pool, {lease.get("mac_address"): lease["owner"]
                                                     for lease in settled.leases.values()},
                                     current.uplinks.get(network), pool6)
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
    _publish_rules.plan_batch(result, kernel, spec.batch, current,
                              {network: state.pool.leases for network, state in networks.items()})
    ensure = _endpoint_dns.plan(kernel, current.names, current.items,
                                {network: state.pool.leases for network, state in networks.items()})
    result.warnings.extend(kernel.warnings)  # what the names steps could not do
    confirms = []
    for network, state in networks.items():
        stored = current.tables[network]
        final = table_of(state.pool, state.pool6)
        if stored["leases"] or stored.get("last_reserved"):
            restore = Step("restore the leases", "store_put_leases", {"network": network, "table": stored})
        else:  # there was no lease table yet
            restore = Step("remove the leases", "store_delete_leases", {"network": network})
        ahead = ahead_table(stored["leases"], state.settled.leases, final["leases"])
        if ahead is not None:
            result.add(f"record the new leases of network '{network}' as pending", "store_put_leases",
                       undo=restore, network=network, table=dict(final, leases=ahead))
        if final["leases"] != stored["leases"]:
            confirms.append(Step(_save_action(network, state.settled), "store_put_leases",
                                 {"network": network, "table": final}, undo=restore))
    result.steps.extend(kernel.steps)
    result.steps.extend(confirms)
    if ensure is not None:  # last: the resolver reads the leases just stored
        result.steps.append(ensure)
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


def _plan_item(result, current, network, taken, defaults):
    item, target, definition = current.spec, current.target, current.definition
    pool = network.pool
    owner = owner_of(item, target)
    prefix = definition["ipam"]["subnet"].split("/")[1]
    gateway = endpoint_gateway(definition)
    existing_ip = pool.lease_of(owner)
    existing = dict(pool.leases.get(existing_ip, {})) if existing_ip else {}
    before = view(item, target, existing.get("ifname"), existing_ip, existing.get("mac_address"), gateway, prefix,
                  _publish.parse_all("publish", existing.get("publish")),
                  ipv6=ipv6_side(definition, existing.get("ipv6_address"))[0]) \
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
            if network.pool6 is not None:
                network.pool6.release(owner)
            network.settled.released.append(f"{existing_ip} of {owner}")
        return before, {"network": item.network, "container": item.describe, "state": "absent"}

    link = current.link
    names = taken.setdefault(target.netns_path, set())
    ifname = item.ifname or existing.get("ifname") or (link.name if link else None) or current.stored_ifname \
        or first_free(current.names | names)
    if ifname in names:
        raise UnderlayError(f"'{ifname}' in {target.label} is chosen twice in this batch (give one of them another"
                            " ifname)", "ifname", ifname)
    names.add(ifname)
    via = default_via(definition, ifname)  # the gateway, or the interface itself (ipvlan L3)
    want_default = item.default_route
    if want_default is None:  # the first network to offer one (in the namespace, then in this batch) keeps it
        have = current.gateway_routes.get("default") or defaults.get(target.netns_path)
        want_default = not definition.get("internal") and (have is None or have == via)
    if want_default:
        defaults.setdefault(target.netns_path, via)
    details = {"container": target.container or target.label, "ifname": ifname, "netns_path": target.netns_path,
               "endpoint_id": hashlib.sha256(f"{definition['id']}/{owner}".encode()).hexdigest(),
               "routes": [list(route) for route in item.routes], "default_route": want_default}
    if target.container_id:
        details["container_id"] = target.container_id
    if target.runtime:
        details["runtime"] = target.runtime
    if item.publish:
        details["publish"] = _publish.to_strings(item.publish)
    if item.aliases:
        details["aliases"] = list(item.aliases)
    if item.mtu is not None:
        details["mtu"] = item.mtu
    mtu = _mtu(item, definition, network.uplink)
    if "state" not in before:  # the MTU is shown where the collection manages it (not a bridge's default)
        before["mtu"] = link.mtu if link is not None and mtu is not None else None
    _check_names(item, pool.leases, owner)
    kind = endpoint_kind(definition)
    if kind == "ipvlan":  # it has its parent's MAC
        refuse_mac(definition["driver"], "mac_address", item.mac_address)
    address = _address(item, pool, owner, link, details)
    address6 = _address6(item, network.pool6, owner, link)
    if address6 is not None:
        details["ipv6_address"] = address6
    mac = None if kind == "ipvlan" else item.mac_address or (
        existing.get("mac_address") if existing_ip == address else None) or derived_mac(address)
    holder = network.macs.get(mac) if mac else None
    if holder is not None and holder != owner:
        raise UnderlayError(f"{mac} is already used by {holder} on network '{item.network}'", "mac_address", mac)
    if mac:
        network.macs[mac] = owner
    # the lease says where the endpoint is now (a restarted container has a new PID/namespace)
    pool.leases[address] = dict(details, owner=owner, **({"mac_address": mac} if mac else {}))
    cidr = f"{address}/{prefix}"
    cidr6, gateway6 = ipv6_side(definition, address6)
    where = {"in_netns": target.netns_path}
    if link is not None and link.kind != kind:
        raise UnderlayError(f"'{ifname}' already exists in {target.label} as a {link.kind or 'physical'} link,"
                            f" not this network's {kind}", "ifname", ifname)
    if link is None:
        plan_create(result, item.network, target.netns_path, target.label, definition, ifname, mac, owner, mtu=mtu)
        # the namespace's routes through a gateway are there before the new link is: a route
        # this endpoint is to take over (default_route: true) is replaced, not added beside it
        have_addresses, have_routes, state = set(), current.gateway_routes, "down"
    else:
        if mac and link.mac_address != mac:
            result.add(f"set MAC of '{ifname}' in {target.label} to {mac}", "link_set_mac",
                       undo=Step("restore its MAC", "link_set_mac",
                                 dict(where, name=ifname, mac_address=link.mac_address)),
                       name=ifname, mac_address=mac, **where)
        if mtu is not None:  # an existing endpoint takes it in place
            mtu_steps(result, link, current.host_end, current.target.netns_path, current.target.label, mtu)
        have_addresses = set(_vlan.managed_addresses(link.addresses))
        have_routes, state = current.gateway_routes, link.admin_state
    for stale_address in sorted(have_addresses - {cidr, cidr6}):
        result.add(f"remove address {stale_address} from '{ifname}' in {target.label}", "addr_del",
                   undo=Step("restore it", "addr_add", dict(where, name=ifname, address=stale_address)),
                   name=ifname, address=stale_address, **where)
    if cidr not in have_addresses:
        result.add(f"add address {cidr} to '{ifname}' in {target.label}", "addr_add",
                   undo=Step("remove it", "addr_del", dict(where, name=ifname, address=cidr)),
                   name=ifname, address=cidr, **where)
    if cidr6 and cidr6 not in have_addresses:
        add_ipv6_address(result, where, target.label, ifname, cidr6)
    if state != "up":
        result.add(f"set '{ifname}' up in {target.label}", "link_set",
                   undo=Step("set it down", "link_set", dict(where, name=ifname, admin_state="down")),
                   name=ifname, admin_state="up", **where)
    routes = wanted_routes(item.routes, want_default, via, default_via6(definition, ifname, address6))
    shown = mac or "the parent's MAC"
    if cidr not in have_addresses and gateway is not None:  # an ipvlan in L3 mode does no ARP
        result.add(f"announce {address} ({shown}) with a gratuitous ARP in {target.label}", "gratuitous_arp",
                   name=ifname, address=address, mac_address=mac, **where)
    if cidr6 and cidr6 not in have_addresses and gateway is not None:  # (nor neighbour discovery)
        result.add(f"announce {address6} ({shown}) with an unsolicited neighbour advertisement in {target.label}",
                   "unsolicited_na", name=ifname, address=address6, mac_address=mac, **where)
    old_ifname = existing.get("ifname") or ifname
    dropped = leased_routes(existing, default_via(definition, old_ifname),
                            default_via6(definition, old_ifname, existing.get("ipv6_address")))
    for dst, old_via in dropped:
        if (dst, old_via) not in routes and have_routes.get(dst) == old_via:
            route_step(result, False, dst, old_via, target.label, where, " (no longer wanted)", ifname)
    for dst, new_via in routes:
        if have_routes.get(dst) == new_via:
            continue
        if dst in have_routes:
            route_step(result, False, dst, have_routes[dst], target.label, where, ifname=ifname)
        route_step(result, True, dst, new_via, target.label, where, ifname=ifname)
    return before, view(item, target, ifname, address, mac, gateway, prefix, item.publish, mtu, cidr6)


def _mtu(item, definition, uplink):
    """The endpoint's MTU (None: the kernel's default), refused below the network's floor or
    above its parent's (or bridge's) MTU, naming which; an inherited one is refused above a
    parent's only (the kernel refuses a larger macvlan; a veth may be larger than its bridge)."""
    if item.mtu is not None:
        _network_mtu.checked("mtu", item.mtu, _network_mtu.subnets(definition))
        return _network_mtu.check_ceiling("mtu", item.mtu, uplink, _network_mtu.describe_uplink(definition))
    mtu = _network_mtu.endpoint_mtu(None, definition, uplink)
    if definition.get("parent") and definition.get("mtu") is not None and uplink is not None and mtu > uplink.mtu:
        raise UnderlayError(f"network '{item.network}' has MTU {mtu}, above the MTU {uplink.mtu} of its"
                            f" {_network_mtu.uplink_label(definition)}: raise that MTU, or give this endpoint"
                            " a lower one", "network", item.network)
    return mtu


def _check_names(item, leases, owner):
    """Refuse a name (an alias, or the container's or namespace's own) that another endpoint
    of the network already answers to, naming both."""
    own = _dns_records.owner_name(owner)
    held = _dns_records.name_holder(leases, owner, [name for name in (own, *item.aliases) if name])
    if held is None:
        return
    name, holder = held
    if name.lower() in (alias.lower() for alias in item.aliases):
        field_name, value = "aliases", name
    else:
        field_name, value = item.target_kind, item.target
    raise UnderlayError(f"'{name}' is already a name of {holder} on network '{item.network}' ({item.describe}"
                        " cannot answer to it too)", field_name, value)


def _address6(item, pool6, owner, link):
    """The endpoint's IPv6 address on a dual-stack network (None on an IPv4-only one, where a
    static ``ipv6_address`` is refused): static, its lease, the one a marked link of ours already
    holds (adopted, when free), or the next free one."""
    if pool6 is None:
        if item.ipv6_address is not None:
            raise UnderlayError(f"{item.ipv6_address} cannot be given: network '{item.network}' has no IPv6"
                                " (no ipv6_subnet)", "ipv6_address", item.ipv6_address)
        return None
    if item.ipv6_address is not None:
        return str(pool6.claim(owner, ipaddress.ip_address(item.ipv6_address), "ipv6_address"))
    if pool6.lease_of(owner) is None and link is not None and link.alias == owner_mark(item.network, owner):
        for cidr in _vlan.managed_addresses(link.addresses):
            held = ipaddress.ip_interface(cidr).ip
            if held.version == 6 and pool6.why_unavailable(held, owner) is None:
                return str(pool6.claim(owner, held, "ipv6_address"))
    return str(pool6.allocate(owner))


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
