#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vlan_subinterface
short_description: Manage 802.1Q and 802.1ad VLAN sub-interfaces such as ens33.21
version_added: 0.1.0
description:
  - Creates, changes in place and removes a VLAN sub-interface on a trunk interface, as
    C(ip link add link ens33 name ens33.21 type vlan id 21) does, idempotently.
  - MTU, addresses and administrative state are changed in place.
  - An existing interface with the same name but another kind, parent, VLAN id or protocol
    is never replaced silently; O(recreate=true) replaces it (the new one is built under a
    temporary name first, so a failure leaves the old one in place).
  - A failure half-way undoes the steps already done.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.attributes
options:
  parent:
    description:
      - The trunk interface carrying the tagged frames. Required with O(state=present).
      - With O(state=absent), when given, the interface is removed only if it is a
        sub-interface of this parent.
    type: str
  vlan_id:
    description:
      - The VLAN id, 1 to 4094.
    type: int
    required: true
  name:
    description:
      - Name of the sub-interface, at most 15 characters, without C(/), C(:) or whitespace.
      - Defaults to V(<parent>.<vlan_id>).
    type: str
  protocol:
    description:
      - The VLAN protocol, 802.1Q (C-tag) or 802.1ad (S-tag, QinQ).
      - Cannot change in place; a different protocol on an existing interface needs O(recreate=true).
    type: str
    choices: ['802.1Q', '802.1ad']
    default: '802.1Q'
  mtu:
    description:
      - MTU of the sub-interface (68 to the parent's MTU). Default is to leave the kernel's
        choice (the parent's MTU at creation) alone.
    type: int
  addresses:
    description:
      - When given, the exact set of addresses of the sub-interface in CIDR notation, for
        example V(172.21.1.254/24); other addresses are removed (IPv6 link-local ones excepted).
      - An empty list removes all addresses. Omitted, addresses are not managed.
    type: list
    elements: str
  admin_state:
    description:
      - Administrative state of the sub-interface.
    type: str
    choices: ['up', 'down']
    default: up
  recreate:
    description:
      - Replace an existing interface of the same name that is not the described
        sub-interface (another kind, parent, VLAN id or protocol) instead of failing.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the sub-interface, V(absent) removes it.
    type: str
    choices: ['present', 'absent']
    default: present
notes:
  - The kernel of the managed host needs 802.1Q support (C(CONFIG_VLAN_8021Q) or the C(8021q)
    module); without it creation fails with a message saying so.
seealso:
  - module: underlay.network.macvlan_network
"""

EXAMPLES = r"""
- name: VLAN 21 on the trunk ens33 with the host's address on it
  underlay.network.vlan_subinterface:
    parent: ens33
    vlan_id: 21
    addresses:
      - 172.21.1.254/24

- name: An 802.1ad (QinQ) outer tag with a custom name and MTU
  underlay.network.vlan_subinterface:
    parent: ens34
    vlan_id: 100
    name: svlan100
    protocol: 802.1ad
    mtu: 1496

- name: Inside a named network namespace
  underlay.network.vlan_subinterface:
    parent: veth0
    vlan_id: 100
    netns: lab-host1

- name: Remove ens33.22
  underlay.network.vlan_subinterface:
    parent: ens33
    vlan_id: 22
    state: absent
"""

RETURN = r"""
interface:
  description:
    - The sub-interface as it is after the run (as it would be, in check mode; C(index) and
      C(mac_address) are then null for an interface not yet created).
    - Empty when O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Interface name.
      type: str
      sample: ens33.21
    index:
      description: Kernel interface index.
      type: int
      sample: 7
    parent:
      description: The trunk interface.
      type: str
      sample: ens33
    vlan_id:
      description: VLAN id.
      type: int
      sample: 21
    protocol:
      description: VLAN protocol.
      type: str
      sample: 802.1Q
    mtu:
      description: MTU.
      type: int
      sample: 1500
    mac_address:
      description: MAC address (inherited from the parent at creation).
      type: str
      sample: 52:54:00:12:34:56
    admin_state:
      description: V(up) or V(down).
      type: str
      sample: up
    addresses:
      description: All addresses on the interface, in CIDR notation.
      type: list
      elements: str
      sample: ['172.21.1.254/24']
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["create ens33.21 as VLAN 21 (802.1Q) on 'ens33'", "add address 172.21.1.254/24 to 'ens33.21'", "set 'ens33.21' up"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec, _validation
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import VLAN_SUBINTERFACE


def main():
    module = AnsibleModule(
        argument_spec=dict(
            parent=dict(type="str"),
            vlan_id=dict(type="int", required=True),
            name=dict(type="str"),
            protocol=dict(type="str", choices=list(_validation.VLAN_PROTOCOLS), default="802.1Q"),
            mtu=dict(type="int"),
            addresses=dict(type="list", elements="str"),
            admin_state=dict(type="str", choices=list(_validation.ADMIN_STATES), default="up"),
            recreate=dict(type="bool", default=False),
            state=_argspec.state(),
            **_argspec.netns(),
        ),
        required_if=[
            ("state", "present", ("parent",)),
            ("state", "absent", ("name", "parent"), True),
        ],
        supports_check_mode=True,
    )
    execute(module, VLAN_SUBINTERFACE)


if __name__ == "__main__":
    main()
