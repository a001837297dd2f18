# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durability on a real systemd boot (issue 15, item 5), once per persistence format.

For each format, from the booted snapshot: converge site.yml over SSH (scenario.py says
what), record the reachability matrix, the endpoints' and host links' addresses and MACs,
and network_info (no drift); power-cycle the VM; then, without Ansible, find the same
matrix, the same addresses and MACs, and `underlay-network status` exit 0. Then `podman
restart` a container and time until its endpoint answers ping again.

UNDERLAY_BOOT_FORMATS (default "nmconnection networkd") narrows the formats.
"""

from __future__ import annotations

import json
import os
import time

import pytest

import scenario as sc

FORMATS = os.environ.get("UNDERLAY_BOOT_FORMATS", "nmconnection networkd").split()
UNITS = ["underlay-network-restore.service", "underlay-network-watch.service", "podman-restart.service",
         "NetworkManager.service", "systemd-networkd.service"]


class State:
    def __init__(self, persist_format, workdir):
        self.format = persist_format
        self.workdir = workdir
        self.inventory = None
        self.facts = None
        self.entries = None
        self.converged = False
        self.power_cycled = False


@pytest.fixture(scope="module", params=FORMATS)
def state(request, vm, timings, tmp_path_factory):
    fmt = request.param
    st = State(fmt, tmp_path_factory.mktemp(f"boot-{fmt}"))
    timings(f"{fmt}: loadvm to SSH", vm.loadvm())
    if fmt == "networkd":
        # a host whose network stack is systemd-networkd alone (as Debian servers): no
        # NetworkManager now or at the next boot
        vm.ssh(["systemctl", "disable", "--now", "NetworkManager.service"])
    start = time.monotonic()
    sc.start_containers(vm)
    sc.start_upstream(vm)
    timings(f"{fmt}: containers and upstream switch", time.monotonic() - start)
    st.inventory = sc.write_inventory(vm, st.workdir, fmt)
    return st


def journal_of_units(vm) -> str:
    args = []
    for unit in UNITS:
        args += ["-u", unit]
    return vm.journal("-b", *args, "-n", "120")


def test_converge(state, vm, timings):
    start = time.monotonic()
    proc = sc.converge(state.inventory, state.workdir)
    timings(f"{state.format}: converge site.yml", time.monotonic() - start)
    assert proc.returncode == 0, f"site.yml failed ({state.format}):\n{proc.stdout[-6000:]}"

    info = sc.network_info(state.inventory, state.workdir)
    assert sorted(info) == ["natbr", "vlan100", "vlan200"], info
    drift = {name: net["drift"] for name, net in info.items() if net["drift"]}
    assert drift == {}, f"drift right after site.yml: {drift}"

    state.facts = sc.facts(vm)
    state.entries = sc.matrix_entries(state.facts)
    result, waited = sc.wait_for_matrix(vm, state.entries, timeout=30)
    timings(f"{state.format}: the matrix after site.yml", waited)
    print(f"\nreachability after site.yml ({state.format}):\n{sc.show_matrix(result, state.entries)}")
    print("endpoints:", json.dumps(state.facts["containers"], sort_keys=True))
    assert result == sc.expected(state.entries), sc.show_matrix(result, state.entries)
    state.converged = True


def test_power_cycle_keeps_everything(state, vm, timings):
    if not state.converged:
        pytest.fail("site.yml did not converge: nothing to power-cycle")
    timings(f"{state.format}: power cycle (sync, qemu off, cold boot to a booted system)", vm.power_cycle())
    state.power_cycled = True
    sc.start_upstream(vm)
    result, waited = sc.wait_for_matrix(vm, state.entries, timeout=180)
    timings(f"{state.format}: booted to the same matrix", waited)
    after = sc.facts(vm)
    status = vm.ssh(["/usr/local/sbin/underlay-network", "status"], check=False)
    print(f"\nreachability after the power cycle ({state.format}):\n{sc.show_matrix(result, state.entries)}")
    problems = []
    if result != sc.expected(state.entries):
        problems.append(f"the matrix differs:\n{sc.show_matrix(result, state.entries)}")
    if after != state.facts:
        problems.append("addresses or MACs differ:\n"
                        f"  before {json.dumps(state.facts, sort_keys=True)}\n"
                        f"  after  {json.dumps(after, sort_keys=True)}")
    if status.returncode != 0:
        problems.append(f"underlay-network status exit {status.returncode}:\n{status.stdout}{status.stderr}")
    assert not problems, "\n".join(problems) + "\n\njournal:\n" + journal_of_units(vm)


def test_container_restart_reattaches(state, vm, timings):
    if not state.converged:
        pytest.fail("site.yml did not converge: no endpoint to restart")
    address = sc.endpoint_address(state.facts, "web")
    result = sc.restart_and_ping(vm, "web", address)
    timings(f"{state.format}: podman restart web", result["restart_s"])
    timings(f"{state.format}: restarted web answers ping from upstream after", result["answer_after_s"])
    assert result["answered"], (f"web ({address}) did not answer within 90 s after podman restart: {result}\n"
                                f"journal:\n{journal_of_units(vm)}")
    after = sc.facts(vm)["containers"]["web"]
    assert after == state.facts["containers"]["web"], f"web after restart: {after}, before: {state.facts}"
