# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint's ``publish`` on the host kernel, in throwaway namespaces (their own
nftables table only).

Topology: ``host`` holds bridge network ``web`` (172.31.0.0/24 on ``brweb``) and the address
192.0.2.1 on ``uplink``; ``outside`` (192.0.2.2) is wired to it by a veth; the endpoints are
namespaces with a TCP server on port 80 and a UDP server on port 53 that answer with their
name and the address they saw the client come from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

import underlay_snapshots as snap
import underlay_testlib as lib

MODULE = "container_endpoint"
SUBNET, GATEWAY, HOST_IP = "172.31.0.0/24", "172.31.0.1", "192.0.2.1"

SERVER = r"""
import socket, sys, threading
name = sys.argv[1]
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 80))
tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 53))
def answer_udp():
    while True:
        data, peer = udp.recvfrom(100)
        udp.sendto(f"udp {name} {peer[0]}".encode(), peer)
threading.Thread(target=answer_udp, daemon=True).start()
print("ready", flush=True)
while True:
    conn, peer = tcp.accept()
    conn.sendall(f"tcp {name} {peer[0]}".encode())
    conn.close()
"""

CLIENT = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "tcp":
        sock = socket.create_connection((host, port), timeout=2)
        print(sock.recv(100).decode())
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.sendto(b"?", (host, port))
        print(sock.recvfrom(100)[0].decode())
except OSError as err:
    print("error", err)
"""


@pytest.fixture
def lab(namespaces, tmp_path):
    host, outside = namespaces.new("h"), namespaces.new("o")
    namespaces.veth(host, "uplink", outside, "eth0")
    lib.sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", "uplink", ns=host)
    lib.sh("ip", "addr", "add", "192.0.2.2/24", "dev", "eth0", ns=outside)
    lib.sh("ip", "route", "add", "default", "via", HOST_IP, ns=outside)
    state_dir = str(tmp_path / "state")
    made = lib.run_module("bridge_network", {"name": "web", "bridge_name": "brweb", "subnet": SUBNET,
                                             "netns": host, "state_dir": state_dir})
    assert not made.get("failed"), made.get("msg")
    servers = []
    yield SimpleNamespace(host=host, outside=outside, state_dir=state_dir, namespaces=namespaces, servers=servers)
    for server in servers:  # only the processes this test started
        server.kill()
        server.wait()


def endpoint(lab, name, **params):
    """A namespace ``name`` attached to ``web`` (by the module) with the test servers in it."""
    ns = lab.namespaces.new(name)
    params = dict({"network": "web", "container_netns": ns, "netns": lab.host, "state_dir": lab.state_dir}, **params)
    result = lib.run_module(MODULE, params)
    assert not result.get("failed"), result.get("msg")
    server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, name],
                              stdout=subprocess.PIPE, text=True)
    lab.servers.append(server)
    assert server.stdout.readline().strip() == "ready"
    return ns, result


def ep(lab, ns, **params):
    return dict({"network": "web", "container_netns": ns, "netns": lab.host, "state_dir": lab.state_dir}, **params)


def fetch(ns, proto, address, port):
    return lib.sh(sys.executable, "-c", CLIENT, proto, address, str(port), ns=ns).stdout.strip()


def snapshot(lab, *containers):
    snap = {"nft": lib.nft_ruleset(lab.host), "state": lib.tree_snapshot(lab.state_dir),
            "sysctls": [lib.sysctl(lab.host, key)
                        for key in ("net.ipv4.ip_forward", "net.ipv4.conf.brweb.route_localnet")],
            "host": lib.kernel_snapshot(lab.host)}
    for ns in containers:
        snap[ns] = lib.kernel_snapshot(ns)
    return snap


def publish_rules(lab):
    """{comment: handle} of the table's published ports' rules."""
    listed = lib.sh("nft", "-j", "list", "ruleset", ns=lab.host).stdout
    return {item["rule"]["comment"]: item["rule"]["handle"] for item in json.loads(listed)["nftables"]
            if "rule" in item and ":publish-" in item["rule"].get("comment", "")}


def test_published_ports_reach_the_endpoint_from_everywhere_and_go_with_it(lab):
    network_only = lib.nft_ruleset(lab.host)
    c1, attached = endpoint(lab, "web1", publish=["8080:80", "5353:53/udp"])
    c2 = endpoint(lab, "web2")[0]
    assert attached["changed"] is True
    assert attached["endpoint"]["ports"] == {"53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
                                             "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    ip1 = attached["endpoint"]["ipv4_address"].split("/")[0]
    ruleset = lib.nft_ruleset(lab.host)
    assert f'comment "underlay.network:web:publish-in:0.0.0.0:8080/tcp>{ip1}:80"' in ruleset
    assert f'comment "underlay.network:web:publish-local:0.0.0.0:5353/udp>{ip1}:53"' in ruleset
    assert "hook prerouting priority dstnat" in ruleset and "hook output priority -100" in ruleset
    assert lib.sysctl(lab.host, "net.ipv4.conf.brweb.route_localnet") == "1"

    # from outside through the host's address, TCP and UDP; the client's own address is seen
    assert fetch(lab.outside, "tcp", HOST_IP, 8080) == "tcp web1 192.0.2.2"
    assert fetch(lab.outside, "udp", HOST_IP, 5353) == "udp web1 192.0.2.2"
    # the host itself, to its own address and to 127.0.0.1 (masqueraded into the bridge)
    assert fetch(lab.host, "tcp", HOST_IP, 8080) == f"tcp web1 {HOST_IP}"
    assert fetch(lab.host, "tcp", "127.0.0.1", 8080) == f"tcp web1 {GATEWAY}"
    assert fetch(lab.host, "udp", "127.0.0.1", 5353) == f"udp web1 {GATEWAY}"
    # hairpin: another endpoint of the bridge through the host's address; the reply comes back
    assert fetch(c2, "tcp", HOST_IP, 8080) == f"tcp web1 {GATEWAY}"
    assert fetch(c2, "udp", HOST_IP, 5353) == f"udp web1 {GATEWAY}"
    # not published: nothing answers
    assert fetch(lab.outside, "tcp", HOST_IP, 8081).startswith("error")
    assert fetch(lab.outside, "udp", HOST_IP, 5354).startswith("error")
    assert fetch(lab.outside, "tcp", HOST_IP, 80).startswith("error")

    # unchanged re-run
    settled = snapshot(lab, c1, c2)
    again = lib.run_module(MODULE, ep(lab, c1, publish=["8080:80", "5353:53/udp"]))
    assert again["changed"] is False and again["actions"] == [], again.get("actions")
    assert snapshot(lab, c1, c2) == settled

    # check mode (with --diff) of a change: predicted, nothing touched
    change = ep(lab, c1, publish=["8080:80", "5354:53/udp"])
    checked = lib.run_module(MODULE, change, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["endpoint"]["ports"]["53/udp"] == [{"HostIp": "0.0.0.0", "HostPort": "5354"}]
    rules_diff = checked["diff"]["after"]["published_rules"]["web"]
    assert f"underlay.network:web:publish-in:0.0.0.0:5354/udp>{ip1}:53" in rules_diff
    assert f"underlay.network:web:publish-in:0.0.0.0:5353/udp>{ip1}:53" in checked["diff"]["before"][
        "published_rules"]["web"]
    assert snapshot(lab, c1, c2) == settled

    # the change replaces exactly the rules that changed
    handles = publish_rules(lab)
    changed = lib.run_module(MODULE, change)
    assert changed["changed"] is True, changed.get("msg")
    after = publish_rules(lab)
    kept = {text for text in handles if "8080/tcp" in text or "hairpin" in text or "loopback" in text}
    assert {text: after[text] for text in kept} == {text: handles[text] for text in kept}
    assert not any("5353" in text for text in after) and sum("5354/udp" in text for text in after) == 2
    assert fetch(lab.outside, "udp", HOST_IP, 5354) == "udp web1 192.0.2.2"
    assert fetch(lab.outside, "udp", HOST_IP, 5353).startswith("error")

    # a port bound to one host address, and one to the loopback only
    bound = lib.run_module(MODULE, ep(lab, c2, publish=[f"{HOST_IP}:9090:80", "127.0.0.1:9191:80"]))
    assert bound["changed"] is True, bound.get("msg")
    assert fetch(lab.outside, "tcp", HOST_IP, 9090).startswith("tcp web2")
    assert fetch(lab.host, "tcp", "127.0.0.1", 9090).startswith("error")
    assert fetch(lab.host, "tcp", "127.0.0.1", 9191).startswith("tcp web2")
    assert fetch(lab.outside, "tcp", HOST_IP, 9191).startswith("error")

    # network_info shows the ports, and drift when a rule is missing
    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir})
    view = info["networks"][0]
    assert view["drift"] == []
    assert view["Containers"][f"netns:{c1}"]["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "8080"}]
    victim = f"underlay.network:web:publish-in:0.0.0.0:8080/tcp>{ip1}:80"
    lib.sh("nft", "delete", "rule", "ip", "underlay_network", "prerouting", "handle", str(after[victim]), ns=lab.host)
    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir})
    assert info["networks"][0]["drift"] == [f"nftables rule '{victim}' is missing"]
    repaired = lib.run_module(MODULE, change)
    assert repaired["changed"] is True and repaired["actions"] == [f"add nftables rule '{victim}'"]

    # removal leaves no rule of theirs: the ruleset is the network's alone again
    for ns in (c1, c2):
        gone = lib.run_module(MODULE, ep(lab, ns, state="absent"))
        assert gone["changed"] is True, gone.get("msg")
    assert publish_rules(lab) == {}
    assert lib.nft_ruleset(lab.host) == network_only


def test_bad_publish_input_changes_nothing(lab, tmp_path):
    c1 = endpoint(lab, "web1", publish=["8080:80"])[0]
    c2 = lab.namespaces.new("web2")
    internal = lib.run_module("bridge_network", {"name": "db", "bridge_name": "brdb", "subnet": "172.32.0.0/24",
                                                 "internal": True, "netns": lab.host, "state_dir": lab.state_dir})
    assert not internal.get("failed"), internal.get("msg")
    api = lib.run_module("bridge_network", {"name": "api", "bridge_name": "brapi", "subnet": "172.33.0.0/24",
                                            "netns": lab.host, "state_dir": lab.state_dir})
    assert not api.get("failed"), api.get("msg")
    lab.namespaces.veth(lab.host, "trunk0", lab.namespaces.new("p"), "trunk1")
    macvlan = lib.run_module("macvlan_network", {"name": "vlan", "parent": "trunk0", "subnet": "10.9.0.0/24",
                                                 "netns": lab.host, "state_dir": lab.state_dir})
    assert not macvlan.get("failed"), macvlan.get("msg")
    before = snapshot(lab, c1, c2)
    cases = [
        (ep(lab, c2, publish=["0:80"]), "publish", "port 0 is out of range"),
        (ep(lab, c2, publish=["65536:80"]), "publish", "port 65536 is out of range"),
        (ep(lab, c2, publish=["80:80/sctp"]), "publish", "protocol 'sctp'"),
        (ep(lab, c2, publish=["8000-8009:80-81"]), "publish", "must be of one length"),
        (ep(lab, c2, publish=["9000:80", "9000:81"]), "publish", "published twice"),
        (ep(lab, c2, publish=["8080:81"]), "publish", "is already published by"),
        (ep(lab, c2, network="api", publish=["8079-8081:8079-8081"]), "publish",
         "host port 8080/tcp (0.0.0.0:8080->8080/tcp) of namespace"),
        (ep(lab, c2, network="vlan", publish=["8081:80"]), "publish", "directly on the physical network"),
        (ep(lab, c2, network="db", publish=["8081:80"]), "publish", "is internal"),
        ({"network": "web", "netns": lab.host, "state_dir": lab.state_dir,
          "endpoints": [{"container_netns": c2, "publish": ["7070:80"]},
                        {"container_netns": lab.namespaces.new("web3"), "publish": ["7070:80/tcp"]}]},
         "endpoints[1].publish", "7070"),
    ]
    for params, field, text in cases:
        result = lib.run_module(MODULE, params)
        assert result.get("failed") is True, (params, result)
        assert field in result["msg"] and text in result["msg"], result["msg"]
        assert snapshot(lab, c1, c2) == before, params
    for case in cases[5:7]:
        both = lib.run_module(MODULE, case[0])["msg"]
        assert c2 in both and c1 in both and "8080" in both and "on network 'web'" in both, both


def restore(lab, command="restore"):
    """``underlay-network restore`` (the engine the installed command carries), in the host namespace."""
    code = ("import sys\nfrom ansible_collections.underlay.network.plugins.module_utils import _cli\n"
            "sys.exit(_cli.main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, command, "--netns", lab.host, "--state-dir", lab.state_dir],
                          capture_output=True, text=True, env=lib.ansible_env(), check=False)


def test_restore_brings_the_published_ports_back_after_a_wipe(lab):
    c1, attached = endpoint(lab, "web1", publish=["8080:80", "127.0.0.1:5353:53/udp"])
    ruleset = lib.nft_ruleset(lab.host)
    assert fetch(lab.outside, "tcp", HOST_IP, 8080) == "tcp web1 192.0.2.2"
    # what a reboot wipes: the table, the sysctls (the bridge and the endpoint stay: the
    # namespace 'container' is still running, so restore only has the rules to make again)
    lib.sh("nft", "flush", "ruleset", ns=lab.host)
    lib.sh("sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv4.conf.brweb.route_localnet=0", ns=lab.host)
    assert fetch(lab.outside, "tcp", HOST_IP, 8080).startswith("error")
    status = restore(lab, "status")
    assert status.returncode == 1 and "drift: nftables rule 'underlay.network:web:publish-in:0.0.0.0:8080/tcp>" \
        in status.stdout, status.stdout
    assert "127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp" in status.stdout, status.stdout
    restored = restore(lab)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert lib.nft_ruleset(lab.host) == ruleset
    assert lib.sysctl(lab.host, "net.ipv4.conf.brweb.route_localnet") == "1"
    assert fetch(lab.outside, "tcp", HOST_IP, 8080) == "tcp web1 192.0.2.2"
    assert fetch(lab.host, "udp", "127.0.0.1", 5353) == f"udp web1 {GATEWAY}"
    files = lib.tree_snapshot(lab.state_dir)
    again = restore(lab)
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == "restore: nothing to change, 0 problem(s)"
    assert lib.nft_ruleset(lab.host) == ruleset and lib.tree_snapshot(lab.state_dir) == files
    assert attached["endpoint"]["ports"]["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "5353"}]


FAULT_CASES = {  # what the endpoint publishes before (None: not attached) -> the run interrupted
    "attach": (None, {"publish": ["8080:80", "127.0.0.1:5353:53/udp"]}),
    "change": (["8080:80", "5353:53/udp"], {"publish": ["8080:80", "127.0.0.1:5354:53/udp"]}),
    "detach": (["8080:80", "127.0.0.1:5353:53/udp"], {"state": "absent"}),
}


@pytest.mark.parametrize("case", sorted(FAULT_CASES))
def test_a_failure_after_any_step_leaves_no_rule_sysctl_or_lease_behind(lab, tmp_path, case):
    """As the hardening suite does (``UNDERLAY_TEST_FAIL_AFTER_STEP``, a real failure, the
    module's own undo): the kernel, nftables ruleset, route_localnet and state_dir are as they
    were after every interrupted run. Another endpoint stays on the bridge (an empty bridge
    loses its carrier)."""
    endpoint(lab, "keep")
    target = lab.namespaces.new("f")
    before_publish, change = FAULT_CASES[case]
    if before_publish is not None:
        made = lib.run_module(MODULE, ep(lab, target, publish=before_publish))
        assert not made.get("failed"), made.get("msg")
    params = ep(lab, target, **change)
    planned = lib.run_module(MODULE, params, check_mode=True)
    steps = len(planned["actions"])
    assert planned["changed"] and steps >= 2, planned
    world = snap.World([lab.host, target], [str(tmp_path)])
    before = world.settle()
    localnet = lib.sysctl(lab.host, "net.ipv4.conf.brweb.route_localnet")
    found = {}
    for after_step in range(1, steps):
        proc = snap.module_process("container_endpoint", params,
                                   env={"UNDERLAY_TEST_FAIL_AFTER_STEP": str(after_step)})
        result = snap.module_result(proc) or {}
        changes = world.changes_since(before)
        if lib.sysctl(lab.host, "net.ipv4.conf.brweb.route_localnet") != localnet:
            changes.append("route_localnet")
        if changes or not result.get("failed") or "injected failure" not in result.get("msg", "") \
                or snap.TRACEBACK in proc.stdout + proc.stderr:
            found[planned["actions"][after_step - 1]] = (changes, result.get("msg"))
            before = world.snapshot(settle=True)
    assert not found, found
    converged = lib.run_module(MODULE, params)
    assert converged["changed"] and not converged.get("failed"), converged
