# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet-wide ``underlay_endpoints`` list's names across hosts: on a network spanning hosts
(a macvlan network with ``dns`` on, the same name on several hosts), a name (a container's, a
``container_netns`` namespace's, an alias) is answered to by one endpoint only, so site.yml's
network_peers does not refuse it after the endpoints are attached. Pure.

One host's own clashes are container_endpoint's to refuse (it knows a container's canonical
name); here only what needs the whole list is checked: the same name on two hosts.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _dns_records
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._network_peers import DRIVERS


def check_names(plan, endpoints):
    seen = {}  # (network, name lower case) -> (host, where, label)
    for index, item in enumerate(endpoints or []):
        host_name, where = item.get("host"), f"underlay_endpoints[{index}]"
        host = plan.hosts.get(host_name)
        network = host.networks.get(item.get("network")) if host is not None else None
        if (network is None or network.driver not in DRIVERS or (item.get("state") or "present") == "absent"
                or host.present.get(network.name, {}).get("dns", True) is False):
            continue
        for field_name, name in _names(item):
            holder = seen.setdefault((network.name, name.lower()), (host_name, where, _label(item)))
            if holder[0] != host_name:
                plan.problems.add(host_name, f"{where}.{field_name}", name,
                                  f"'{name}' of {_label(item)} is also a name of {holder[0]}'s {holder[1]} ({holder[2]})"
                                  f" on network '{network.name}', whose endpoints resolve each other across hosts")


def _names(item):
    """``(field, name)`` of each name the item answers to (those that are valid DNS names)."""
    found = []
    for field_name in ("container", "container_netns"):
        if isinstance(item.get(field_name), str):
            found.append((field_name, item[field_name].lstrip("/")))
    aliases = item.get("aliases")
    found.extend(("aliases", alias) for alias in (aliases if isinstance(aliases, list) else ()))
    valid = []
    for field_name, name in found:
        try:
            valid.append((field_name, _dns_records.dns_name(field_name, name)))
        except UnderlayError:  # a namespace path, or a bad alias (reported with the item)
            continue
    return valid


def _label(item):
    for key in ("container", "container_netns", "pid"):
        if item.get(key) not in (None, ""):
            return f"{key} {item[key]}"
    return "the endpoint"
