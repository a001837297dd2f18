#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_endpoint
short_description: Attach containers or network namespaces to macvlan, ipvlan and bridge networks
version_added: 0.1.0
description:
  - Docker's C(docker network connect) for any container or network namespace, idempotent;
    a Docker or Podman container (resolved to its PID through the runtime), a process, or a
    named or path network namespace, gets an interface on a network defined with
    M(underlay.network.macvlan_network), M(underlay.network.ipvlan_network) or
    M(underlay.network.bridge_network).
  - macvlan networks get a macvlan child of the network's parent, ipvlan networks an ipvlan
    child (in the network's mode and flag, with the parent's MAC address), bridge networks a veth
    pair whose host end is a port of the bridge (isolated when the network has C(icc=false)).
    The interface is created inside the container's namespace under a scratch name and then
    renamed, so a half-made endpoint never appears under its final name.
  - On an IPv4-only network, as Docker (26 and later) does, IPv6 is
    turned off (C(net.ipv6.conf.IFNAME.disable_ipv6=1)) on the new interface, and on a bridge
    port's host end, before it comes up; it gets no link-local or SLAAC address and sends no
    router solicitations, DAD or MLD onto the network. Endpoints made before this are not changed.
  - On a dual-stack network (one with C(ipv6_subnet)) the endpoint gets an IPv6 address beside
    its IPv4 one (O(ipv6_address), else allocated from the network's C(ipv6_range)), kept in the
    same lease (sticky alike). IPv6 stays on for the interface with router advertisements and
    SLAAC off (C(accept_ra=0), C(autoconf=0)); the address is added without duplicate address
    detection (C(IFA_F_NODAD)), so it is usable at once, never tentative; the default route
    gets its IPv6 twin through the network's C(ipv6_gateway); and after bring-up an unsolicited
    neighbour advertisement (override flag, to C(ff02::1)) announces it, as the gratuitous ARP
    does the IPv4 address. The bridge port's host end keeps IPv6 off.
  - The address comes from the network's IPAM (or O(ipv4_address)); leases are keyed by
    network and container identity (container name, namespace name or C(pid:N)), so a
    re-attached container gets the same address and MAC. A lease is released only when its
    owner is provably gone (a namespace or process that no longer exists, or a container that
    every installed runtime, answering, says it does not have); when a runtime cannot be
    asked (its daemon is down, its storage unreadable) the lease is kept and the run warns.
  - New leases are stored, marked pending, before the kernel holds their addresses, and
    confirmed after; every endpoint carries an owner mark (its interface alias,
    C(underlay-network NETWORK OWNER)). A run that was killed half-way is settled by the next
    run on that network, which adopts the endpoints it finds in the kernel, drops the leases
    whose interfaces were never made and removes scratch-named leftovers, and says so in
    RV(actions). No address is ever in the kernel without its lease.
  - An existing endpoint with a wrong address, MAC or route is corrected in place; a route
    dropped from O(routes) (or a default route no longer wanted) is removed. Any failure
    after the first change undoes the interface and the lease.
  - A target that shares the host's network namespace (a host-network container, PID 1, a
    process of the host) is refused.
  - The batch form O(endpoints) attaches or detaches many endpoints in one run; a namespace
    that appears in several items (a container on two networks) gets a distinct interface
    name for each.
  - "Names: on a network with C(dns) on (the default), the endpoint resolves the names
    (container names, C(container_netns) namespace names, O(aliases)) of the endpoints of every
    network it is on, and nothing of the others; other names go to the host's resolvers. Its
    C(resolv.conf) is pointed at the resolver, Docker's embedded-DNS shape: C(nameserver 127.0.0.11)
    and C(options ndots:0), the file's C(search) lines and other options kept. The file is the
    runtime's C(ResolvConfPath) for a container (rewritten in place: it is bind-mounted into
    the container), C(/etc/netns/NAME/resolv.conf) for a named namespace (what C(ip netns exec)
    shows as C(/etc/resolv.conf)); a O(pid) target's file is not touched. The namespace's
    loopback is set up (the resolver answers on C(127.0.0.11)). When the namespace's last
    endpoint on such a network goes, the file is put back as it was."
  - When the module returns, the names resolve. It starts the resolver of O(state_dir) (one
    process for the host, serving every namespace) when none runs and waits until it serves
    the new records. A re-run with nothing to change is C(changed=false); a run after the
    resolver died starts it again. Check mode starts nothing and writes nothing.
author:
  - underlay.network developers (@underlay-network)
extends_documentation_fragment:
  - underlay.network.common
  - underlay.network.common.state_dir
  - underlay.network.common.attributes
options:
  network:
    description:
      - Name of the network (required, here or in each item of O(endpoints)).
    type: str
  container:
    description:
      - A Docker or Podman container name or ID. It must be running.
      - Exactly one of O(container), O(pid) and O(container_netns) is needed.
    type: str
  pid:
    description:
      - A process whose network namespace is the target.
    type: int
  container_netns:
    description:
      - A named network namespace (under C(/run/netns)) or a namespace path.
    type: str
  runtime:
    description:
      - Which runtime resolves O(container); V(auto) tries Docker, then Podman.
    type: str
    choices: [auto, docker, podman]
    default: auto
  ifname:
    description:
      - Interface name inside the container. Default is the lease's, else the first free V(ethN).
    type: str
  ipv4_address:
    description:
      - A static address. It must lie in the network's subnet and not be its gateway, an
        auxiliary address or leased to another endpoint. Default is allocated from the
        network's ip_range.
    type: str
  ipv6_address:
    description:
      - A static IPv6 address on a dual-stack network (one with C(ipv6_subnet)), with the rules of
        O(ipv4_address) (in the network's IPv6 subnet, not its IPv6 gateway, not leased to another
        endpoint). Default is allocated from the network's C(ipv6_range) (or its IPv6 subnet).
      - Refused on a network without IPv6.
    type: str
  mac_address:
    description:
      - MAC address of the interface. Default is derived from the address as Docker does
        (V(02:42:) followed by the four address bytes).
      - "Refused on an ipvlan network: its endpoints have their parent's MAC address."
    type: str
  default_route:
    description:
      - Route the container's default traffic through the network's gateway. Default is
        V(true) when the container has no default route yet (or already one through this
        gateway) and the network is not internal.
      - On an ipvlan network in mode V(l3) or V(l3s) the default route goes through the
        endpoint's interface itself (C(default dev IFNAME), no gateway), as the host routes.
    type: bool
  routes:
    description:
      - Further routes inside the container.
    type: list
    elements: dict
    default: []
    suboptions: &route
      dst:
        description: Destination network in CIDR notation, or V(default).
        type: str
        required: true
      gateway:
        description: Next hop.
        type: str
        required: true
  publish:
    description:
      - Published ports (Docker's C(-p)), bridge networks only; each
        C([HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]), either port a range (C(8000-8009:8000-8009),
        both ranges of one length). No HOST_IP means every address of the host; C(127.0.0.1) the
        host's loopback only. The protocol defaults to V(tcp).
      - DNAT rules in the collection's nftables table (C(ip underlay_network)), tagged
        C(underlay.network:NETWORK:publish-...:MAPPING), reach the endpoint from outside (chain
        C(prerouting)), from the host itself to its own addresses and to C(127.0.0.1) where HOST_IP
        allows it (chain C(output); sets C(net.ipv4.conf.BRIDGE.route_localnet=1) and masquerades
        C(127.0.0.0/8) into the bridge, as Docker does without its userland proxy), and from other
        containers of the bridge through the host's address (masqueraded, so the reply comes back
        through the host). IPv4 forwarding is turned on.
      - The lease records the mappings, so C(underlay-network restore) and C(watch) make the rules
        again; a change replaces exactly the rules that changed; detaching removes them.
      - Refused on a macvlan or ipvlan network (its endpoints are directly on the physical network) and on
        an internal bridge network (nothing from outside reaches it); a host port published twice
        (in this list, or by another endpoint of any bridge network of O(state_dir)) is refused
        naming both endpoints.
    type: list
    elements: str
    default: []
  aliases:
    description:
      - Further names the endpoint answers to on this network (Docker's C(--network-alias)), on
        a network with C(dns) on; each a valid DNS name (labels of letters, digits, V(_) and
        V(-)). A name (an alias, or the container's or namespace's own) that another endpoint of
        the network already answers to is refused, naming both.
    type: list
    elements: str
    default: []
  mtu:
    description:
      - MTU of the endpoint (both ends of a bridge network's veth pair). Default is the
        network's C(mtu); on a macvlan network without one, the parent's MTU; on a bridge
        network without one, the kernel's default.
      - At least 68 (1280 on a network with IPv6); not above the MTU of the network's parent
        (the kernel refuses a larger macvlan) or of its bridge. An attached endpoint whose MTU
        differs from what it is to have is changed in place.
    type: int
  state:
    description:
      - V(present) attaches, V(absent) detaches and releases the lease.
    type: str
    choices: [present, absent]
    default: present
  endpoints:
    description:
      - Batch form, one item per endpoint with the per-endpoint keys above; O(network),
        O(runtime) and O(state) given at the top level are defaults for the items. Items are
        checked like the single form (an unknown or misspelt key is an error).
    type: list
    elements: dict
    suboptions:
      network:
        description: As O(network).
        type: str
      container:
        description: As O(container).
        type: str
      pid:
        description: As O(pid).
        type: int
      container_netns:
        description: As O(container_netns).
        type: str
      runtime:
        description: As O(runtime) (default the top-level O(runtime)).
        type: str
        choices: [auto, docker, podman]
      ifname:
        description: As O(ifname).
        type: str
      ipv4_address:
        description: As O(ipv4_address).
        type: str
      ipv6_address:
        description: As O(ipv6_address).
        type: str
      mac_address:
        description: As O(mac_address).
        type: str
      default_route:
        description: As O(default_route).
        type: bool
      routes:
        description: As O(routes).
        type: list
        elements: dict
        suboptions: *route
      publish:
        description: As O(publish).
        type: list
        elements: str
      aliases:
        description: As O(aliases).
        type: list
        elements: str
      mtu:
        description: As O(mtu).
        type: int
      state:
        description: As O(state) (default the top-level O(state)).
        type: str
        choices: [present, absent]
seealso:
  - module: underlay.network.macvlan_network
  - module: underlay.network.bridge_network
"""

EXAMPLES = r"""
- name: Attach a Docker container to VLAN 100 with a static address
  underlay.network.container_endpoint:
    network: vlan100
    container: web1
    ipv4_address: 10.0.0.10

- name: Attach a database that the other containers of the network reach as mariadb or db
  underlay.network.container_endpoint:
    network: internal
    container: mariadb
    aliases: [db]

- name: An endpoint with a smaller MTU than its jumbo-frame network's (9000)
  underlay.network.container_endpoint:
    network: storage
    container: backup
    mtu: 1500

- name: Attach a container to a dual-stack network with a static IPv6 address
  underlay.network.container_endpoint:
    network: dualstack
    container: web2
    ipv6_address: "fd00:100::10"

- name: Attach many namespaces in one run
  underlay.network.container_endpoint:
    network: vlan100
    endpoints:
      - container_netns: tenant-a
      - container_netns: tenant-b
        ifname: eth1

- name: A web tier on a bridge network, published on the host's port 8080 (docker run -p 8080:80)
  underlay.network.container_endpoint:
    network: frontend
    container: wordpress
    publish:
      - "8080:80"
      - "127.0.0.1:5353:53/udp"
"""

RETURN = r"""
endpoint:
  description: The endpoint (single form), as it is after the run (or would be, in check mode).
  returned: when O(endpoints) is not used
  type: dict
  sample:
    network: vlan100
    container: web1
    ifname: eth0
    mac_address: 02:42:0a:00:00:0a
    ipv4_address: 10.0.0.10/24
    gateway: 10.0.0.1
    netns: /proc/4242/ns/net
    aliases: [www]
    mtu: 1500
  contains:
    ipv6_address:
      description:
        - The endpoint's IPv6 address with the prefix length of the network's IPv6 subnet.
      returned: when attached to a dual-stack network (one with C(ipv6_subnet))
      type: str
      sample: fd00:100::10/64
    mtu:
      description:
        - The endpoint's MTU as the collection manages it (its own O(mtu), the network's, or a
          macvlan or ipvlan parent's); V(null) where the kernel's default applies (a bridge network without C(mtu)).
      returned: when attached
      type: int
    mac_address:
      description: The endpoint's MAC address; null on an ipvlan network (the endpoint has its parent's).
      returned: when the endpoint is attached
      type: str
    gateway:
      description: The network's gateway; null on an ipvlan network in mode V(l3) or V(l3s) (the host routes).
      returned: when the endpoint is attached
      type: str
    ports:
      description:
        - The published ports in Docker's C(NetworkSettings.Ports) shape, keyed by container
          port and protocol; C(HostIp) V(0.0.0.0) stands for every address of the host.
      returned: when the endpoint publishes ports (O(publish))
      type: dict
      sample: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
endpoints:
  description: One entry like RV(endpoint) per item of O(endpoints), in order.
  returned: when O(endpoints) is used
  type: list
  elements: dict
actions:
  description: What was done (in check mode, what would be done), one line per step.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.underlay.network.plugins.module_utils import _argspec, _validation
from ansible_collections.underlay.network.plugins.module_utils._ansible import execute
from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT
from ansible_collections.underlay.network.plugins.module_utils._targets import RUNTIMES, TARGET_KEYS


# the per-endpoint options: the single form's (with its defaults) and each batch item's (without:
# an item falls back to the top-level network, runtime and state)
ROUTE_OPTIONS = dict(dst=dict(type="str", required=True), gateway=dict(type="str", required=True))
ENDPOINT_OPTIONS = dict(
    network=dict(type="str"),
    container=dict(type="str"),
    pid=dict(type="int"),
    container_netns=dict(type="str"),
    runtime=dict(type="str", choices=["auto", *RUNTIMES]),
    ifname=dict(type="str"),
    ipv4_address=dict(type="str"),
    ipv6_address=dict(type="str"),
    mac_address=dict(type="str"),
    default_route=dict(type="bool"),
    routes=dict(type="list", elements="dict", options=ROUTE_OPTIONS),
    publish=dict(type="list", elements="str"),
    aliases=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    state=dict(type="str", choices=list(_validation.STATES)),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ENDPOINT_OPTIONS,
            runtime=dict(ENDPOINT_OPTIONS["runtime"], default="auto"),
            routes=dict(ENDPOINT_OPTIONS["routes"], default=[]),
            publish=dict(ENDPOINT_OPTIONS["publish"], default=[]),
            aliases=dict(ENDPOINT_OPTIONS["aliases"], default=[]),
            state=dict(ENDPOINT_OPTIONS["state"], default="present"),
            endpoints=dict(type="list", elements="dict", options=ENDPOINT_OPTIONS),
            **_argspec.stored(),
        ),
        mutually_exclusive=[TARGET_KEYS] + [("endpoints", key) for key in TARGET_KEYS],
        required_one_of=[TARGET_KEYS + ("endpoints",)],
        supports_check_mode=True,
    )
    execute(module, CONTAINER_ENDPOINT)


if __name__ == "__main__":
    main()
