# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's part of the fleet plan: its trunks (``underlay_trunks``) and networks
(``underlay_networks``), each item validated by the spec builder of the module that will
apply it (``vlan_subinterface``, ``persistent_interface``'s protocol rule, ``macvlan_network``,
``ipvlan_network``, ``bridge_network``), so the message is the module's. Added here only what the roles' list
form brings: an item's place, a parent or network listed twice, a key of the other driver. Pure.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _ipvlan, _macvlan, _network_spec
from ansible_collections.underlay.network.plugins.module_utils import _persist_spec
from ansible_collections.underlay.network.plugins.module_utils import _validation, _vlan
from ansible_collections.underlay.network.plugins.module_utils._fleet_model import NATIVE, Address, Host, Network

BUILDERS = {_macvlan.DRIVER: _macvlan.build_spec, _ipvlan.DRIVER: _ipvlan.build_spec,
            _bridge.DRIVER: _bridge.build_spec}
DRIVERS = tuple(BUILDERS)
PERSIST_FORMATS = _persist_spec.FORMATS + ("auto", "none")
DRIVER_ONLY = {_macvlan.DRIVER: ("parent", "mode", "host_access"),
               _ipvlan.DRIVER: ("parent", "mode", "flag", "host_access"),
               _bridge.DRIVER: ("bridge_name", "icc", "masquerade")}
# vlan_subinterface's option names -> the trunk role's
_VLAN_FIELDS = {"vlan_id": "id"}


def add_host(plan, name, trunks, networks, persist_format="ifcfg"):
    """Collect ``name``'s sub-interfaces, networks and addresses into ``plan`` (a FleetPlan)."""
    host = Host(name)
    plan.hosts[name] = host
    persist_format = plan.problems.guarded(name, "underlay_persist_format", _validation.choice,
                                           "underlay_persist_format", persist_format, PERSIST_FORMATS)
    _trunks(plan, host, trunks or [], persist_format)
    _network_driver(plan, host, networks or [])


def _trunks(plan, host, trunks, persist_format):
    problems, parents = plan.problems, {}
    for index, trunk in enumerate(trunks):
        where = f"underlay_trunks[{index}]"
        parent = trunk.get("parent")
        if problems.guarded(host.name, f"{where}.parent", _validation.interface_name, "parent", parent) is None:
            continue
        if parent in parents:
            problems.add(host.name, f"{where}.parent", parent,
                         f"'{parent}' is also the parent of underlay_trunks[{parents[parent]}]; "
                         "list all of its VLANs in one trunk")
            continue
        parents[parent] = index
        seen = {}
        for position, vlan in enumerate(trunk.get("vlans") or []):
            here = f"underlay_trunks[{parent}].vlans[{position}]"
            vid = problems.guarded(host.name, f"{here}.id", _validation.vlan_id, "id", vlan.get("id"))
            if vid is None:
                continue
            if vid in seen:
                problems.add(host.name, f"{here}.id", vid, f"VLAN {vid} is listed twice on {parent}")
                continue
            seen[vid] = position
            if persist_format is not None:  # persistent_interface's rule: which format can say 802.1ad
                problems.guarded(host.name, f"{here}.protocol", _persist_spec.check_protocol, persist_format,
                                 vlan.get("protocol"))
            spec = problems.guarded(host.name, here, _vlan.build_spec, {
                "parent": parent, "vlan_id": vid, "name": vlan.get("name"), "protocol": vlan.get("protocol"),
                "mtu": vlan.get("mtu")}, fields=_VLAN_FIELDS)
            if spec is None:
                continue
            host.subinterfaces[spec.name] = vid
            if vlan.get("address") is None:
                continue
            # the address on its own (as vlan_subinterface checks each of its addresses), so that a
            # bad one does not hide the sub-interface from the networks on it
            normal = problems.guarded(host.name, f"{here}.address", _validation.host_address, "address",
                                      vlan["address"])
            if normal is not None:
                plan.addresses.append(Address(host.name, f"{here}.address ({spec.name})",
                                              ipaddress.ip_interface(normal).ip, vid))


def _segment_of(host, parent):
    if parent in host.subinterfaces:
        return host.subinterfaces[parent]
    parts = _validation.vlan_name_parts(parent)
    if parts:
        return parts[1]
    return NATIVE


def _network_driver(plan, host, networks):
    problems = plan.problems
    on_parents = []  # (name, driver, parent, mode, flag) of this host's macvlan and ipvlan networks
    for index, item in enumerate(networks):
        name = item.get("name")
        where = f"underlay_networks[{name if isinstance(name, str) and name else index}]"
        if problems.guarded(host.name, f"{where}.name", _network_spec.network_name, name) is None:
            continue
        if name in host.present or name in host.networks:
            problems.add(host.name, f"{where}.name", name, f"network '{name}' is defined twice on this host")
            continue
        driver = item.get("driver")
        if driver not in DRIVERS:
            problems.add(host.name, f"{where}.driver", driver,
                         f"{driver!r} is not a known driver ({', '.join(DRIVERS)})")
            continue
        foreign = [key for other, keys in DRIVER_ONLY.items() if other != driver
                   for key in keys if item.get(key) is not None and key not in DRIVER_ONLY[driver]]
        if foreign:
            problems.add(host.name, f"{where}.{foreign[0]}", item.get(foreign[0]),
                         f"{foreign[0]} {item.get(foreign[0])!r} is not an option of"
                         f" {'an' if driver[0] in 'aeiou' else 'a'} {driver} network")
            continue
        if item.get("state", "present") == "absent":
            continue
        host.present[name] = item
        spec = problems.guarded(host.name, where, BUILDERS[driver], item)
        if spec is None:
            continue
        if driver in _macvlan.PARENT_DRIVERS:
            conflict = _macvlan.parent_conflict(driver, spec.parent, spec.mode, spec.flag, on_parents)
            if conflict:
                problems.add(host.name, f"{where}.{conflict[0]}", conflict[1], conflict[2])
                continue
            on_parents.append((name, driver, spec.parent, spec.mode, spec.flag))
        segment = _segment_of(host, spec.parent) if driver in _macvlan.PARENT_DRIVERS else ("bridge", host.name, name)
        network = Network(host.name, name, driver, getattr(spec, "parent", None), segment, spec.ipam,
                          internal=bool(getattr(spec, "internal", False)), ipam6=spec.ipam6)
        _same_host_overlap(plan, host, network, where)
        host.networks[name] = network
        shim = getattr(spec, "host_access", None)
        if shim:
            plan.addresses.append(Address(host.name, f"{where}.host_access.address",
                                          ipaddress.ip_interface(shim["address"]).ip, segment))


def _same_host_overlap(plan, host, network, where):
    for other in host.networks.values():
        same_wire = {network.driver, other.driver} <= set(_macvlan.PARENT_DRIVERS) and network.parent == other.parent
        if not (same_wire or _bridge.DRIVER in (network.driver, other.driver)):
            continue
        for ipam, fields in network.families():
            theirs = other.ipam_for(ipam.subnet.network_address)
            if theirs is not None and theirs.subnet.overlaps(ipam.subnet):
                plan.problems.add(host.name, f"{where}.{fields[0]}", str(ipam.subnet),
                                  f"{ipam.subnet} overlaps {theirs.subnet} of network '{other.name}' "
                                  "on the same host")
