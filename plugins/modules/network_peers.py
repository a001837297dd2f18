#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_peers
short_description: Give a network's endpoints the names of its endpoints on other hosts
version_added: 0.1.0
description:
  - Stores the name records of the endpoints that a network spanning several hosts (a macvlan
    or ipvlan network with the same name on each host, on one VLAN) has on the other hosts, so this
    host's endpoints of that network resolve their names and aliases too (see
    M(underlay.network.container_endpoint) and the C(dns) option of
    M(underlay.network.macvlan_network) and M(underlay.network.ipvlan_network)).
  - O(state=present) makes the stored records of O(network) exactly O(peers); O(state=absent)
    removes them. They are kept in O(state_dir) (C(peers/NETWORK.json), none when there are no
    records), so they survive a reboot, and served by the host's names resolver beside the local
    endpoints' records.
  - When the host has endpoints resolving names, the module returns once the resolver serves
    the new records (it starts the resolver if none runs), as
    M(underlay.network.container_endpoint) does.
  - C(playbooks/site.yml) calls it on every host, after the endpoints, with the endpoints the
    other hosts attached to each of its macvlan and ipvlan networks with C(dns) on.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.state_dir
  - underlay.network.common.attributes
options:
  network:
    description:
      - Name of a network stored in O(state_dir), of the macvlan or ipvlan driver (those whose
        networks span hosts), with C(dns) on.
    type: str
    required: true
  peers:
    description:
      - The endpoints of O(network) on other hosts. Each address lies in the network's subnet and
        is no local endpoint's; no name or alias is given twice, nor is it a name of a local
        endpoint of the network.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The host the endpoint is on (shown by M(underlay.network.network_info)).
        type: str
        required: true
      name:
        description:
          - The name the endpoint answers to (a container's name, a C(container_netns) target's
            namespace name), a valid DNS name.
        type: str
        required: true
      address:
        description: The endpoint's IPv4 address on the network (a prefix length is ignored).
        type: str
        required: true
      aliases:
        description: Further names the endpoint answers to, each a valid DNS name.
        type: list
        elements: str
        default: []
  state:
    description:
      - V(present) stores exactly O(peers), V(absent) removes the network's peer records.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The host needs C(dnspython) when it has endpoints resolving names (the resolver does).
seealso:
  - module: underlay.network.container_endpoint
  - module: underlay.network.network_info
"""

EXAMPLES = r"""
- name: On host1, the names of vlan100's endpoints on host2
  underlay.network.network_peers:
    network: vlan100
    peers:
      - {host: host2, name: centos02, address: 10.0.0.130, aliases: [db]}
      - {host: host2, name: centos03, address: 10.0.0.131}

- name: Forget them
  underlay.network.network_peers:
    network: vlan100
    state: absent
"""

RETURN = r"""
peers:
  description:
    - The stored peer records of O(network), sorted by address (as they would be, in check
      mode); empty after O(state=absent).
  returned: always
  type: list
  elements: dict
  sample:
    - {host: host2, name: centos02, address: 10.0.0.130, aliases: [db]}
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import NETWORK_PEERS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network=dict(type="str", required=True),
            peers=dict(type="list", elements="dict", default=[], options=dict(
                host=dict(type="str", required=True),
                name=dict(type="str", required=True),
                address=dict(type="str", required=True),
                aliases=dict(type="list", elements="str", default=[]),
            )),
            state=_argspec.state(),
            **_argspec.stored(),
        ),
        supports_check_mode=True,
    )
    execute(module, NETWORK_PEERS)


if __name__ == "__main__":
    main()
