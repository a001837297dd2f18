# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``underlay-network`` command as the networks role installs it (a real role run, into a
temporary path), driven against throwaway namespaces: a host's kernel state is wiped as a
reboot wipes it, ``restore`` brings back the same networks, addresses, MACs, rules and
reachability, a second ``restore`` changes nothing, one network whose parent did not come
back is reported while the rest are restored, and ``status`` exits 1 exactly on drift."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import underlay_testlib as lib


@pytest.fixture
def host(namespaces, tmp_path):
    """A host namespace with a trunk (veth0, its peer in an upstream namespace), a macvlan
    network with host access, a masquerading bridge, a second macvlan network on
    veth2, and two namespace 'containers' attached; plus the command installed by the role."""
    h = namespaces.new("h")
    up = namespaces.new("u")
    namespaces.veth(h, "veth0", up, "veth1")
    namespaces.veth(h, "veth2", up, "veth3")
    lib.sh("ip", "addr", "add", "10.5.0.200/24", "dev", "veth1", ns=up)
    c1, c2 = namespaces.new("c"), namespaces.new("c")
    state_dir = str(tmp_path / "state")
    command = str(tmp_path / "bin" / "underlay-network")
    common = {"netns": h, "state_dir": state_dir}
    os.makedirs(os.path.dirname(command))
    results = lib.run_tasks([
        {"underlay.network.macvlan_network": dict(common, name="mv", parent="veth0", subnet="10.5.0.0/24",
                                                  host_access={"ifname": "mvshim", "address": "10.5.0.254/32"})},
        {"underlay.network.macvlan_network": dict(common, name="mv2", parent="veth2", subnet="10.8.0.0/24")},
        {"underlay.network.bridge_network": dict(common, name="br", bridge_name="ulbr0", subnet="10.6.0.0/24")},
        {"underlay.network.container_endpoint": dict(common, endpoints=[
            {"container_netns": c1, "network": "mv"}, {"container_netns": c1, "network": "br"},
            {"container_netns": c2, "network": "br", "mac_address": "02:00:00:00:06:02"},
            {"container_netns": c2, "network": "mv2"}])},
        {"ansible.builtin.include_role": {"name": "underlay.network.networks", "tasks_from": "durability"},
         "vars": {"underlay_netns": h, "underlay_state_dir": state_dir, "underlay_command_path": command}},
    ])
    assert not any(r.get("failed") for r in results), [r.get("msg") for r in results]
    try:
        yield dict(ns=h, upstream=up, c1=c1, c2=c2, state_dir=state_dir, command=command, common=common)
    finally:
        lib.stop_resolver(state_dir)


def underlay(host, *argv):
    return subprocess.run([host["command"], *argv, "--netns", host["ns"], "--state-dir", host["state_dir"]],
                          capture_output=True, text=True, check=False)


def networks(host):
    result = lib.run_module("network_info", host["common"])
    assert not result.get("failed"), result.get("msg")
    return {n["Name"]: n for n in result["networks"]}


def endpoints_seen(ns):
    """Every interface of a namespace but lo: name, MAC, IPv4 addresses, state."""
    links = json.loads(lib.sh("ip", "-j", "addr", "show", ns=ns).stdout)
    return sorted((link["ifname"], link["address"], link["operstate"],
                   sorted(f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"))
                  for link in links if link["ifname"] != "lo")


def rules(ns):
    return [line for line in lib.sh("nft", "list", "ruleset", ns=ns).stdout.splitlines() if "handle" not in line]


def reboot(host, namespaces):
    """What a reboot leaves: the trunk NICs (the OS brings them back), nothing else. The
    containers' namespaces come back empty (their runtime starts them again)."""
    ns = host["ns"]
    lib.stop_resolver(host["state_dir"])  # no process outlives a reboot (it would hold the old namespaces)
    for link in json.loads(lib.sh("ip", "-j", "link", "show", ns=ns).stdout):
        if link["ifname"] not in ("lo", "veth0", "veth2"):
            lib.sh("ip", "link", "del", link["ifname"], ns=ns, check=False)
    lib.sh("nft", "flush", "ruleset", ns=ns)
    lib.sh("sysctl", "-qw", "net.ipv4.ip_forward=0", ns=ns)
    for name in (host["c1"], host["c2"]):
        namespaces.recreate(name)


def test_restore_brings_back_what_a_reboot_wiped(host, namespaces):
    before = networks(host)
    assert {name: n["drift"] for name, n in before.items()} == {"br": [], "mv": [], "mv2": []}
    seen = {c: endpoints_seen(host[c]) for c in ("c1", "c2")}
    ruleset = rules(host["ns"])
    assert ruleset, "the bridge network made no rules"

    reboot(host, namespaces)
    status = underlay(host, "status")
    assert status.returncode == 1, status.stdout
    assert "drift: bridge 'ulbr0' is missing" in status.stdout

    boot = underlay(host, "restore", "--boot")  # what the unit runs: networks only
    assert boot.returncode == 0, boot.stdout + boot.stderr
    assert endpoints_seen(host["c1"]) == [], "--boot attached endpoints"
    assert lib.sysctl(host["ns"], "net.ipv4.ip_forward") == "1"

    restored = underlay(host, "restore")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restore: changed, 0 problem(s)" in restored.stdout
    assert {c: endpoints_seen(host[c]) for c in ("c1", "c2")} == seen
    after = networks(host)
    for name, network in before.items():
        assert after[name]["Containers"] == network["Containers"], name
        assert after[name]["drift"] == [], (name, after[name]["drift"])
    assert rules(host["ns"]) == ruleset
    # reachable again: the host through its shim, the containers across the bridge
    c1_mv = next(e["IPv4Address"] for e in after["mv"]["Containers"].values()).split("/")[0]
    c2_br = next(e["IPv4Address"] for e in after["br"]["Containers"].values()
                 if e["MacAddress"] == "02:00:00:00:06:02").split("/")[0]
    lib.sh("ping", "-c1", "-W2", c1_mv, ns=host["ns"])
    lib.sh("ping", "-c1", "-W2", "10.5.0.200", ns=host["c1"])
    lib.sh("ping", "-c1", "-W2", c2_br, ns=host["c1"])

    kernel = {ns: lib.kernel_snapshot(ns) for ns in (host["ns"], host["c1"], host["c2"])}
    files = lib.tree_snapshot(host["state_dir"])
    again = underlay(host, "restore")
    assert again.returncode == 0, again.stdout
    assert again.stdout.strip().splitlines()[-1] == "restore: nothing to change, 0 problem(s)"
    assert {ns: lib.kernel_snapshot(ns) for ns in kernel} == kernel
    assert lib.tree_snapshot(host["state_dir"]) == files
    status = underlay(host, "status")
    assert status.returncode == 0, status.stdout
    assert "3 network(s), 0 drift(s)" in status.stdout


def test_a_network_whose_parent_is_gone_is_reported_and_the_rest_restored(host, namespaces):
    reboot(host, namespaces)
    lib.sh("ip", "link", "del", "veth2", ns=host["ns"])  # this NIC did not come back
    restored = underlay(host, "restore")
    assert restored.returncode == 1
    problems = [line for line in restored.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1 and problems[0].startswith("problem: network mv2: not restored:"), restored.stdout
    assert "veth2" in problems[0]
    after = networks(host)
    assert after["mv"]["drift"] == [] and after["br"]["drift"] == []
    assert any(link[0] == "eth0" for link in endpoints_seen(host["c1"]))
    leases = json.loads(open(os.path.join(host["state_dir"], "leases", "mv2.json"), encoding="utf-8").read())
    assert len(leases["leases"]) == 1, "the lease of the network that was not restored was touched"


def test_a_state_file_that_does_not_parse_is_refused_and_left_alone(host, namespaces):
    reboot(host, namespaces)
    path = os.path.join(host["state_dir"], "leases", "br.json")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"leases": {')
    kernel = lib.kernel_snapshot(host["ns"])
    restored = underlay(host, "restore")
    assert restored.returncode == 1
    assert "br.json is corrupt" in restored.stdout and "refusing to use or overwrite it" in restored.stdout
    assert open(path, encoding="utf-8").read() == '{"leases": {'
    assert lib.kernel_snapshot(host["ns"]) == kernel


def test_the_role_removes_the_command_once_the_host_has_no_networks(host):
    results = lib.run_tasks(
        [{"underlay.network.bridge_network": dict(host["common"], name=name, state="absent", force=True)}
         for name in ("br",)]
        + [{"underlay.network.macvlan_network": dict(host["common"], name=name, state="absent", force=True)}
           for name in ("mv", "mv2")]
        + [{"ansible.builtin.include_role": {"name": "underlay.network.networks", "tasks_from": "durability"},
            "vars": {"underlay_netns": host["ns"], "underlay_state_dir": host["state_dir"],
                     "underlay_command_path": host["command"]}}])
    assert not any(r.get("failed") for r in results), [r.get("msg") for r in results]
    assert not os.path.exists(host["command"])


def test_the_role_refuses_a_unit_file_it_does_not_own(host, tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    foreign = units / "underlay-network-watch.service"
    foreign.write_text("[Service]\nExecStart=/usr/bin/true\n")
    os.unlink(host["command"])
    with pytest.raises(AssertionError) as failure:  # the play stops: the role's own assertion failed
        lib.run_tasks([
            {"ansible.builtin.include_role": {"name": "underlay.network.networks", "tasks_from": "durability"},
             "vars": {"underlay_netns": host["ns"], "underlay_state_dir": host["state_dir"],
                      "underlay_command_path": host["command"], "underlay_systemd_dir": str(units)}}])
    assert f"{foreign} exists and is not managed by underlay.network" in str(failure.value)
    assert foreign.read_text() == "[Service]\nExecStart=/usr/bin/true\n"
    assert not os.path.exists(host["command"]), "the command was installed after the refusal"
