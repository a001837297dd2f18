# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bridge_network on the host kernel, in throwaway namespaces (their own nftables only).

Topology: ``host`` holds the bridge; ``outside`` is a network behind the host (192.0.2.0/24
on a veth), with no route back to the bridge's subnet, so a reply only comes back NATed.
Endpoints are attached by hand with veth pairs (container_endpoint does this later).
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

MODULE = "underlay.network.bridge_network"


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.new("h")
    outside = namespaces.new("o")
    namespaces.veth(host, "uplink", outside, "eth0")
    lib.sh("ip", "addr", "add", "192.0.2.1/24", "dev", "uplink", ns=host)
    lib.sh("ip", "addr", "add", "192.0.2.2/24", "dev", "eth0", ns=outside)
    return SimpleNamespace(host=host, outside=outside, state_dir=str(tmp_path / "state"), namespaces=namespaces)


def net(lab, **extra):
    params = {"name": "bridge2", "bridge_name": "bridge2", "subnet": "172.30.0.0/24", "gateway": "172.30.0.1",
              "netns": lab.host, "state_dir": lab.state_dir}
    params.update(extra)
    return params


def snapshot(lab):
    return {"kernel": lib.kernel_snapshot(lab.host), "nft": lib.nft_ruleset(lab.host),
            "forwarding": lib.sysctl(lab.host, "net.ipv4.ip_forward"), "state": lib.tree_snapshot(lab.state_dir)}


def ping(ns, address):
    return lib.sh("ping", "-c", "1", "-W", "1", address, ns=ns, check=False).returncode == 0


def attach(lab, gateway="172.30.0.1", isolated=False):
    return lib.attach_bridge_by_hand(lab.namespaces, lab.host, "bridge2", lab.state_dir, "bridge2",
                                     isolated=isolated, gateway=gateway)


def test_create_rerun_check_mode_diff_and_in_place_changes(lab):
    before = snapshot(lab)
    checked = lib.run_tasks([{MODULE: net(lab)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["network"]["Options"]["com.docker.network.bridge.name"] == "bridge2"
    assert snapshot(lab) == before

    r = lib.run_tasks([{MODULE: net(lab)}, {MODULE: net(lab)}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    network = r[0]["network"]
    assert network["Driver"] == "bridge" and network["Options"] == {
        "com.docker.network.bridge.name": "bridge2",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true"}
    link = json.loads(lib.sh("ip", "-d", "-j", "addr", "show", "bridge2", ns=lab.host).stdout)[0]
    assert link["linkinfo"]["info_kind"] == "bridge" and "UP" in link["flags"]
    assert "172.30.0.1" in [a["local"] for a in link["addr_info"]]
    assert 'comment "underlay.network:bridge2:masquerade:172.30.0.0/24>bridge2"' in lib.nft_ruleset(lab.host)
    assert lib.sysctl(lab.host, "net.ipv4.ip_forward") == "1"

    attach(lab)
    settled = snapshot(lab)
    checked = lib.run_tasks([{MODULE: net(lab, mtu=1400, icc=False)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["diff"]["after"]["icc"] is False
    assert '+    "mtu": 1400' in checked["_stdout"]
    assert snapshot(lab) == settled

    r = lib.run_tasks([{MODULE: net(lab, mtu=1400, icc=False)}, {MODULE: net(lab, mtu=1400, icc=False)}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    after = json.loads(lib.sh("ip", "-d", "-j", "link", "show", "bridge2", ns=lab.host).stdout)[0]
    assert after["ifindex"] == link["ifindex"] and after["mtu"] == 1400  # changed in place, not re-created
    assert any(a.startswith("isolate bridge port") for a in r[0]["actions"])


def test_icc_on_and_off(lab):
    lib.run_tasks([{MODULE: net(lab)}])
    c1, ip1 = attach(lab)
    c2, ip2 = attach(lab)
    assert ping(c1, ip2), "icc=true: endpoints reach each other"
    r = lib.run_tasks([{MODULE: net(lab, icc=False)}])[0]
    assert r["changed"] is True, r.get("msg")
    assert not ping(c1, ip2), "icc=false: endpoints must not reach each other"
    assert ping(c1, "172.30.0.1") and ping(c2, "172.30.0.1"), "icc=false: both still reach the gateway"
    lib.run_tasks([{MODULE: net(lab, icc=True)}])
    assert ping(c1, ip2)


def test_masquerade_reaches_outside_and_internal_does_not(lab):
    lib.run_tasks([{MODULE: net(lab)}])
    container, _address = attach(lab)
    assert ping(container, "192.0.2.2"), "masquerade: the outside answers the host's address"
    r = lib.run_tasks([{MODULE: net(lab, masquerade=False)}])[0]
    assert r["changed"] is True and any("remove nftables rule" in a for a in r["actions"])
    assert not ping(container, "192.0.2.2"), "without NAT the outside has no route back"
    r = lib.run_tasks([{MODULE: net(lab, internal=True)}])[0]
    assert r["changed"] is True, r.get("msg")
    assert r["network"]["Internal"] is True
    lib.sh("ip", "route", "add", "172.30.0.0/24", "via", "192.0.2.1", ns=lab.outside)  # even with a route back
    assert not ping(container, "192.0.2.2"), "internal: nothing is forwarded out of the bridge"
    assert ping(container, "172.30.0.1")


def test_absent_refuses_with_endpoints_then_force_removes_exactly_its_own(lab):
    lib.run_tasks([{MODULE: net(lab)},
                   {MODULE: net(lab, name="other", bridge_name="brother", subnet="172.31.0.0/24", gateway=None)}])
    container, address = attach(lab)
    absent = {"name": "bridge2", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    before = snapshot(lab)
    refused = lib.run_module("bridge_network", absent)
    assert refused["failed"] is True and refused["msg"] == (
        f"name: network 'bridge2' has endpoints attached: {container} ({address}); detach them first or set force: true")
    assert snapshot(lab) == before
    r = lib.run_tasks([{MODULE: dict(absent, force=True)}, {MODULE: absent}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    assert lib.sh("ip", "link", "show", "bridge2", ns=lab.host, check=False).returncode != 0
    rules = lib.nft_ruleset(lab.host)
    assert "underlay.network:bridge2:" not in rules and "underlay.network:other:masquerade" in rules
    lib.run_tasks([{MODULE: {"name": "other", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}}])
    assert "underlay_network" not in lib.nft_ruleset(lab.host)


def test_absent_releases_the_leases_of_endpoints_whose_namespace_is_gone(lab):
    """Docker: after ``docker rm -f apache``, ``docker network rm bridge2`` works without force."""
    lib.run_tasks([{MODULE: net(lab)}])
    container, address = attach(lab)
    lib.sh("ip", "netns", "del", container)
    absent = {"name": "bridge2", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    r = lib.run_tasks([{MODULE: absent}, {MODULE: absent}])
    assert [x["changed"] for x in r] == [True, False], r[0].get("msg")
    assert f"release the leases of network 'bridge2' (owners gone: {container} ({address}))" in r[0]["actions"]
    assert lib.sh("ip", "link", "show", "bridge2", ns=lab.host, check=False).returncode != 0
    assert "underlay_network" not in lib.nft_ruleset(lab.host)


def run_with_env(monkeypatch, args, **env):
    """The module as Ansible runs it, with ``env`` set for it alone."""
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return lib.run_module("bridge_network", args)


def run_without_nft(monkeypatch, tmp_path, args):
    """With a PATH that has neither nft nor nsenter (so not even a namespace's empty table can
    be listed)."""
    bin_dir = tmp_path / "bin-without-nft"
    bin_dir.mkdir(exist_ok=True)
    return run_with_env(monkeypatch, args, PATH=str(bin_dir))


def test_without_nft_a_bridge_without_rules_works_and_rules_are_one_message(lab, tmp_path, monkeypatch):
    plain = net(lab, masquerade=False)
    results = [run_without_nft(monkeypatch, tmp_path, plain), run_without_nft(monkeypatch, tmp_path, plain)]
    assert [r.get("changed") for r in results] == [True, False], results
    before = snapshot(lab)
    for option in ({"masquerade": True}, {"internal": True}):
        refused = run_without_nft(monkeypatch, tmp_path, net(lab, **option))
        field = next(iter(option))
        assert refused["failed"] is True and refused["msg"] == (
            f"{field}: needs the 'nft' command, which is not installed on the managed host (package nftables)")
    assert snapshot(lab) == before
    absent = {"name": "bridge2", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    removed = run_without_nft(monkeypatch, tmp_path, absent)
    assert removed["changed"] is True, removed
    assert not os.listdir(os.path.join(lab.state_dir, "networks"))


def fail_after_each_undoable_step(lab, monkeypatch, args, undoable):
    """Fail the run after each of its first ``undoable`` steps: every time, everything is
    rolled back and kernel, nftables and state_dir are as they were."""
    before = snapshot(lab)
    for step in range(1, undoable + 1):
        result = run_with_env(monkeypatch, args, UNDERLAY_TEST_FAIL_AFTER_STEP=str(step))
        assert result["failed"] is True and f"injected failure after step {step}" in result["msg"], result
        assert "NOT rolled back" not in result["msg"], result["msg"]
        assert snapshot(lab) == before, step


def test_a_failure_part_way_leaves_the_state_as_it_was(lab, monkeypatch):
    lib.run_tasks([{MODULE: net(lab)}])
    attach(lab)
    # remove the masquerade rule, add the two isolation rules, store
    fail_after_each_undoable_step(lab, monkeypatch, net(lab, internal=True), 3)
    # release leases, remove the rule, remove the definition; then the link deletions
    absent = {"name": "bridge2", "state": "absent", "force": True, "netns": lab.host, "state_dir": lab.state_dir}
    fail_after_each_undoable_step(lab, monkeypatch, absent, 3)


@pytest.mark.parametrize("change, message", [
    ({"bridge_name": "a-very-long-name"}, "bridge_name: 'a-very-long-name' is 16 characters long"),
    ({"bridge_name": "uplink"}, "bridge_name: 'uplink' already exists as a veth link, not a bridge"),
    ({"gateway": "172.29.0.0"}, "gateway: 172.29.0.0 is the network address of 172.29.0.0/24"),
    ({"icc": "maybe"}, "icc"),
    ({"subnet": "172.30.0.0/16", "gateway": None}, "subnet: 172.30.0.0/16 overlaps the subnet 172.30.0.0/24"
                                                   " of network 'bridge2'"),
    ({"internal": True, "masquerade": True}, "masquerade: an internal network is never NATed"),
])
def test_bad_input_changes_nothing(lab, change, message):
    lib.run_tasks([{MODULE: net(lab)}])
    before = snapshot(lab)
    params = net(lab, name="second", bridge_name="second", subnet="172.29.0.0/24", gateway="172.29.0.1")
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    result = lib.run_module("bridge_network", params)
    assert result.get("failed") is True and message in result["msg"], result
    if change.get("icc"):
        assert "maybe" in result["msg"]
    assert snapshot(lab) == before
