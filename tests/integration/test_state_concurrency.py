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


# what each driver shares besides the subnet: the parent (each macvlan network with a
# host-access interface, so the kernel is changed between its read and its write), or the bridge
OVERLAPPING = {"macvlan_network": lambda i: {"parent": "veth0", "host_access": {"ifname": f"shim{i}",
                                                                                 "address": "10.40.0.250"}},
               "bridge_network": lambda i: {"bridge_name": "brov"}}


@pytest.mark.parametrize("module", sorted(OVERLAPPING))
def test_overlapping_creations_on_a_fresh_state_dir_store_exactly_one(lab, module):
    runs = [dict(OVERLAPPING[module](i), name=f"ov{i}", subnet=f"10.40.0.0/{16 + i % 8}", netns=lab.host,
                 state_dir=lab.state_dir) for i in range(16)]
    results = in_parallel(module, runs)

    created = [i for i, result in enumerate(results) if not result.get("failed")]
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
    containers = [lab.namespaces.new("c") for _ in range(32)]
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
    assert len(set(in_kernel.values())) == 32, "an address was handed out twice"
    assert in_kernel == reported == leased, "kernel, results and lease table disagree"
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.41.0.0/24") for ip in leased.values())
