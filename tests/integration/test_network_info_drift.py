# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info's drift on the host kernel: networks and endpoints made by the modules in
throwaway namespaces, then broken by hand inside those namespaces (``ip``, ``nft``, sysctl),
and each break reported, naming what and where."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

MAC = "02:00:00:00:00:99"


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.new("h")
    peer = namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    c1 = namespaces.new("c")
    state_dir = str(tmp_path / "state")
    common = {"netns": host, "state_dir": state_dir}
    r = lib.run_tasks([
        {"underlay.network.bridge_network": dict(common, name="br", bridge_name="br0", subnet="10.6.0.0/24",
                                                 mtu=1400)},
        {"underlay.network.bridge_network": dict(common, name="iso", bridge_name="br1", subnet="10.7.0.0/24",
                                                 internal=True, icc=False)},
        {"underlay.network.macvlan_network": dict(common, name="mv", parent="veth0", subnet="10.5.0.0/24")},
        {"underlay.network.container_endpoint": dict(common, container_netns=c1, network="mv", mac_address=MAC)},
        {"underlay.network.container_endpoint": dict(common, container_netns=c1, network="iso")},
    ])
    assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
    return SimpleNamespace(host=host, c1=c1, state_dir=state_dir, common=common)


def drift(lab):
    result = lib.run_module("network_info", lab.common)
    assert not result.get("failed"), result.get("msg")
    return {network["Name"]: network["drift"] for network in result["networks"]}


def bridge_port(lab, bridge):
    ports = json.loads(lib.sh("ip", "-j", "link", "show", "master", bridge, ns=lab.host).stdout)
    assert len(ports) == 1, ports
    return ports[0]["ifname"]


def test_flushed_rules_forwarding_off_bridge_down_mtu_and_lost_isolation_are_reported(lab):
    assert drift(lab) == {"br": [], "iso": [], "mv": []}
    port = bridge_port(lab, "br1")
    lib.sh("nft", "flush", "ruleset", ns=lab.host)  # a firewall reload, inside the test's namespace
    lib.sh("sysctl", "-qw", "net.ipv4.ip_forward=0", ns=lab.host)
    lib.sh("ip", "link", "set", "br0", "down", "mtu", "1300", ns=lab.host)
    lib.sh("ip", "link", "set", port, "type", "bridge_slave", "isolated", "off", ns=lab.host)

    found = drift(lab)
    assert found["br"] == [
        "bridge 'br0' is down", "bridge 'br0' has MTU 1300, the definition says 1400",
        "IPv4 forwarding is off (net.ipv4.ip_forward=0), so the masquerade of 10.6.0.0/24 forwards nothing",
        "nftables rule 'underlay.network:br:masquerade:10.6.0.0/24>br0' is missing"]
    assert found["iso"] == [
        f"port '{port}' of bridge 'br1' is not isolated, though icc is off",
        "nftables rule 'underlay.network:iso:internal-in:br1' is missing",
        "nftables rule 'underlay.network:iso:internal-out:br1' is missing"]
    assert found["mv"] == []


def test_an_endpoints_address_mac_mode_and_routes_against_its_lease(lab):
    from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

    with StateDir(lab.state_dir) as store:  # routes as container_endpoint records them in the lease
        table = store.leases("mv")
        (address, lease), = table["leases"].items()
        lease.update(routes=[["10.9.0.0/16", "10.5.0.254"]], default_route=True)
        store.put_leases("mv", table)
    where = f"endpoint {lease['container']} ({address})"
    assert drift(lab)["mv"] == [f"{where}: route 10.9.0.0/16 via 10.5.0.254 is missing"]
    ifname = lease["ifname"]
    lib.sh("ip", "addr", "flush", "dev", ifname, ns=lab.c1)
    lib.sh("ip", "addr", "add", "10.5.0.99/24", "dev", ifname, ns=lab.c1)
    lib.sh("ip", "link", "set", ifname, "address", "02:00:00:00:00:98", "type", "macvlan", "mode", "private",
           ns=lab.c1)
    lib.sh("ip", "route", "replace", "default", "via", "10.5.0.7", ns=lab.c1)

    assert drift(lab)["mv"] == [
        f"{where}: interface '{ifname}' lacks its address {address}/24 (has 10.5.0.99/24)",
        f"{where}: interface '{ifname}' has MAC 02:00:00:00:00:98, its lease says {MAC}",
        f"{where}: interface '{ifname}' is in macvlan mode private, the network's mode is bridge",
        f"{where}: route 10.9.0.0/16 via 10.5.0.254 is missing",
        f"{where}: route default goes via 10.5.0.7, its lease says via 10.5.0.1"]


def test_network_info_answers_while_another_process_holds_the_state_dir_lock(lab):
    """network_info reads state_dir without its lock: a run holding it never makes it wait."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
                               "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True)\n"
                               "sys.stdin.read()\n", lab.state_dir],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    found = {}
    try:
        assert holder.stdout.readline() == "locked\n"
        worker = threading.Thread(target=lambda: found.update(drift=drift(lab)), daemon=True)
        worker.start()
        worker.join(60)
        answered = "drift" in found  # before the lock is let go
    finally:
        holder.stdin.close()
        holder.wait(10)
    worker.join(60)
    assert answered, "network_info waited for the lock"
    assert found["drift"] == {"br": [], "iso": [], "mv": []}
