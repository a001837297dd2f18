# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint when things go wrong: a batch killed with SIGKILL part-way, endpoints
left without leases, a namespace on two networks in one batch, the host's own namespace,
routes dropped from the spec, MAC clashes, path-like network names and misspelt batch keys.
All on the host kernel, in namespaces the tests create."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import pytest
from pyroute2 import IPRoute

import underlay_snapshots as snap
import underlay_testlib as lib

MODULE = "container_endpoint"
BATCH = 200


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.host_with_parent()
    state_dir = str(tmp_path / "state")
    return SimpleNamespace(host=host, state_dir=state_dir, namespaces=namespaces)


def network(lab, name, driver="macvlan", subnet="10.5.0.0/24", **extra):
    params = {"name": name, "subnet": subnet, "netns": lab.host, "state_dir": lab.state_dir}
    if driver == "macvlan":
        params["parent"] = "veth0"
    params.update(extra)
    r = lib.run_module(f"{driver}_network", params)
    assert not r.get("failed"), r
    return r


def ep(lab, **params):
    params.setdefault("netns", lab.host)
    params.setdefault("state_dir", lab.state_dir)
    return params


def leases(lab, name):
    with open(os.path.join(lab.state_dir, "leases", f"{name}.json"), encoding="utf-8") as handle:
        return json.load(handle)["leases"]


def links_of(ns):
    """``{name: (kind, mac, [ipv4 cidr], alias)}`` of ``ns`` read over netlink (fast for many namespaces)."""
    found = {}
    with IPRoute(netns=ns, flags=0) as ipr:
        addresses = collections.defaultdict(list)
        for msg in ipr.get_addr(family=2):
            addresses[msg["index"]].append(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
        for msg in ipr.get_links():
            info = msg.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info else None
            found[msg.get_attr("IFLA_IFNAME")] = (kind, msg.get_attr("IFLA_ADDRESS"), addresses[msg["index"]],
                                                  msg.get_attr("IFLA_IFALIAS"))
    return found


def start_batch(lab, name, containers, env_extra=None):
    payload = {"ANSIBLE_MODULE_ARGS": ep(lab, network=name, endpoints=[{"container_netns": c} for c in containers])}
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # pylint: disable=consider-using-with
    with handle:
        json.dump(payload, handle)
    env = lib.ansible_env()
    env.update(env_extra or {})
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", f"ansible_collections.underlay.network.plugins.modules.{MODULE}", handle.name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return proc, handle.name


def finish(proc, args_file):
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        os.unlink(args_file)
    return proc.returncode, out, err


def converged(lab, name, containers, subnet_prefix):
    """The figures of a network after a re-run: addresses in the kernel twice, MACs twice,
    scratch-named links left, kernel addresses without their lease (or with another one),
    leases without their address, and pending leases."""
    table = leases(lab, name)
    kernel, twice, scratch = {}, 0, 0
    for container in containers:
        for ifname, (_kind, mac, addresses, _alias) in links_of(container).items():
            scratch += ifname.startswith("ul") and len(ifname) == 14
            for cidr in addresses:
                if cidr.startswith(subnet_prefix):
                    ip = cidr.split("/", 1)[0]
                    twice += ip in kernel
                    kernel[ip] = (container, ifname, mac)
    by_lease = {ip: (lease["owner"].split(":", 1)[1], lease["ifname"], lease["mac_address"])
                for ip, lease in table.items()}
    macs = [mac for _c, _i, mac in kernel.values()]
    return {"duplicate addresses": twice, "duplicate macs": len(macs) - len(set(macs)),
            "scratch links": scratch,
            "addresses without their lease": sum(by_lease.get(ip) != held for ip, held in kernel.items()),
            "leases without their address": len(set(by_lease) - set(kernel)),
            "pending leases": sum(1 for lease in table.values() if lease.get("pending"))}


@pytest.fixture
def batch_lab(lab):
    lab.containers = [lab.namespaces.new("c") for _index in range(BATCH)]
    return lab


# (how the run is killed, driver): SIGKILL from inside after step N (right after the pending
# write, early, half-way, late), and a kill -9 from outside while it runs
KILLS = [("step", 1, "macvlan"), ("step", 150, "macvlan"), ("step", 700, "macvlan"), ("step", 950, "macvlan"),
         ("step", 400, "bridge"), ("outside", 0.05, "bridge")]


def test_killed_batch_converges_on_the_next_run(batch_lab):
    """A 200-endpoint batch killed with SIGKILL at several points: the next run adopts what
    the killed one made, says so, and converges; the run after that changes nothing."""
    lab = batch_lab
    report = []
    for round_index, (how, when, driver) in enumerate(KILLS):
        name, prefix = f"k{round_index}", f"10.{40 + round_index}.0."
        extra = {"bridge_name": f"brk{round_index}"} if driver == "bridge" else {}
        network(lab, name, driver, subnet=f"{prefix}0/24", **extra)
        env = {"UNDERLAY_TEST_KILL_AFTER_STEP": str(when)} if how == "step" else {}
        proc, args_file = start_batch(lab, name, lab.containers, env)
        if how == "outside":
            pending_file = os.path.join(lab.state_dir, "leases", f"{name}.json")
            deadline = time.monotonic() + 120
            while not os.path.exists(pending_file) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(when)
            proc.send_signal(signal.SIGKILL)
        code, out, _err = finish(proc, args_file)
        assert code == -signal.SIGKILL, f"round {round_index} was not killed (exit {code}): {out[-2000:]}"
        made = sum(1 for c in lab.containers for ifname, (kind, _m, addrs, _a) in links_of(c).items()
                   if any(a.startswith(prefix) for a in addrs))

        proc, args_file = start_batch(lab, name, lab.containers)
        code, out, err = finish(proc, args_file)
        result = json.loads(out)
        assert code == 0 and not result.get("failed"), (result.get("msg"), err[-2000:])
        adopted = [a for a in result["actions"] if "adopting what an interrupted run left" in a]
        if made:
            assert adopted, f"round {round_index}: {made} endpoints were made but the re-run reports no adoption"
        figures = converged(lab, name, lab.containers, prefix)
        snap.tally("kill -9 and re-run (200 endpoints)", False, **figures)
        assert not any(figures.values()), figures
        assert len(leases(lab, name)) == len(lab.containers)

        items = [{"container_netns": c} for c in lab.containers]
        again = lib.run_module(MODULE, ep(lab, network=name, endpoints=items))
        assert again["changed"] is False, again.get("actions", again.get("msg"))
        report.append(f"{driver} killed ({how} {when}): {made} addresses in the kernel at the kill, re-run converged")
    print("\n".join(report))


def test_absent_without_ifname_and_a_lost_lease_removes_the_marked_endpoint(lab):
    network(lab, "mv")
    c1 = lab.namespaces.new("c")
    r = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1))
    assert r["changed"] and links_of(c1)["eth0"][3] == f"underlay-network mv netns:{c1}"
    os.unlink(os.path.join(lab.state_dir, "leases", "mv.json"))  # the lease is lost; the endpoint is not
    gone = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, state="absent"))
    assert gone["changed"] is True and "eth0" not in links_of(c1), gone


def test_endpoint_without_lease_is_adopted_with_its_address(lab):
    """An endpoint of ours whose lease is gone (an older crash, a table restored from backup)
    is recognised by its owner mark and adopted with the address it holds, not doubled."""
    network(lab, "mv")
    c1 = lab.namespaces.new("c")
    first = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, ipv4_address="10.5.0.50"))
    assert first["endpoint"]["ipv4_address"] == "10.5.0.50/24"
    os.unlink(os.path.join(lab.state_dir, "leases", "mv.json"))
    again = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1))
    assert again["endpoint"]["ipv4_address"] == "10.5.0.50/24" and again["endpoint"]["ifname"] == "eth0", again
    assert sorted(links_of(c1)) == ["eth0", "lo"] and links_of(c1)["eth0"][2] == ["10.5.0.50/24"]
    assert leases(lab, "mv")["10.5.0.50"]["owner"] == f"netns:{c1}"


def test_one_namespace_on_two_networks_in_one_batch(lab):
    """The seed's multi-tier example: a container on a front and an internal network."""
    network(lab, "front")
    network(lab, "back", "bridge", subnet="10.6.0.0/24", bridge_name="brb", internal=True)
    c1 = lab.namespaces.new("c")
    r = lib.run_module(MODULE, ep(lab, endpoints=[{"network": "front", "container_netns": c1},
                                                  {"network": "back", "container_netns": c1}]))
    assert not r.get("failed"), r.get("msg")
    assert [e["ifname"] for e in r["endpoints"]] == ["eth0", "eth1"]
    assert lib.run_module(MODULE, ep(lab, endpoints=[{"network": "front", "container_netns": c1},
                                                     {"network": "back", "container_netns": c1}]))["changed"] is False


def test_host_namespace_is_refused(lab):
    network(lab, "mv")
    before = lib.tree_snapshot(lab.state_dir)
    # a process of the host the module works in (``ip netns exec`` execs it: same PID)
    holder = subprocess.Popen(["ip", "netns", "exec", lab.host, "sleep", "60"])  # pylint: disable=consider-using-with
    try:
        time.sleep(0.3)
        for params in ({"pid": holder.pid},):
            r = lib.run_module(MODULE, ep(lab, network="mv", **params))
            assert r["failed"] and r["msg"].startswith("pid: ") and "shares the host's network namespace" in r["msg"], r
    finally:
        holder.kill()
        holder.wait()
    assert lib.tree_snapshot(lab.state_dir) == before


def test_route_dropped_from_routes_is_removed(lab):
    network(lab, "mv", gateway="10.5.0.1")
    c1 = lab.namespaces.new("c")
    route = {"dst": "192.0.2.0/24", "gateway": "10.5.0.9"}
    assert lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, routes=[route]))["changed"]
    assert "192.0.2.0/24 via 10.5.0.9" in lib.sh("ip", "route", ns=c1).stdout
    r = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, routes=[]))
    assert r["changed"] and "192.0.2.0/24" not in lib.sh("ip", "route", ns=c1).stdout, r
    assert lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, routes=[]))["changed"] is False


def test_mac_of_another_endpoint_is_refused_naming_the_field(lab):
    network(lab, "mv")
    c1, c2 = lab.namespaces.new("c"), lab.namespaces.new("c")
    first = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1))
    before = {"state": lib.tree_snapshot(lab.state_dir), "c2": lib.kernel_snapshot(c2)}
    r = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c2, mac_address=first["endpoint"]["mac_address"]))
    assert r["failed"] and r["msg"] == (f"mac_address: {first['endpoint']['mac_address']} is already used by"
                                        f" netns:{c1} on network 'mv'"), r
    assert {"state": lib.tree_snapshot(lab.state_dir), "c2": lib.kernel_snapshot(c2)} == before


@pytest.mark.parametrize("name", ["../leases/mv", "/etc/passwd", "mv/../../x"])
def test_path_like_network_name_is_refused(lab, name):
    network(lab, "mv")
    c1 = lab.namespaces.new("c")
    r = lib.run_module(MODULE, ep(lab, network=name, container_netns=c1))
    assert r["failed"] and r["msg"].startswith(f"network: '{name}' is not a valid network name"), r
    r = lib.run_module(MODULE, ep(lab, endpoints=[{"network": name, "container_netns": c1}]))
    assert r["failed"] and r["msg"].startswith(f"endpoints[0].network: '{name}' is not a valid network name"), r


def test_batch_items_are_checked_like_the_single_form(lab):
    network(lab, "mv")
    c1 = lab.namespaces.new("c")
    r = lib.run_module(MODULE, ep(lab, network="mv", endpoints=[{"container_netns": c1, "ipv4_adress": "10.5.0.9"}]))
    assert r["failed"] and "ipv4_adress" in r["msg"] and "Traceback" not in json.dumps(r), r
    assert not os.path.exists(os.path.join(lab.state_dir, "leases", "mv.json"))


def test_a_failed_detach_re_creates_the_endpoint(lab, monkeypatch):
    """Removing the link is the first step of a detach; when a later step fails, the undo
    makes the endpoint again from its lease: name, MAC, owner mark, address and routes."""
    network(lab, "mv", gateway="10.5.0.1")
    c1 = lab.namespaces.new("c")
    route = {"dst": "192.0.2.0/24", "gateway": "10.5.0.9"}
    assert lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, routes=[route]))["changed"]
    before = {name: (kind, mac, addrs, alias) for name, (kind, mac, addrs, alias) in links_of(c1).items()}
    routes_before = lib.sh("ip", "route", ns=c1).stdout
    monkeypatch.setenv("UNDERLAY_TEST_FAIL_AFTER_STEP", "1")
    r = lib.run_module(MODULE, ep(lab, network="mv", container_netns=c1, state="absent"))
    assert r["failed"] and "rolled back: re-create 'eth0'" in r["msg"] and "NOT rolled back" not in r["msg"], r
    assert links_of(c1) == before and lib.sh("ip", "route", ns=c1).stdout == routes_before
    assert leases(lab, "mv")["10.5.0.2"]["owner"] == f"netns:{c1}"
