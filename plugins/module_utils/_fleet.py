# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of a whole fleet's plan before any host changes: the management plane
Docker's docs say macvlan lacks ("no management plane feature to check for overlapping
IP ranges").

Pure: no AnsibleModule, no pyroute2. Input is what the roles take, per host
(``underlay_trunks``, ``underlay_networks``) plus the fleet-wide ``underlay_endpoints``;
output is a list of ``Problem`` naming host, item, field and value. Each item is validated
by the spec builder of the module that applies it (``_fleet_hosts``, ``_fleet_endpoints``);
what only the whole fleet can show is checked per layer-2 segment (``_fleet_segments``).
"""

from __future__ import annotations

from typing import Dict, List

from ansible_collections.underlay.network.plugins.module_utils import _fleet_endpoints, _fleet_hosts, _fleet_segments
from ansible_collections.underlay.network.plugins.module_utils._fleet_model import Address, Host, Problems


class FleetPlan:
    """The fleet's hosts, and the addresses and MACs its items put on segments."""

    def __init__(self):
        self.problems = Problems()
        self.hosts: Dict[str, Host] = {}
        self.addresses: List[Address] = []
        self.macs: List[Address] = []  # user-set endpoint MACs


def validate_fleet(hosts, endpoints, inventory_hosts=None):
    """Check the plan of ``hosts`` (name -> {"trunks": [...], "networks": [...], "persist_format": str}).

    ``endpoints`` is the fleet-wide ``underlay_endpoints`` list; ``inventory_hosts`` the
    names an endpoint's ``host`` may take (default: ``hosts``). Returns (problems, summary).
    """
    plan = FleetPlan()
    for name in sorted(hosts):
        _fleet_hosts.add_host(plan, name, hosts[name].get("trunks"), hosts[name].get("networks"),
                              hosts[name].get("persist_format") or "ifcfg")
    _fleet_endpoints.add_endpoints(plan, endpoints, set(inventory_hosts if inventory_hosts is not None else hosts))
    _fleet_segments.check_segments(plan)
    return plan.problems.found, _fleet_segments.summary(plan)
