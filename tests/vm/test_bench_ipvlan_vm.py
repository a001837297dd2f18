# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's ipvlan rows at small N (this machine's kernel has no ipvlan, the VM's has): every
peer (ansible-playbook, the engine, the floor, the CNI ipvlan plugin, the ``ip`` loop) really
attaches, checks and detaches. bench/bench.py reads every namespace after each attach with
``ip -d -j`` and fails unless its eth0 is an ipvlan link, up, with exactly one address of the
peer's subnet; after detach, unless none has. Nothing is timed."""

from __future__ import annotations

import os

import pytest
from underlay_bench import measured, report, run_bench

N = 3
PEERS = ("e2e", "engine", "floor", "cni", "ip")


def test_every_peer_attaches_checks_and_detaches_ipvlan_endpoints(tmp_path):
    if not os.path.exists("/usr/lib/cni/ipvlan"):
        pytest.fail("/usr/lib/cni/ipvlan missing: scripts/setup installs containernetworking-plugins")
    data, out = run_bench(tmp_path, "--sizes", str(N), "--drivers", "ipvlan", "--peers", ",".join(PEERS),
                          "--docker", "0", "--fleet", "", "--restarts", "0", "--names", "0", "--publish", "0")
    want = {("ipvlan", peer, phase) for peer in PEERS for phase in ("attach", "noop", "detach")}
    assert want <= measured(data), (sorted(want - measured(data)), out)
    verified = {s["peer"]: s["verified"] for s in data["samples"] if s["phase"] == "attach"}
    assert verified == {peer: N for peer in PEERS}, out
    tables = report(tmp_path / "results.json")
    assert "#### ipvlan network" in tables and f"| {N} | CNI plugin loop |" in tables
    assert "#### Targets (issue 7)" not in tables  # ipvlan is compared, not held to issue 7's targets
