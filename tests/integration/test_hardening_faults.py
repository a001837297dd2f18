# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening suite's fault injection (issue 14): a failure forced after each apply step
of each module that changes the kernel or the store leaves nothing behind.

The failure is real, not a mock: ``UNDERLAY_TEST_FAIL_AFTER_STEP=N`` makes the transaction
(_transaction.apply_steps) raise right after its Nth step succeeded, so the module's own
undo steps run against the kernel of throwaway namespaces. For each scenario the number of
steps is learnt from a check-mode run's ``actions``; then for N = 1 .. steps-1 the run must
fail saying so, print no traceback, and leave the kernel and nftables ruleset of every lab
namespace and every byte of state_dir as they were: no link, address, route, rule or lease.
A run without the hook then succeeds from there.

vlan_subinterface is not here: this host kernel has no 802.1Q (KERNEL_AND_VM.md), so its
steps cannot run outside the VM lane. macvlan_network creates its owned ``IF.VID`` parent
only on such a kernel too, so the macvlan scenarios use a veth parent. The bridge scenarios
that attach keep another endpoint (``c4``) on the bridge: the kernel drops an empty bridge's
carrier once its last port goes, which a rolled-back attach would otherwise show.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import underlay_snapshots as snap

MV = {"name": "mv", "parent": "veth0", "subnet": "10.5.0.0/24", "ip_range": "10.5.0.128/25"}
SHIM = {"ifname": "mv-shim", "address": "10.5.0.250"}
BR = {"name": "br", "bridge_name": "br0", "subnet": "10.6.0.0/24"}
ROUTES = [{"dst": "10.99.0.0/24", "gateway": "10.5.0.1"}]
BATCH = [{"network": "mv", "container_netns": "{c1}"},
         {"network": "mv", "container_netns": "{c2}", "ipv4_address": "10.5.0.9"},
         {"network": "br", "container_netns": "{c3}"}]


def attach(network, container, **extra):
    return ("container_endpoint", dict({"network": network, "container_netns": container}, **extra))


# name: (what is there before, the run whose steps are interrupted)
SCENARIOS = {
    "macvlan-create-with-host-access": ([], ("macvlan_network", dict(MV, host_access=SHIM))),
    "macvlan-mode-change-with-endpoints": (
        [("macvlan_network", MV), attach("mv", "{c1}"), attach("mv", "{c2}")],
        ("macvlan_network", dict(MV, mode="private"))),
    "macvlan-remove-force": (
        [("macvlan_network", dict(MV, host_access=SHIM)), attach("mv", "{c1}")],
        ("macvlan_network", {"name": "mv", "state": "absent", "force": True})),
    "bridge-create-masquerade-icc-off": ([], ("bridge_network", dict(BR, icc=False, masquerade=True))),
    "bridge-change-icc-and-masquerade": (
        [("bridge_network", dict(BR, icc=True, masquerade=True))],
        ("bridge_network", dict(BR, icc=False, masquerade=False))),
    "bridge-remove": (
        [("bridge_network", dict(BR, icc=False, masquerade=True))],
        ("bridge_network", {"name": "br", "state": "absent"})),
    "endpoint-macvlan": ([("macvlan_network", MV)], attach("mv", "{c1}", routes=ROUTES)),
    "endpoint-bridge": ([("bridge_network", BR), attach("br", "{c4}")], attach("br", "{c1}")),
    "endpoint-batch": ([("macvlan_network", MV), ("bridge_network", BR), attach("br", "{c4}"), attach("mv", "{c4}")],
                       ("container_endpoint", {"endpoints": BATCH})),
    "endpoint-batch-first-lease-of-a-network": (
        [("macvlan_network", MV), ("bridge_network", BR), attach("br", "{c4}")],
        ("container_endpoint", {"endpoints": BATCH})),
    "endpoint-detach": (
        [("macvlan_network", MV), attach("mv", "{c1}", routes=ROUTES)],
        attach("mv", "{c1}", state="absent")),
    "bridge-remove-force": (
        [("bridge_network", dict(BR, icc=False, masquerade=True)), attach("br", "{c4}"), attach("br", "{c1}")],
        ("bridge_network", {"name": "br", "state": "absent", "force": True})),
    "endpoint-bridge-detach": (
        [("bridge_network", BR), attach("br", "{c4}"), attach("br", "{c1}")],
        attach("br", "{c1}", state="absent")),
}


def scenario(name):
    return pytest.param(name, id=name)


def fill(args, lab):
    """``args`` with ``{c1}``... replaced by the lab's container namespaces."""
    if isinstance(args, str):
        return args.format(**{f"c{number}": name for number, name in enumerate(lab.containers, 1)})
    if isinstance(args, list):
        return [fill(item, lab) for item in args]
    if isinstance(args, dict):
        return {key: fill(value, lab) for key, value in args.items()}
    return args


def run(lab, step, env=None, check_mode=False):
    module, args = step
    params = dict(fill(args, lab), netns=lab.host, state_dir=lab.state_dir)
    proc = snap.module_process(module, params, env=env, check_mode=check_mode)
    return snap.module_result(proc), proc.stdout + proc.stderr


@pytest.fixture
def lab(namespaces, tmp_path):
    host, peer = namespaces.new("h"), namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    containers = [namespaces.new(role) for role in ("c", "c", "c", "c")]
    return SimpleNamespace(host=host, containers=containers, state_dir=str(tmp_path / "state"),
                           world=snap.World([host, peer, *containers], [str(tmp_path)]))


@pytest.mark.parametrize("name", [scenario(name) for name in SCENARIOS])
def test_a_failure_after_any_step_leaves_nothing_behind(request, lab, name):
    known = request.node.get_closest_marker("xfail") is not None
    before_steps, step = SCENARIOS[name]
    for setup in before_steps:
        result = run(lab, setup)[0]
        assert result and not result.get("failed"), result
    planned = run(lab, step, check_mode=True)[0]
    assert planned and planned["changed"], planned
    steps = len(planned["actions"])
    assert steps >= 2, f"{name}: {planned['actions']}"
    before = lab.world.settle()
    found = {}
    for after_step in range(1, steps):
        result, output = run(lab, step, env={"UNDERLAY_TEST_FAIL_AFTER_STEP": str(after_step)})
        changes = lab.world.changes_since(before)
        injected = bool(result and result.get("failed")) and "injected failure" in result.get("msg", "")
        traceback = snap.TRACEBACK in output
        snap.tally("fault injection", known, clear_messages=injected, tracebacks=traceback, leftovers=bool(changes))
        if changes or traceback or not injected:
            found[f"after step {after_step} ({planned['actions'][after_step - 1]})"] = (
                changes, (result or {}).get("msg"), traceback)
            before = lab.world.snapshot(settle=True)  # judge the next step on its own
    assert not found, "\n".join(f"{where}: {what}" for where, what in found.items())  # a str: shown whole
    converged = run(lab, step)[0]
    assert converged and not converged.get("failed"), f"the run after the injected failures: {converged}"
