# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint with real Docker and Podman containers, attached by name.

Both runtimes run privately for the session: dockerd on its own socket and data root with
``--iptables=false --bridge=none`` (it touches no firewall rule and makes no docker0), Podman
with its own storage (CONTAINERS_STORAGE_CONF), so the machine's own runtime state is not
used or changed. No registry is reachable: the image is busybox-static, imported locally.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import underlay_snapshots as snap
import underlay_testlib as lib

MODULE = "underlay.network.container_endpoint"


def _need(path, package):
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: scripts/setup installs {package}")


@pytest.fixture(scope="module")
def runtimes():
    for path, package in (("/usr/sbin/dockerd", "docker.io"), ("/usr/bin/podman", "podman"),
                          ("/bin/busybox", "busybox-static")):
        _need(path, package)
    work = tempfile.mkdtemp(prefix="underlay-rt-")
    token = uuid.uuid4().hex[:6]
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF")}
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    lib.sh("chroot", rootfs, "/bin/busybox", "--install", "-s")
    sock = os.path.join(work, "docker.sock")
    dockerd = subprocess.Popen(
        ["dockerd", "--host", f"unix://{sock}", "--data-root", os.path.join(work, "docker"),
         "--exec-root", os.path.join(work, "docker-exec"), "--pidfile", os.path.join(work, "docker.pid"),
         "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "dockerd.log"), "w", encoding="utf-8"))
    os.environ["DOCKER_HOST"] = f"unix://{sock}"
    storage = os.path.join(work, "storage.conf")
    with open(storage, "w", encoding="utf-8") as handle:
        handle.write(f'[storage]\ndriver = "vfs"\ngraphroot = "{work}/podman"\nrunroot = "{work}/podman-run"\n')
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n')
    os.environ["CONTAINERS_STORAGE_CONF"] = storage
    os.environ["CONTAINERS_CONF"] = conf
    names = {"docker": f"ul-d-{token}", "podman": f"ul-p-{token}"}
    try:
        deadline = time.monotonic() + 60
        while lib.sh("docker", "version", check=False).returncode != 0:
            assert dockerd.poll() is None, open(os.path.join(work, "dockerd.log"), encoding="utf-8").read()[-2000:]
            assert time.monotonic() < deadline, "dockerd did not answer within 60 s"
            time.sleep(0.2)
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True).stdout
        subprocess.run(["docker", "import", "-", "underlay-busybox:test"], input=tar, capture_output=True, check=True)
        lib.sh("docker", "run", "-d", "--name", names["docker"], "--network", "none", "underlay-busybox:test",
               "sleep", "1000")
        lib.sh("podman", "run", "-d", "--name", names["podman"], "--network", "none", "--rootfs", rootfs,
               "sleep", "1000")
        yield SimpleRuntime(names, rootfs)
    finally:
        lib.sh("docker", "rm", "-f", names["docker"], check=False)
        lib.sh("podman", "rm", "-f", "-t", "0", names["podman"], check=False)
        dockerd.terminate()
        try:
            dockerd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        lib.sh("umount", "-R", os.path.join(work, "docker"), check=False)
        shutil.rmtree(work, ignore_errors=True)


class SimpleRuntime:
    def __init__(self, names, rootfs):
        self.names = names
        self.rootfs = rootfs


def pid_of(tool, name):
    return int(lib.sh(tool, "inspect", "--format", "{{.State.Pid}}", name).stdout.strip())


def ping_from(tool, name, address):
    path = f"/proc/{pid_of(tool, name)}/ns/net"
    return lib.sh("nsenter", f"--net={path}", "--", "ping", "-c", "2", "-W", "2", address, check=False)


def test_docker_and_podman_containers_on_one_macvlan_network(runtimes, namespaces, tmp_path):
    state_dir = str(tmp_path / "state")
    base = {"netns": namespaces.host_with_parent(), "state_dir": state_dir}
    r = lib.run_tasks([
        {"underlay.network.macvlan_network": dict(base, name="mv", parent="veth0", subnet="10.8.0.0/24")},
        {MODULE: dict(base, network="mv", container=runtimes.names["docker"])},
        {MODULE: dict(base, network="mv", container=runtimes.names["podman"], runtime="podman")},
        {MODULE: dict(base, network="mv", container=runtimes.names["docker"])},
    ])
    assert [x.get("changed") for x in r] == [True, True, True, False], [x.get("msg") for x in r]
    docker_ep, podman_ep = r[1]["endpoint"], r[2]["endpoint"]
    assert docker_ep["container"] == runtimes.names["docker"] and docker_ep["ipv4_address"] == "10.8.0.2/24"
    assert podman_ep["container"] == runtimes.names["podman"] and podman_ep["ipv4_address"] == "10.8.0.3/24"
    assert docker_ep["netns"] == f"/proc/{pid_of('docker', runtimes.names['docker'])}/ns/net"
    done = ping_from("docker", runtimes.names["docker"], "10.8.0.3")
    assert done.returncode == 0, done.stdout + done.stderr

    info = lib.run_module("network_info", dict(base, name=["mv"]))["networks"][0]
    assert {c["Name"] for c in info["Containers"].values()} == set(runtimes.names.values())
    docker_id = lib.sh("docker", "inspect", "--format", "{{.Id}}", runtimes.names["docker"]).stdout.strip()
    assert docker_id in info["Containers"]

    # a restart gives the container a new PID and namespace; re-attaching keeps IP and MAC
    lib.sh("docker", "restart", "-t", "0", runtimes.names["docker"])
    again = lib.run_module("container_endpoint", dict(base, network="mv", container=runtimes.names["docker"]))
    assert again["changed"] is True, again.get("msg")
    assert (again["endpoint"]["ipv4_address"], again["endpoint"]["mac_address"]) == (
        docker_ep["ipv4_address"], docker_ep["mac_address"])
    done = ping_from("docker", runtimes.names["docker"], "10.8.0.3")
    assert done.returncode == 0, done.stdout + done.stderr
    new_path = f"/proc/{pid_of('docker', runtimes.names['docker'])}/ns/net"
    assert again["endpoint"]["netns"] == new_path
    with open(os.path.join(state_dir, "leases", "mv.json"), encoding="utf-8") as handle:
        leases = json.load(handle)["leases"]
    assert leases["10.8.0.2"]["netns_path"] == new_path, "the lease follows the restarted container"

    # a stopped container is refused by name, and nothing changes
    lib.sh("docker", "stop", "-t", "0", runtimes.names["docker"])
    before = lib.tree_snapshot(state_dir)
    stopped = lib.run_module("container_endpoint",
                             dict(base, network="mv", container=runtimes.names["docker"], ifname="eth5"))
    assert stopped["failed"] is True
    assert stopped["msg"].startswith(f"container: container '{runtimes.names['docker']}' (docker) is not running")
    assert lib.tree_snapshot(state_dir) == before
    missing = lib.run_module("container_endpoint", dict(base, network="mv", container="no-such-container"))
    assert missing["failed"] is True and "container: no container named 'no-such-container'" in missing["msg"]
    lib.sh("docker", "start", runtimes.names["docker"])


def test_runtime_outage_releases_no_lease(runtimes, namespaces, tmp_path, monkeypatch):
    """dockerd unreachable and podman's storage unreadable during a run: the leases of their
    containers are kept (nothing proves them gone) and the run says why."""
    state_dir = str(tmp_path / "state")
    base = {"netns": namespaces.host_with_parent(), "state_dir": state_dir}
    r = lib.run_tasks([
        {"underlay.network.macvlan_network": dict(base, name="mv", parent="veth0", subnet="10.9.0.0/24")},
        {MODULE: dict(base, network="mv", container=runtimes.names["docker"], runtime="docker")},
        {MODULE: dict(base, network="mv", container=runtimes.names["podman"], runtime="podman")},
    ])
    assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
    leases_file = os.path.join(state_dir, "leases", "mv.json")
    with open(leases_file, encoding="utf-8") as handle:
        before = json.load(handle)["leases"]
    assert len(before) == 2

    bad_storage = tmp_path / "storage.conf"
    not_a_dir = tmp_path / "graphroot-is-a-file"
    not_a_dir.write_text("")
    bad_storage.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{not_a_dir}"\nrunroot = "{not_a_dir}"\n')
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-dockerd.sock")
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(bad_storage))
    c1 = namespaces.new("c")
    during = lib.run_module("container_endpoint", dict(base, network="mv", container_netns=c1))
    assert during["changed"] is True and not during.get("failed"), during.get("msg")
    with open(leases_file, encoding="utf-8") as handle:
        after = json.load(handle)["leases"]
    kept = {ip: lease for ip, lease in after.items() if ip in before}
    snap.tally("runtime outage", False, leases_released=len(before) - len(kept))
    assert kept == before, "a lease was released in an outage"
    # a module's raw result (ansible-core 2.19) carries each warning as {"event": {"msg": ...}}
    warnings = " ".join(w["event"]["msg"] if isinstance(w, dict) else w for w in during.get("warnings", []))
    for name in runtimes.names.values():
        assert f"kept the lease of container:{name}" in warnings, during
    assert "docker could not be asked" in warnings and "podman could not be asked" in warnings, during
    assert not any("releasing" in action for action in during["actions"]), during["actions"]
