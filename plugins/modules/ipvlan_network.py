#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvlan_network
short_description: Manage a named ipvlan network, like docker network create -d ipvlan
version_added: 0.1.0
description:
  - Defines an ipvlan network on a parent interface, with its addressing (subnet, gateway,
    allocation range, reserved auxiliary addresses), as
    C(docker network create -d ipvlan --subnet --ip-range --gateway --aux-address -o parent=
    -o ipvlan_mode= -o ipvlan_flag=) does, idempotently. Containers are attached with M(underlay.network.container_endpoint).
  - Every endpoint shares the parent's MAC address, so the network works where the NIC, the
    hypervisor (vSphere without forged transmits) or the cloud network accepts one MAC address
    per port, which macvlan (M(underlay.network.macvlan_network)) needs many of.
  - When O(parent) looks like V(IF.VID), does not exist and V(IF) does, the 802.1Q
    sub-interface is created and recorded as owned by the network; on O(state=absent) it is
    removed only if no other network uses it.
  - Several ipvlan networks may share a parent when their subnets do not overlap and they have
    the same O(mode) and O(flag) (the kernel keeps one for all ipvlans of a parent). A parent
    that carries macvlan networks is refused (the kernel cannot hang both off one parent),
    naming the macvlan network; M(underlay.network.macvlan_network) refuses the reverse.
  - Changing O(mode) or O(flag) changes the attached endpoints in place; the network is never re-created.
  - In O(mode=l3) and O(mode=l3s) the host routes for its endpoints (no broadcast, no ARP on the
    parent's segment for them). Each endpoint's default route is its interface (no gateway), and the
    upstream router needs a route to O(subnet) (or O(ip_range)) through the host's address on the parent.
  - O(host_access) adds what Docker lacks, an ipvlan "shim" on the parent so the host can
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
      - The host interface the network's ipvlan interfaces hang off. Required with O(state=present).
      - The loopback interface is refused, and so is a parent that carries a macvlan network.
    type: str
  mode:
    description:
      - The ipvlan mode (Docker's C(ipvlan_mode)). V(l2) puts the endpoints on the parent's segment;
        V(l3) and V(l3s) route them through the host (V(l3s) through the host's netfilter too).
    type: str
    choices: [l2, l3, l3s]
    default: l2
  flag:
    description:
      - The ipvlan flag (Docker's C(ipvlan_flag)). V(bridge) lets the endpoints of the parent reach
        each other directly, V(private) forbids it, V(vepa) sends their traffic to the switch.
    type: str
    choices: [bridge, private, vepa]
    default: bridge
  subnet:
    description:
      - The network's subnet in CIDR notation, for example V(10.0.0.0/24). Required with O(state=present).
    type: str
  gateway:
    description:
      - The gateway endpoints route through in O(mode=l2); must lie in O(subnet). Defaults to the
        first host address. In O(mode=l3) and O(mode=l3s) it is only kept out of allocation.
    type: str
  internal:
    description:
      - Endpoints get no default route.
    type: bool
    default: false
  host_access:
    description:
      - An ipvlan interface in L2 mode (flag bridge) on the parent, with this address (as a /32) and a
        route to O(ip_range), so the host reaches the network's containers.
      - Needs O(mode=l2) and O(flag=bridge), because the kernel keeps one mode and flag for all ipvlans
        of a parent and passes traffic between them locally only so.
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
  - module: underlay.network.macvlan_network
  - module: underlay.network.container_endpoint
  - module: underlay.network.network_info
"""

EXAMPLES = r"""
- name: VLAN 300 as an ipvlan L2 network (the sub-interface ens33.300 is created if missing)
  underlay.network.ipvlan_network:
    name: vlan300
    parent: ens33.300
    subnet: 10.3.0.0/24
    ip_range: 10.3.0.128/25
    gateway: 10.3.0.1
    host_access:
      ifname: vlan300-shim
      address: 10.3.0.254

- name: A routed (L3) network behind the host; the router needs "ip route add 10.40.0.0/24 via HOST_ADDRESS"
  underlay.network.ipvlan_network:
    name: routed
    parent: eth0
    mode: l3
    subnet: 10.40.0.0/24

- name: Remove it, detaching whatever is still attached
  underlay.network.ipvlan_network:
    name: routed
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
    Name: vlan300
    Id: 0b6f1c1f3c8e8a0f2b9d4e7c6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b
    Driver: ipvlan
    Scope: local
    IPAM:
      Driver: default
      Options: {}
      Config:
        - Subnet: 10.3.0.0/24
          IPRange: 10.3.0.128/25
          Gateway: 10.3.0.1
          AuxiliaryAddresses: {}
    Internal: false
    EnableDNS: true
    Containers: {}
    Options: {parent: ens33.300, ipvlan_mode: l2, ipvlan_flag: bridge}
    Labels: {}
    parent_state: {oper_state: up, carrier: true, promiscuous: false, mtu: 1500}
  contains:
    parent_state:
      description:
        - The parent interface as the kernel reports it (not in Docker's inspect); V(null) when it does
          not exist (in check mode, a parent the run would create).
        - C(oper_state) is the operational state as C(/sys/class/net/IF/operstate) names it; C(carrier)
          whether the link is up at the physical layer; C(promiscuous) whether the parent is in
          promiscuous mode (an ipvlan network does not need it, its endpoints have the parent's MAC);
          C(mtu) its MTU, the default and the ceiling of the network's.
        - A parent that is down or has no carrier is reported as a warning, not a failure.
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
from ansible_collections.underlay.network.plugins.module_utils._ipvlan import IPVLAN
from ansible_collections.underlay.network.plugins.module_utils._resources import IPVLAN_NETWORK


def main():
    module = AnsibleModule(argument_spec=_argspec.parent_network(IPVLAN),
                           required_if=_argspec.PARENT_NETWORK_REQUIRED_IF, supports_check_mode=True)
    execute(module, IPVLAN_NETWORK)


if __name__ == "__main__":
    main()
