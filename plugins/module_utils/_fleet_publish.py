# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet-wide ``underlay_endpoints`` list's published ports: on each host, a host port is
published by one endpoint only, and only on a bridge network that is not internal. Pure.

The rules are ``container_endpoint``'s own (``_publish_rules.check_network`` and
``check_host_ports``), run here item by item so that each refusal is a problem of the plan.
A ``publish`` entry that does not parse is reported with its item (``_fleet_endpoints`` runs
the module's own spec builder); here only what needs the network or the whole list is checked.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _publish, _publish_rules
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


def check_published(plan, endpoints):
    taken = {}  # host -> [(who, mapping)] published so far
    for index, item in enumerate(endpoints or []):
        host_name, where = item.get("host"), f"underlay_endpoints[{index}]"
        host = plan.hosts.get(host_name)
        if host is None or not item.get("publish") or (item.get("state") or "present") == "absent":
            continue
        field_name = f"{where}.publish"
        try:
            mappings = _publish.parse_all(field_name, item["publish"])
        except (UnderlayError, TypeError):  # reported with the item
            continue
        network = host.networks.get(item.get("network"))
        if network is not None:
            definition = {"driver": network.driver, "internal": network.internal}
            if plan.problems.guarded(host_name, field_name, _refuse_network, field_name, mappings,
                                     network.name, definition) is None:
                continue
        who = f"{_label(item)} on network '{item.get('network')}'"
        plan.problems.guarded(host_name, field_name, _publish_rules.check_host_ports,
                              taken.get(host_name, ()), [(field_name, who, mappings)])
        taken.setdefault(host_name, []).extend((f"{where} ({who})", mapping) for mapping in mappings)


def _refuse_network(field_name, mappings, network, definition):
    _publish_rules.check_network(field_name, mappings, network, definition)
    return True


def _label(item):
    for key in ("container", "container_netns", "pid"):
        if item.get(key) not in (None, ""):
            return f"{key} {item[key]}"
    return "the endpoint"
