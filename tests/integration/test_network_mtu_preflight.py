# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks' and endpoints' MTU, the parent preflight and labels on the host kernel, in
throwaway namespaces: a veth parent with a jumbo MTU (this kernel has no dummy links), macvlan
endpoints inheriting it, setting their own or refused above it, a bridge network's MTU on both
ends of its endpoints' veth pairs, a parent down or without carrier (a warning and
``parent_state``), labels in the inspect view."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

JUMBO = 9000


@pytest.fixture
def lab(namespaces, tmp_path):
    host, peer = namespaces.new("h"), namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1", up=False)
    lib.sh("ip", "link", "set", "veth0", "mtu", str(JUMBO), ns=host)
    lib.sh("ip", "link", "set", "veth1", "mtu", str(JUMBO), ns=peer)
    lib.sh("ip", "link", "set", "veth0", "up", ns=host)
    lib.sh("ip", "link", "set", "veth1", "up", ns=peer)
    lib.wait_for_carrier((host, "veth0"), (peer, "veth1"))
    return SimpleNamespace(host=host, peer=peer, state_dir=str(tmp_path / "state"), namespaces=namespaces)


def common(lab, **params):
    return dict(params, netns=lab.host, state_dir=lab.state_dir)


def macvlan(lab, **params):
    return common(lab, **dict({"name": "mv", "parent": "veth0", "subnet": "10.7.0.0/24"}, **params))


def bridge(lab, **params):
    return common(lab, **dict({"name": "br", "bridge_name": "brm0", "subnet": "10.8.0.0/24"}, **params))


def run(module, args, **flags):
    return lib.run_module(module, args, **flags)


def link(ns, name):
    return json.loads(lib.sh("ip", "-d", "-j", "link", "show", name, ns=ns).stdout)[0]


def warnings(result):
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def snapshot(lab, *containers):
    found = {"host": lib.kernel_snapshot(lab.host), "state": lib.tree_snapshot(lab.state_dir)}
    for container in containers:
        found[container] = lib.kernel_snapshot(container)
    return found


def info(lab, name):
    return run("network_info", common(lab, name=[name]))["networks"][0]


def test_macvlan_endpoints_inherit_the_parents_mtu_set_their_own_or_are_refused(lab):
    created = run("macvlan_network", macvlan(lab))
    assert created["changed"] is True, created
    assert created["network"]["parent_state"] == {"oper_state": "up", "carrier": True, "promiscuous": False,
                                                  "mtu": JUMBO}
    assert warnings(created) == []
    c1, c2, c3 = lab.namespaces.new("c"), lab.namespaces.new("c"), lab.namespaces.new("c")

    inherited = run("container_endpoint", common(lab, network="mv", container_netns=c1))
    assert inherited["changed"] is True and inherited["endpoint"]["mtu"] == JUMBO, inherited
    assert link(c1, "eth0")["mtu"] == JUMBO
    own = run("container_endpoint", common(lab, network="mv", container_netns=c2, mtu=1500))
    assert own["endpoint"]["mtu"] == 1500 and link(c2, "eth0")["mtu"] == 1500, own

    before = snapshot(lab, c3)
    for mtu, message in ((JUMBO + 1, f"mtu: {JUMBO + 1} is above the MTU {JUMBO} of the parent 'veth0' of network"
                          " 'mv'; raise that MTU first"),
                         (60, "mtu: 60 is below 68, the least MTU IPv4 allows (RFC 791)")):
        refused = run("container_endpoint", common(lab, network="mv", container_netns=c3, mtu=mtu))
        assert refused.get("failed") is True and refused["msg"] == message, refused
    assert snapshot(lab, c3) == before, "a refused MTU changes nothing"

    for container, mtu in ((c1, None), (c2, 1500)):
        again = run("container_endpoint", common(lab, network="mv", container_netns=container, mtu=mtu))
        assert again["changed"] is False and again["actions"] == [], again

    # an MTU change: check mode shows it and touches nothing; then it is applied in place
    settled = snapshot(lab, c1)
    checked = run("container_endpoint", common(lab, network="mv", container_netns=c1, mtu=4000),
                  check_mode=True, diff=True)
    assert checked["changed"] is True
    assert (checked["diff"]["before"]["endpoints"][0]["mtu"], checked["diff"]["after"]["endpoints"][0]["mtu"]) == \
        (JUMBO, 4000)
    assert snapshot(lab, c1) == settled
    index = link(c1, "eth0")["ifindex"]
    changed = run("container_endpoint", common(lab, network="mv", container_netns=c1, mtu=4000))
    assert changed["actions"] == [f"set MTU of 'eth0' in namespace {c1} from {JUMBO} to 4000",
                                  "save the leases of network 'mv'"], changed  # the lease records its own MTU
    assert (link(c1, "eth0")["mtu"], link(c1, "eth0")["ifindex"]) == (4000, index)

    # drift: an endpoint whose MTU was changed behind the collection's back
    assert info(lab, "mv")["drift"] == []
    lib.sh("ip", "link", "set", "eth0", "mtu", "1400", ns=c2)
    assert info(lab, "mv")["drift"] == [f"endpoint namespace {c2} (10.7.0.3): interface 'eth0' has MTU 1400,"
                                        " its own is 1500"]
    fixed = run("container_endpoint", common(lab, network="mv", container_netns=c2, mtu=1500))
    assert fixed["changed"] is True and link(c2, "eth0")["mtu"] == 1500
    assert info(lab, "mv")["drift"] == []


def test_a_network_mtu_reaches_its_endpoints_and_is_refused_above_the_parent(lab):
    refused = run("macvlan_network", macvlan(lab, mtu=JUMBO + 1))
    assert refused.get("failed") is True and refused["msg"] == (
        f"mtu: {JUMBO + 1} is above the MTU {JUMBO} of the parent 'veth0'; raise that MTU first"), refused
    low = run("macvlan_network", macvlan(lab, mtu=67))
    assert low.get("failed") is True and low["msg"] == "mtu: 67 is below 68, the least MTU IPv4 allows (RFC 791)"
    assert lib.tree_snapshot(lab.state_dir) is None, "nothing was stored"

    created = run("macvlan_network", macvlan(lab, mtu=4000), diff=True)
    assert created["network"]["Options"]["com.docker.network.driver.mtu"] == "4000"
    assert created["diff"]["after"]["mtu"] == 4000
    container = lab.namespaces.new("c")
    attached = run("container_endpoint", common(lab, network="mv", container_netns=container))
    assert attached["endpoint"]["mtu"] == 4000 and link(container, "eth0")["mtu"] == 4000
    assert run("macvlan_network", macvlan(lab, mtu=4000))["changed"] is False

    own = lab.namespaces.new("c")
    assert run("container_endpoint", common(lab, network="mv", container_netns=own, mtu=2000))["endpoint"]["mtu"] == 2000

    # the network's MTU changes: the endpoints that inherit it take the new one in place (check
    # mode first: nothing changes); one with an MTU of its own keeps it
    before = snapshot(lab, container, own)
    checked = run("macvlan_network", macvlan(lab, mtu=3000), check_mode=True, diff=True)
    assert checked["changed"] is True and snapshot(lab, container, own) == before
    assert f"set MTU of 'eth0' in namespace {container} (10.7.0.2) from 4000 to 3000" in checked["actions"], checked
    index = link(container, "eth0")["ifindex"]
    changed = run("macvlan_network", macvlan(lab, mtu=3000))
    assert changed["changed"] is True and (link(container, "eth0")["mtu"], link(container, "eth0")["ifindex"]) == \
        (3000, index), "changed in place"
    assert link(own, "eth0")["mtu"] == 2000
    assert info(lab, "mv")["drift"] == []
    assert run("macvlan_network", macvlan(lab, mtu=3000))["changed"] is False
    assert run("container_endpoint", common(lab, network="mv", container_netns=container))["changed"] is False

    # set back by hand, the endpoint drifts until it is attached again
    lib.sh("ip", "link", "set", "eth0", "mtu", "4000", ns=container)
    assert info(lab, "mv")["drift"] == [f"endpoint namespace {container} (10.7.0.2): interface 'eth0' has MTU 4000,"
                                        " the network's is 3000"]
    again = run("container_endpoint", common(lab, network="mv", container_netns=container))
    assert again["changed"] is True and link(container, "eth0")["mtu"] == 3000
    assert info(lab, "mv")["drift"] == []


def test_bridge_endpoints_veth_pairs_get_the_bridge_networks_mtu(lab):
    created = run("bridge_network", bridge(lab, mtu=JUMBO, labels={"tier": "storage"}))
    assert created["changed"] is True and created["network"]["Labels"] == {"tier": "storage"}, created
    c1, c2 = lab.namespaces.new("c"), lab.namespaces.new("c")
    for container in (c1, c2):
        attached = run("container_endpoint", common(lab, network="br", container_netns=container))
        assert attached["changed"] is True and attached["endpoint"]["mtu"] == JUMBO, attached
        assert link(container, "eth0")["mtu"] == JUMBO
    ports = json.loads(lib.sh("ip", "-j", "link", "show", "master", "brm0", ns=lab.host).stdout)
    assert [port["mtu"] for port in ports] == [JUMBO, JUMBO], "both host ends of the veth pairs"
    assert link(lab.host, "brm0")["mtu"] == JUMBO, "the bridge kept its MTU with its ports"
    # a jumbo frame crosses the bridge unfragmented (DF set)
    assert lib.sh("ping", "-c", "1", "-W", "2", "-s", "8900", "-M", "do", "10.8.0.3", ns=c1,
                  check=False).returncode == 0
    assert info(lab, "br")["drift"] == []
    for container in (c1, c2):
        assert run("container_endpoint", common(lab, network="br", container_netns=container))["changed"] is False
    assert run("bridge_network", bridge(lab, mtu=JUMBO, labels={"tier": "storage"}))["changed"] is False

    # a host end whose MTU was lowered by hand is set again by the next attach
    host_end = ports[0]["ifname"]
    lib.sh("ip", "link", "set", host_end, "mtu", "1500", ns=lab.host)
    fixed = run("container_endpoint", common(lab, network="br", container_netns=c1))
    assert any(action.startswith(f"set MTU of '{host_end}'") for action in fixed["actions"]), fixed
    assert link(lab.host, host_end)["mtu"] == JUMBO

    refused = run("container_endpoint", common(lab, network="br", container_netns=lab.namespaces.new("c"),
                                               mtu=JUMBO + 1))
    assert refused.get("failed") is True and f"above the MTU {JUMBO} of the bridge 'brm0' of network 'br'" \
        in refused["msg"], refused

    # the bridge network's MTU changes: the bridge and both ends of every veth pair follow
    lowered = run("bridge_network", bridge(lab, mtu=4000, labels={"tier": "storage"}))
    assert lowered["changed"] is True, lowered
    assert link(lab.host, "brm0")["mtu"] == 4000
    ports = json.loads(lib.sh("ip", "-j", "link", "show", "master", "brm0", ns=lab.host).stdout)
    assert [port["mtu"] for port in ports] == [4000, 4000]
    assert [link(container, "eth0")["mtu"] for container in (c1, c2)] == [4000, 4000]
    assert info(lab, "br")["drift"] == []
    assert run("bridge_network", bridge(lab, mtu=4000, labels={"tier": "storage"}))["changed"] is False


def test_parent_down_or_without_carrier_warns_and_shows_in_parent_state(lab):
    lib.sh("ip", "link", "set", "veth1", "down", ns=lab.peer)  # the other end of the wire: no carrier here
    created = run("macvlan_network", macvlan(lab))
    assert created.get("failed") is not True and created["changed"] is True, created
    state = created["network"]["parent_state"]
    assert (state["carrier"], state["oper_state"], state["mtu"]) == (False, "down", JUMBO), state
    assert warnings(created) == [
        "parent 'veth0' of network 'mv' is down (operational state down) and has no carrier: its endpoints"
        " reach nothing through it until it is up with a carrier (see network.parent_state)"]

    lib.sh("ip", "link", "set", "veth0", "down", ns=lab.host)
    again = run("macvlan_network", macvlan(lab))
    assert again["changed"] is False and again["network"]["parent_state"]["oper_state"] == "down"
    assert warnings(again) == [
        "parent 'veth0' of network 'mv' is administratively down and has no carrier: its endpoints reach nothing"
        " through it until it is up with a carrier (see network.parent_state)"]

    assert info(lab, "mv")["parent_state"] == again["network"]["parent_state"]  # network_info shows it too

    lib.sh("ip", "link", "set", "veth0", "up", ns=lab.host)
    lib.sh("ip", "link", "set", "veth1", "up", ns=lab.peer)
    lib.wait_for_carrier((lab.host, "veth0"), (lab.peer, "veth1"))
    healthy = run("macvlan_network", macvlan(lab))
    assert warnings(healthy) == [] and healthy["network"]["parent_state"]["carrier"] is True


def test_labels_are_idempotent_in_diff_and_check_mode_changes_nothing(lab):
    first = lib.run_tasks([{"underlay.network.macvlan_network": macvlan(lab, labels={"team": "a"})},
                           {"underlay.network.macvlan_network": macvlan(lab, labels={"team": "a"})}])
    assert [r["changed"] for r in first] == [True, False], first
    assert first[1]["network"]["Labels"] == {"team": "a"}

    settled = snapshot(lab)
    checked = lib.run_tasks([{"underlay.network.macvlan_network": macvlan(lab, labels={"team": "b", "site": "x"})}],
                            check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["network"]["Labels"] == {"site": "x", "team": "b"}
    assert (checked["diff"]["before"]["labels"], checked["diff"]["after"]["labels"]) == \
        ({"team": "a"}, {"site": "x", "team": "b"})
    assert '+        "site": "x",' in checked["_stdout"], checked["_stdout"]
    assert snapshot(lab) == settled, "check mode changed nothing"

    for bad, field in (({"team": 1}, "labels.team"), ({"": "x"}, "labels")):
        refused = run("macvlan_network", macvlan(lab, labels=bad))
        assert refused.get("failed") is True and refused["msg"].startswith(f"{field}: "), refused
    not_a_dict = run("macvlan_network", macvlan(lab, labels=["team"]))
    assert not_a_dict.get("failed") is True and "labels" in not_a_dict["msg"], not_a_dict
    assert snapshot(lab) == settled, "bad labels changed nothing"

    changed = run("macvlan_network", macvlan(lab, labels={}))
    assert changed["changed"] is True and changed["actions"] == ["update network definition 'mv'"]
    assert info(lab, "mv")["Labels"] == {}
