# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet-wide ``underlay_endpoints`` list: each item validated by
``container_endpoint``'s own spec builder (so a bad MAC, address, ifname or route gets the
module's message), then placed on its host's network. Added here only what the list form
brings: the item's host, a network that host defines, and a static address checked against
that network's addressing (which the module does when it plans, against the stored
definition). Pure.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_spec, _fleet_names, _fleet_publish, _network_spec
from ansible_collections.underlay.network.plugins.module_utils._targets import TARGET_KEYS
from ansible_collections.underlay.network.plugins.module_utils._fleet_model import Address

# the keys of one endpoint item that container_endpoint takes (``host`` is the role's)
ITEM_KEYS = ("network",) + TARGET_KEYS + (
    "runtime", "ifname", "ipv4_address", "ipv6_address", "mac_address", "default_route", "routes", "state", "publish",
    "mtu")


def add_endpoints(plan, endpoints, inventory_hosts):
    for index, item in enumerate(endpoints or []):
        _endpoint_item(plan, f"underlay_endpoints[{index}]", item, inventory_hosts)
    _fleet_publish.check_published(plan, endpoints)
    _fleet_names.check_names(plan, endpoints)


def _endpoint_item(plan, where, item, inventory_hosts):
    problems = plan.problems
    host_name = item.get("host")
    if host_name not in inventory_hosts:
        problems.add(str(host_name), f"{where}.host", host_name, f"{host_name!r} is not a host of the inventory")
        return
    host = plan.hosts.get(host_name)
    if host is None:  # outside the hosts being validated
        return
    targets = [key for key in TARGET_KEYS if item.get(key) not in (None, "")]
    if len(targets) != 1:  # reported for the whole item, with the network checks below still made
        problems.add(host_name, where, {key: item.get(key) for key in targets},
                     "give exactly one of " + ", ".join(TARGET_KEYS)
                     + (f" (got {', '.join(targets)})" if targets else ""))
    name = item.get("network")
    if not name:
        problems.add(host_name, f"{where}.network", name, "an endpoint needs a network")
        return
    if name not in host.present:
        known = ", ".join(sorted(host.present)) or "none"
        problems.add(host_name, f"{where}.network", name,
                     f"host {host_name} defines no network '{name}' (its networks: {known})")
        return
    if len(targets) != 1:
        return
    batch = problems.guarded(host_name, where, _endpoint_spec.build_spec, {key: item.get(key) for key in ITEM_KEYS})
    network = host.networks.get(name)
    if batch is None or network is None or batch.endpoints[0].state == "absent":
        return
    spec = batch.endpoints[0]
    if spec.mac_address is not None and network.driver == "ipvlan":  # the module's refusal, at the item
        problems.guarded(host_name, where, _endpoint_spec.refuse_mac, network.driver, "mac_address", spec.mac_address)
        return
    if spec.mac_address is not None:
        plan.macs.append(Address(host_name, f"{where}.mac_address", spec.mac_address, network.segment))
    for key, static in (("ipv4_address", spec.ipv4_address), ("ipv6_address", spec.ipv6_address)):
        if static is not None:
            _static_address(plan, host_name, f"{where}.{key}", item[key], ipaddress.ip_address(static), network)


def _static_address(plan, host_name, field_name, given, address, network):
    """A static ``ipv4_address`` or ``ipv6_address``: checked against its side of the network
    (``_network_spec.address_conflict``, the modules' rule) and put on its segment."""
    problems, name = plan.problems, network.name
    ipam = network.ipam_for(address)
    if ipam is None:
        problems.add(host_name, field_name, given, f"{address} cannot be given: network '{name}' has no IPv6"
                     " (no ipv6_subnet)")
        return
    conflict = _network_spec.address_conflict(ipam, address)
    if conflict is None:
        plan.addresses.append(Address(host_name, field_name, address, network.segment, network))
    elif conflict[0] == "subnet" and address not in ipam.subnet:
        problems.add(host_name, field_name, given, f"{address} is outside the subnet {ipam.subnet} of network '{name}'")
    else:
        problems.add(host_name, field_name, given, f"{address} is reserved in network '{name}' ({conflict[2]})")
