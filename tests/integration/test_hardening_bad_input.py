# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening suite's bad-input table (issue 14): every module, the fleet plan and the
roles' argument specs, run as Ansible runs them, against a lab in throwaway namespaces.

Each case must fail with one message naming the field and the value, print no Python
traceback, and leave the kernel and nftables ruleset of every lab namespace and every byte
under the lab's directories (state_dir, ifcfg dir) as they were. The lab holds a macvlan
network ``mv`` (veth parent), a bridge network ``br`` (masquerading), and a container
namespace ``c1`` attached to both, so overlaps, duplicates and stored state are real.

Cases that changed the lab before issue 14 fixed them run in a lab of their own, so a
regression there cannot leak into the next case.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

import underlay_snapshots as snap
import underlay_testlib as lib

MV = {"name": "mv", "parent": "veth0", "subnet": "10.5.0.0/24", "ip_range": "10.5.0.128/25",
      "gateway": "10.5.0.1", "aux_addresses": {"sw": "10.5.0.2"}}
BR = {"name": "br", "bridge_name": "br0", "subnet": "10.6.0.0/24", "icc": False}
C1_IP, C1_MAC = "10.5.0.15", "02:00:00:00:05:0f"
FILLED = ("h", "c1", "c2", "state", "ifcfg", "root")  # the lab's names that {placeholders} refer to


def build_lab(made, root):
    """The lab: namespaces from ``made`` (a lib.Namespaces), files under ``root``."""
    host, peer = made.new("h"), made.new("p")
    made.veth(host, "veth0", peer, "veth1")
    c1, c2 = made.new("c"), made.new("c")
    lab = SimpleNamespace(h=host, c1=c1, c2=c2, root=str(root), state=str(root / "state"),
                          ifcfg=str(root / "ifcfg"))
    common = {"netns": host, "state_dir": lab.state}
    for module, args in (("macvlan_network", MV), ("bridge_network", BR),
                         ("container_endpoint", {"network": "mv", "container_netns": c1,
                                                 "ipv4_address": C1_IP, "mac_address": C1_MAC}),
                         ("container_endpoint", {"network": "br", "container_netns": c1})):
        result = snap.module_result(snap.module_process(module, dict(args, **common)))
        assert result and not result.get("failed"), result
    _stored_state_variants(root)
    os.makedirs(lab.ifcfg)
    with open(os.path.join(lab.ifcfg, "ifcfg-eth0"), "w", encoding="utf-8") as handle:
        handle.write('DEVICE="eth0"\nONBOOT="yes"\n')
    lab.world = snap.World([host, peer, c1, c2], [lab.root])
    lab.world.settle()  # IPv6 link-local addresses arrive a moment after links come up
    return lab


def _stored_state_variants(root):
    """State directories that are broken in one way each, copies of the lab's own."""
    state = root / "state"
    network = (state / "networks" / "mv.json").read_text()
    leases = (state / "leases" / "mv.json").read_text()
    for name, files in {
        "corrupt": {"networks/mv.json": network[: len(network) // 2]},
        "noipam": {"networks/mv.json": network.replace('"ipam"', '"ipam_gone"')},
        "badlease": {"networks/mv.json": network, "leases/mv.json": leases.replace(f'"{C1_IP}"', '"10.5.0.x"')},
        "badleasevalue": {"networks/mv.json": network, "leases/mv.json": _lease_value_replaced(leases)},
    }.items():
        for relative, text in files.items():
            path = root / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (root / "afile").write_text("a regular file, not a directory\n")
    (root / "immutable").mkdir()
    lib.sh("chattr", "+i", str(root / "immutable"))


def _lease_value_replaced(text):
    """The lease table ``text`` with c1's lease a string instead of a dictionary."""
    table = json.loads(text)
    table["leases"][C1_IP] = "not a lease"
    return json.dumps(table)


def release_lab(root):
    lib.sh("chattr", "-i", os.path.join(root, "immutable"), check=False)


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("this lane needs root (network namespaces); run it through scripts/test")
    made = lib.Namespaces()
    root = tmp_path_factory.mktemp("hardening")
    try:
        yield build_lab(made, root)
    finally:
        release_lab(str(root))
        made.close()


# -- how a case runs -----------------------------------------------------------------------
def fill(value, lab):
    """``value`` with ``{h}``, ``{c1}``, ``{state}``... replaced by the lab's names."""
    if isinstance(value, str):
        return value.format(**{name: getattr(lab, name) for name in FILLED}) if "{" in value else value
    if isinstance(value, list):
        return [fill(item, lab) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, lab) for key, item in value.items()}
    return value


DEFAULTS = {
    "vlan_subinterface": {"netns": "{h}"},
    "persistent_interface": {"dir": "{ifcfg}"},
}
STORE_DEFAULTS = {"netns": "{h}", "state_dir": "{state}"}


def run_module(module, args, lab):
    """(result or None, every byte it printed)."""
    params = fill(dict(DEFAULTS.get(module, STORE_DEFAULTS), **args), lab)
    proc = snap.module_process(module, params)
    return snap.module_result(proc), proc.stdout + proc.stderr


def run_fleet_plan(host_vars, endpoints, lab):
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local"},
                                   "host1": fill(host_vars, lab)}}}
    play = [{"name": "fleet plan", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"underlay.network.fleet_plan": {"hosts": ["host1"], "endpoints": fill(endpoints, lab)}}]}]
    proc = snap.playbook_process(play, inventory)
    return snap.playbook_failure(proc), proc.stdout + proc.stderr


def run_role(role, variables, lab):
    common = {"underlay_netns": "{h}", "underlay_state_dir": "{state}", "underlay_ifcfg_dir": "{ifcfg}"}
    play = [{"name": f"role {role}", "hosts": "localhost", "gather_facts": False,
             "vars": fill(dict(common, **variables), lab), "roles": [f"underlay.network.{role}"]}]
    proc = snap.playbook_process(play)
    return snap.playbook_failure(proc), proc.stdout + proc.stderr


def case(case_id, module, args, field, value, own_lab=False):
    """One row: ``module`` with ``args`` must be refused naming ``field`` and ``value``.

    ``own_lab``: the case runs in a lab of its own, because today it changes the lab (a
    known bug) and the next cases must not see that.
    """
    return pytest.param(module, args, field, value, own_lab, id=case_id)


def fleet(case_id, host_vars, endpoints, field, value):
    return case(case_id, "fleet_plan", {"host_vars": host_vars, "endpoints": endpoints}, field, value)


def role(case_id, role_name, variables, field, value):
    return case(case_id, f"role:{role_name}", variables, field, value)


# -- the table -----------------------------------------------------------------------------
VLAN = "vlan_subinterface"
MACVLAN = "macvlan_network"
IPVLAN = "ipvlan_network"
BRIDGE = "bridge_network"
ENDPOINT = "container_endpoint"
INFO = "network_info"
IFCFG = "persistent_interface"
SIXTEEN = "abcdefghijklmnop"


def mv(**changes):
    """A new macvlan network ``mv2`` on the lab's parent, with ``changes``."""
    return dict({"name": "mv2", "parent": "veth0", "subnet": "10.7.0.0/24"}, **changes)


def iv(**changes):
    """A new ipvlan network ``iv2`` on the lab's parent (which carries the macvlan network ``mv``)."""
    return dict({"name": "iv2", "parent": "veth0", "subnet": "10.7.1.0/24"}, **changes)


def br(**changes):
    return dict({"name": "br2", "bridge_name": "br2", "subnet": "10.8.0.0/24"}, **changes)


def ep(**changes):
    """Container c2 (not attached yet) on ``mv``, with ``changes``."""
    return dict({"network": "mv", "container_netns": "{c2}"}, **changes)


def net_vars(**changes):
    """host1's role variables with one macvlan network changed by ``changes``."""
    network = dict({"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                    "gateway": "10.77.0.1", "ip_range": "10.77.1.0/24"}, **changes)
    return {"underlay_trunks": [{"parent": "ens33", "vlans": []}], "underlay_networks": [network]}


CASES = [
    # vlan_subinterface
    case("vlan-id-0", VLAN, {"parent": "veth0", "vlan_id": 0}, "vlan_id", 0),
    case("vlan-id-4095", VLAN, {"parent": "veth0", "vlan_id": 4095}, "vlan_id", 4095),
    case("vlan-id-minus-1", VLAN, {"parent": "veth0", "vlan_id": -1}, "vlan_id", -1),
    case("vlan-id-abc", VLAN, {"parent": "veth0", "vlan_id": "abc"}, "vlan_id", "abc"),
    case("vlan-name-16-chars", VLAN, {"parent": "veth0", "vlan_id": 5, "name": SIXTEEN}, "name", SIXTEEN),
    case("vlan-name-slash", VLAN, {"parent": "veth0", "vlan_id": 5, "name": "a/b"}, "name", "a/b"),
    case("vlan-name-space", VLAN, {"parent": "veth0", "vlan_id": 5, "name": "a b"}, "name", "a b"),
    case("vlan-name-dotdot", VLAN, {"parent": "veth0", "vlan_id": 5, "name": ".."}, "name", ".."),
    case("vlan-name-newline", VLAN, {"parent": "veth0", "vlan_id": 5, "name": "a\nb"}, "name", "a\nb"),
    case("vlan-missing-parent", VLAN, {"parent": "nosuch0", "vlan_id": 5}, "parent", "nosuch0"),
    case("vlan-parent-16-chars", VLAN, {"parent": SIXTEEN, "vlan_id": 5}, "parent", SIXTEEN),
    case("vlan-mtu-0", VLAN, {"parent": "veth0", "vlan_id": 5, "mtu": 0}, "mtu", 0),
    case("vlan-mtu-70000", VLAN, {"parent": "veth0", "vlan_id": 5, "mtu": 70000}, "mtu", 70000),
    case("vlan-malformed-cidr", VLAN, {"parent": "veth0", "vlan_id": 5, "addresses": ["10.9.0.300/24"]},
         "addresses", "10.9.0.300/24"),
    case("vlan-network-address", VLAN, {"parent": "veth0", "vlan_id": 5, "addresses": ["10.9.0.0/24"]},
         "addresses", "10.9.0.0/24"),
    case("vlan-bad-protocol", VLAN, {"parent": "veth0", "vlan_id": 5, "protocol": "802.1x"}, "protocol", "802.1x"),
    case("vlan-missing-netns", VLAN, {"parent": "veth0", "vlan_id": 5, "netns": "ultnosuchns"}, "netns",
         "ultnosuchns"),
    # macvlan_network
    case("mv-subnet-prefix-33", MACVLAN, mv(subnet="10.7.0.0/33"), "subnet", "10.7.0.0/33"),
    case("mv-subnet-garbage", MACVLAN, mv(subnet="banana"), "subnet", "banana"),
    case("mv-gateway-outside", MACVLAN, mv(gateway="10.9.0.1"), "gateway", "10.9.0.1"),
    case("mv-gateway-garbage", MACVLAN, mv(gateway="10.7.0.256"), "gateway", "10.7.0.256"),
    case("mv-ip-range-outside", MACVLAN, mv(ip_range="10.9.0.0/25"), "ip_range", "10.9.0.0/25"),
    case("mv-ip-range-malformed", MACVLAN, mv(ip_range="10.7.0.0/40"), "ip_range", "10.7.0.0/40"),
    case("mv-aux-outside", MACVLAN, mv(aux_addresses={"sw": "10.9.0.9"}), "aux_addresses", "10.9.0.9"),
    case("mv-aux-garbage", MACVLAN, mv(aux_addresses={"sw": "notanip"}), "aux_addresses", "notanip"),
    case("mv-overlaps-mv", MACVLAN, mv(subnet="10.5.0.0/25"), "subnet", "10.5.0.0/25"),
    case("mv-overlaps-bridge", MACVLAN, mv(subnet="10.6.0.0/25"), "subnet", "10.6.0.0/25",
         own_lab=True),
    case("mv-bad-mode", MACVLAN, mv(mode="foo"), "mode", "foo"),
    case("mv-name-traversal", MACVLAN, mv(name="../leases/mv"), "name", "../leases/mv"),
    case("mv-name-absolute", MACVLAN, mv(name="/etc/passwd"), "name", "/etc/passwd"),
    case("mv-name-space", MACVLAN, mv(name="a b"), "name", "a b"),
    case("mv-name-newline", MACVLAN, mv(name="mv\nx"), "name", "mv\nx"),
    case("mv-name-65-chars", MACVLAN, mv(name="n" * 65), "name", "n" * 65),
    case("mv-missing-parent", MACVLAN, mv(parent="nosuch0"), "parent", "nosuch0"),
    case("mv-parent-16-chars", MACVLAN, mv(parent=SIXTEEN), "parent", SIXTEEN),
    case("mv-parent-lo", MACVLAN, mv(parent="lo"), "parent", "lo",
         own_lab=True),
    case("mv-host-access-outside", MACVLAN, mv(host_access={"ifname": "shim0", "address": "10.9.0.250"}),
         "host_access", "10.9.0.250"),
    case("mv-host-access-ifname-16", MACVLAN, mv(host_access={"ifname": SIXTEEN, "address": "10.7.0.250"}),
         "host_access", SIXTEEN),
    case("mv-host-access-gateway", MACVLAN, mv(host_access={"ifname": "shim0", "address": "10.7.0.1"}),
         "host_access", "10.7.0.1"),
    case("mv-host-access-leased", MACVLAN, dict(MV, host_access={"ifname": "shim0", "address": C1_IP}),
         "host_access", C1_IP,
         own_lab=True),
    case("mv-host-access-private-mode", MACVLAN,
         mv(mode="private", host_access={"ifname": "shim0", "address": "10.7.0.250"}), "host_access", "private",
         own_lab=True),
    case("mv-mode-to-passthru", MACVLAN, dict(MV, mode="passthru"), "mode", "passthru",
         own_lab=True),
    case("mv-shrink-lease-outside", MACVLAN, dict(MV, subnet="10.5.0.0/29", ip_range=None), "subnet", C1_IP),
    case("mv-shrink-lease-on-broadcast", MACVLAN, dict(MV, subnet="10.5.0.0/28", ip_range=None), "subnet", C1_IP,
         own_lab=True),
    case("mv-aux-covers-lease", MACVLAN, dict(MV, aux_addresses={"sw": "10.5.0.2", "x": C1_IP}),
         "aux_addresses", C1_IP),
    case("mv-corrupt-state-dir", MACVLAN, dict(MV, state_dir="{root}/corrupt"), "state_dir", "{root}/corrupt"),
    case("mv-state-dir-below-file", MACVLAN, mv(state_dir="{root}/afile/state"), "state_dir", "{root}/afile/state"),
    case("mv-unwritable-state-dir", MACVLAN, mv(state_dir="{root}/immutable"), "state_dir", "{root}/immutable"),
    case("mv-network-file-without-ipam", MACVLAN, mv(state_dir="{root}/noipam"), "state_dir", "{root}/noipam"),
    case("mv-mtu-above-parent", MACVLAN, mv(mtu=1501), "mtu", 1501),
    case("mv-mtu-below-68", MACVLAN, mv(mtu=67), "mtu", 67),
    case("mv-ipv6-mtu-below-1280", MACVLAN, mv(subnet="fd00:7::/64", mtu=1279), "mtu", 1279),
    case("mv-labels-not-strings", MACVLAN, mv(labels={"team": 1}), "labels", 1),
    case("mv-ipv6-gateway-outside", MACVLAN, mv(ipv6_subnet="fd00:7::/64", ipv6_gateway="fd00:8::1"), "ipv6_gateway",
         "fd00:8::1"),
    case("mv-ipv4-in-ipv6-subnet", MACVLAN, mv(ipv6_subnet="10.70.0.0/24"), "ipv6_subnet", "10.70.0.0/24"),
    case("mv-ipv6-range-outside", MACVLAN, mv(ipv6_subnet="fd00:7::/64", ipv6_range="fd00:9::/80"), "ipv6_range",
         "fd00:9::/80"),
    case("mv-ipv6-gateway-without-subnet", MACVLAN, mv(ipv6_gateway="fd00:7::1"), "ipv6_gateway", "fd00:7::1"),
    case("mv-labels-list-value", MACVLAN, dict(MV, labels={"team": ["a"]}), "labels", ["a"]),
    # ipvlan_network (issue 18)
    case("iv-bad-mode", IPVLAN, iv(mode="l4"), "mode", "l4"),
    case("iv-bad-flag", IPVLAN, iv(flag="passthru"), "flag", "passthru"),
    case("iv-on-a-macvlan-parent", IPVLAN, iv(), "parent", "veth0"),
    case("iv-host-access-l3", IPVLAN, iv(mode="l3", host_access={"ifname": "shim0", "address": "10.7.1.250"}),
         "host_access", "l3"),
    # bridge_network
    case("br-mtu-below-68", BRIDGE, br(mtu=67), "mtu", 67),
    case("br-labels-not-strings", BRIDGE, br(labels={"tier": 2}), "labels", 2),
    case("br-overlaps-macvlan", BRIDGE, br(subnet="10.5.0.0/24"), "subnet", "10.5.0.0/24"),
    case("br-overlaps-bridge", BRIDGE, br(subnet="10.6.0.128/25"), "subnet", "10.6.0.128/25"),
    case("br-bridge-name-16", BRIDGE, br(bridge_name=SIXTEEN), "bridge_name", SIXTEEN),
    case("br-bridge-name-slash", BRIDGE, br(bridge_name="br/x"), "bridge_name", "br/x"),
    case("br-bridge-name-not-a-bridge", BRIDGE, br(bridge_name="veth0"), "bridge_name", "veth0"),
    case("br-mtu-0", BRIDGE, br(mtu=0), "mtu", 0),
    case("br-mtu-70000", BRIDGE, br(mtu=70000), "mtu", 70000),
    case("br-gateway-outside", BRIDGE, br(gateway="10.9.0.1"), "gateway", "10.9.0.1"),
    case("br-ipv6-gateway-outside", BRIDGE, br(ipv6_subnet="fd00:8::/64", ipv6_gateway="fd00:9::1"), "ipv6_gateway",
         "fd00:9::1"),
    case("br-ipv4-in-ipv6-subnet", BRIDGE, br(ipv6_subnet="10.71.0.0/24"), "ipv6_subnet", "10.71.0.0/24"),
    case("br-ipv6-range-outside", BRIDGE, br(ipv6_subnet="fd00:8::/64", ipv6_range="fd00:7::/80"), "ipv6_range",
         "fd00:7::/80"),
    case("br-ip-range-outside", BRIDGE, br(ip_range="10.9.0.0/25"), "ip_range", "10.9.0.0/25"),
    case("br-subnet-malformed", BRIDGE, br(subnet="10.8.0.0/24/1"), "subnet", "10.8.0.0/24/1"),
    case("br-name-traversal", BRIDGE, br(name="../networks/mv"), "name", "../networks/mv"),
    case("br-bad-state", BRIDGE, br(state="gone"), "state", "gone"),
    # container_endpoint, single
    case("ep-missing-network", ENDPOINT, ep(network="nosuch"), "network", "nosuch"),
    case("ep-network-traversal", ENDPOINT, ep(network="../leases/mv"), "network", "../leases/mv"),
    case("ep-network-absolute", ENDPOINT, ep(network="{state}/networks/mv"), "network", "{state}/networks/mv"),
    case("ep-malformed-lease", ENDPOINT, ep(state_dir="{root}/badlease"), "state_dir", "{root}/badlease"),
    case("ep-network-file-without-ipam", ENDPOINT, ep(state_dir="{root}/noipam"), "state_dir", "{root}/noipam"),
    case("ep-missing-namespace", ENDPOINT, ep(container_netns="ultnosuchns"), "container_netns", "ultnosuchns"),
    case("ep-missing-pid", ENDPOINT, ep(container_netns=None, pid=4194303), "pid", 4194303),
    case("ep-missing-container", ENDPOINT, ep(container_netns=None, container="ult-nosuch-container",
                                              runtime="podman"), "container", "ult-nosuch-container"),
    case("ep-bad-runtime", ENDPOINT, ep(runtime="lxc"), "runtime", "lxc"),
    case("ep-address-outside", ENDPOINT, ep(ipv4_address="10.9.9.9"), "ipv4_address", "10.9.9.9"),
    case("ep-address-gateway", ENDPOINT, ep(ipv4_address="10.5.0.1"), "ipv4_address", "10.5.0.1"),
    case("ep-address-network", ENDPOINT, ep(ipv4_address="10.5.0.0"), "ipv4_address", "10.5.0.0"),
    case("ep-address-broadcast", ENDPOINT, ep(ipv4_address="10.5.0.255"), "ipv4_address", "10.5.0.255"),
    case("ep-address-aux", ENDPOINT, ep(ipv4_address="10.5.0.2"), "ipv4_address", "10.5.0.2"),
    case("ep-address-duplicate", ENDPOINT, ep(ipv4_address=C1_IP), "ipv4_address", C1_IP),
    case("ep-address-malformed", ENDPOINT, ep(ipv4_address="10.5.0.300"), "ipv4_address", "10.5.0.300"),
    case("ep-mac-garbage", ENDPOINT, ep(mac_address="zz:00:00:00:00:01"), "mac_address", "zz:00:00:00:00:01"),
    case("ep-mac-short", ENDPOINT, ep(mac_address="02:00:00:00:01"), "mac_address", "02:00:00:00:01"),
    case("ep-mac-duplicate", ENDPOINT, ep(mac_address=C1_MAC), "mac_address", C1_MAC,
         own_lab=True),
    case("ep-ifname-16", ENDPOINT, ep(ifname=SIXTEEN), "ifname", SIXTEEN),
    case("ep-ifname-slash", ENDPOINT, ep(ifname="../eth0"), "ifname", "../eth0"),
    case("ep-ifname-space", ENDPOINT, ep(ifname="eth 0"), "ifname", "eth 0"),
    case("ep-route-malformed", ENDPOINT, ep(routes=[{"dst": "10.99.0.0/33", "gateway": "10.5.0.1"}]), "routes",
         "10.99.0.0/33"),
    case("ep-bad-state", ENDPOINT, ep(state="gone"), "state", "gone"),
    case("ep-mtu-above-parent", ENDPOINT, ep(mtu=1501), "mtu", 1501),
    case("ep-mtu-below-68", ENDPOINT, ep(mtu=67), "mtu", 67),
    case("ep-ipv6-address-on-ipv4-network", ENDPOINT, ep(ipv6_address="fd00:5::9"), "ipv6_address", "fd00:5::9"),
    case("ep-ipv4-in-ipv6-address", ENDPOINT, ep(ipv6_address="10.5.0.9"), "ipv6_address", "10.5.0.9"),
    case("ep-batch-mtu-above-parent", ENDPOINT, {"network": "mv", "endpoints": [{"container_netns": "{c2}",
                                                                                 "mtu": 9000}]}, "mtu", 9000),
    # container_endpoint, batch
    case("batch-misspelt-key", ENDPOINT, {"endpoints": [ep(ipv4_adress="10.5.0.50")]}, "endpoints", "ipv4_adress",
         own_lab=True),
    case("batch-duplicate-static", ENDPOINT,
         {"endpoints": [ep(ipv4_address="10.5.0.50"), ep(container_netns="{c1}", ifname="eth7", ipv4_address="10.5.0.50")]},
         "ipv4_address", "10.5.0.50"),
    case("batch-address-malformed", ENDPOINT, {"endpoints": [ep(ipv4_address="10.5.0.300")]}, "ipv4_address",
         "10.5.0.300"),
    case("batch-missing-network", ENDPOINT, {"endpoints": [ep(network="nosuch")]}, "network", "nosuch"),
    case("batch-ifname-16", ENDPOINT, {"endpoints": [ep(ifname=SIXTEEN)]}, "ifname", SIXTEEN),
    case("batch-missing-namespace", ENDPOINT, {"endpoints": [ep(container_netns="ultnosuchns")]},
         "container_netns", "ultnosuchns"),
    # network_info
    case("info-name-traversal", INFO, {"name": ["../leases/mv"]}, "name", "../leases/mv"),
    case("info-name-space", INFO, {"name": ["a b"]}, "name", "a b"),
    case("info-missing-netns", INFO, {"netns": "ultnosuchns"}, "netns", "ultnosuchns"),
    case("info-corrupt-state-dir", INFO, {"state_dir": "{root}/corrupt"}, "state_dir", "{root}/corrupt"),
    case("info-network-file-without-ipam", INFO, {"state_dir": "{root}/noipam"}, "state_dir", "{root}/noipam"),
    case("info-malformed-lease", INFO, {"state_dir": "{root}/badlease"}, "state_dir", "{root}/badlease"),
    case("info-malformed-lease-value", INFO, {"state_dir": "{root}/badleasevalue"}, "state_dir",
         "{root}/badleasevalue"),
    case("info-state-dir-below-file", INFO, {"state_dir": "{root}/afile/state"}, "state_dir", "{root}/afile/state"),
    # persistent_interface
    case("ifcfg-name-traversal", IFCFG, {"name": "../../etc/x"}, "name", "../../etc/x"),
    case("ifcfg-name-absolute", IFCFG, {"name": "/etc/passwd"}, "name", "/etc/passwd"),
    case("ifcfg-name-16", IFCFG, {"name": SIXTEEN}, "name", SIXTEEN),
    case("ifcfg-name-newline", IFCFG, {"name": "eth0\nX=1"}, "name", "eth0\nX=1"),
    case("ifcfg-vlan-id-4095", IFCFG, {"name": "eth0.5", "type": "vlan", "parent": "eth0", "vlan_id": 4095},
         "vlan_id", 4095),
    case("ifcfg-address-malformed", IFCFG, {"name": "eth0", "address": "10.1.1.300/24"}, "address", "10.1.1.300/24"),
    case("ifcfg-hwaddr-garbage", IFCFG, {"name": "eth0", "hwaddr": "zz:zz:zz:zz:zz:zz"}, "hwaddr",
         "zz:zz:zz:zz:zz:zz"),
    case("ifcfg-mtu-70000", IFCFG, {"name": "eth0", "mtu": 70000}, "mtu", 70000),
    case("ifcfg-bad-type", IFCFG, {"name": "eth0", "type": "bond"}, "type", "bond"),
    case("ifcfg-unwritable-dir", IFCFG, {"name": "eth1", "dir": "{root}/immutable"}, "dir", "{root}/immutable"),
    # fleet_plan (the controller-side plan check)
    fleet("fleet-vlan-id-0", {"underlay_trunks": [{"parent": "ens33", "vlans": [{"id": 0}]}]}, [], "id", 0),
    fleet("fleet-gateway-outside", net_vars(gateway="10.78.0.1"), [], "gateway", "10.78.0.1"),
    fleet("fleet-range-outside", net_vars(ip_range="10.78.1.0/24"), [], "ip_range", "10.78.1.0/24"),
    fleet("fleet-overlapping-subnets",
          dict(net_vars(), underlay_networks=net_vars()["underlay_networks"] + [
              {"name": "lan2", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.5.0/24"}]),
          [], "subnet", "10.77.5.0/24"),
    fleet("fleet-network-mtu-below-68", net_vars(mtu=60), [], "mtu", 60),
    fleet("fleet-ipv6-gateway-outside", net_vars(ipv6_subnet="fd00:77::/64", ipv6_gateway="fd00:78::1"), [],
          "ipv6_gateway", "fd00:78::1"),
    fleet("fleet-ipv4-in-ipv6-subnet", net_vars(ipv6_subnet="10.78.0.0/24"), [], "ipv6_subnet", "10.78.0.0/24"),
    fleet("fleet-ipv6-range-outside", net_vars(ipv6_subnet="fd00:77::/64", ipv6_range="fd00:79::/80"), [],
          "ipv6_range", "fd00:79::/80"),
    fleet("fleet-network-labels-not-strings", net_vars(labels={"team": 7}), [], "labels", 7),
    fleet("fleet-endpoint-mtu-below-68", net_vars(),
          [{"host": "host1", "container_netns": "a", "network": "lan", "mtu": 0}], "mtu", 0),
    fleet("fleet-endpoint-on-gateway", net_vars(),
          [{"host": "host1", "container_netns": "a", "network": "lan", "ipv4_address": "10.77.0.1"}],
          "ipv4_address", "10.77.0.1"),
    fleet("fleet-duplicate-mac", net_vars(),
          [{"host": "host1", "container_netns": "a", "network": "lan", "mac_address": "02:00:00:00:00:07"},
           {"host": "host1", "container_netns": "b", "network": "lan", "mac_address": "02:00:00:00:00:07"}],
          "mac_address", "02:00:00:00:00:07"),
    fleet("fleet-publish-on-internal-bridge",
          {"underlay_networks": [{"name": "db", "driver": "bridge", "subnet": "10.79.0.0/24", "internal": True}]},
          [{"host": "host1", "container_netns": "a", "network": "db", "publish": ["3306:3306"]}],
          "publish", "0.0.0.0:3306->3306/tcp"),
    fleet("fleet-publish-on-macvlan", net_vars(),
          [{"host": "host1", "container_netns": "a", "network": "lan", "publish": ["8080:80"]}],
          "publish", "0.0.0.0:8080->80/tcp"),
    fleet("fleet-publish-host-port-twice",
          {"underlay_networks": [{"name": "web", "driver": "bridge", "subnet": "10.79.1.0/24"},
                                 {"name": "api", "driver": "bridge", "subnet": "10.79.2.0/24"}]},
          [{"host": "host1", "container_netns": "a", "network": "web", "publish": ["8080:80"]},
           {"host": "host1", "container_netns": "b", "network": "api", "publish": ["8080:8080"]}],
          "publish", "0.0.0.0:8080->8080/tcp"),
    fleet("fleet-ipvlan-on-a-macvlan-parent",
          dict(net_vars(), underlay_networks=net_vars()["underlay_networks"] + [
              {"name": "iv", "driver": "ipvlan", "parent": "ens33", "subnet": "10.78.0.0/24"}]),
          [], "parent", "ens33"),
    fleet("fleet-flag-on-macvlan",
          {"underlay_networks": [{"name": "mv", "driver": "macvlan", "parent": "ens33", "subnet": "10.79.0.0/24",
                                  "flag": "private"}]}, [], "flag", "private"),
    fleet("fleet-mac-for-an-ipvlan-endpoint",
          {"underlay_networks": [{"name": "iv", "driver": "ipvlan", "parent": "ens33", "subnet": "10.78.0.0/24"}]},
          [{"host": "host1", "container_netns": "a", "network": "iv", "mac_address": "02:00:00:00:00:08"}],
          "mac_address", "02:00:00:00:00:08"),
    # the roles' argument specs (a role run on its own)
    role("role-networks-driver", "networks",
         {"underlay_networks": [{"name": "x", "driver": "overlay", "subnet": "10.9.0.0/24"}]}, "driver", "overlay"),
    role("role-networks-ipvlan-flag", "networks",
         {"underlay_networks": [{"name": "x", "driver": "ipvlan", "parent": "veth0", "subnet": "10.9.0.0/24",
                                 "flag": "passthru"}]}, "flag", "passthru"),
    role("role-trunk-vlan-id-abc", "trunk_host",
         {"underlay_trunks": [{"parent": "veth0", "vlans": [{"id": "abc"}]}]}, "id", "abc"),
    role("role-endpoints-bad-state", "endpoints",
         {"underlay_endpoints": [{"host": "localhost", "container_netns": "{c2}", "network": "mv", "state": "gone"}]},
         "state", "gone"),
]


def run_case(module, args, lab):
    if module == "fleet_plan":
        return run_fleet_plan(args["host_vars"], args["endpoints"], lab)
    if module.startswith("role:"):
        return run_role(module.split(":", 1)[1], args, lab)
    return run_module(module, {key: value for key, value in args.items() if value is not None}, lab)


def names(message, field, value):
    """Whether ``message`` names ``field`` as an option (the engine's ``field:``,
    ``field.key:`` or ``items[0].field:``, Ansible's ``value of field`` or ``argument
    'field'``) and ``value`` (a newline may be shown escaped)."""
    forms = (f"{field}:", f"{field}.", f"value of {field} ", f"argument '{field}'")
    return any(form in message for form in forms) and any(text in message for text in (str(value), repr(value)[1:-1]))


@pytest.mark.parametrize("module, args, field, value, own_lab", CASES)
def test_bad_input_is_refused_clearly_and_changes_nothing(request, namespaces, tmp_path, module, args, field, value,
                                                          own_lab):
    known = request.node.get_closest_marker("xfail") is not None
    lab = build_lab(namespaces, tmp_path) if own_lab else request.getfixturevalue("shared_lab")
    try:
        value = fill(value, lab)
        before = lab.world.snapshot()
        result, output = run_case(module, args, lab)
        changes = lab.world.changes_since(before)
        message = (result or {}).get("msg")
        refused = bool(result and result.get("failed"))
        clear = refused and isinstance(message, str) and names(message, field, value)
        traceback = snap.TRACEBACK in output
        snap.tally("bad input", known, clear_messages=clear, changes_found=bool(changes), tracebacks=traceback)
    finally:
        if own_lab:
            release_lab(lab.root)
    assert not traceback, f"a Python traceback:\n{output}"
    assert refused, f"not refused: {result}"
    assert clear, f"the message does not name {field} and {value!r}: {message!r}"
    assert not changes, f"changed: {changes}"


def test_the_table_has_at_least_60_cases():
    assert len(CASES) >= 60
