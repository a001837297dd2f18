# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options and attributes shared by the underlay.network modules."""

    # netns: every module
    DOCUMENTATION = r"""
options:
  netns:
    description:
      - Network namespace to operate in.
      - A name under C(/run/netns) (as made by C(ip netns add)) or an absolute path such as
        C(/proc/1234/ns/net).
      - Default is the network namespace the module runs in.
      - A missing namespace is an error; it is never created implicitly.
    type: str
requirements:
  - pyroute2 >= 0.9.7 (on the managed host)
"""

    # state_dir: the modules that keep network definitions and leases
    STATE_DIR = r"""
options:
  state_dir:
    description:
      - Directory where network definitions and address leases are kept.
      - Created (mode 0755, with any missing parent) by the first run that writes to it; never in check mode.
      - Runs on one host are serialised from their first read to their last write by an C(flock) on this
        directory, or on its nearest existing parent while it does not exist yet.
      - A file in it that does not parse, or whose definition or lease table is malformed, is refused naming
        it, and never overwritten.
    type: path
    default: /var/lib/underlay-network
"""

    # the options every network module (macvlan_network, ipvlan_network, bridge_network) shares
    NETWORK = r"""
options:
  name:
    description:
      - Name of the network, 1 to 64 characters of letters, digits, V(_), V(.) and V(-).
    type: str
    required: true
  ip_range:
    description:
      - The part of O(subnet) addresses are allocated from. Defaults to the whole O(subnet).
    type: str
  aux_addresses:
    description:
      - Addresses of O(subnet) that are never allocated, by name (Docker's C(--aux-address)).
    type: dict
    default: {}
  ipv6_subnet:
    description:
      - The network's IPv6 subnet in CIDR notation, for example V(fd00:10::/64), beside its IPv4
        O(subnet); the network is then dual stack. C(EnableIPv6) in RV(network) is true exactly
        when this is set, and C(IPAM.Config) gains the IPv6 entry.
      - Every endpoint gets an IPv6 address from it beside its IPv4 one (see
        M(underlay.network.container_endpoint)'s C(ipv6_address)). An IPv4 network here is refused.
    type: str
  ipv6_gateway:
    description:
      - The IPv6 gateway endpoints route through (their default IPv6 route); must lie in
        O(ipv6_subnet). Defaults to the first host address of O(ipv6_subnet). Needs O(ipv6_subnet).
      - On a bridge network, the bridge's own IPv6 address.
    type: str
  ipv6_range:
    description:
      - The part of O(ipv6_subnet) IPv6 addresses are allocated from. Defaults to the whole
        O(ipv6_subnet). Needs O(ipv6_subnet).
    type: str
  dns:
    description:
      - Endpoints of this network resolve each other's names (a container's name, a
        C(container_netns) target's namespace name, and their C(aliases)) as on Docker's
        user-defined networks; names of networks an endpoint is not on do not resolve, other
        names go to the host's resolvers.
      - Served by one resolver process per O(state_dir), answering at C(127.0.0.11:53) inside
        every endpoint's namespace; M(underlay.network.container_endpoint) points the
        endpoint's C(resolv.conf) at it and starts it when it is not running.
      - Shown as C(EnableDNS) in RV(network) (Docker's inspect has no such field). A definition
        stored before this option existed counts as V(true).
    type: bool
    default: true
  mtu:
    description:
      - MTU of the network, which its endpoints inherit (the container end of a bridge
        network's veth pair and its host end, the bridge port, alike), unless an endpoint sets
        its own (M(underlay.network.container_endpoint)'s C(mtu)).
      - Default on a network with a parent (macvlan) is the parent's MTU, as it is when the
        endpoint is attached or re-attached; on a bridge network, the kernel's default for the
        bridge and its veth pairs.
      - At least 68 (1280 on a network with IPv6), at most 65535; on a network with a parent, not
        above the parent's MTU (the kernel refuses a macvlan larger than its parent; raise the
        parent's first, for example with M(underlay.network.vlan_subinterface)'s C(mtu)).
      - A change reaches the bridge and the attached endpoints that inherit it at once, in place
        (both ends of a veth pair); an endpoint whose container is stopped gets it when it is made
        again. After a change of the parent's own MTU, endpoints get the new one when they are
        attached again (M(underlay.network.container_endpoint), C(underlay-network restore)); until
        then M(underlay.network.network_info) lists the difference as drift.
    type: int
  labels:
    description:
      - Labels of the network, names to strings (Docker's C(--label)); shown as C(Labels) in
        RV(network) and in M(underlay.network.network_info). Changing them changes only the
        stored definition.
    type: dict
    default: {}
  force:
    description:
      - With O(state=absent), detach the attached endpoints first. Without it, removing a
        network with endpoints fails, naming them.
      - Leases whose owner is provably gone (a removed container, a deleted namespace, an exited
        PID) do not block removal and are released; an owner that cannot be asked (its runtime is
        down) blocks it, and the message says why.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the network, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""
