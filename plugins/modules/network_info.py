#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_info
short_description: List and inspect the networks defined on a host, like docker network ls and inspect
version_added: 0.1.0
description:
  - Returns every network defined on the host (or the named ones) shaped like
    C(docker network inspect), each with a C(drift) list of the places where the live kernel
    state no longer matches the stored definition and its leases.
  - "Drift is: a missing parent, bridge or host access interface; a bridge that is down, lacks its
    gateway address or has another MTU than defined; a port of an icc-off bridge that is not
    isolated; IPv4 forwarding off while the network masquerades; an nftables rule the network
    implies (masquerade, internal) missing, or one of its rules it no longer implies (the rules
    are read only when a network implies some); an endpoint whose interface or namespace is
    gone, whose address, MAC, macvlan mode or ipvlan mode and flag differs from its lease and network,
    which is down, whose MTU differs from what it is to have (its own C(mtu), else the network's,
    else a macvlan or ipvlan parent's), or whose routes differ from the ones its lease lists."
  - "On a dual-stack network (one with C(ipv6_subnet)), drift also is: an endpoint that lacks its
    IPv6 address or has none in its lease yet, a missing or wrong IPv6 default route, a bridge
    that lacks its IPv6 gateway address, and IPv6 forwarding off (C(net.ipv6.conf.all.forwarding))
    for a bridge network. C(EnableIPv6) is true, C(IPAM.Config) has the IPv6 entry, and each entry
    of C(Containers) has its C(IPv6Address)."
  - "On a network with C(dns) on, drift also is: the names resolver of O(state_dir) not running,
    not serving the stored records yet, or not answering in an endpoint's namespace; an
    endpoint's C(resolv.conf) that no longer points at it (C(127.0.0.11)). Endpoints whose
    namespace is gone (a stopped container), and endpoints attached before names existed (until
    M(underlay.network.container_endpoint) runs for them again), are not counted."
  - Each entry of C(Containers) has the endpoint's C(Aliases) on that network.
  - Never changes anything, and never waits for a run that does.
  - The state files are read without taking the lock of O(state_dir). Every write is an atomic
    rename, so a file is never seen half-written; while another run changes a network, each of
    its files is seen as it was just before or just after that run wrote it.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.state_dir
  - underlay.network.common.attributes
options:
  name:
    description:
      - Name or names of the networks to return. Default is all networks.
      - Naming a network that does not exist is an error.
    type: list
    elements: str
seealso:
  - module: underlay.network.macvlan_network
"""

EXAMPLES = r"""
- name: All networks of the host
  underlay.network.network_info:
  register: underlay_networks

- name: One network
  underlay.network.network_info:
    name: vlan100
  register: underlay_vlan100

- name: Fail when the kernel drifted from what was declared
  ansible.builtin.assert:
    that: underlay_networks.networks | map(attribute='drift') | flatten | length == 0
"""

RETURN = r"""
networks:
  description: The networks, each like one element of C(docker network inspect), plus C(drift).
  returned: always
  type: list
  elements: dict
  contains:
    Containers:
      description: The endpoints, keyed by container Id (or owner), each with C(Aliases).
      type: dict
    Labels:
      description: The network's C(labels).
      type: dict
    parent_state:
      description:
        - Of a network with a parent (macvlan), the parent's C(oper_state), C(carrier),
          C(promiscuous) and C(mtu), as M(underlay.network.macvlan_network) returns them; V(null)
          when the parent is missing.
      type: dict
      sample: {oper_state: up, carrier: true, promiscuous: false, mtu: 1500}
    Peers:
      description:
        - The network's endpoints on other hosts whose names this host's endpoints resolve
          (stored by M(underlay.network.network_peers)), sorted by address. Docker lists an
          overlay network's other hosts here as C({Name, IP}); each entry here is one endpoint, with
          the C(Host) it is on, its C(Name), C(Aliases) and address (C(IP)).
      type: list
      elements: dict
      sample: [{Host: host2, Name: centos02, Aliases: [db], IP: 10.0.0.130}]
    drift:
      description: Differences between the stored definition and the kernel, one line each.
      type: list
      elements: str
      sample: ["parent 'ens33.100' is missing",
               "nftables rule 'underlay.network:bridge2:masquerade:172.30.0.0/24>bridge2' is missing",
               "endpoint web (10.0.0.5): interface 'eth0' has MAC 02:00:00:00:00:98, its lease says 02:42:0a:00:00:05"]
actions:
  description: Always empty.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import NETWORK_INFO


def main():
    module = AnsibleModule(
        argument_spec=dict(_argspec.stored(), name=dict(type="list", elements="str")),
        supports_check_mode=True,
    )
    execute(module, NETWORK_INFO)


if __name__ == "__main__":
    main()
