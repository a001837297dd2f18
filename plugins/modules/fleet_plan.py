#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_plan
short_description: Validate the whole fleet's networks before any host changes
version_added: 0.2.0
description:
  - Checks the role variables of every host of the inventory (C(underlay_trunks),
    C(underlay_networks)) and the fleet-wide C(underlay_endpoints), on the controller,
    and fails naming host, item, field and value of every problem found.
  - First the shape of each host's variables against the roles' own C(meta/argument_specs.yml)
    (a missing key, an unknown key, an unknown driver).
  - Then the plan as a whole. VLAN ids 1 to 4094, interface names of at most 15 characters,
    a trunk listed once per host. Gateways, ip_ranges and aux addresses inside their subnet.
    No two networks of one host overlapping on the same parent, and no bridge overlapping
    anything on its host. Across hosts, on the same VLAN, subnets equal or disjoint, one
    gateway per subnet, and ip_ranges that do not overlap (two hosts would hand out the same
    address). No address (a host's own VLAN address, a host_access shim, a static endpoint
    address) used twice on one VLAN, equal to a gateway, or inside another network's
    ip_range there unless excluded with aux_addresses. No endpoint C(mac_address) given twice
    on one VLAN (or one bridge network), each checked as C(container_endpoint) checks it.
    Every endpoint names an inventory host and a network that host defines.
  - The IPv6 side of dual-stack networks (C(ipv6_subnet), C(ipv6_gateway), C(ipv6_range)) and
    static C(ipv6_address)es follow the same rules, reported under the IPv6 option names.
    C(underlay_persist_format) is a known format, and an 802.1ad VLAN is not persisted as ifcfg
    (ifcfg cannot say 802.1ad), by the rule M(underlay.network.persistent_interface) applies; with
    V(auto) the format is known only on the host, where the module applies the same rule.
  - A VLAN id is one layer-2 segment across the whole inventory and all untagged parents are
    one segment (the native VLAN); bridge networks are local to their host.
  - This is an action plugin; nothing runs on the managed hosts. Run it once
    (C(run_once=true)), as C(playbooks/site.yml) does, before the roles.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common.attributes
options:
  hosts:
    description:
      - The hosts whose plan is checked. Default is every host of the inventory, also
        those outside C(--limit), since their networks share the VLANs.
    type: list
    elements: str
  endpoints:
    description:
      - The fleet-wide endpoint list. Default is the C(underlay_endpoints) variable of the
        host the task runs for.
    type: list
    elements: dict
  check_role_arguments:
    description:
      - Check each host's variables against the roles' argument specs first.
    type: bool
    default: true
attributes:
  diff_mode:
    support: none
  platform:
    platforms: all
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
notes:
  - Runs on the controller only.
"""

EXAMPLES = r"""
- name: Validate the fleet plan once, before any host changes
  underlay.network.fleet_plan:
  run_once: true

- name: Validate only some hosts
  underlay.network.fleet_plan:
    hosts: "{{ groups['docker_hosts'] }}"
  run_once: true
"""

RETURN = r"""
problems:
  description: Every problem found; empty when the plan is valid.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host the problem belongs to.
      type: str
    where:
      description: The variable, item and field, for example C(underlay_networks[vlan100].ip_range).
      type: str
    value:
      description: The offending value.
      type: raw
    message:
      description: What is wrong.
      type: str
segments:
  description: The networks of the valid plan per layer-2 segment (VLAN or host-local bridge).
  returned: when the shape of the variables is valid
  type: dict
  sample: {"VLAN 100": [{"host": "host1", "network": "vlan100", "driver": "macvlan",
            "subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/25", "gateway": "10.0.0.1"}]}
"""
