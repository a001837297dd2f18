# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet-wide ``underlay_endpoints`` list's published ports: on each host, a host port is
published by one endpoint only, and only on a bridge network. Pure.

A ``publish`` entry that does not parse is reported with its item (``_fleet_endpoints`` runs
the module's own spec builder); here only what needs the whole list is checked.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _publish
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


def check_published(plan, endpoints):
    seen = {}  # host -> [(item, mapping)] published so far
    for index, item in enumerate(endpoints or []):
        host_name, where = item.get("host"), f"underlay_endpoints[{index}]"
        host = plan.hosts.get(host_name)
        if host is None or not item.get("publish") or (item.get("state") or "present") == "absent":
            continue
        try:
            mappings = _publish.parse_all(f"{where}.publish", item["publish"])
        except (UnderlayError, TypeError):  # reported with the item
            continue
        network = host.networks.get(item.get("network"))
        if network is not None and network.driver != "bridge":
            plan.problems.add(host_name, f"{where}.publish", item["publish"],
                              f"network '{network.name}' is a {network.driver} network: its endpoints are directly"
                              " on the physical network, so there is no host port to publish (bridge networks only)")
            continue
        taken = seen.setdefault(host_name, [])
        for mapping in mappings:
            clash = next(((other_where, other) for other_where, other in taken if other.collides(mapping)), None)
            if clash is not None:
                plan.problems.add(host_name, f"{where}.publish", mapping.describe(),
                                  f"host port {mapping.host_port}/{mapping.protocol} of {_label(item)} is already"
                                  f" published on host {host_name} by {clash[0]} ({clash[1].describe()})")
                break  # one line an item, however long its range
        taken.extend((f"{where} ({_label(item)})", mapping) for mapping in mappings)


def _label(item):
    for key in ("container", "container_netns", "pid"):
        if item.get(key) not in (None, ""):
            return f"{key} {item[key]}"
    return "the endpoint"
