#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: persistent_interface
short_description: Write boot-time interface configuration files (RHEL ifcfg)
version_added: 0.1.0
description:
  - Writes the file that configures an interface at boot, so that what
    M(underlay.network.vlan_subinterface) set up survives a reboot. With O(format=ifcfg), the
    RHEL-style C(ifcfg-NAME) file read by initscripts and by NetworkManager's ifcfg-rh plugin.
  - "The keys are written in a fixed order: C(DEVICE), C(HWADDR), C(TYPE), C(BOOTPROTO), C(ONBOOT),
    C(IPADDR), C(PREFIX), C(NETWORK), C(MTU), C(VLAN), C(PHYSDEV), C(VLAN_ID), then the keys of
    O(extra) sorted by name, then (with O(preserve_unmanaged=true)) the other keys already in the file,
    in their order. The same options always give the same bytes."
  - Values are quoted only when needed, and so that C(bash) sourcing the file yields exactly the
    intended values (spaces, quotes, C($), backquotes and backslashes included). Values holding a
    newline, NUL or another control character (a tab excepted) are refused.
  - Idempotence is exact. A second run with the same options reports no change. A file that holds the same
    variables written differently (other quoting or order, comments) is rewritten in canonical form and
    reported as changed, with an action saying so; comments are not kept.
  - The file is written atomically (a temporary file in the same directory, fsync, rename, fsync of the
    directory) with mode 0644; a missing O(dir) is created with mode 0755. In check mode nothing is
    written, not even a temporary file or the directory.
  - If the target path is a symbolic link, the link itself is replaced by a regular file (with
    O(state=absent), the link is removed); its target is never read or written. Any other kind of
    non-regular file at the target is refused.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common.attributes
options:
  name:
    description:
      - The interface the file configures (C(DEVICE)), for example V(ens33.21); the file is
        C(<dir>/ifcfg-<name>).
      - At most 15 characters, without C(/), C(:) or whitespace.
    type: str
    required: true
  format:
    description:
      - The file format. V(ifcfg) is the RHEL format (C(/etc/sysconfig/network-scripts/ifcfg-NAME)).
    type: str
    choices: ['ifcfg']
    default: ifcfg
  type:
    description:
      - V(ethernet) writes C(TYPE=Ethernet), V(bridge) writes C(TYPE=Bridge).
      - V(vlan) writes C(VLAN=yes) and C(PHYSDEV=<parent>) (and no C(TYPE), as RHEL's own VLAN files);
        C(VLAN_ID) is written too when O(name) is not V(<parent>.<vlan_id>).
    type: str
    choices: ['ethernet', 'vlan', 'bridge']
    default: ethernet
  parent:
    description:
      - The trunk interface of a VLAN sub-interface (C(PHYSDEV)). Required with O(type=vlan), refused
        with the other types.
    type: str
  vlan_id:
    description:
      - The VLAN id, 1 to 4094. Required with O(type=vlan), refused with the other types.
      - A O(name) ending in C(.NUMBER) must end in this id.
    type: int
  address:
    description:
      - The interface's IPv4 address in CIDR notation, for example V(172.21.1.254/24); written as
        C(IPADDR), C(PREFIX) and C(NETWORK). Omitted, no address keys are written.
      - "For IPv6 use O(extra), for example C({IPV6INIT: 'yes', IPV6ADDR: '2001:db8::1/64'})."
    type: str
  hwaddr:
    description:
      - The MAC address of the network card the file binds to (C(HWADDR)), written as RHEL writes it,
        colon-separated in upper case (V(00:0C:29:3E:5B:7A)); any case, and C(-) as a separator, are accepted.
      - "Only with O(type=ethernet). To set the address of a bridge or VLAN use O(extra), for example
        C({MACADDR: '02:00:00:00:00:01'})."
    type: str
  onboot:
    description:
      - Bring the interface up at boot (C(ONBOOT=yes) or C(ONBOOT=no)).
    type: bool
    default: true
  bootproto:
    description:
      - How the interface gets its address at boot (C(BOOTPROTO)).
    type: str
    choices: ['none', 'static', 'dhcp', 'bootp', 'ibft']
    default: none
  mtu:
    description:
      - The MTU (C(MTU)), 68 to 65535. Omitted, no C(MTU) key is written.
    type: int
  extra:
    description:
      - "Further keys, for example C({NAME: System ens33, DEFROUTE: 'no', ZONE: internal})."
      - Keys are shell variable names in upper case (C(A-Z), C(0-9), C(_)); variables bash itself uses
        (C(PATH), C(IFS), C(BASH_*)...) and the keys written from the other options of this O(type) are refused.
      - Values are strings or numbers; booleans are written as C(yes) or C(no).
    type: dict
  preserve_unmanaged:
    description:
      - Keep the keys already in the file that this module does not manage (neither written from an
        option for this O(type) nor named in O(extra)), after the managed ones, in their order.
      - The existing file must then hold only plain C(KEY=value) lines (comments and quoting allowed,
        no C($) expansions or commands); otherwise the run fails naming the line, and the file is left alone.
      - With V(false) (the default), the file holds exactly what the options describe.
      - A key removed from O(extra) stays in the file when this is V(true).
    type: bool
    default: false
  dir:
    description:
      - The directory holding the file; an absolute path. Created (mode 0755) when missing, except in check mode.
    type: path
    default: /etc/sysconfig/network-scripts
  state:
    description:
      - V(present) writes the file, V(absent) removes it.
      - With V(absent), only O(name), O(format) and O(dir) are used.
    type: str
    choices: ['present', 'absent']
    default: present
notes:
  - The file only takes effect at boot or when the interface is next brought up by initscripts or
    NetworkManager; use M(underlay.network.vlan_subinterface) to configure the running kernel.
seealso:
  - module: underlay.network.vlan_subinterface
"""

EXAMPLES = r"""
- name: The trunk ens33, bound to its network card
  underlay.network.persistent_interface:
    name: ens33
    type: ethernet
    hwaddr: 00:0c:29:3e:5b:7a

- name: VLAN 21 on ens33 with the host's address (ifcfg-ens33.21)
  underlay.network.persistent_interface:
    name: ens33.21
    type: vlan
    parent: ens33
    vlan_id: 21
    address: 172.21.1.254/24

- name: A bridge with further keys, keeping keys another tool wrote into the file
  underlay.network.persistent_interface:
    name: br0
    type: bridge
    mtu: 9000
    extra:
      NAME: Storage bridge
      STP: false
    preserve_unmanaged: true

- name: Remove ifcfg-ens33.22
  underlay.network.persistent_interface:
    name: ens33.22
    state: absent
"""

RETURN = r"""
path:
  description: The file's path.
  returned: always
  type: str
  sample: /etc/sysconfig/network-scripts/ifcfg-ens33.21
content:
  description:
    - The file's text after the run (what it would be, in check mode); empty with O(state=absent).
  returned: always
  type: str
  sample: "DEVICE=ens33.21\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.21.1.254\nPREFIX=24\nNETWORK=172.21.1.0\nVLAN=yes\nPHYSDEV=ens33\n"
variables:
  description:
    - The variables the file sets, as C(bash) sourcing it would see them; empty with O(state=absent).
  returned: always
  type: dict
  sample: {"DEVICE": "ens33.21", "BOOTPROTO": "none", "ONBOOT": "yes", "IPADDR": "172.21.1.254", "PREFIX": "24",
           "NETWORK": "172.21.1.0", "VLAN": "yes", "PHYSDEV": "ens33"}
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["create /etc/sysconfig/network-scripts/ifcfg-ens33.21"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _persist
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._runner import Resource, open_files

RESOURCE = Resource(
    key=None,
    build_spec=_persist.build_spec,
    read=_persist.read,
    plan=_persist.plan,
    report=_persist.report,
    predict=_persist.predict,
    open=open_files,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            format=dict(type="str", choices=["ifcfg", "nmconnection", "networkd"], default="ifcfg"),
            type=dict(type="str", choices=["ethernet", "vlan", "bridge"], default="ethernet"),
            parent=dict(type="str"),
            vlan_id=dict(type="int"),
            protocol=dict(type="str", choices=["802.1Q", "802.1ad"]),
            address=dict(type="str"),
            hwaddr=dict(type="str"),
            onboot=dict(type="bool", default=True),
            bootproto=dict(type="str", choices=["none", "static", "dhcp", "bootp", "ibft"]),
            mtu=dict(type="int"),
            extra=dict(type="dict"),
            preserve_unmanaged=dict(type="bool", default=True),
            dir=dict(type="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    execute(module, RESOURCE)


if __name__ == "__main__":
    main()
