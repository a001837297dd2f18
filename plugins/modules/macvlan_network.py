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
  - Parent preflight. The result shows the parent's state (RV(network.parent_state)), and the
    run warns, without failing, when the parent (or, for a V(IF.VID) parent it creates, V(IF))
    is down or has no carrier, as the endpoints would reach nothing.
  - A macvlan parent must accept frames for many MAC addresses. Where a hypervisor or cloud
    drops frames for MACs it did not assign (vSphere's forged transmits and promiscuous mode
    off, cloud VPCs), use an ipvlan network, whose endpoints share the parent's MAC.
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

- name: A jumbo-frame storage VLAN (the parent's MTU is 9000), labelled
  underlay.network.macvlan_network:
    name: storage
    parent: ens33.30
    subnet: 10.30.0.0/24
    mtu: 9000
    labels:
      team: storage
      site: dc1

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
    Labels: {site: dc1}
    parent_state: {oper_state: up, carrier: true, promiscuous: false, mtu: 1500}
  contains:
    parent_state:
      description:
        - The parent interface as the kernel reports it (not in Docker's inspect); V(null) when it does
          not exist (in check mode, a parent the run would create).
        - C(oper_state) is the operational state as C(/sys/class/net/IF/operstate) names it (V(up),
          V(down), V(lowerlayerdown), V(unknown) for interfaces that do not report one...);
          C(carrier) whether the link is up at the physical layer; C(promiscuous) whether the parent
          is in promiscuous mode (set by a user, or by the kernel when the NIC cannot filter the
          macvlan MAC addresses); C(mtu) its MTU, the default and the ceiling of the network's.
      returned: when O(state=present)
      type: dict
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._macvlan import MACVLAN
from ansible_collections.underlay.network.plugins.module_utils._resources import MACVLAN_NETWORK


def main():
    module = AnsibleModule(argument_spec=_argspec.parent_network(MACVLAN),
                           required_if=_argspec.PARENT_NETWORK_REQUIRED_IF, supports_check_mode=True)
    execute(module, MACVLAN_NETWORK)


if __name__ == "__main__":
    main()
