# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan_network and network_info on the host kernel, on a veth parent in throwaway namespaces."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils._leases import pool_for
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

MODULE = "underlay.network.macvlan_network"


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.new("h")
    peer = namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    return SimpleNamespace(host=host, peer=peer, state_dir=str(tmp_path / "state"), namespaces=namespaces)


def net(lab, **extra):
    params = {"name": "vlan100", "parent": "veth0", "subnet": "10.100.0.0/24", "ip_range": "10.100.0.128/25",
              "gateway": "10.100.0.1", "aux_addresses": {"switch": "10.100.0.2"}, "netns": lab.host,
              "state_dir": lab.state_dir}
    params.update(extra)
    return params


def snapshot(lab):
    return {"kernel": lib.kernel_snapshot(lab.host), "state": lib.tree_snapshot(lab.state_dir)}


def ping(ns, address):
    return lib.sh("ping", "-c", "1", "-W", "1", address, ns=ns, check=False).returncode == 0


def test_create_rerun_check_mode_and_diff(lab):
    before = snapshot(lab)
    checked = lib.run_tasks([{MODULE: net(lab)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["network"]["Name"] == "vlan100"
    assert snapshot(lab) == before and before["state"] is None  # not even state_dir was created

    r = lib.run_tasks([{MODULE: net(lab)}, {MODULE: net(lab)}], diff=True)
    assert [x["changed"] for x in r] == [True, False]
    network = r[0]["network"]
    assert network["Driver"] == "macvlan" and network["Scope"] == "local" and len(network["Id"]) == 64
    assert network["IPAM"]["Config"] == [{"Subnet": "10.100.0.0/24", "IPRange": "10.100.0.128/25",
                                          "Gateway": "10.100.0.1", "AuxiliaryAddresses": {"switch": "10.100.0.2"}}]
    assert network["Options"] == {"parent": "veth0", "macvlan_mode": "bridge"}
    assert network["Internal"] is False and network["Containers"] == {}
    assert r[1]["network"]["Id"] == network["Id"] and r[1]["actions"] == []
    assert os.path.exists(os.path.join(lab.state_dir, "networks", "vlan100.json"))

    settled = snapshot(lab)
    checked = lib.run_tasks([{MODULE: net(lab, mode="vepa", internal=True)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True
    assert checked["diff"]["before"]["mode"] == "bridge" and checked["diff"]["after"]["mode"] == "vepa"
    assert checked["diff"]["after"]["internal"] is True
    assert '-    "mode": "bridge"' in checked["_stdout"] and '+    "mode": "vepa"' in checked["_stdout"]
    assert snapshot(lab) == settled


def test_mode_change_in_place_bridge_vs_private(lab):
    lib.run_tasks([{MODULE: net(lab)}])
    c1, ip1 = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    c2, ip2 = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    assert (ip1, ip2) == ("10.100.0.128", "10.100.0.129")
    index = json.loads(lib.sh("ip", "-j", "link", "show", "eth0", ns=c1).stdout)[0]["ifindex"]
    assert ping(c1, ip2), "bridge mode: children on one parent reach each other"

    r = lib.run_tasks([{MODULE: net(lab, mode="private")}, {MODULE: net(lab, mode="private")}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    assert any("set macvlan mode of" in a for a in r[0]["actions"])
    for container in (c1, c2):
        details = json.loads(lib.sh("ip", "-d", "-j", "link", "show", "eth0", ns=container).stdout)[0]
        assert details["linkinfo"]["info_data"]["mode"] == "private"
    assert json.loads(lib.sh("ip", "-j", "link", "show", "eth0", ns=c1).stdout)[0]["ifindex"] == index
    assert not ping(c1, ip2), "private mode: children must not reach each other"
    assert r[1]["network"]["Containers"][f"netns:{c1}"]["IPv4Address"] == f"{ip1}/24"


def test_host_access_lets_the_host_reach_its_containers(lab):
    r = lib.run_tasks([{MODULE: net(lab, host_access={"ifname": "vlan100-shim", "address": "10.100.0.250"})}])
    assert r[0]["changed"] is True, r[0].get("msg")
    container, address = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    assert ping(lab.host, address), "the host reaches its container through the shim"
    routes = lib.sh("ip", "route", "show", "dev", "vlan100-shim", ns=lab.host).stdout
    assert "10.100.0.128/25" in routes
    again = lib.run_tasks([{MODULE: net(lab, host_access={"ifname": "vlan100-shim", "address": "10.100.0.250"})}])
    assert again[0]["changed"] is False
    # the shim address is reserved: the next allocation skips it
    with StateDir(lab.state_dir) as store:
        reason = pool_for(store, "vlan100").why_unavailable(ipaddress.ip_address("10.100.0.250"), "x")
    assert reason.endswith("(host access)")
    removed = lib.run_tasks([{MODULE: net(lab)}])[0]
    assert removed["changed"] is True and "remove host access interface 'vlan100-shim'" in removed["actions"]
    assert not ping(lab.host, address)


def test_absent_refuses_with_endpoints_and_force_detaches(lab):
    lib.run_tasks([{MODULE: net(lab)}])
    container, address = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    absent = {"name": "vlan100", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    before = snapshot(lab)
    refused = lib.run_tasks([{MODULE: absent}])[0]
    assert refused["failed"] is True
    assert refused["msg"] == (f"name: network 'vlan100' has endpoints attached: {container} ({address});"
                              " detach them first or set force: true")
    assert snapshot(lab) == before
    r = lib.run_tasks([{MODULE: dict(absent, force=True)}, {MODULE: absent}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    assert lib.sh("ip", "link", "show", "eth0", ns=container, check=False).returncode != 0
    assert lib.tree_snapshot(os.path.join(lab.state_dir, "networks")) == {}


def test_absent_releases_the_leases_of_endpoints_whose_namespace_is_gone(lab):
    """Docker: after ``docker rm -f apache``, ``docker network rm`` works without force."""
    lib.run_tasks([{MODULE: net(lab)}])
    container, address = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    lib.sh("ip", "netns", "del", container)
    absent = {"name": "vlan100", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    r = lib.run_tasks([{MODULE: absent}, {MODULE: absent}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    assert f"release the leases of network 'vlan100' (owners gone: {container} ({address}))" in r[0]["actions"]
    assert lib.tree_snapshot(os.path.join(lab.state_dir, "networks")) == {}
    assert not os.path.exists(os.path.join(lab.state_dir, "leases", "vlan100.json"))


@pytest.mark.parametrize("old, new", [("bridge", "passthru"), ("passthru", "bridge")])
def test_mode_change_to_or_from_passthru_with_endpoints_is_refused(lab, old, new):
    lib.run_tasks([{MODULE: net(lab, mode=old)}])
    lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100", mode=old)
    before = snapshot(lab)
    result = lib.run_module("macvlan_network", net(lab, mode=new))
    assert result["failed"] is True and result["msg"].startswith(
        f"mode: cannot change network 'vlan100' from mode {old} to {new} while endpoints are attached"), result
    assert snapshot(lab) == before


def test_subnet_overlapping_a_bridge_network_is_refused(lab):
    bridge = {"name": "br", "bridge_name": "br-t", "subnet": "10.100.0.0/16", "masquerade": False,
              "netns": lab.host, "state_dir": lab.state_dir}
    r = lib.run_tasks([{"underlay.network.bridge_network": bridge}, {MODULE: net(lab)}])
    assert r[0]["changed"] is True and r[1]["failed"] is True
    assert r[1]["msg"] == "subnet: 10.100.0.0/24 overlaps the subnet 10.100.0.0/16 of network 'br'"


def test_a_failure_part_way_leaves_the_state_as_it_was(lab, monkeypatch):
    """A failure forced after each undoable step: everything is rolled back, every time."""
    lib.run_tasks([{MODULE: net(lab, host_access={"ifname": "shim100", "address": "10.100.0.250"})}])
    lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    renamed = net(lab, host_access={"ifname": "shim101", "address": "10.100.0.250"})
    absent = {"name": "vlan100", "state": "absent", "force": True, "netns": lab.host, "state_dir": lab.state_dir}
    before = snapshot(lab)
    # renamed: old shim's route off, new shim (create, address, up, route), store; then the old shim goes
    # absent: release leases, remove the definition; then the endpoint and the shim go
    for args, undoable in ((renamed, 6), (absent, 2)):
        for step in range(1, undoable + 1):
            with monkeypatch.context() as patch:
                patch.setenv("UNDERLAY_TEST_FAIL_AFTER_STEP", str(step))
                result = lib.run_module("macvlan_network", args)
            assert result["failed"] is True and f"injected failure after step {step}" in result["msg"], result
            assert "NOT rolled back" not in result["msg"], result["msg"]
            assert snapshot(lab) == before, (args.get("state"), step)
    assert lib.run_tasks([{MODULE: renamed}])[0]["changed"] is True


def test_several_networks_per_parent_and_overlap_named(lab):
    r = lib.run_tasks([
        {MODULE: net(lab)},
        {MODULE: net(lab, name="vlan100b", subnet="10.101.0.0/24", ip_range=None, gateway=None, aux_addresses={})},
        {MODULE: net(lab, name="clash", subnet="10.100.0.0/16", ip_range=None, gateway=None, aux_addresses={})},
    ])
    assert [x.get("failed", False) for x in r] == [False, False, True]
    assert r[2]["msg"] == ("subnet: 10.100.0.0/16 overlaps the subnet 10.100.0.0/24 of network 'vlan100'"
                           " on parent 'veth0'")


@pytest.mark.parametrize("change, message", [
    ({"subnet": "10.0.0.0/33"}, "subnet: '10.0.0.0/33' is not a network in CIDR notation"),
    ({"subnet": "not-a-cidr"}, "subnet: 'not-a-cidr' is not a network in CIDR notation"),
    ({"gateway": "10.99.0.1"}, "gateway: 10.99.0.1 is outside the subnet 10.100.0.0/24"),
    ({"ip_range": "10.99.0.0/25"}, "ip_range: 10.99.0.0/25 is outside the subnet 10.100.0.0/24"),
    ({"ip_range": "10.100.0.0/16"}, "ip_range: 10.100.0.0/16 is larger than the subnet 10.100.0.0/24"),
    ({"aux_addresses": {"sw": "10.99.0.2"}}, "aux_addresses.sw: 10.99.0.2 is outside the subnet"),
    ({"mode": "bridged"}, "mode"),
    ({"name": "has space"}, "name: 'has space' is not a valid network name"),
    ({"name": "n" * 65}, "is not a valid network name"),
    ({"parent": "veth9"}, "parent: interface 'veth9' does not exist in network namespace"),
    ({"parent": "veth9.100"}, "parent: interface 'veth9.100' does not exist in network namespace"),
    ({"parent": "lo"}, "parent: 'lo' is the loopback interface, which cannot carry a macvlan network"),
    ({"mode": "vepa", "host_access": {"ifname": "shim", "address": "10.100.0.250"}},
     "host_access: needs mode bridge, not vepa"),
])
def test_bad_input_changes_nothing(lab, change, message):
    lib.run_tasks([{MODULE: net(lab, name="other", parent="veth0", subnet="10.200.0.0/24", ip_range=None,
                                gateway=None, aux_addresses={})}])
    before = snapshot(lab)
    result = lib.run_module("macvlan_network", net(lab, **change))
    assert result.get("failed") is True and message in result["msg"], result
    if change.get("mode") == "bridged":
        assert "bridged" in result["msg"]
    assert snapshot(lab) == before


def test_corrupt_lease_file_is_refused_and_left_alone(lab):
    lib.run_tasks([{MODULE: net(lab)}])
    os.makedirs(os.path.join(lab.state_dir, "leases"), exist_ok=True)
    lease_file = os.path.join(lab.state_dir, "leases", "vlan100.json")
    with open(lease_file, "w", encoding="utf-8") as handle:
        handle.write('{"leases": {"10.100.0.130": ')
    before = snapshot(lab)
    result = lib.run_module("macvlan_network", net(lab, mode="private"))
    assert result["failed"] is True and "corrupt" in result["msg"] and lease_file in result["msg"]
    assert snapshot(lab) == before


def test_32_concurrent_allocations_are_distinct_and_all_recorded(lab):
    lib.run_tasks([{MODULE: net(lab, subnet="10.100.0.0/24", ip_range=None)}])
    code = ("import sys; sys.path.insert(0, sys.argv[3]);"
            "from ansible_collections.underlay.network.plugins.module_utils import _leases;"
            "from ansible_collections.underlay.network.plugins.module_utils._store import StateDir;"
            "s = StateDir(sys.argv[1]); s.__enter__();"
            "print(_leases.lease(s, 'vlan100', sys.argv[2])); s.__exit__(None, None, None)")
    procs = [subprocess.Popen([sys.executable, "-c", code, lab.state_dir, f"pid:{i}", lib.COLLECTIONS],
                              stdout=subprocess.PIPE, text=True) for i in range(32)]
    got = [p.communicate()[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(got)) == 32 and "10.100.0.1" not in got and "10.100.0.2" not in got
    with open(os.path.join(lab.state_dir, "leases", "vlan100.json"), encoding="utf-8") as handle:
        table = json.load(handle)["leases"]
    assert sorted(table) == sorted(got)
    assert {lease["owner"] for lease in table.values()} == {f"pid:{i}" for i in range(32)}


def test_network_info_lists_inspects_and_reports_drift(lab):
    lib.run_tasks([{MODULE: net(lab, host_access={"ifname": "shim100", "address": "10.100.0.250"})},
                   {MODULE: net(lab, name="vlan300", subnet="10.30.0.0/24", ip_range=None, gateway=None,
                                aux_addresses={})}])
    container, address = lib.attach_by_hand(lab.namespaces, lab.host, "veth0", lab.state_dir, "vlan100")
    info = {"netns": lab.host, "state_dir": lab.state_dir}
    before = snapshot(lab)
    r = lib.run_tasks([{"underlay.network.network_info": info},
                       {"underlay.network.network_info": dict(info, name=["vlan300"])},
                       {"underlay.network.network_info": dict(info, name=["nope"])}], check_mode=False)
    assert snapshot(lab) == before
    assert r[0]["changed"] is False and [n["Name"] for n in r[0]["networks"]] == ["vlan100", "vlan300"]
    assert r[0]["networks"][0]["drift"] == [] and r[0]["networks"][1]["drift"] == []
    assert r[0]["networks"][0]["Containers"][f"netns:{container}"]["IPv4Address"] == f"{address}/24"
    assert [n["Name"] for n in r[1]["networks"]] == ["vlan300"]
    assert r[2]["failed"] is True and "no network named 'nope'" in r[2]["msg"]

    lib.sh("ip", "link", "del", "eth0", ns=container)
    lib.sh("ip", "link", "del", "shim100", ns=lab.host)
    drift = lib.run_module("network_info", dict(info, name=["vlan100"]))["networks"][0]["drift"]
    assert drift == ["host access interface 'shim100' is missing",
                     f"endpoint {container} ({address}): interface 'eth0' is gone"]
    lib.sh("ip", "link", "del", "veth0", ns=lab.host)
    drift = lib.run_module("network_info", dict(info, name=["vlan300"]))["networks"][0]["drift"]
    assert drift == ["parent 'veth0' is missing"]
