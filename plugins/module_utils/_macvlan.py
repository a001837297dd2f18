# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan_network: spec, planner and the inspect view (Docker's ``-d macvlan``). Pure.

A macvlan network is mostly a stored definition; in the kernel it owns at most the
parent's 802.1Q sub-interface (when it created it) and the ``host_access`` shim, a macvlan
in bridge mode on the parent with a /32 and a route to ``ip_range``, so the host reaches
its own containers (which macvlan otherwise forbids).

ipvlan_network (``_ipvlan``) is the same network with another ``LinkDriver``: everything here
but the mode names, the ipvlan flag and what the shim needs is theirs alike.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _network_mtu, _network_spec, _parent_state, _vlan
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._network_driver import (
    PARENT_DRIVERS,
    NetworkSpec,
    check_driver,
    check_leases_fit,
    check_overlap,
    common_spec,
    ipam6_entry,
    spec_subnets,
    definition_view,
    describe_endpoints,
    network_view,
    now,
    owner_label,
    plan_removal,
    predicted_view,
    plan_inherited_mtu,
    read_endpoint_identities,
    read_inheriting_endpoints,
    read_owners,
    restore_definition,
)
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step

MODES = ("bridge", "private", "vepa", "passthru")
DRIVER = "macvlan"
LOOPBACK_INDEX = 1  # the kernel gives every namespace's loopback this index


@dataclass(frozen=True)
class LinkDriver:
    """What differs between the drivers of networks on a parent interface (macvlan, ipvlan).
    Their links are made by the steps ``endpoint_add_NAME`` and ``link_add_NAME`` and changed
    by ``link_set_NAME_mode``, with the arguments ``mode_args`` gives."""

    name: str
    modes: tuple                  # the first is the default
    flags: tuple = ()             # ipvlan's flags (the first is the default); none for macvlan
    shim: tuple = ("bridge", None)  # the (mode, flag) host_access needs
    shim_why: str = ""            # why it needs it
    fixed_modes: tuple = ()       # modes the kernel cannot switch to or from in place

    def mode_args(self, mode, flag):
        return {"mode": mode, "flag": flag} if self.flags else {"mode": mode}

    def describe(self, mode, flag):
        return f"{mode} (flag {flag})" if self.flags else mode

    def options(self, definition):
        """The inspect view's ``Options`` (Docker's ``parent``, ``macvlan_mode`` / ``ipvlan_mode``, ``ipvlan_flag``,
        ``com.docker.network.driver.mtu``)."""
        found = {"parent": definition["parent"], f"{self.name}_mode": definition["mode"]}
        if self.flags:
            found[f"{self.name}_flag"] = definition.get("flag") or self.flags[0]
        if definition.get("mtu"):
            found["com.docker.network.driver.mtu"] = str(definition["mtu"])
        return found


MACVLAN = LinkDriver(name=DRIVER, modes=MODES, shim=("bridge", None), fixed_modes=("passthru",),
                     shim_why="the kernel passes traffic between macvlans of one parent (the host's and its"
                              " containers') only in bridge mode")


@dataclass(frozen=True)
class MacvlanSpec(NetworkSpec):
    parent: Optional[str] = None
    mode: str = "bridge"
    host_access: Optional[dict] = None   # {"ifname": str, "address": "IP/32"}
    flag: Optional[str] = None           # ipvlan only
    driver: LinkDriver = MACVLAN


@dataclass(frozen=True)
class MacvlanCurrent:
    definition: Optional[dict]
    others: dict                 # name -> definition of every other stored network
    leases: dict                 # {"leases": {...}, "last_reserved": ...}
    now: str                     # the time read() was called (a new definition's 'created')
    parent: object = None        # LinkSnapshot of the parent (desired, else stored)
    vlan_base: object = None     # LinkSnapshot of IF when the parent IF.VID is missing
    shim: object = None          # LinkSnapshot of the desired host_access ifname
    shim_routes: tuple = ()
    old_shim: object = None      # LinkSnapshot of a stored shim that is no longer wanted
    old_shim_routes: tuple = ()
    owners: dict = None          # on removal: lease owner -> _targets.owner_state answer
    endpoint_identities: dict = None  # on removal: leased address -> identity of its endpoint
    inheriting: dict = None      # on an MTU change: read_inheriting_endpoints


def build_spec(params, driver=MACVLAN):
    """The spec of a network of ``driver`` (macvlan_network's, or ipvlan_network's through ``_ipvlan``)."""
    common = common_spec(params)
    if common["state"] == "absent":
        return MacvlanSpec(driver=driver, **common)
    parent = params.get("parent")
    if parent is None:
        raise UnderlayError("is required when state is present", "parent", None)
    v.interface_name("parent", parent)
    if params.get("subnet") is None:
        raise UnderlayError("is required when state is present", "subnet", None)
    ipam = _network_spec.build_ipam(params)
    ipam6 = _network_spec.build_ipam6(params, ipam)
    mode = v.choice("mode", params.get("mode") or driver.modes[0], driver.modes)
    flag = v.choice("flag", params.get("flag") or driver.flags[0], driver.flags) if driver.flags else None
    common["mtu"] = _network_mtu.checked("mtu", common["mtu"], spec_subnets(ipam, ipam6))
    return MacvlanSpec(parent=parent, mode=mode, flag=flag, driver=driver, ipam=ipam, ipam6=ipam6,
                       internal=bool(params.get("internal")),
                       host_access=_host_access(params.get("host_access"), ipam, parent, driver, mode, flag), **common)


def _host_access(value, ipam, parent, driver, mode, flag):
    if not value:
        return None
    if (mode, flag) != driver.shim:
        needs = "mode " + " and flag ".join(part for part in driver.shim if part)
        raise UnderlayError(f"needs {needs}, not {driver.describe(mode, flag)}: {driver.shim_why}",
                            "host_access", value)
    ifname = v.interface_name("host_access.ifname", value.get("ifname"))
    if ifname == parent:
        raise UnderlayError(f"'{ifname}' is the parent itself", "host_access.ifname", ifname)
    raw = value.get("address")
    if raw is None:
        raise UnderlayError("is required with host_access", "host_access.address", None)
    address = _network_spec.ip_address("host_access.address", str(raw).split("/", 1)[0])
    if address not in ipam.subnet:
        raise UnderlayError(f"{address} is outside the subnet {ipam.subnet}", "host_access.address", raw)
    if address == ipam.gateway or address in ipam.aux_addresses.values():
        raise UnderlayError(f"{address} is the gateway or an auxiliary address", "host_access.address", raw)
    return {"ifname": ifname, "address": f"{address}/{address.max_prefixlen}"}


def _stored_parent(definition):
    return definition.get("parent") if definition else None


def read(ws, spec):
    store, kernel = ws.store, ws.kernel
    definition = store.network(spec.name)
    others = {name: d for name, d in store.networks().items() if name != spec.name}
    leases = store.leases(spec.name) if definition else {"leases": {}, "last_reserved": None}
    parent_name = spec.parent or _stored_parent(definition)
    parent = kernel.link(parent_name) if parent_name else None
    vlan_base = None
    vlan_parts = v.vlan_name_parts(parent_name)
    if parent is None and vlan_parts:
        vlan_base = kernel.link(vlan_parts[0])
    shim = shim_routes = old_shim = None
    if spec.host_access:
        shim = kernel.link(spec.host_access["ifname"])
        shim_routes = kernel.routes(spec.host_access["ifname"]) if shim else ()
    old = (definition or {}).get("host_access")
    old_shim_routes = ()
    if old and (not spec.host_access or old["ifname"] != spec.host_access["ifname"]):
        old_shim = kernel.link(old["ifname"])
        old_shim_routes = kernel.routes(old["ifname"]) if old_shim else ()
    return MacvlanCurrent(definition=definition, others=others, leases=leases, now=now(), parent=parent,
                          vlan_base=vlan_base, shim=shim, shim_routes=shim_routes or (), old_shim=old_shim,
                          old_shim_routes=tuple(old_shim_routes), owners=read_owners(spec, leases),
                          endpoint_identities=read_endpoint_identities(kernel, spec, definition, leases),
                          inheriting=read_inheriting_endpoints(kernel, spec, definition, leases))


def _endpoints(current):
    return current.leases["leases"]


def plan(spec, current):
    driver = spec.driver
    definition = check_driver(spec, current.definition, driver.name)
    before = definition_view(definition)
    if spec.state == "absent":
        return _plan_absent(spec, current, before)

    conflict = parent_conflict(driver.name, spec.parent, spec.mode, spec.flag, (
        (name, other.get("driver"), other.get("parent"), other.get("mode"), other.get("flag"))
        for name, other in sorted(current.others.items())))
    if conflict:
        raise UnderlayError(conflict[2], conflict[0], conflict[1])
    check_overlap(spec, current.others, spec.parent)
    check_leases_fit(spec, _endpoints(current))
    _check_parent(spec, current)
    uplink = current.parent or current.vlan_base  # a parent the network creates has its base's MTU
    if uplink is not None:
        _network_mtu.check_ceiling("mtu", spec.mtu, uplink, f"the parent '{uplink.name}'")
    _check_host_access_free(spec, current)
    owned_parent = bool(definition and definition.get("owned_parent") and definition.get("parent") == spec.parent)
    desired = {
        "name": spec.name,
        "id": _network_spec.network_id(spec.name),
        "driver": driver.name,
        "parent": spec.parent,
        "mode": spec.mode,
        **({"flag": spec.flag} if driver.flags else {}),
        "ipam": spec.ipam.as_dict(),
        **ipam6_entry(spec),
        "internal": spec.internal,
        "host_access": spec.host_access,
        "dns": spec.dns,
        "mtu": spec.mtu,
        "labels": spec.labels,
        "owned_parent": owned_parent,
        "netns": spec.netns,
        "created": (definition or {}).get("created") or current.now,
    }
    result = Plan(before=before, after={})
    result.warnings.extend(_parent_state.warnings(spec.name, spec.parent, current.parent, current.vlan_base))
    if current.parent is None:
        desired["owned_parent"] = True
        _plan_parent(result, spec, current)
    elif definition and definition.get("parent") != spec.parent and _endpoints(current):
        raise UnderlayError(
            f"cannot move network '{spec.name}' from '{definition.get('parent')}' to '{spec.parent}' while"
            f" endpoints are attached: {describe_endpoints(_endpoints(current))}", "parent", spec.parent)
    _plan_mode(result, spec, current)
    plan_inherited_mtu(result, desired, current.inheriting or {}, uplink)
    _plan_shim(result, spec, current)
    result.after = definition_view(desired)
    if definition_view(definition) != result.after:
        result.add(f"{'update' if definition else 'store'} network definition '{spec.name}'", "store_put_network",
                   undo=restore_definition(spec.name, definition), definition=desired)
    if current.old_shim is not None:  # no undo: last
        result.add(f"remove host access interface '{current.old_shim.name}'", "link_del", name=current.old_shim.name)
    return result


def parent_conflict(driver, parent, mode, flag, others):
    """Why a ``driver`` network in ``mode``/``flag`` cannot hang off ``parent`` beside ``others``
    (``(name, driver, parent, mode, flag)`` of each other network), as ``(field, value,
    message)`` naming the other network, else None: the kernel lets one parent carry macvlan
    or ipvlan links, not both, and keeps one ipvlan mode and flag for all of a parent's
    ipvlans. What the modules and fleet_plan both check."""
    for name, other_driver, other_parent, other_mode, other_flag in others:
        if other_parent != parent or other_driver not in PARENT_DRIVERS:
            continue
        if other_driver != driver:
            return ("parent", parent,
                    f"'{parent}' already carries the {other_driver} network '{name}': the kernel cannot hang"
                    f" {driver} and {other_driver} interfaces off one parent")
        if driver == "ipvlan" and (other_mode, other_flag or "bridge") != (mode, flag):
            field_name, value = ("mode", mode) if other_mode != mode else ("flag", flag)
            return (field_name, value,
                    f"the ipvlan network '{name}' on '{parent}' has mode {other_mode} and flag"
                    f" {other_flag or 'bridge'}: the kernel keeps one mode and flag for all ipvlans of a parent")
    return None


def _check_parent(spec, current):
    """A macvlan or ipvlan on the loopback is refused by the kernel (EINVAL), so is a VLAN on it."""
    for candidate in (current.parent, current.vlan_base):
        if candidate is not None and candidate.index == LOOPBACK_INDEX:
            article = "an" if spec.driver.name[0] in "aeiou" else "a"
            raise UnderlayError(f"'{candidate.name}' is the loopback interface, which cannot carry {article}"
                                f" {spec.driver.name} network", "parent", spec.parent)


def _check_host_access_free(spec, current):
    access = spec.host_access
    if not access:
        return
    address = access["address"].split("/", 1)[0]
    lease = _endpoints(current).get(address)
    if lease is not None:
        raise UnderlayError(f"{address} is leased to the endpoint {owner_label(lease)} of network '{spec.name}'",
                            "host_access.address", address)


def _plan_parent(result, spec, current):
    vlan_parts = v.vlan_name_parts(spec.parent)
    where = f"network namespace '{spec.netns}'" if spec.netns else "the host's network namespace"
    if not vlan_parts:
        raise UnderlayError(f"interface '{spec.parent}' does not exist in {where}", "parent", spec.parent)
    base, vid = vlan_parts
    if current.vlan_base is None:
        raise UnderlayError(
            f"interface '{spec.parent}' does not exist in {where}, nor does '{base}' to create it on",
            "parent", spec.parent)
    vlan_spec = _vlan.build_spec({"name": spec.parent, "parent": base, "vlan_id": vid, "netns": spec.netns})
    vlan_plan = _vlan.plan(vlan_spec, _vlan.VlanCurrent(link=None, parent=current.vlan_base))
    result.steps.extend(vlan_plan.steps)


def _plan_mode(result, spec, current):
    """A mode (or ipvlan flag) change is applied in place to every attached endpoint (never by
    re-creating)."""
    definition, driver = current.definition, spec.driver
    old = (definition or {}).get("mode"), (definition or {}).get("flag")
    if not definition or old == (spec.mode, spec.flag):
        return
    endpoints = _endpoints(current)
    for fixed in driver.fixed_modes:
        if fixed in (old[0], spec.mode) and endpoints:
            raise UnderlayError(
                f"cannot change network '{spec.name}' from mode {old[0]} to {spec.mode} while endpoints"
                f" are attached: {describe_endpoints(endpoints)}; the kernel cannot switch a {driver.name} to or"
                f" from {fixed} in place: detach them first", "mode", spec.mode)
    op = f"link_set_{driver.name}_mode"
    for ip, lease in sorted(endpoints.items()):
        if lease.get("ifname") and "netns_path" in lease:
            where = {"name": lease["ifname"], "in_netns": lease["netns_path"]}
            result.add(f"set {driver.name} mode of {owner_label(lease)} ({ip}) to"
                       f" {driver.describe(spec.mode, spec.flag)}", op,
                       undo=Step(f"restore its {driver.name} mode", op, dict(where, **driver.mode_args(*old))),
                       **where, **driver.mode_args(spec.mode, spec.flag))


def _plan_shim(result, spec, current):
    """The host access interface; a replaced one gives up its routes first (undoably), so the
    new one can take them, and is removed after everything else."""
    old = current.old_shim
    for dst in sorted(current.old_shim_routes if old is not None else ()):
        result.add(f"remove route {dst} via '{old.name}'", "route_del",
                   undo=Step(f"restore route {dst}", "route_add", {"name": old.name, "dst": dst}),
                   name=old.name, dst=dst)
    access, driver = spec.host_access, spec.driver
    if not access:
        return
    name = access["ifname"]
    shim = current.shim
    if shim is not None and (shim.kind != driver.name or shim.parent != spec.parent):
        raise UnderlayError(
            f"'{name}' already exists as a {shim.kind or 'physical'} link"
            + (f" on '{shim.parent}'" if shim.parent else "") + f", not a {driver.name} on '{spec.parent}'",
            "host_access.ifname", name)
    ip_range = str(spec.ipam.ip_range)
    mode_args = driver.mode_args(*driver.shim)
    if shim is None:
        result.add(f"create host access interface '{name}' ({driver.name} {' '.join(filter(None, driver.shim))}"
                   f" on '{spec.parent}')",
                   f"link_add_{driver.name}", undo=Step(f"remove '{name}'", "link_del", {"name": name}),
                   name=name, parent=spec.parent, **mode_args)
        have_addresses, have_routes, admin_state = set(), set(), "down"
    else:
        if (shim.mode, shim.flag) != driver.shim:
            op = f"link_set_{driver.name}_mode"
            result.add(f"set '{name}' to {driver.name} mode {driver.describe(*driver.shim)}", op,
                       undo=Step("restore its mode", op, dict(driver.mode_args(shim.mode, shim.flag), name=name)),
                       name=name, **mode_args)
        have_addresses = set(_vlan.managed_addresses(shim.addresses))
        have_routes, admin_state = set(current.shim_routes), shim.admin_state
    for address in sorted(have_addresses - {access["address"]}):
        result.add(f"remove address {address} from '{name}'", "addr_del",
                   undo=Step(f"restore {address}", "addr_add", {"name": name, "address": address}),
                   name=name, address=address)
    if access["address"] not in have_addresses:
        result.add(f"add address {access['address']} to '{name}'", "addr_add",
                   undo=Step(f"remove {access['address']}", "addr_del", {"name": name, "address": access["address"]}),
                   name=name, address=access["address"])
    if admin_state != "up":
        result.add(f"set '{name}' up", "link_set",
                   undo=Step(f"set '{name}' down", "link_set", {"name": name, "admin_state": "down"}),
                   name=name, admin_state="up")
    host_route = str(ipaddress.ip_interface(access["address"]).network)
    for dst in sorted(have_routes - {ip_range, host_route}):
        result.add(f"remove route {dst} via '{name}'", "route_del",
                   undo=Step(f"restore route {dst}", "route_add", {"name": name, "dst": dst}), name=name, dst=dst)
    if ip_range not in have_routes:
        result.add(f"route {ip_range} via host access interface '{name}'", "route_add",
                   undo=Step(f"remove route {ip_range}", "route_del", {"name": name, "dst": ip_range}),
                   name=name, dst=ip_range)


def _plan_absent(spec, current, before):
    """After the endpoints, the host access shim and a parent sub-interface the network made."""
    def links(result):
        definition = current.definition
        access = definition.get("host_access")
        if access and current.old_shim is not None:
            result.add(f"remove host access interface '{access['ifname']}'", "link_del", name=access["ifname"])
        parent = definition.get("parent")
        users = [n for n, d in current.others.items() if d.get("parent") == parent]
        if definition.get("owned_parent") and current.parent is not None and current.parent.kind == "vlan":
            if not users:
                result.add(f"remove sub-interface '{parent}' (created for this network)", "link_del", name=parent)

    return plan_removal(spec, current, before, links=links)


def options(definition):
    return MACVLAN.options(definition)


def stored_params(definition):
    """The module parameters that declare ``definition`` again (the inverse of ``plan``'s
    stored definition): what ``underlay-network restore`` applies."""
    params = {"name": definition["name"], "parent": definition["parent"], "mode": definition["mode"],
              "internal": bool(definition.get("internal")), "host_access": definition.get("host_access"),
              "dns": bool(definition.get("dns", True)), "mtu": definition.get("mtu"),
              "labels": dict(definition.get("labels") or {})}
    if definition.get("flag") is not None:  # ipvlan
        params["flag"] = definition["flag"]
    params.update(definition["ipam"])
    params.update(_network_spec.ipv6_params(definition))
    return params


def report(spec, current):
    return _parent_state.with_parent_state(network_view(current.definition, _endpoints(current), spec.driver.options),
                                           current.parent)


def predict(spec, current, planned):
    return _parent_state.with_parent_state(predicted_view(spec, current, planned, spec.driver.options),
                                           current.parent)
