# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``underlay-network watch`` with real Docker and Podman containers.

The watcher runs as a subprocess of the real command, installed by the networks role (one file
carrying the engine) into a temporary path, against a macvlan and a bridge network made by
the modules in a test-made host namespace, with state_dir in a temporary directory.
Both runtimes run privately, as in test_container_endpoint_runtimes.py: dockerd on its own
socket, data root and exec root (``--iptables=false --bridge=none``), stopped and started
again by the tests; Podman with its own storage and its own events log. The image is
busybox-static, imported locally (no registry is reachable).

Readiness is read the way systemd reads it: the test owns the ``NOTIFY_SOCKET`` datagram
socket and waits for ``READY=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from types import SimpleNamespace

import pytest

import underlay_snapshots as snap
import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils import _dns_service

MODULE = "underlay.network.container_endpoint"
REATTACH_SECONDS = 30  # bounded wait for a re-attach (generous: the lanes share two cores)


class Dockerd:
    """A private dockerd that a test may stop and start again (same data root: its
    containers survive, and those with a restart policy start with it)."""

    def __init__(self, work):
        self.work = work
        self.sock = os.path.join(work, "docker.sock")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.work, "dockerd.log"), "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ["dockerd", "--host", f"unix://{self.sock}", "--data-root", os.path.join(self.work, "docker"),
             "--exec-root", os.path.join(self.work, "docker-exec"), "--pidfile", os.path.join(self.work, "docker.pid"),
             "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none"],
            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while lib.sh("docker", "version", check=False).returncode != 0:
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, "dockerd did not answer within 60 s"
            time.sleep(0.2)

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log(self):
        with open(os.path.join(self.work, "dockerd.log"), encoding="utf-8") as handle:
            return handle.read()[-2000:]


@pytest.fixture(scope="module")
def runtimes():
    for path, package in (("/usr/sbin/dockerd", "docker.io"), ("/usr/bin/podman", "podman"),
                          ("/bin/busybox", "busybox-static")):
        if not os.path.exists(path):
            pytest.fail(f"{path} missing: scripts/setup installs {package}")
    work = tempfile.mkdtemp(prefix="underlay-watch-")
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF")}
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    lib.sh("chroot", rootfs, "/bin/busybox", "--install", "-s")
    dockerd = Dockerd(work)
    os.environ["DOCKER_HOST"] = f"unix://{dockerd.sock}"
    storage = os.path.join(work, "storage.conf")
    with open(storage, "w", encoding="utf-8") as handle:
        handle.write(f'[storage]\ndriver = "vfs"\ngraphroot = "{work}/podman"\nrunroot = "{work}/podman-run"\n')
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w", encoding="utf-8") as handle:  # its own events log: only this module's events
        handle.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                     f'[engine]\nevents_logger = "file"\nevents_logfile_path = "{work}/podman-events/events.log"\n')
    os.environ["CONTAINERS_STORAGE_CONF"] = storage
    os.environ["CONTAINERS_CONF"] = conf
    made = {"docker": [], "podman": []}
    try:
        dockerd.start()
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True).stdout
        subprocess.run(["docker", "import", "-", "underlay-busybox:test"], input=tar, capture_output=True, check=True)
        yield SimpleNamespace(work=work, rootfs=rootfs, dockerd=dockerd, made=made, token=uuid.uuid4().hex[:5])
    finally:
        if dockerd.proc is None:
            dockerd.start()
        lib.sh("docker", "rm", "-f", *made["docker"], check=False)
        if made["podman"]:
            lib.sh("podman", "rm", "-f", "-t", "0", *made["podman"], check=False)
        dockerd.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        lib.sh("umount", "-R", os.path.join(work, "docker"), check=False)
        shutil.rmtree(work, ignore_errors=True)


def container(runtimes, tool, label, restart=None):
    """A running busybox container with no network (the collection gives it its endpoints)."""
    name = f"ulw-{runtimes.token}-{label}"
    policy = ["--restart", restart] if restart else []
    if tool == "docker":
        lib.sh("docker", "run", "-d", "--name", name, "--network", "none", *policy, "underlay-busybox:test",
               "sleep", "100000")
    else:
        lib.sh("podman", "run", "-d", "--name", name, "--network", "none", *policy, "--rootfs", runtimes.rootfs,
               "sleep", "100000")
    runtimes.made[tool].append(name)
    return name


@pytest.fixture
def lab(namespaces, tmp_path):
    """A host namespace with a macvlan network ``mv`` (parent veth0; the wire's far end, veth1
    at 10.31.0.254, is a peer to ping from) and a bridge network ``br`` (gateway 10.32.0.1 on
    the host's bridge ``brw0``)."""
    host, peer = namespaces.new("h"), namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    lib.sh("ip", "addr", "add", "10.31.0.254/24", "dev", "veth1", ns=peer)
    state_dir = str(tmp_path / "state")
    command = str(tmp_path / "sbin" / "underlay-network")
    os.makedirs(os.path.dirname(command))
    base = {"netns": host, "state_dir": state_dir}
    r = lib.run_tasks([
        {"underlay.network.macvlan_network": dict(base, name="mv", parent="veth0", subnet="10.31.0.0/24")},
        {"underlay.network.bridge_network": dict(base, name="br", bridge_name="brw0", subnet="10.32.0.0/24",
                                                 masquerade=False)},
        {"ansible.builtin.include_role": {"name": "underlay.network.networks", "tasks_from": "durability"},
         "vars": {"underlay_netns": host, "underlay_state_dir": state_dir, "underlay_command_path": command}},
    ])
    assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
    assert os.access(command, os.X_OK), "the networks role did not install the command"
    return SimpleNamespace(host=host, peer=peer, state_dir=state_dir, base=base, tmp=tmp_path, command=command)


def attach(lab, network, targets):
    """Attach ``targets`` ([(tool, name)]) to ``network`` in one batched task; returns
    {name: (ipv4_address, mac_address, ifname)}."""
    items = [{"container": name, "runtime": tool} for tool, name in targets]
    result = lib.run_tasks([{MODULE: dict(lab.base, network=network, endpoints=items)}])[0]
    assert result.get("changed") and not result.get("failed"), result.get("msg")
    return {ep["container"]: (ep["ipv4_address"], ep["mac_address"], ep["ifname"]) for ep in result["endpoints"]}


def leases(lab):
    """{network: {address: (owner, MAC, ifname)}}: what a lease promises (the netns path of a
    restarted container changes, the rest must not)."""
    found = {}
    for network in ("mv", "br"):
        path = os.path.join(lab.state_dir, "leases", f"{network}.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as handle:
            table = json.load(handle)["leases"]
        found[network] = {ip: (lease["owner"], lease["mac_address"], lease["ifname"]) for ip, lease in table.items()
                          if not lease.get("pending")}
    return found


def netns_of(tool, name):
    pid = lib.sh(tool, "inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    return f"/proc/{pid}/ns/net"


def links_of(tool, name):
    """{ifname: (IPv4 CIDRs, MAC)} inside the container (empty while it is not running)."""
    done = lib.sh(tool, "inspect", "--format", "{{.State.Running}} {{.State.Pid}}", name, check=False)
    running, _space, pid = done.stdout.strip().partition(" ")
    if done.returncode != 0 or running != "true" or pid in ("", "0"):
        return {}
    out = lib.sh("nsenter", f"--net=/proc/{pid}/ns/net", "--", "ip", "-j", "addr", "show", check=False)
    found = {}
    for link in json.loads(out.stdout or "[]"):
        if link.get("ifname") != "lo" and "UP" in link.get("flags", []):
            found[link["ifname"]] = ([f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                                      if a.get("family") == "inet"], link.get("address"))
    return found


def reattached(tool, name, expected):
    """Whether every (ipv4_address, mac_address, ifname) of ``expected`` is up in the container."""
    links = links_of(tool, name)
    return all(ifname in links and links[ifname][0] == [address] and
               (links[ifname][1] or "").lower() == mac for address, mac, ifname in expected)


def wait_reattached(tool, names, expected, watcher, timeout=REATTACH_SECONDS):
    """Wait until each of ``names`` has its endpoints back (``expected``: {network: {name: ...}})."""
    deadline = time.monotonic() + timeout
    waiting = list(names)
    while waiting:
        waiting = [name for name in waiting if not reattached(tool, name, [e[name] for e in expected.values()
                                                                           if name in e])]
        if waiting:
            assert time.monotonic() < deadline, f"not re-attached within {timeout} s: {waiting}\n{watcher.text()}"
            time.sleep(0.1)


def pings(lab, tool, name, mv_address, br_address):
    """The macvlan endpoint answers its wire peer; the bridge endpoint answers the host."""
    for ns, address in ((lab.peer, mv_address), (lab.host, br_address)):
        done = lib.sh("ping", "-c", "1", "-W", "2", address.split("/")[0], ns=ns, check=False)
        assert done.returncode == 0, f"{tool} {name}: {address} does not answer from {ns}: {done.stdout}"


class Watch:
    """``underlay-network watch`` as a subprocess; its readiness read from a NOTIFY_SOCKET
    this test owns, its log from stdout."""

    def __init__(self, lab, path=None):
        self.logfile = str(lab.tmp / f"watch-{uuid.uuid4().hex[:6]}.log")
        self.notify_path = str(lab.tmp / f"notify-{uuid.uuid4().hex[:6]}")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        # the command carries its engine: no PYTHONPATH to the checkout
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        env["NOTIFY_SOCKET"] = self.notify_path
        env["PYTHONUNBUFFERED"] = "1"
        if path is not None:
            env["PATH"] = path
        with open(self.logfile, "w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [lab.command, "watch", "--state-dir", lab.state_dir, "--netns", lab.host],
                stdout=log, stderr=subprocess.STDOUT, env=env)

    def ready(self, timeout=60):
        self.notify.settimeout(timeout)
        try:
            said = self.notify.recv(4096).decode()
        except socket.timeout:
            raise AssertionError(f"no READY=1 within {timeout} s:\n{self.text()}") from None
        assert said == "READY=1", said
        assert self.proc.poll() is None, self.text()
        # the first sweep follows READY=1; wait for it, so what a test does next is the
        # watcher's events' work, not the sweep's
        self.wait_for(r"^sweep \(start\): .* problem\(s\)", timeout=timeout)
        return self

    def text(self):
        with open(self.logfile, encoding="utf-8") as handle:
            return handle.read()

    def wait_for(self, pattern, timeout=REATTACH_SECONDS, after=0):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()[after:], re.M):
            assert self.proc.poll() is None, f"the watcher ended:\n{self.text()}"
            assert time.monotonic() < deadline, f"'{pattern}' not logged within {timeout} s:\n{self.text()}"
            time.sleep(0.1)

    def children(self):
        """PIDs of the watcher's child processes (its events commands)."""
        found = []
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            with open(f"/proc/{self.proc.pid}/task/{task}/children", encoding="ascii") as handle:
                found += [int(pid) for pid in handle.read().split()]
        return found

    def child_running(self, tool):
        for pid in self.children():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
            except FileNotFoundError:
                continue
            if os.path.basename(argv[0].decode()) == tool and argv[1:2] == [b"events"]:
                return pid
        return None

    def stop(self):
        """SIGTERM: the watcher exits 0 and leaves no events command behind."""
        children = self.children() if self.proc.poll() is None else []
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the watcher did not exit within 20 s of SIGTERM:\n{self.text()}") from None
        finally:
            self.notify.close()
        assert code == 0, self.text()
        left = [pid for pid in children if _running(pid)]
        assert not left, f"events commands left running after SIGTERM: {left}"
        assert self.text().rstrip().endswith("watch: stopped"), self.text()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()


def _running(pid):
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def watchers():
    made = []
    yield made
    for watcher in made:
        watcher.kill()


def test_restart_reattaches_same_ip_and_mac_on_macvlan_and_bridge(runtimes, lab, watchers):
    docker_name = container(runtimes, "docker", "d0")
    podman_name = container(runtimes, "podman", "p0")
    targets = [("docker", docker_name), ("podman", podman_name)]
    expected = {network: attach(lab, network, targets) for network in ("mv", "br")}
    recorded = leases(lab)
    watcher = Watch(lab)
    watchers.append(watcher)
    watcher.ready()
    assert watcher.child_running("docker") and watcher.child_running("podman"), watcher.text()

    # the names resolver listens in each container's namespace (and so keeps it alive)
    before = {os.stat(netns_of(tool, name)).st_ino for tool, name in targets}
    assert before <= set(_dns_service.release(lab.state_dir).values())
    for tool, name in targets:
        old = netns_of(tool, name)
        lib.sh(tool, "restart", "-t", "0", name)
        assert netns_of(tool, name) != old, "a restart gives the container a new namespace"
    for tool, name in targets:
        wait_reattached(tool, [name], expected, watcher)
        pings(lab, tool, name, expected["mv"][name][0], expected["br"][name][0])
        watcher.wait_for(rf"^started .*container:{re.escape(name)} \({tool}\).*: re-attached")
    assert leases(lab) == recorded, "the same addresses, MACs and interface names, no lease lost or added"
    assert not re.search(r"^problem", watcher.text(), re.M), watcher.text()
    # the old namespaces are let go, the new ones served (the kernel reuses a freed namespace's
    # inode number at once: an old number still held must be a new namespace's)
    held = set(_dns_service.release(lab.state_dir).values())
    new = {os.stat(netns_of(tool, name)).st_ino for tool, name in targets}
    assert new <= held and not (held & before) - new, (held, before, new)

    # a second restart of the same container works as the first (nothing left over)
    lib.sh("docker", "restart", "-t", "0", docker_name)
    wait_reattached("docker", [docker_name], expected, watcher)
    watcher.stop()
    assert leases(lab) == recorded


def test_a_burst_of_ten_starts_is_coalesced(runtimes, lab, watchers):
    names = [container(runtimes, "docker", f"b{i}") for i in range(10)]
    expected = {"mv": attach(lab, "mv", [("docker", name) for name in names])}
    recorded = leases(lab)
    watcher = Watch(lab)
    watchers.append(watcher)
    watcher.ready()
    # the ten starts all arrive while the watcher is busy (stopped here): they wait in its
    # events pipe and must be handled together, not one restore per start
    os.kill(watcher.proc.pid, signal.SIGSTOP)
    try:
        restarts = [subprocess.Popen(["docker", "restart", "-t", "0", name], stdout=subprocess.DEVNULL)
                    for name in names]
        assert all(p.wait(timeout=120) == 0 for p in restarts)
    finally:
        os.kill(watcher.proc.pid, signal.SIGCONT)
    began = time.monotonic()
    wait_reattached("docker", names, expected, watcher)
    took = time.monotonic() - began
    for name in names:  # the kernel is ready before a run's summary line (its names step comes last)
        watcher.wait_for(rf"^started .*container:{re.escape(name)} \(docker\).*: (?:re-attached|nothing to change)")
    batches = re.findall(r"^started (.*): (?:re-attached|nothing to change)", watcher.text(), re.M)
    handled = [owner for batch in batches for owner in re.findall(r"container:(\S+) \(docker\)", batch)]
    assert sorted(set(handled)) == sorted(names), watcher.text()
    assert len(batches) <= 3, f"{len(batches)} restores for a burst of 10 starts:\n{watcher.text()}"
    snap.tally("watcher burst", False, starts=len(names), restores=len(batches), ms_to_reattach_all=took * 1000)
    assert leases(lab) == recorded
    watcher.stop()


def test_dockerd_stopped_and_started_under_the_watcher(runtimes, lab, watchers):
    """dockerd goes away under the watcher: it says so and keeps trying; a Podman restart in
    the meantime is still handled and no lease is released (Docker cannot be asked); dockerd
    comes back (its restart-policy container starts with it, another is started by hand
    before the watcher has reconnected): both are re-attached, every lease as before."""
    always = container(runtimes, "docker", "always", restart="always")
    manual = container(runtimes, "docker", "manual")
    pod = container(runtimes, "podman", "pod")
    targets = [("docker", always), ("docker", manual), ("podman", pod)]
    expected = {network: attach(lab, network, targets) for network in ("mv", "br")}
    recorded = leases(lab)
    watcher = Watch(lab)
    watchers.append(watcher)
    watcher.ready()

    runtimes.dockerd.stop()
    watcher.wait_for(r"^watch: docker: events ended")
    restarted = len(watcher.text())
    lib.sh("podman", "restart", "-t", "0", pod)
    wait_reattached("podman", [pod], expected, watcher)
    # the run's lines are logged once it has returned, which (names, issue 17) is after the
    # resolver serves the new records: a moment after the endpoints are back in the kernel. So
    # wait for the run that re-attached the pod to end (its summary line), then check what it
    # said and left: Docker's container kept its lease on both networks
    watcher.wait_for(rf"container:{re.escape(pod)}( \(podman\))?: re-attached, \d+ problem\(s\)", after=restarted)
    said = watcher.text()[restarted:]
    for network in ("mv", "br"):
        assert f"network '{network}': kept the lease of container:{always}" in said, said
    during = leases(lab)
    lost = sum(len(set(recorded[n]) - set(during[n])) for n in recorded)
    assert during == recorded, f"a lease changed while dockerd was down:\n{watcher.text()}"

    mark = len(watcher.text())
    runtimes.dockerd.start()
    lib.sh("docker", "start", manual)
    wait_reattached("docker", [always, manual], expected, watcher)
    watcher.wait_for(r"^watch: docker: subscribed again after \d+ failed attempt", after=mark)
    for tool, name in targets:
        pings(lab, tool, name, expected["mv"][name][0], expected["br"][name][0])
    after = leases(lab)
    lost += sum(len(set(recorded[n]) - set(after[n])) for n in recorded)
    snap.tally("watcher dockerd restart", False, leases_lost=lost)
    assert after == recorded, watcher.text()
    watcher.stop()


def test_runtime_not_installed_then_installed_and_podman_events_ending(runtimes, lab, watchers):
    """The watcher starts with no podman on its PATH: it follows Docker alone and says so; when
    podman appears it is noticed and followed; when Podman's events command ends (Podman has
    no daemon: the command is all there is), it is run again and a start in between is
    caught by the sweep or the replay."""
    docker_name = container(runtimes, "docker", "solo")
    expected = {"mv": attach(lab, "mv", [("docker", docker_name)])}
    bin_dir = lab.tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(shutil.which("docker"))
    path = os.pathsep.join([str(bin_dir), "/usr/sbin"])
    watcher = Watch(lab, path=path)
    watchers.append(watcher)
    watcher.ready()
    watcher.wait_for(r"^watch: podman is not installed; looking for it again")
    assert watcher.child_running("docker") and not watcher.child_running("podman")
    lib.sh("docker", "restart", "-t", "0", docker_name)
    wait_reattached("docker", [docker_name], expected, watcher)

    (bin_dir / "podman").symlink_to(shutil.which("podman"))
    watcher.wait_for(r"^watch: podman is installed now")
    watcher.wait_for(r"^watch: podman: subscribed")
    pod = container(runtimes, "podman", "late")
    expected["mv"].update(attach(lab, "mv", [("podman", pod)]))
    recorded = leases(lab)
    lib.sh("podman", "restart", "-t", "0", pod)
    wait_reattached("podman", [pod], expected, watcher)

    for _round in range(2):
        events = watcher.child_running("podman")
        assert events, watcher.text()
        mark = len(watcher.text())
        os.kill(events, signal.SIGKILL)
        lib.sh("podman", "restart", "-t", "0", pod)
        watcher.wait_for(r"^watch: podman: events ended", after=mark)
        wait_reattached("podman", [pod], expected, watcher)
        watcher.wait_for(r"^watch: podman: subscribed again", after=mark)
    assert leases(lab) == recorded, watcher.text()
    watcher.stop()


def test_a_runtime_missing_from_path_releases_no_lease(runtimes, lab, watchers):
    """The watcher runs with docker on its PATH and no podman (a package upgrade, a unit with
    another PATH): the Podman container's lease must survive the watcher's sweep and the
    restore of a Docker container, since nothing proves that container gone."""
    docker_name = container(runtimes, "docker", "keep-d")
    pod = container(runtimes, "podman", "keep-p")
    expected = {"mv": attach(lab, "mv", [("docker", docker_name), ("podman", pod)])}
    recorded = leases(lab)
    bin_dir = lab.tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(shutil.which("docker"))
    watcher = Watch(lab, path=os.pathsep.join([str(bin_dir), "/usr/sbin"]))
    watchers.append(watcher)
    watcher.ready()
    lib.sh("docker", "restart", "-t", "0", docker_name)
    wait_reattached("docker", [docker_name], expected, watcher)
    watcher.stop()
    assert leases(lab) == recorded, f"a lease was released while podman could not be asked:\n{watcher.text()}"
