# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of a whole fleet's plan before any host changes: the management plane
Docker's docs say macvlan lacks ("no management plane feature to check for overlapping
IP ranges").

Pure: no AnsibleModule, no pyroute2. Input is what the roles take, per host
(``underlay_trunks``, ``underlay_networks``) plus the fleet-wide ``underlay_endpoints``;
output is a list of ``Problem`` naming host, item, field and value.

What counts as one layer-2 segment: a VLAN id is one segment across the whole inventory
(hosts trunked to the same switches), and all untagged parents are one segment, the
native VLAN. Bridge networks are local to their host.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Dict, List, Optional

from ansible_collections.underlay.network.plugins.module_utils import _netconf, _persist_spec, _validation
from ansible_collections.underlay.network.plugins.module_utils._endpoint_spec import mac_address
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

DRIVERS = ("macvlan", "bridge")
PERSIST_FORMATS = _persist_spec.FORMATS + ("auto", "none")
DRIVER_ONLY = {"macvlan": ("parent", "mode", "host_access"), "bridge": ("bridge_name", "icc", "masquerade", "mtu")}
TARGET_KEYS = ("container", "pid", "container_netns")
_SUBINTERFACE = re.compile(r"^(?P<parent>.+)\.(?P<vid>\d+)$")
NATIVE = "untagged"


@dataclass(frozen=True)
class Problem:
    """One reason the plan cannot be applied: ``host: where: message``."""

    host: str
    where: str
    value: object
    message: str

    def __str__(self):
        return f"{self.host}: {self.where}: {self.message}"


@dataclass
class _Network:
    host: str
    name: str
    driver: str
    parent: Optional[str]
    segment: object  # VLAN id, NATIVE, or ("bridge", host, name)
    ipam: _netconf.IpamConfig

    @property
    def label(self):
        return f"{self.host}'s network {self.name}"

    def pool_holds(self, address):
        """Whether this network's IPAM may hand out ``address`` to a container."""
        return (address in self.ipam.ip_range and address != self.ipam.gateway
                and address not in self.ipam.aux_addresses.values())


@dataclass
class _Address:
    """An address (IPv4, or a MAC in ``FleetPlan.macs``) one item of the plan puts on a segment."""

    host: str
    where: str
    address: object
    segment: object
    network: Optional[_Network] = None  # set for an endpoint's static address


@dataclass
class _Host:
    name: str
    subinterfaces: Dict[str, int] = dataclass_field(default_factory=dict)
    networks: Dict[str, _Network] = dataclass_field(default_factory=dict)
    present: Dict[str, dict] = dataclass_field(default_factory=dict)


def segment_name(segment):
    if segment == NATIVE:
        return "the untagged (native) VLAN"
    if isinstance(segment, tuple):
        return f"{segment[1]}'s bridge network {segment[2]}"
    return f"VLAN {segment}"


class FleetPlan:
    """Collects the fleet's networks and addresses, then checks them together."""

    def __init__(self):
        self.problems: List[Problem] = []
        self.hosts: Dict[str, _Host] = {}
        self.addresses: List[_Address] = []
        self.macs: List[_Address] = []  # user-set endpoint MACs

    def problem(self, host, where, value, message):
        self.problems.append(Problem(host, where, value, message))

    def guarded(self, host, where, func, *args):
        """Run a validator; an UnderlayError becomes a Problem under ``where``."""
        try:
            return func(*args)
        except UnderlayError as err:
            place = f"{where}.{err.field}" if err.field and not where.endswith(err.field) else where
            self.problem(host, place, err.value, err.detail)
            return None

    # ------------------------------------------------------------------ per host
    def add_host(self, name, trunks, networks, persist_format="ifcfg"):
        host = _Host(name)
        self.hosts[name] = host
        persist_format = self.guarded(name, "underlay_persist_format", _validation.choice, "underlay_persist_format",
                                      persist_format, PERSIST_FORMATS)
        self._trunks(host, trunks or [], persist_format)
        self._networks(host, networks or [])

    def _trunks(self, host, trunks, persist_format):
        parents = {}
        for index, trunk in enumerate(trunks):
            where = f"underlay_trunks[{index}]"
            parent = trunk.get("parent")
            if self.guarded(host.name, f"{where}.parent", _validation.interface_name, "parent", parent) is None:
                continue
            if parent in parents:
                self.problem(host.name, f"{where}.parent", parent,
                             f"'{parent}' is also the parent of underlay_trunks[{parents[parent]}]; "
                             "list all of its VLANs in one trunk")
                continue
            parents[parent] = index
            seen = {}
            for position, vlan in enumerate(trunk.get("vlans") or []):
                here = f"underlay_trunks[{parent}].vlans[{position}]"
                vid = self.guarded(host.name, f"{here}.id", _validation.vlan_id, "id", vlan.get("id"))
                if vid is None:
                    continue
                if vid in seen:
                    self.problem(host.name, f"{here}.id", vid, f"VLAN {vid} is listed twice on {parent}")
                    continue
                seen[vid] = position
                if persist_format is not None:  # the module's own rule: which format can say 802.1ad
                    self.guarded(host.name, f"{here}.protocol", _persist_spec.check_protocol, persist_format,
                                 vlan.get("protocol"))
                ifname = vlan.get("name") or f"{parent}.{vid}"
                if self.guarded(host.name, f"{here}.name", _validation.interface_name, "name", ifname) is None:
                    continue
                host.subinterfaces[ifname] = vid
                if vlan.get("address") is not None:
                    normal = self.guarded(host.name, f"{here}.address", _validation.host_address,
                                          "address", vlan.get("address"))
                    if normal is not None:
                        ip = ipaddress.ip_interface(normal).ip
                        self.addresses.append(_Address(host.name, f"{here}.address ({ifname})", ip, vid))

    def _segment_of(self, host, parent):
        if parent in host.subinterfaces:
            return host.subinterfaces[parent]
        match = _SUBINTERFACE.match(parent or "")
        if match:
            return int(match.group("vid"))
        return NATIVE

    def _networks(self, host, networks):
        for index, item in enumerate(networks):
            name = item.get("name")
            where = f"underlay_networks[{name if isinstance(name, str) and name else index}]"
            if self.guarded(host.name, f"{where}.name", _netconf.network_name, name) is None:
                continue
            if name in host.present or name in host.networks:
                self.problem(host.name, f"{where}.name", name, f"network '{name}' is defined twice on this host")
                continue
            driver = item.get("driver")
            if driver not in DRIVERS:
                self.problem(host.name, f"{where}.driver", driver,
                             f"{driver!r} is not a known driver ({', '.join(DRIVERS)})")
                continue
            foreign = [key for other, keys in DRIVER_ONLY.items() if other != driver
                       for key in keys if item.get(key) is not None]
            if foreign:
                self.problem(host.name, f"{where}.{foreign[0]}", item.get(foreign[0]),
                             f"{foreign[0]} is not an option of a {driver} network")
                continue
            if item.get("state", "present") == "absent":
                continue
            host.present[name] = item
            ipam = self.guarded(host.name, where, _netconf.build_ipam, item)
            if ipam is None:
                continue
            parent = item.get("parent")
            if driver == "macvlan":
                if not parent:
                    self.problem(host.name, f"{where}.parent", parent, "a macvlan network needs a parent")
                    continue
                segment = self._segment_of(host, parent)
            else:
                segment = ("bridge", host.name, name)
            network = _Network(host.name, name, driver, parent, segment, ipam)
            self._same_host_overlap(host, network, where)
            host.networks[name] = network
            shim = item.get("host_access") or {}
            if shim.get("address"):
                address = self.guarded(host.name, f"{where}.host_access.address", _netconf.ip_address,
                                       "address", str(shim["address"]).split("/", 1)[0])
                if address is not None:
                    self.addresses.append(_Address(host.name, f"{where}.host_access.address", address, segment))

    def _same_host_overlap(self, host, network, where):
        for other in host.networks.values():
            same_wire = network.driver == other.driver == "macvlan" and network.parent == other.parent
            if (same_wire or "bridge" in (network.driver, other.driver)) \
                    and other.ipam.subnet.overlaps(network.ipam.subnet):
                self.problem(host.name, f"{where}.subnet", str(network.ipam.subnet),
                             f"{network.ipam.subnet} overlaps {other.ipam.subnet} of network '{other.name}' "
                             "on the same host")

    # ------------------------------------------------------------------ endpoints
    def add_endpoints(self, endpoints, inventory_hosts):
        for index, item in enumerate(endpoints or []):
            where = f"underlay_endpoints[{index}]"
            host_name = item.get("host")
            if host_name not in inventory_hosts:
                self.problem(str(host_name), f"{where}.host", host_name,
                             f"{host_name!r} is not a host of the inventory")
                continue
            host = self.hosts.get(host_name)
            if host is None:  # outside the hosts being validated
                continue
            targets = [key for key in TARGET_KEYS if item.get(key) not in (None, "")]
            if len(targets) != 1:
                self.problem(host_name, where, {key: item.get(key) for key in targets},
                             "give exactly one of container, pid, container_netns"
                             + (f" (got {', '.join(targets)})" if targets else ""))
            name = item.get("network")
            if not name:
                self.problem(host_name, f"{where}.network", name, "an endpoint needs a network")
                continue
            if name not in host.present:
                known = ", ".join(sorted(host.present)) or "none"
                self.problem(host_name, f"{where}.network", name,
                             f"host {host_name} defines no network '{name}' (its networks: {known})")
                continue
            network = host.networks.get(name)
            if network is None or item.get("state", "present") == "absent":
                continue
            if item.get("mac_address") not in (None, ""):
                mac = self.guarded(host_name, f"{where}.mac_address", mac_address, "mac_address",
                                   item["mac_address"])
                if mac is not None:
                    self.macs.append(_Address(host_name, f"{where}.mac_address", mac, network.segment))
            static = item.get("ipv4_address")
            if static in (None, ""):
                continue
            address = self.guarded(host_name, f"{where}.ipv4_address", _netconf.ip_address,
                                   "ipv4_address", str(static).split("/", 1)[0])
            if address is None:
                continue
            ipam = network.ipam
            if address not in ipam.subnet:
                self.problem(host_name, f"{where}.ipv4_address", static,
                             f"{address} is outside the subnet {ipam.subnet} of network '{name}'")
            elif address == ipam.gateway or address in ipam.aux_addresses.values():
                self.problem(host_name, f"{where}.ipv4_address", static,
                             f"{address} is reserved in network '{name}' (gateway or aux address)")
            else:
                self.addresses.append(_Address(host_name, f"{where}.ipv4_address", address, network.segment, network))

    # ------------------------------------------------------------------ fleet-wide
    def check_segments(self):
        networks = [net for host in self.hosts.values() for net in host.networks.values()]
        by_segment = {}
        for net in networks:
            by_segment.setdefault(net.segment, []).append(net)
        for segment, members in by_segment.items():
            for position, first in enumerate(members):
                for second in members[position + 1:]:
                    if first.host != second.host:
                        self._compare(segment, first, second)
        self._check_addresses(by_segment)
        self._first_of_each(self.macs)

    def _compare(self, segment, first, second):
        where = f"underlay_networks[{second.name}]"
        on = segment_name(segment)
        a, b = first.ipam, second.ipam
        if a.subnet.version != b.subnet.version:
            return
        if a.subnet != b.subnet and a.subnet.overlaps(b.subnet):
            self.problem(second.host, f"{where}.subnet", str(b.subnet),
                         f"{b.subnet} overlaps {a.subnet} of {first.label} on {on} but is not the same subnet")
            return
        if a.subnet == b.subnet and a.gateway != b.gateway:
            self.problem(second.host, f"{where}.gateway", str(b.gateway),
                         f"{b.gateway} differs from {a.gateway}, the gateway of {first.label} on {on}")
        if a.ip_range.overlaps(b.ip_range):
            self.problem(second.host, f"{where}.ip_range", str(b.ip_range),
                         f"{b.ip_range} overlaps {a.ip_range}, the ip_range of {first.label} on {on}: "
                         "both hosts would hand out the same addresses")

    def _first_of_each(self, entries):
        """The entries whose address no earlier entry put on the same segment; each later
        one is a problem naming the first."""
        seen, first = {}, []
        for entry in entries:
            other = seen.setdefault((entry.segment, entry.address), entry)
            if other is entry:
                first.append(entry)
            else:
                self.problem(entry.host, entry.where, str(entry.address),
                             f"{entry.address} is also {other.host}'s {other.where} on {segment_name(entry.segment)}")
        return first

    def _check_addresses(self, by_segment):
        for entry in self._first_of_each(self.addresses):
            segment = entry.segment
            for net in by_segment.get(segment, []):
                if entry.address == net.ipam.gateway and net.driver == "macvlan":
                    self.problem(entry.host, entry.where, str(entry.address),
                                 f"{entry.address} is the gateway of {net.label} on {segment_name(segment)}")
                    break
                if net is entry.network or not net.pool_holds(entry.address):
                    continue
                self.problem(entry.host, entry.where, str(entry.address),
                             f"{entry.address} lies in ip_range {net.ipam.ip_range} of {net.label} on "
                             f"{segment_name(segment)}, which may hand it out; narrow the ip_range or list "
                             "the address in its aux_addresses")
                break

    def summary(self):
        """Per segment, the networks on it: what the plan amounts to (for the task's result)."""
        out = {}
        for host in self.hosts.values():
            for net in host.networks.values():
                out.setdefault(segment_name(net.segment), []).append({
                    "host": net.host, "network": net.name, "driver": net.driver,
                    "subnet": str(net.ipam.subnet), "ip_range": str(net.ipam.ip_range),
                    "gateway": str(net.ipam.gateway)})
        return out


def validate_fleet(hosts, endpoints, inventory_hosts=None):
    """Check the plan of ``hosts`` (name -> {"trunks": [...], "networks": [...], "persist_format": str}).

    ``endpoints`` is the fleet-wide ``underlay_endpoints`` list; ``inventory_hosts`` the
    names an endpoint's ``host`` may take (default: ``hosts``). Returns (problems, summary).
    """
    plan = FleetPlan()
    for name in sorted(hosts):
        plan.add_host(name, hosts[name].get("trunks"), hosts[name].get("networks"),
                      hosts[name].get("persist_format") or "ifcfg")
    plan.add_endpoints(endpoints, set(inventory_hosts if inventory_hosts is not None else hosts))
    plan.check_segments()
    return plan.problems, plan.summary()
