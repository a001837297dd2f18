# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a fleet plan is made of: the problems found, the networks and addresses collected per
host, and the layer-2 segments they sit on. Pure.

What counts as one layer-2 segment: a VLAN id is one segment across the whole inventory
(hosts trunked to the same switches), and all untagged parents are one segment, the
native VLAN. Bridge networks are local to their host.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Dict, List, Optional

from ansible_collections.underlay.network.plugins.module_utils import _network_spec
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

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
class Network:
    host: str
    name: str
    driver: str
    parent: Optional[str]
    segment: object  # VLAN id, NATIVE, or ("bridge", host, name)
    ipam: _network_spec.IpamConfig
    internal: bool = False  # a bridge network nothing from outside reaches
    ipam6: Optional[_network_spec.IpamConfig] = None  # the IPv6 side of a dual-stack network

    @property
    def label(self):
        return f"{self.host}'s network {self.name}"

    def families(self):
        """``(ipam, option names)`` of each side of the network: IPv4's, then IPv6's on dual stack."""
        found = [(self.ipam, _network_spec.IPV4_FIELDS)]
        if self.ipam6 is not None:
            found.append((self.ipam6, _network_spec.IPV6_FIELDS))
        return found

    def ipam_for(self, address):
        """The side of the network ``address``'s IP version belongs to (None when it has none)."""
        return next((ipam for ipam, _fields in self.families() if ipam.subnet.version == address.version), None)

    def pool_holds(self, address):
        """Whether this network's IPAM may hand out ``address`` to a container."""
        ipam = self.ipam_for(address)
        return (ipam is not None and address in ipam.ip_range and address != ipam.gateway
                and address not in ipam.aux_addresses.values())


@dataclass
class Address:
    """An address (IPv4 or IPv6, or a MAC) one item of the plan puts on a segment."""

    host: str
    where: str
    address: object
    segment: object
    network: Optional[Network] = None  # set for an endpoint's static address


@dataclass
class Host:
    name: str
    subinterfaces: Dict[str, int] = dataclass_field(default_factory=dict)
    networks: Dict[str, Network] = dataclass_field(default_factory=dict)
    present: Dict[str, dict] = dataclass_field(default_factory=dict)


def segment_name(segment):
    if segment == NATIVE:
        return "the untagged (native) VLAN"
    if isinstance(segment, tuple):
        return f"{segment[1]}'s bridge network {segment[2]}"
    return f"VLAN {segment}"


class Problems:
    """The problems found so far, and the run of a module's own validator under a place."""

    def __init__(self):
        self.found: List[Problem] = []

    def add(self, host, where, value, message):
        self.found.append(Problem(host, where, value, message))

    def guarded(self, host, where, func, *args, fields=None):
        """Run a validator; an UnderlayError becomes a Problem under ``where``, its message the
        validator's own. ``fields`` renames a field the module calls otherwise than the role
        variable does (``vlan_id`` -> ``id``)."""
        try:
            return func(*args)
        except UnderlayError as err:
            name = (fields or {}).get(err.field, err.field)
            place = f"{where}.{name}" if name and not where.endswith(name) else where
            self.add(host, place, err.value, err.detail)
            return None
