#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: macvlan_network
short_description: Manage a named macvlan network, like docker network create -d macvlan
version_added: 0.1.0
description:
  - Defines a macvlan network on a parent interface, with its addressing (subnet, gateway,
    allocation range, reserved auxiliary addresses), as
    C(docker network create -d macvlan --subnet --ip-range --gateway --aux-address -o parent=)
    does, idempotently. Containers are attached with M(underlay.network.container_endpoint).
  - When O(parent) looks like V(IF.VID), does not exist and V(IF) does, the 802.1Q
    sub-interface is created and recorded as owned by the network; on O(state=absent) it is
    removed only if no other network uses it.
  - Several networks may share a parent when their subnets do not overlap. A parent that carries an
    ipvlan network (M(underlay.network.ipvlan_network)) is refused, naming it, because the kernel
    cannot hang macvlan and ipvlan interfaces off one parent.
  - Changing O(mode) changes the attached endpoints in place; the network is never re-created.
    The kernel cannot switch a macvlan to or from V(passthru), so that change is refused while
    endpoints are attached.
  - O(host_access) adds what Docker lacks, a macvlan "shim" on the parent so the host can
    reach its own containers.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.state_dir
  - underlay.network.common.network
  - underlay.network.common.attributes
options:
  parent:
    description:
      - The host interface the network's macvlan interfaces hang off. Required with O(state=present).
      - The loopback interface is refused (the kernel cannot hang a macvlan off it).
    type: str
  mode:
    description:
      - The macvlan mode of the network's interfaces.
    type: str
    choices: [bridge, private, vepa, passthru]
    default: bridge
  subnet:
    description:
      - The network's subnet in CIDR notation, for example V(10.0.0.0/24). Required with O(state=present).
    type: str
  gateway:
    description:
      - The gateway endpoints route through; must lie in O(subnet). Defaults to the first host address.
    type: str
  internal:
    description:
      - Endpoints get no default route.
    type: bool
    default: false
  host_access:
    description:
      - A macvlan interface in bridge mode on the parent, with this address (as a /32) and a
        route to O(ip_range), so the host reaches the network's containers.
      - Needs O(mode=bridge), because only between bridge-mode macvlans does the kernel deliver locally.
    type: dict
    suboptions:
      ifname:
        description: Name of the host-side interface.
        type: str
        required: true
      address:
        description: The host's address on the network; must lie in O(subnet) and not be leased to an endpoint.
        type: str
        required: true
seealso:
  - module: underlay.network.vlan_subinterface
  - module: underlay.network.network_info
"""

EXAMPLES = r"""
- name: VLAN 100 as a macvlan network (the sub-interface ens33.100 is created if missing)
  underlay.network.macvlan_network:
    name: vlan100
    parent: ens33.100
    subnet: 10.0.0.0/24
    ip_range: 10.0.0.0/25
    gateway: 10.0.0.1
    aux_addresses:
      switch: 10.0.0.2

- name: A network the host itself can reach
  underlay.network.macvlan_network:
    name: lan
    parent: eth0
    subnet: 192.168.1.0/24
    ip_range: 192.168.1.192/27
    gateway: 192.168.1.1
    host_access:
      ifname: lan-shim
      address: 192.168.1.223

- name: Remove it, detaching whatever is still attached
  underlay.network.macvlan_network:
    name: lan
    state: absent
    force: true
"""

RETURN = r"""
network:
  description:
    - The network shaped like one element of C(docker network inspect) (as it would be, in
      check mode). Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    Name: vlan100
    Id: 5d0f5c3e0d4cbe0b8d0a4f9b7c3d2f1e0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d
    Driver: macvlan
    Scope: local
    IPAM:
      Driver: default
      Options: {}
      Config:
        - Subnet: 10.0.0.0/24
          IPRange: 10.0.0.0/25
          Gateway: 10.0.0.1
          AuxiliaryAddresses: {switch: 10.0.0.2}
    Internal: false
    EnableDNS: true
    Containers: {}
    Options: {parent: ens33.100, macvlan_mode: bridge}
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._macvlan import MODES
from ansible_collections.underlay.network.plugins.module_utils._resources import MACVLAN_NETWORK


def main():
    module = AnsibleModule(
        argument_spec=_argspec.network(
            parent=dict(type="str"),
            mode=dict(type="str", choices=list(MODES), default=MODES[0]),
            host_access=dict(type="dict", options=dict(
                ifname=dict(type="str", required=True),
                address=dict(type="str", required=True),
            )),
        ),
        required_if=[("state", "present", ("parent", "subnet"))],
        supports_check_mode=True,
    )
    execute(module, MACVLAN_NETWORK)


if __name__ == "__main__":
    main()
