# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 dual stack on the host kernel: a dual-stack macvlan network with two endpoints and a
router namespace on its parent's segment, a dual-stack bridge network (in a test namespace: its
IPv6 forwarding is that namespace's sysctl, never this machine's), re-runs, check mode,
stickiness across a container restart, and the IPv6 side of network_info."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

MODULE = "underlay.network.container_endpoint"
NET = "underlay.network.macvlan_network"
BRIDGE = "underlay.network.bridge_network"


@pytest.fixture
def lab(namespaces, tmp_path):
    """A host namespace whose ``veth0`` leads to a router namespace holding both gateways, and a
    dual-stack macvlan network on it."""
    host, router = namespaces.new("h"), namespaces.new("r")
    namespaces.veth(host, "veth0", router, "eth0")
    lib.sh("ip", "addr", "add", "10.61.0.1/24", "dev", "eth0", ns=router)
    lib.sh("ip", "addr", "add", "fd00:61::1/64", "dev", "eth0", ns=router)
    state_dir = str(tmp_path / "state")
    params = {"name": "dual", "parent": "veth0", "subnet": "10.61.0.0/24", "ipv6_subnet": "fd00:61::/64",
              "ipv6_range": "fd00:61::100/120", "netns": host, "state_dir": state_dir}
    r = lib.run_module("macvlan_network", params)
    assert r.get("failed") is not True, r.get("msg")
    return SimpleNamespace(host=host, router=router, state_dir=state_dir, namespaces=namespaces, params=params,
                           network=r["network"])


def ep(lab, **params):
    params.setdefault("netns", lab.host)
    params.setdefault("state_dir", lab.state_dir)
    params.setdefault("network", "dual")
    return params


def container(lab):
    """A namespace with duplicate address detection on (as a container's is), so an address
    that is usable at once is so because it was added without DAD."""
    name = lab.namespaces.new("c")
    lib.sh("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=1", "net.ipv6.conf.default.accept_dad=1", ns=name)
    return name


def ping(ns, address):
    return lib.sh("ping", "-c", "1", "-W", "2", address, ns=ns, check=False).returncode == 0


def ipv6_addresses(ns, ifname):
    entry = json.loads(lib.sh("ip", "-j", "-6", "addr", "show", "dev", ifname, ns=ns).stdout)[0]
    return [info for info in entry["addr_info"] if info.get("scope") == "global"]


def everything(lab, containers):
    snap = {"host": lib.kernel_snapshot(lab.host), "state": lib.tree_snapshot(lab.state_dir)}
    for name in containers:
        snap[name] = lib.kernel_snapshot(name)
        snap[name + " sysctl"] = [lib.sysctl(name, f"net.ipv6.conf.{key}") for key in (
            "all.forwarding", "default.disable_ipv6")]
    return snap


def test_network_inspect_has_the_ipv6_side(lab):
    net = lab.network
    assert net["EnableIPv6"] is True
    assert net["IPAM"]["Config"][1] == {"Subnet": "fd00:61::/64", "IPRange": "fd00:61::100/120",
                                        "Gateway": "fd00:61::1", "AuxiliaryAddresses": {}}
    again = lib.run_module("macvlan_network", lab.params)
    assert again["changed"] is False, again.get("actions")


def test_two_dual_stack_endpoints_and_the_router_reach_each_other(lab):
    c1, c2 = container(lab), container(lab)
    r = lib.run_tasks([{MODULE: ep(lab, container_netns=c1)},
                       {MODULE: ep(lab, container_netns=c2, ipv6_address="fd00:61::42")}])
    assert [x.get("changed") for x in r] == [True, True], [x.get("msg") for x in r]
    first, second = r[0]["endpoint"], r[1]["endpoint"]
    assert (first["ipv4_address"], first["ipv6_address"]) == ("10.61.0.2/24", "fd00:61::100/64")
    assert (second["ipv4_address"], second["ipv6_address"]) == ("10.61.0.3/24", "fd00:61::42/64")
    assert any(a.startswith("announce fd00:61::100 (02:42:0a:3d:00:02) with an unsolicited neighbour advertisement")
               for a in r[0]["actions"]), r[0]["actions"]
    for ns, address in ((c1, "fd00:61::100"), (c2, "fd00:61::42")):
        found = ipv6_addresses(ns, "eth0")
        assert [info["local"] for info in found] == [address]
        assert not found[0].get("tentative") and not found[0].get("dadfailed"), found
        assert lib.sysctl(ns, "net.ipv6.conf.eth0.accept_ra") == "0"
        assert lib.sysctl(ns, "net.ipv6.conf.eth0.autoconf") == "0"
        assert lib.sysctl(ns, "net.ipv6.conf.eth0.disable_ipv6") == "0"
        assert "default via fd00:61::1 dev eth0" in lib.sh("ip", "-6", "route", "show", "default", ns=ns).stdout
        assert "default via 10.61.0.1 dev eth0" in lib.sh("ip", "route", "show", "default", ns=ns).stdout
    assert ping(c1, "10.61.0.3") and ping(c1, "fd00:61::42"), "the endpoints reach each other over both"
    assert ping(c2, "10.61.0.2") and ping(c2, "fd00:61::100")
    for ns in (c1, c2):
        assert ping(ns, "10.61.0.1") and ping(ns, "fd00:61::1"), "the router answers over both"
    assert ping(lab.router, "fd00:61::100") and ping(lab.router, "fd00:61::42")

    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir, "name": ["dual"]})
    entry = info["networks"][0]["Containers"][f"netns:{c2}"]
    assert (entry["IPv4Address"], entry["IPv6Address"]) == ("10.61.0.3/24", "fd00:61::42/64")
    assert info["networks"][0].get("drift", []) == [], info["networks"][0]
    again = lib.run_tasks([{MODULE: ep(lab, container_netns=c1)},
                           {MODULE: ep(lab, container_netns=c2, ipv6_address="fd00:61::42")}])
    assert [x["changed"] for x in again] == [False, False], [x.get("actions") for x in again]


def test_unsolicited_neighbour_advertisement_updates_the_router(lab):
    """The router has a stale entry for the address (another MAC): the endpoint's announcement
    overrides it, as the gratuitous ARP does for IPv4."""
    lib.sh("ip", "-6", "neigh", "replace", "fd00:61::100", "lladdr", "02:00:00:00:00:99", "dev", "eth0",
           "nud", "stale", ns=lab.router)
    c1 = container(lab)
    lib.run_module("container_endpoint", ep(lab, container_netns=c1))
    mac = json.loads(lib.sh("ip", "-j", "link", "show", "eth0", ns=c1).stdout)[0]["address"]
    neigh = json.loads(lib.sh("ip", "-j", "-6", "neigh", "show", "fd00:61::100", ns=lab.router).stdout)
    assert neigh and neigh[0]["lladdr"] == mac, neigh


def test_check_mode_changes_nothing_and_diff_shows_the_ipv6_address(lab):
    c1 = lab.namespaces.new("c")  # no DAD on the link-local address either: the snapshots settle at once
    before = everything(lab, [c1])
    checked = lib.run_tasks([{MODULE: ep(lab, container_netns=c1)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["endpoint"]["ipv6_address"] == "fd00:61::100/64"
    assert checked["diff"]["after"]["endpoints"][0]["ipv6_address"] == "fd00:61::100/64"
    assert everything(lab, [c1]) == before
    lib.run_module("container_endpoint", ep(lab, container_netns=c1))
    settled = everything(lab, [c1])
    checked = lib.run_tasks([{MODULE: ep(lab, container_netns=c1)}], check_mode=True)[0]
    assert checked["changed"] is False and everything(lab, [c1]) == settled


def test_restart_keeps_both_addresses(lab):
    """Sticky: the container restarts (same name, a fresh namespace with no interface) and is
    attached again with the same IPv4 and IPv6 addresses and MAC."""
    c1, c2 = container(lab), container(lab)
    first = lib.run_module("container_endpoint", ep(lab, container_netns=c1))["endpoint"]
    lab.namespaces.recreate(c1)
    lib.run_module("container_endpoint", ep(lab, container_netns=c2))  # allocation moves on meanwhile
    again = lib.run_module("container_endpoint", ep(lab, container_netns=c1))
    assert again.get("changed") is True, again
    keys = ("ipv4_address", "ipv6_address", "mac_address")
    assert [again["endpoint"][k] for k in keys] == [first[k] for k in keys]
    assert [info["local"] for info in ipv6_addresses(c1, "eth0")] == [first["ipv6_address"].split("/")[0]]
    with open(os.path.join(lab.state_dir, "leases", "dual.json"), encoding="utf-8") as handle:
        table = json.load(handle)
    assert sorted(lease["ipv6_address"] for lease in table["leases"].values()) == ["fd00:61::100", "fd00:61::101"]


def test_missing_ipv6_address_is_drift_and_reattach_restores_it(lab):
    c1 = container(lab)
    lib.run_module("container_endpoint", ep(lab, container_netns=c1))
    lib.sh("ip", "-6", "addr", "del", "fd00:61::100/64", "dev", "eth0", ns=c1)
    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir, "name": ["dual"]})
    drift = info["networks"][0].get("drift", [])
    assert any("fd00:61::100/64" in line for line in drift), info["networks"][0]
    fixed = lib.run_module("container_endpoint", ep(lab, container_netns=c1))
    assert fixed["changed"] is True
    assert [info["local"] for info in ipv6_addresses(c1, "eth0")] == ["fd00:61::100"]


def test_restore_brings_back_both_addresses_and_both_default_routes(lab, tmp_path):
    """The endpoint's interface is wiped (as a reboot of its container's namespace leaves it):
    ``underlay-network restore``, the command the networks role installs, makes it again from
    the lease with its IPv6 side; a second restore changes nothing."""
    c1 = container(lab)
    first = lib.run_module("container_endpoint", ep(lab, container_netns=c1))["endpoint"]
    command = str(tmp_path / "bin" / "underlay-network")
    os.makedirs(os.path.dirname(command))
    installed = lib.run_tasks([{"ansible.builtin.include_role": {"name": "underlay.network.networks",
                                                                 "tasks_from": "durability"},
                                "vars": {"underlay_netns": lab.host, "underlay_state_dir": lab.state_dir,
                                         "underlay_command_path": command}}])
    assert not any(r.get("failed") for r in installed), [r.get("msg") for r in installed]
    try:
        lib.sh("ip", "link", "del", "eth0", ns=c1)

        def restore():
            return subprocess.run([command, "restore", "--netns", lab.host, "--state-dir", lab.state_dir],
                                  capture_output=True, text=True, check=False)

        restored = restore()
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert [info["local"] for info in ipv6_addresses(c1, "eth0")] == [first["ipv6_address"].split("/")[0]]
        assert "default via fd00:61::1 dev eth0" in lib.sh("ip", "-6", "route", "show", "default", ns=c1).stdout
        assert "default via 10.61.0.1 dev eth0" in lib.sh("ip", "route", "show", "default", ns=c1).stdout
        assert ping(c1, "fd00:61::1") and ping(c1, "10.61.0.1")
        again = restore()
        assert again.stdout.strip().splitlines()[-1] == "restore: nothing to change, 0 problem(s)", again.stdout
    finally:
        lib.stop_resolver(lab.state_dir)


def test_parallel_attaches_lease_every_ipv6_address_once(lab):
    """Concurrent runs on one state_dir (the one lock of the IPv4 leases covers the IPv6 ones):
    every endpoint's IPv6 address in the kernel is its own and is the one its lease holds."""
    containers = [lab.namespaces.new("c") for _index in range(12)]
    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        results = list(pool.map(lambda name: lib.run_module("container_endpoint", ep(lab, container_netns=name)),
                                containers))
    assert not [result.get("msg") for result in results if result.get("failed")]
    in_kernel = {name: [info["local"] for info in ipv6_addresses(name, "eth0")] for name in containers}
    assert all(len(found) == 1 for found in in_kernel.values()), in_kernel
    assert len({found[0] for found in in_kernel.values()}) == len(containers), "an IPv6 address was handed out twice"
    with open(os.path.join(lab.state_dir, "leases", "dual.json"), encoding="utf-8") as handle:
        leases = json.load(handle)["leases"].values()
    leased = {lease["owner"].split(":", 1)[1]: lease["ipv6_address"] for lease in leases}
    assert leased == {name: found[0] for name, found in in_kernel.items()}


def test_ipv4_only_network_keeps_ipv6_off(lab):
    lib.run_module("macvlan_network", dict(lab.params, name="v4", subnet="10.62.0.0/24", ipv6_subnet=None,
                                           ipv6_range=None))
    c1 = container(lab)
    r = lib.run_module("container_endpoint", ep(lab, network="v4", container_netns=c1))
    assert "ipv6_address" not in r["endpoint"] and r["endpoint"]["ipv4_address"] == "10.62.0.2/24"
    assert lib.sysctl(c1, "net.ipv6.conf.eth0.disable_ipv6") == "1"


def test_dual_stack_bridge_endpoint_reaches_the_gateway_over_ipv6(lab):
    params = {"name": "br6", "bridge_name": "br6", "subnet": "10.63.0.0/24", "ipv6_subnet": "fd00:63::/64",
              "netns": lab.host, "state_dir": lab.state_dir}
    forwarding = lib.sysctl(lab.host, "net.ipv6.conf.all.forwarding")
    own = lib.host_snapshot()
    before = everything(lab, [lab.host])
    checked = lib.run_tasks([{BRIDGE: params}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["diff"]["after"]["ipam6"] == {
        "subnet": "fd00:63::/64", "gateway": "fd00:63::1", "ip_range": "fd00:63::/64"}, checked.get("msg")
    assert any("enable IPv6 forwarding" in action for action in checked["actions"]), checked["actions"]
    assert everything(lab, [lab.host]) == before, "check mode changed nothing, the forwarding sysctl included"
    r = lib.run_module("bridge_network", params)
    assert r["changed"] is True and r["network"]["EnableIPv6"] is True, r.get("msg")
    assert forwarding == "0" and lib.sysctl(lab.host, "net.ipv6.conf.all.forwarding") == "1"
    bridge = json.loads(lib.sh("ip", "-j", "-6", "addr", "show", "dev", "br6", ns=lab.host).stdout)[0]
    gateway = [info for info in bridge["addr_info"] if info["local"] == "fd00:63::1"]
    assert gateway and not gateway[0].get("tentative"), bridge
    c1 = container(lab)
    attached = lib.run_module("container_endpoint", ep(lab, network="br6", container_netns=c1))
    assert attached.get("endpoint", {}).get("ipv6_address") == "fd00:63::2/64", attached.get("msg")
    assert ping(c1, "fd00:63::1") and ping(c1, "10.63.0.1")
    assert lib.run_module("bridge_network", params)["changed"] is False
    assert lib.run_module("container_endpoint", ep(lab, network="br6", container_netns=c1))["changed"] is False
    assert lib.host_snapshot() == own, "this machine's own links, addresses and routes are untouched"
