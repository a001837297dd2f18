# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot lane's scenario: one trunked host as a user would define it, and what to look at.

The guest (see sysvm.py) is trunked on eth1; the test's ``upstream`` namespace holds eth2 on
the same qemu hub and plays the switch and the VLANs' gateways: 10.0.0.1 on VLAN 100,
192.168.3.1 on VLAN 200. It does not route between its VLANs and has no route back to the
bridge network, so a bridge container reaches it only through the host's NAT.

site.yml puts on the host: VLANs 100 and 200 on eth1 (the host's own 192.168.3.254/24 on
VLAN 200), a macvlan network on each, VLAN 100's with a host_access shim 10.0.0.254, a
bridge network with masquerading, and one endpoint in each of three Podman containers
started with ``--restart always``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from sysvm import REPO, SystemdVM

PROBE = Path(__file__).with_name("guest_probe.py")
CONTAINERS = {"web": "vlan100", "app": "vlan200", "nat": "natbr"}
HOST_LINKS = ["eth1", "eth1.100", "eth1.200", "vlan100-shim", "natbr0"]
ROOTFS = "/var/lib/underlay-sysvm/rootfs"


def host_vars(persist_format: str) -> dict:
    return {
        "underlay_persist_format": persist_format,
        "underlay_trunks": [
            {"parent": "eth1", "vlans": [{"id": 100}, {"id": 200, "address": "192.168.3.254/24"}]},
        ],
        "underlay_networks": [
            {"name": "vlan100", "driver": "macvlan", "parent": "eth1.100", "subnet": "10.0.0.0/24",
             "ip_range": "10.0.0.0/25", "gateway": "10.0.0.1",
             "host_access": {"ifname": "vlan100-shim", "address": "10.0.0.254"}},
            {"name": "vlan200", "driver": "macvlan", "parent": "eth1.200", "subnet": "192.168.3.0/24",
             "ip_range": "192.168.3.0/25", "gateway": "192.168.3.1"},
            {"name": "natbr", "driver": "bridge", "bridge_name": "natbr0", "subnet": "172.28.5.0/24",
             "gateway": "172.28.5.1", "masquerade": True},
        ],
        "underlay_endpoints": [
            {"host": "sysvm", "container": name, "network": network} for name, network in CONTAINERS.items()
        ],
    }


def write_inventory(vm: SystemdVM, workdir: Path, persist_format: str) -> Path:
    """An inventory with the one host, reached through the VM's forwarded SSH port."""
    # a short directory for the ControlMaster socket (a unix socket path has at most 107 bytes)
    control_dir = tempfile.mkdtemp(prefix="usv-")
    ssh_args = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
                f"-o ControlMaster=auto -o ControlPersist=60 -o ControlPath={control_dir}/%C")
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": vm.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(vm.key),
        "ansible_ssh_common_args": ssh_args,
        "ansible_python_interpreter": "/usr/bin/python3",
        **host_vars(persist_format),
    }
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"sysvm": host}}}, sort_keys=False), encoding="utf-8")
    return path


def ansible_env(workdir: Path) -> dict:
    env = dict(os.environ)
    env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    env["ANSIBLE_PIPELINING"] = "True"  # one SSH round trip per task: the guest runs under TCG
    env["ANSIBLE_LOCAL_TEMP"] = str(workdir / "ansible-local")
    return env


def converge(inventory: Path, workdir: Path, timeout: float = 1500.0) -> subprocess.CompletedProcess:
    log = workdir / "converge.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "site.yml")],
                              cwd=REPO, env=ansible_env(workdir), stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    proc.stdout = log.read_text(encoding="utf-8")
    return proc


def network_info(inventory: Path, workdir: Path) -> dict:
    """network_info through Ansible (before the power cycle): {network name: inspect view}."""
    tree = workdir / "network_info"
    proc = subprocess.run(["ansible", "sysvm", "-i", str(inventory), "-m", "underlay.network.network_info",
                           "-t", str(tree)], cwd=REPO, env=ansible_env(workdir), capture_output=True,
                          text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"network_info failed:\n{proc.stdout}{proc.stderr}")
    result = json.loads((tree / "sysvm").read_text(encoding="utf-8"))
    return {net["Name"]: net for net in result["networks"]}


CONTAINERS_SCRIPT = """
# start_containers NAME...: each a busybox container with no network and --restart always
# (podman-restart.service starts it again at boot), started side by side
pids=()
for name in "$@"; do
  podman run -d --name "$name" --network none --restart always --rootfs "$ROOTFS" \\
    /bin/sleep 2147483647 > /dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"""


def start_containers(vm: SystemdVM) -> None:
    """The containers, with a restart policy, before site.yml attaches their endpoints."""
    vm.ssh(["env", f"ROOTFS={ROOTFS}", "bash", "-euo", "pipefail", "-s", "--", *CONTAINERS],
           stdin_text=CONTAINERS_SCRIPT, timeout=300)


UPSTREAM_SCRIPT = """
ip netns add upstream
# a new namespace inherits the host's IPv4 forwarding, which the bridge network turns on:
# the upstream switch must not route between its VLANs
ip netns exec upstream sysctl -qw net.ipv4.ip_forward=0
ip link set eth2 netns upstream
ip -n upstream link set eth2 up
ip -n upstream link add link eth2 name eth2.100 type vlan id 100
ip -n upstream link add link eth2 name eth2.200 type vlan id 200
ip -n upstream addr add 10.0.0.1/24 dev eth2.100
ip -n upstream addr add 192.168.3.1/24 dev eth2.200
ip -n upstream link set eth2.100 up
ip -n upstream link set eth2.200 up
ip -n upstream link set lo up
"""


def start_upstream(vm: SystemdVM) -> None:
    """The switch/router on the other end of the trunk (made again after every boot)."""
    vm.script(UPSTREAM_SCRIPT)


def probe(vm: SystemdVM, what: str, arg) -> dict:
    proc = vm.ssh(["python3", "-", what, json.dumps(arg)], stdin_text=PROBE.read_text(encoding="utf-8"), timeout=180)
    return json.loads(proc.stdout)


def facts(vm: SystemdVM) -> dict:
    return probe(vm, "facts", {"containers": list(CONTAINERS), "links": HOST_LINKS})


def endpoint_address(fact: dict, container: str) -> str:
    links = fact["containers"][container]["links"] or {}
    for link in links.values():
        if link["addresses"]:
            return link["addresses"][0].split("/")[0]
    raise AssertionError(f"container {container} has no IPv4 address: {links}")


def matrix_entries(fact: dict) -> list[dict]:
    """The reachability matrix, with what each entry must give."""
    web, app, nat = (endpoint_address(fact, name) for name in ("web", "app", "nat"))
    return [
        {"name": "web -> upstream 10.0.0.1 (VLAN 100)", "from": "web", "to": "10.0.0.1", "expect": True},
        {"name": f"upstream -> web {web}", "from": "upstream", "to": web, "expect": True},
        {"name": "web -> host 10.0.0.254 (host_access shim)", "from": "web", "to": "10.0.0.254", "expect": True},
        {"name": f"host -> web {web} (host_access shim)", "from": "host", "to": web, "expect": True},
        {"name": "app -> upstream 192.168.3.1 (VLAN 200)", "from": "app", "to": "192.168.3.1", "expect": True},
        {"name": f"upstream -> app {app}", "from": "upstream", "to": app, "expect": True},
        {"name": "nat -> upstream 192.168.3.1 (bridge, masqueraded)", "from": "nat", "to": "192.168.3.1",
         "expect": True},
        {"name": f"host -> nat {nat}", "from": "host", "to": nat, "expect": True},
        {"name": f"web -> app {app} (other VLAN, nothing routes)", "from": "web", "to": app, "expect": False},
        {"name": "app -> host 192.168.3.254 (macvlan child to its own host, no shim)", "from": "app",
         "to": "192.168.3.254", "expect": False},
        {"name": f"upstream -> nat {nat} (NAT only outbound)", "from": "upstream", "to": nat, "expect": False},
    ]


def matrix(vm: SystemdVM, entries: list[dict]) -> dict:
    """Which entries answered; all None when the guest did not answer within the probe's time."""
    try:
        return probe(vm, "matrix", [{k: e[k] for k in ("name", "from", "to")} for e in entries])
    except subprocess.TimeoutExpired:
        return {e["name"]: None for e in entries}


def expected(entries: list[dict]) -> dict:
    return {e["name"]: e["expect"] for e in entries}


def show_matrix(result: dict, entries: list[dict]) -> str:
    lines = []
    for e in entries:
        got = result.get(e["name"])
        mark = "ok " if got == e["expect"] else "BAD"
        seen = "reaches " if got else ("no reply" if got is not None else "unknown ")
        lines.append(f"  {mark} {seen}  {e['name']}")
    return "\n".join(lines)


def wait_for_matrix(vm: SystemdVM, entries: list[dict], timeout: float) -> tuple[dict, float]:
    """Polls the matrix until it is the expected one or timeout; returns it and the seconds taken."""
    start = time.monotonic()
    want = expected(entries)
    while True:
        result = matrix(vm, entries)
        if result == want or time.monotonic() - start > timeout:
            return result, time.monotonic() - start
        time.sleep(2)


def restart_and_ping(vm: SystemdVM, name: str, address: str, limit_s: int = 90) -> dict:
    """podman restart NAME, then ping ADDRESS from upstream until it answers (timed in the guest)."""
    return probe(vm, "restart", {"container": name, "address": address, "limit_s": limit_s})
