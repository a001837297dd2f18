#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: persistent_interface
short_description: Write boot-time interface configuration files (ifcfg, NetworkManager keyfile, systemd-networkd)
version_added: 0.1.0
description:
  - Writes the files that configure an interface at boot, so that what
    M(underlay.network.vlan_subinterface) set up survives a reboot, in the format the host's
    network stack reads (O(format)).
  - "V(ifcfg): the RHEL-style C(DIR/ifcfg-NAME) read by initscripts and NetworkManager's ifcfg-rh
    plugin (RHEL 8 and older). Keys in a fixed order: C(DEVICE), C(HWADDR), C(TYPE), C(BOOTPROTO),
    C(ONBOOT), C(IPADDR), C(PREFIX), C(NETWORK), C(MTU), C(VLAN), C(PHYSDEV), C(VLAN_ID), then the keys
    of O(extra) sorted by name, then the kept keys in their order. Values are quoted only when needed,
    and so that C(bash) sourcing the file yields exactly the intended values."
  - "V(nmconnection): a NetworkManager keyfile C(DIR/NAME.nmconnection), mode 0600 (RHEL 9 and later,
    Fedora, any host running NetworkManager): C([connection]) C(id), C(uuid) (kept from the file, else
    derived from the name), C(type), C(interface-name), C(autoconnect); C([ethernet]) C(mac-address),
    C(mtu); C([vlan]) C(id), C(parent), C(protocol) (for 802.1ad; NetworkManager 1.42 and later);
    C([bridge]); C([ipv4]) C(method), C(address1)."
  - "V(networkd): systemd-networkd's C(DIR/10-NAME.network) and, for a vlan or a bridge,
    C(DIR/10-NAME.netdev) (C([NetDev]) C(Name), C(Kind), C(MTUBytes); C([VLAN]) C(Id), C(Protocol)).
    The C(10-) prefix sorts before the distributions' catch-all files (C(80-), C(99-)) and usual
    hand-written names, so these are the files networkd applies. A vlan also adds C(VLAN=NAME) to
    its parent's C(10-PARENT.network) (created if missing), and removes it with O(state=absent)."
  - Idempotence is exact. A second run with the same options reports no change. A file that holds the same
    settings written differently (other quoting or order, comments) is rewritten in canonical form and
    reported as changed, with an action saying so; comments are not kept.
  - Every file is written atomically (a temporary file in the same directory, fsync, rename, fsync of the
    directory) with its format's mode; a missing O(dir) is created with mode 0755. When a format writes
    several files and one write fails, the files already written are put back as they were. In check
    mode nothing is written, not even a temporary file or the directory.
  - If a target path is a symbolic link, the link itself is replaced by a regular file (with
    O(state=absent), the link is removed); its target is never read or written. A symbolic link at a
    vlan's parent's C(.network) file, or any other kind of non-regular file at a target, is refused.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common.attributes
options:
  name:
    description:
      - The interface the file configures, for example V(ens33.21).
      - At most 15 characters, without C(/), C(:) or whitespace.
    type: str
    required: true
  format:
    description:
      - The file format; see the description for the files each writes.
      - With the format's default O(dir), a format the host cannot use is refused before anything is
        written. That is V(nmconnection) when C(/etc/NetworkManager) does not exist (NetworkManager is not
        installed), V(networkd) when C(/etc/systemd) does not exist. With O(dir) given, no such check.
    type: str
    choices: ['ifcfg', 'nmconnection', 'networkd']
    default: ifcfg
  type:
    description:
      - V(ethernet) (a network card, such as a trunk), V(vlan) (a sub-interface of O(parent)) or
        V(bridge).
      - "ifcfg: C(TYPE=Ethernet) or C(TYPE=Bridge); a vlan gets C(VLAN=yes) and C(PHYSDEV=<parent>) (and no
        C(TYPE), as RHEL's own VLAN files), and C(VLAN_ID) when O(name) is not V(<parent>.<vlan_id>)."
    type: str
    choices: ['ethernet', 'vlan', 'bridge']
    default: ethernet
  parent:
    description:
      - The trunk interface of a VLAN sub-interface. Required with O(type=vlan), refused with the other
        types.
      - With O(format=networkd) and O(state=absent), give it (and O(type=vlan)) so that the parent's
        C(VLAN=) line is removed too.
    type: str
  vlan_id:
    description:
      - The VLAN id, 1 to 4094. Required with O(type=vlan), refused with the other types.
      - A O(name) ending in C(.NUMBER) must end in this id.
    type: int
  protocol:
    description:
      - The VLAN protocol of a O(type=vlan) sub-interface; 802.1Q when not given.
      - V(802.1ad) is written as C(vlan.protocol) (nmconnection) or C([VLAN] Protocol=) (networkd).
        ifcfg has no key for it, so V(802.1ad) with O(format=ifcfg) is refused (the sub-interface would
        come back as 802.1Q at boot).
    type: str
    choices: ['802.1Q', '802.1ad']
  address:
    description:
      - "The interface's IPv4 address in CIDR notation, for example V(172.21.1.254/24), written as C(IPADDR),
        C(PREFIX) and C(NETWORK) (ifcfg), C(address1) (nmconnection), the first C(Address=) of
        C([Network]) (networkd)."
      - The option owns that one address; other addresses in the file (C(address2), further C(Address=)
        lines) are kept with O(preserve_unmanaged). Omitted, an address already in the file is kept
        (with O(preserve_unmanaged)), none is written otherwise.
      - For IPv6 use O(extra).
    type: str
  hwaddr:
    description:
      - The MAC address of the network card the file binds to (C(HWADDR), C(ethernet.mac-address), or
        C([Match] MACAddress=)), written in upper case for ifcfg and nmconnection (as RHEL writes it),
        lower case for networkd; any case, and C(-) as a separator, are accepted.
      - Only with O(type=ethernet). To set the address of a bridge or VLAN use O(extra).
    type: str
  onboot:
    description:
      - Bring the interface up at boot (C(ONBOOT), C(connection.autoconnect); networkd writes
        C([Link] ActivationPolicy=manual) when false).
    type: bool
    default: true
  bootproto:
    description:
      - How the interface gets its address at boot (C(BOOTPROTO)). nmconnection and networkd know V(none),
        V(static) and V(dhcp) (C(ipv4.method=auto), C(DHCP=ipv4)); V(bootp) and V(ibft) are ifcfg only.
      - Not given, the setting already in the file is kept (with O(preserve_unmanaged)); a new file gets
        V(none) (nmconnection C(ipv4.method) C(manual) with an address, C(disabled) without).
    type: str
    choices: ['none', 'static', 'dhcp', 'bootp', 'ibft']
  mtu:
    description:
      - The MTU, 68 to 65535 (C(MTU), C(ethernet.mtu), C(MTUBytes=) in the C(.netdev) of a vlan or bridge
        or the C([Link]) of an ethernet). Omitted, an MTU already in the file is kept (with
        O(preserve_unmanaged)).
    type: int
  extra:
    description:
      - "Further settings, in the format's own terms. ifcfg: C(KEY: value), for example
        C({NAME: System ens33, DEFROUTE: 'no', ZONE: internal}); keys are shell variable names in upper case,
        and variables bash itself uses (C(PATH), C(IFS), C(BASH_*)...) are refused. nmconnection:
        C(section.key: value), for example C({ipv4.dns: '10.0.0.53;', connection.zone: internal});
        C(connection.id) and C(connection.uuid) may be set. networkd: C(Section.Key: value or list of values)
        for the C(.network) file, for example C({Network.DNS: [10.0.0.53, 10.0.0.54], Link.RequiredForOnline: 'no'})."
      - Settings written from the other options are refused. Values are strings or numbers; booleans are
        written as C(yes)/C(no) (ifcfg, networkd) or C(true)/C(false) (nmconnection). Values holding a
        newline, NUL or another control character (a tab excepted) are refused.
    type: dict
  preserve_unmanaged:
    description:
      - Keep what the file already holds that this run does not write (keys, sections, further addresses,
        and the settings of options not given, such as a parent NIC's address, DHCP or MTU), after the
        managed settings, in their order. The existing file must then parse (for ifcfg, plain C(KEY=value)
        lines without C($) expansions or commands); otherwise the run fails naming the file and the line,
        and nothing is written.
      - With V(false), the file holds exactly what the options describe (a file that does not parse is
        replaced). A networkd parent's C(VLAN=) lines are kept either way (they belong to the VLANs' runs);
        a keyfile's C(uuid) too (it names the profile).
      - A setting removed from O(extra) stays in the file when this is V(true).
    type: bool
    default: true
  dir:
    description:
      - The directory holding the files; an absolute path. Created (mode 0755) when missing, except in check mode.
      - Default C(/etc/sysconfig/network-scripts) (ifcfg), C(/etc/NetworkManager/system-connections)
        (nmconnection), C(/etc/systemd/network) (networkd).
    type: path
  state:
    description:
      - V(present) writes the files, V(absent) removes them (networkd, a vlan with O(parent)) removes its
        line from the parent's file).
      - With V(absent), only O(name), O(format), O(type), O(parent) and O(dir) are used.
    type: str
    choices: ['present', 'absent']
    default: present
notes:
  - The files only take effect at boot or when the network stack next reads them (C(nmcli connection
    reload), C(networkctl reload)); use M(underlay.network.vlan_subinterface) to configure the running kernel.
  - "nmconnection: NetworkManager reads only keyfiles owned by root with mode 0600. When C(NAME.nmconnection)
    does not exist and another keyfile in O(dir) is a profile for this interface (C(interface-name=NAME), same
    type), that profile is edited instead (with O(state=present)), so its address stays; further profiles for
    the interface are named in a warning."
  - "networkd: networkd applies only the first C(.network) file (in lexical order) that matches a link. When
    C(10-NAME.network) does not exist and another C(.network) file in O(dir) is for this interface alone
    (C([Match] Name=NAME)), that file is edited instead (with O(state=present); so the address it holds
    stays in effect), and the same goes for a vlan's parent. Other files in O(dir) that match the name
    (also through a glob such as C(en*)) are named in a warning. Removal only removes the module's own files."
seealso:
  - module: underlay.network.vlan_subinterface
"""

EXAMPLES = r"""
- name: The trunk ens33, bound to its network card (its address and other keys are kept)
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

- name: An 802.1ad VLAN as a NetworkManager keyfile (ens33.300.nmconnection, mode 0600)
  underlay.network.persistent_interface:
    name: ens33.300
    format: nmconnection
    type: vlan
    parent: ens33
    vlan_id: 300
    protocol: 802.1ad

- name: The same for systemd-networkd (10-ens33.300.netdev, 10-ens33.300.network, VLAN= in 10-ens33.network)
  underlay.network.persistent_interface:
    name: ens33.300
    format: networkd
    type: vlan
    parent: ens33
    vlan_id: 300
    protocol: 802.1ad

- name: A bridge with further keys
  underlay.network.persistent_interface:
    name: br0
    type: bridge
    mtu: 9000
    extra:
      NAME: Storage bridge
      STP: false

- name: Exactly what the options say, dropping what else the file held
  underlay.network.persistent_interface:
    name: br0
    format: networkd
    type: bridge
    bootproto: dhcp
    preserve_unmanaged: false

- name: Remove ifcfg-ens33.22
  underlay.network.persistent_interface:
    name: ens33.22
    state: absent
"""

RETURN = r"""
path:
  description: The main file (ifcfg file, keyfile, or networkd C(.network) file).
  returned: always
  type: str
  sample: /etc/sysconfig/network-scripts/ifcfg-ens33.21
paths:
  description: Every file this interface's run manages (networkd, a vlan, its C(.network), C(.netdev) and its parent's C(.network)).
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/10-ens33.21.network", "/etc/systemd/network/10-ens33.21.netdev",
           "/etc/systemd/network/10-ens33.network"]
content:
  description:
    - The main file's text after the run (what it would be, in check mode); empty when there is none.
  returned: always
  type: str
  sample: "DEVICE=ens33.21\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.21.1.254\nPREFIX=24\nNETWORK=172.21.1.0\nVLAN=yes\nPHYSDEV=ens33\n"
files:
  description: The text of each of RV(paths) that exists after the run (would exist, in check mode).
  returned: always
  type: dict
  sample: {"/etc/systemd/network/10-ens33.21.network": "[Match]\nName=ens33.21\n\n[Network]\nAddress=172.21.1.254/24\n"}
variables:
  description:
    - "The main file's settings; empty when there is none. ifcfg, the variables C(bash) sourcing it would see;
      nmconnection and networkd, C({section: {key: value}}), a repeated key as a list."
  returned: always
  type: dict
  sample: {"DEVICE": "ens33.21", "BOOTPROTO": "none", "ONBOOT": "yes", "IPADDR": "172.21.1.254", "PREFIX": "24",
           "NETWORK": "172.21.1.0", "VLAN": "yes", "PHYSDEV": "ens33"}
actions:
  description: What was done (in check mode, what would be done), one line per file.
  returned: always
  type: list
  elements: str
  sample: ["create /etc/sysconfig/network-scripts/ifcfg-ens33.21"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec, _persist_spec
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import PERSISTENT_INTERFACE


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            format=dict(type="str", choices=list(_persist_spec.FORMATS), default="ifcfg"),
            type=dict(type="str", choices=list(_persist_spec.TYPES), default="ethernet"),
            parent=dict(type="str"),
            vlan_id=dict(type="int"),
            protocol=dict(type="str", choices=list(_persist_spec.PROTOCOLS)),
            address=dict(type="str"),
            hwaddr=dict(type="str"),
            onboot=dict(type="bool", default=True),
            bootproto=dict(type="str", choices=list(_persist_spec.BOOTPROTOS)),
            mtu=dict(type="int"),
            extra=dict(type="dict"),
            preserve_unmanaged=dict(type="bool", default=True),
            dir=dict(type="path"),
            state=_argspec.state(),
        ),
        supports_check_mode=True,
    )
    execute(module, PERSISTENT_INTERFACE)


if __name__ == "__main__":
    main()
