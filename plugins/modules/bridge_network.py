#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge_network
short_description: Manage a user-defined bridge network, like docker network create with the bridge driver
version_added: 0.1.0
description:
  - Creates a Linux bridge with the network's gateway address, as
    C(docker network create --subnet --gateway --opt com.docker.network.bridge.name=...)
    does, idempotently; MTU, the gateway, inter-container communication and NAT change in
    place, and a new O(bridge_name) renames the bridge rather than re-creating it.
  - O(icc=false) isolates the bridge's ports from each other (bridge port isolation), so
    endpoints reach the gateway but not each other.
  - O(masquerade) NATs traffic from the subnet leaving through any other interface and turns
    on IPv4 forwarding in the namespace. The rules live in the nftables table
    C(ip underlay_network), each tagged with the network's name, so re-runs find them and
    O(state=absent) removes exactly them.
  - O(internal=true) means no NAT and no forwarding between the bridge and any other
    interface; endpoints get no default route.
  - Containers are attached with M(underlay.network.container_endpoint).
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.state_dir
  - underlay.network.common.network
  - underlay.network.common.attributes
options:
  subnet:
    description:
      - The network's IPv4 subnet in CIDR notation. Required with O(state=present).
    type: str
  gateway:
    description:
      - The bridge's own address; must lie in O(subnet). Defaults to the first host address.
    type: str
  bridge_name:
    description:
      - Name of the Linux bridge (Docker's C(com.docker.network.bridge.name)), at most 15
        characters. Defaults to V(br-) and the first 12 characters of the network's Id.
    type: str
  icc:
    description:
      - Inter-container communication. V(false) isolates the bridge's ports from each other.
    type: bool
    default: true
  masquerade:
    description:
      - NAT traffic from the subnet that leaves through another interface.
      - Defaults to V(true), or V(false) when O(internal=true) (which cannot be combined with V(true)).
    type: bool
  internal:
    description:
      - No NAT and no forwarding between the bridge and other interfaces.
    type: bool
    default: false
notes:
  - Needs the C(nft) command (package C(nftables)) on the managed host for O(masquerade) and
    O(internal) (and to remove a network that had them); a network with neither never runs it.
seealso:
  - module: underlay.network.macvlan_network
  - module: underlay.network.network_info
"""

EXAMPLES = r"""
- name: Docker's bridge2 example, with ICC off
  underlay.network.bridge_network:
    name: bridge2
    bridge_name: bridge2
    subnet: 172.30.0.0/16
    gateway: 172.30.0.1
    icc: false

- name: An internal network (no way out)
  underlay.network.bridge_network:
    name: backend
    subnet: 10.77.0.0/24
    internal: true
"""

RETURN = r"""
network:
  description:
    - The network shaped like one element of C(docker network inspect), with Docker's
      option keys (as it would be, in check mode). Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    Name: bridge2
    Driver: bridge
    Scope: local
    IPAM:
      Config:
        - {Subnet: 172.30.0.0/16, IPRange: 172.30.0.0/16, Gateway: 172.30.0.1, AuxiliaryAddresses: {}}
    Internal: false
    EnableDNS: true
    Options:
      com.docker.network.bridge.name: bridge2
      com.docker.network.bridge.enable_icc: "false"
      com.docker.network.bridge.enable_ip_masquerade: "true"
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import BRIDGE_NETWORK


def main():
    module = AnsibleModule(
        argument_spec=_argspec.network(
            bridge_name=dict(type="str"),
            icc=dict(type="bool", default=True),
            masquerade=dict(type="bool"),
        ),
        required_if=[("state", "present", ("subnet",))],
        supports_check_mode=True,
    )
    execute(module, BRIDGE_NETWORK)


if __name__ == "__main__":
    main()
