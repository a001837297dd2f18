# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory under concurrent runs of the real modules (one process each), and
what a run says when state_dir cannot be written."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import underlay_snapshots as snap
import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils._store import StateDir


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.new("h")
    peer = namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    # two levels that do not exist yet: the first writer creates both
    return SimpleNamespace(host=host, state_dir=str(tmp_path / "fresh" / "state"), namespaces=namespaces)


def in_parallel(module, runs):
    """Run ``module`` once per params dict of ``runs``, all at the same time; results in order."""
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        return list(pool.map(lambda params: lib.run_module(module, params), runs))


def kernel_address(container):
    (link,) = json.loads(lib.sh("ip", "-j", "addr", "show", "eth0", ns=container).stdout)
    return next(info["local"] for info in link["addr_info"] if info["family"] == "inet")


def shared(module, index):
    """What the index-th run shares with the others besides an overlapping subnet: the
    parent (with a host-access interface each, so the kernel is changed between the run's
    read and its write), or the bridge itself."""
    if module == "macvlan_network":
        return {"parent": "veth0", "host_access": {"ifname": f"shim{index}", "address": "10.40.0.250"}}
    return {"bridge_name": "brov"}


@pytest.mark.parametrize("module", ["bridge_network", "macvlan_network"])
def test_overlapping_creations_on_a_fresh_state_dir_store_exactly_one(lab, module):
    runs = [dict(shared(module, i), name=f"ov{i}", subnet=f"10.40.0.0/{16 + i % 8}", netns=lab.host,
                 state_dir=lab.state_dir) for i in range(16)]
    results = in_parallel(module, runs)

    created = [i for i, result in enumerate(results) if not result.get("failed")]
    stored = os.listdir(os.path.join(lab.state_dir, "networks"))
    snap.tally(f"16 parallel overlapping {module} runs, fresh state_dir", False, networks_stored=len(stored),
               overlapping_stored=max(len(stored) - 1, 0))
    assert len(created) == 1, [result.get("msg") for result in results]
    winner = f"ov{created[0]}"
    for result in results:
        if result.get("failed"):
            assert result.get("field") == "subnet" and f"of network '{winner}'" in result["msg"], result["msg"]
            assert "overlaps the subnet" in result["msg"] and "Traceback" not in json.dumps(result)
    assert os.listdir(os.path.join(lab.state_dir, "networks")) == [f"{winner}.json"]
    assert stat_mode(lab.state_dir) == stat_mode(os.path.dirname(lab.state_dir)) == 0o755
    if module == "bridge_network":
        bridges = json.loads(lib.sh("ip", "-j", "link", "show", "type", "bridge", ns=lab.host).stdout)
        assert [link["ifname"] for link in bridges] == ["brov"]


def stat_mode(path):
    return os.stat(path).st_mode & 0o7777


def test_parallel_attaches_lease_every_address_once(lab):
    created = lib.run_module("macvlan_network", {"name": "mv", "parent": "veth0", "subnet": "10.41.0.0/24",
                                                 "netns": lab.host, "state_dir": lab.state_dir})
    assert created["changed"] is True, created.get("msg")
    containers = [lab.namespaces.new("c") for _index in range(32)]
    results = in_parallel("container_endpoint", [
        {"network": "mv", "container_netns": container, "netns": lab.host, "state_dir": lab.state_dir}
        for container in containers])
    assert not [result.get("msg") for result in results if result.get("failed")]

    reported = {container: result["endpoint"]["ipv4_address"].split("/")[0]
                for container, result in zip(containers, results)}
    in_kernel = {container: kernel_address(container) for container in containers}
    with StateDir(lab.state_dir) as store:
        leases = store.leases("mv")["leases"]
    leased = {lease["owner"].split(":", 1)[1]: ip for ip, lease in leases.items()}
    snap.tally("32 parallel attaches", False, duplicate_addresses=32 - len(set(in_kernel.values())),
               lost_leases=sum(1 for container in containers if container not in leased),
               kernel_and_leases_disagree=sum(1 for c in containers if in_kernel[c] != leased.get(c)))
    assert len(set(in_kernel.values())) == 32, "an address was handed out twice"
    assert in_kernel == reported == leased, "kernel, results and lease table disagree"
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.41.0.0/24") for ip in leased.values())


# --- what a run says when state_dir (or an ifcfg dir) cannot be used ----------------------

# Runs argv[2:] in a private mount namespace where argv[1] is a read-only bind mount of
# itself: a write that fails for root too, while the rest of the machine sees nothing.
READ_ONLY = ("import os, subprocess, sys\n"
             "subprocess.run(['mount', '--bind', sys.argv[1], sys.argv[1]], check=True)\n"
             "subprocess.run(['mount', '-o', 'remount,bind,ro', sys.argv[1]], check=True)\n"
             "os.execv(sys.executable, [sys.executable] + sys.argv[2:])\n")


def run_read_only(read_only, module, params):
    """``lib.run_module`` with ``read_only`` mounted read-only for that run alone."""
    args = os.path.join(os.path.dirname(read_only), "args.json")
    with open(args, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", READ_ONLY, read_only,
         "-m", f"ansible_collections.underlay.network.plugins.modules.{module}", args],
        capture_output=True, text=True, env=lib.ansible_env(), check=False)
    os.unlink(args)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"module {module} printed no JSON: {proc.stdout}\n{proc.stderr}") from None


def refused(result, field, message):
    assert result.get("failed") is True and result.get("field") == field, result
    assert result["msg"].startswith(f"{field}: ") and message in result["msg"], result["msg"]
    assert "Traceback" not in json.dumps(result) and "exception" not in result and "module_stderr" not in result


def snapshot(lab):
    return {"kernel": lib.kernel_snapshot(lab.host), "state": lib.tree_snapshot(lab.state_dir)}


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
def test_read_only_state_dir_is_named(lab, existing):
    read_only = os.path.dirname(lab.state_dir)
    os.makedirs(lab.state_dir if existing else read_only)
    network = {"name": "mv", "parent": "veth0", "subnet": "10.42.0.0/24", "netns": lab.host,
               "state_dir": lab.state_dir}
    before = snapshot(lab)
    result = run_read_only(read_only, "macvlan_network", network)
    refused(result, "state_dir", f"cannot write {lab.state_dir}/networks/mv.json: Read-only file system")
    assert snapshot(lab) == before


def test_read_only_ifcfg_dir_is_named(tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    scripts = read_only / "network-scripts"
    result = run_read_only(str(read_only), "persistent_interface", {"name": "ens33", "dir": str(scripts)})
    refused(result, "dir", f"cannot write {scripts}/ifcfg-ens33: Read-only file system")
    assert os.listdir(read_only) == []


def test_state_dir_below_a_file_is_named(lab):
    below = os.path.join(os.path.dirname(lab.state_dir), "file")
    os.makedirs(os.path.dirname(below))
    with open(below, "w", encoding="utf-8") as handle:
        handle.write("not a directory\n")
    runs = {"macvlan_network": {"name": "mv", "parent": "veth0", "subnet": "10.42.0.0/24"},
            "bridge_network": {"name": "br", "subnet": "10.43.0.0/24"},
            "container_endpoint": {"network": "mv", "container_netns": lab.host},
            "network_info": {}}
    for module, params in runs.items():
        result = lib.run_module(module, dict(params, netns=lab.host, state_dir=os.path.join(below, "state")))
        refused(result, "state_dir", f"'{below}/state' cannot be made: '{below}' exists and is not a directory")


def test_malformed_state_files_are_refused_naming_them(lab):
    created = lib.run_module("macvlan_network", {"name": "mv", "parent": "veth0", "subnet": "10.42.0.0/24",
                                                 "netns": lab.host, "state_dir": lab.state_dir})
    assert created["changed"] is True, created.get("msg")
    container = lab.namespaces.new("c")
    definition = os.path.join(lab.state_dir, "networks", "noipam.json")
    with open(os.path.join(lab.state_dir, "networks", "mv.json"), encoding="utf-8") as handle:
        stored = json.load(handle)
    with open(definition, "w", encoding="utf-8") as handle:
        json.dump({key: value for key, value in dict(stored, name="noipam").items() if key != "ipam"}, handle)
    os.makedirs(os.path.join(lab.state_dir, "leases"))
    table = os.path.join(lab.state_dir, "leases", "mv.json")
    with open(table, "w", encoding="utf-8") as handle:
        json.dump({"leases": {"mv": {"owner": "netns:x"}}, "last_reserved": None}, handle)
    before = dict(snapshot(lab), container=lib.kernel_snapshot(container))
    runs = [("macvlan_network", {"name": "mv2", "parent": "veth0", "subnet": "10.44.0.0/24"}, definition),
            ("bridge_network", {"name": "br", "subnet": "10.43.0.0/24"}, definition),
            ("container_endpoint", {"network": "noipam", "container_netns": container}, definition),
            ("network_info", {}, definition),
            ("container_endpoint", {"network": "mv", "container_netns": container}, table)]
    for module, params, corrupt in runs:
        result = lib.run_module(module, dict(params, netns=lab.host, state_dir=lab.state_dir))
        refused(result, "state_dir", f"{corrupt} is corrupt (")
        assert "refusing to use or overwrite it" in result["msg"]
    assert dict(snapshot(lab), container=lib.kernel_snapshot(container)) == before
