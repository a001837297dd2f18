# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restart bench: how long after ``docker restart`` / ``podman restart`` a container's
endpoint answers again, with ``underlay-network watch`` re-attaching it, beside Docker
bringing up its own network of the same driver for a restarted container.

Per driver (macvlan, bridge), three containers, each restarted R times, one after another:

- ``docker-restart``: a container on a Docker network of that driver (``docker network create -d
  macvlan -o parent=veth0`` or ``-d bridge``; fixed ``--ip``): Docker's own work;
- ``watch-docker``: a Docker container (``--network none``) attached by container_endpoint to
  the collection's network of that driver, re-attached by the watcher;
- ``watch-podman``: the same with a Podman container.

A pinger (iputils ``ping -D -i 0.005``) runs for the whole series from where the network is
reached (the wire's far end for macvlan, the host for a bridge), and each container's start
event is read from the runtime's own ``events`` command. Per restart: ``reattach`` = the first
reply after the outage minus the start event's time (the issue's measure: Docker wires its
network before it starts the process, so its own value is about zero or below), and
``outage`` = the gap between the last reply before the restart and the first after it (what
a peer sees, comparable between Docker and the watcher).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import threading
import time

import lab
from ansible_collections.underlay.network.plugins.module_utils import _runner  # lab puts the collection on sys.path
from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT, NETWORK_BY_DRIVER

DRIVERS = ("macvlan", "bridge")  # the drivers restart has peers for (bench.py --drivers may name others)
PEERS = ("docker-restart", "watch-docker", "watch-podman")
WAIT = 60.0           # bounded wait for one restart's start event and the reply after it


class Pinger:
    """``ping -D`` against one address from one namespace; the reply times, as they come."""

    def __init__(self, ns, address):
        self.replies = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            # nsenter, not `ip netns exec`: that makes a mount namespace holding a copy of every
            # netns bind mount of the moment (Docker's sandboxes), which keeps a restarted
            # container's old namespace, and its old endpoint, alive
            ["nsenter", f"--net=/run/netns/{ns}", "--", "stdbuf", "-oL", "ping", "-n", "-D", "-i", "0.005", "-W", "1",
             address],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("[") and " bytes from " in line:
                with self.lock:
                    self.replies.append(float(line[1:line.index("]")]))

    def since(self, moment):
        with self.lock:
            return [t for t in self.replies if t >= moment]

    def steady(self, timeout=WAIT):
        """Wait until replies flow (one in the last 0.1 s)."""
        deadline = time.monotonic() + timeout
        while not self.since(time.time() - 0.1):
            if time.monotonic() > deadline:
                raise RuntimeError("restart bench: the endpoint does not answer before the restart")
            time.sleep(0.02)

    def outage(self, issued, started, timeout=WAIT):
        """(last reply before, first reply after) the restart issued at ``issued`` whose start
        event came at ``started``: the longest silence between the two once a reply later than
        the start event has come (a busy machine delays single pings too, but far less than a
        restart silences the endpoint)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = self.since(issued - 0.2)
            if replies and replies[-1] > started:
                return max(zip(replies, replies[1:]), key=lambda pair: pair[1] - pair[0])
            time.sleep(0.02)
        raise RuntimeError(f"restart bench: no reply after the restart within {timeout} s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class StartClock:
    """The runtime's own start events (``docker/podman events``), with the runtime's times."""

    def __init__(self, tool, env):
        self.tool = tool
        self.starts = []
        self.lock = threading.Lock()
        fmt = "{{json .}}" if tool == "docker" else "json"
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [tool, "events", "--format", fmt, "--filter", "type=container", "--filter", "event=start"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if self.tool == "docker":
                name, when = event.get("Actor", {}).get("Attributes", {}).get("name"), event.get("timeNano", 0) / 1e9
            else:
                name, when = event.get("Name"), rfc3339(event.get("Time", ""))
            with self.lock:
                self.starts.append((name, when))

    def wait(self, name, after, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [when for who, when in self.starts if who == name and when >= after]
            if found:
                return found[0]
            time.sleep(0.01)
        raise RuntimeError(f"restart bench: no start event of {name} within {timeout} s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def rfc3339(text):
    """Podman's event time (``2026-12-04T22:00:45.093889081Z``, nanoseconds) as a Unix time."""
    import datetime  # pylint: disable=import-outside-toplevel
    head, _dot, fraction = text.rstrip("Z").partition(".")
    moment = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp() + (float("0." + fraction) if fraction else 0.0)


class Podman:
    """Podman with its own storage, configuration and events log in the bench's work dir."""

    def __init__(self, work, rootfs):
        self.work = os.path.join(work, "podman")
        os.makedirs(self.work, exist_ok=True)
        self.rootfs = rootfs
        storage, conf = os.path.join(self.work, "storage.conf"), os.path.join(self.work, "containers.conf")
        with open(storage, "w", encoding="utf-8") as handle:
            handle.write(f'[storage]\ndriver = "vfs"\ngraphroot = "{self.work}/root"\nrunroot = "{self.work}/run"\n')
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                         f'[engine]\nevents_logger = "file"\nevents_logfile_path = "{self.work}/events/events.log"\n')
        self.env = {"CONTAINERS_STORAGE_CONF": storage, "CONTAINERS_CONF": conf}
        self.names = []

    def podman(self, *args, check=True):
        return lab.sh("podman", *args, check=check, env=dict(os.environ, **self.env))

    def run(self, name):
        self.podman("run", "-d", "--name", name, "--network", "none", "--rootfs", self.rootfs, "sleep", "100000")
        self.names.append(name)

    def stop(self):
        if self.names:
            self.podman("rm", "-f", "-t", "0", *self.names, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


class Watcher(lab.Service):
    """``underlay-network watch`` as its service runs it (``lab.Service``); ready once it has
    also made its first sweep."""

    def __init__(self, workdir, state_dir, netns, env):
        super().__init__(["watch", "--state-dir", state_dir, "--netns", netns], workdir, "watch", WAIT, env)
        deadline = time.monotonic() + WAIT
        while "sweep (start):" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("restart bench: the watcher did not sweep:\n" + self.text()[-2000:])
            time.sleep(0.05)


def _collection_network(driver, world, state_dir, net):
    params = {"name": "ulbrs", "subnet": f"{net}.0/24", "netns": world.host, "state_dir": state_dir}
    params.update({"parent": "veth0", "mode": "bridge"} if driver == "macvlan" else
                  {"bridge_name": "ulbrscb0", "masquerade": False})
    _runner.run(NETWORK_BY_DRIVER[driver], params)


def _attach(world, state_dir, items, env):
    """container_endpoint in-process (the runtimes found through ``env``)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return _attach_items(world, state_dir, items)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _attach_items(world, state_dir, items):
    result = _runner.run(CONTAINER_ENDPOINT, {"network": "ulbrs", "endpoints": items, "netns": world.host,
                                              "state_dir": state_dir})
    return {ep["container"]: ep["ipv4_address"].split("/")[0] for ep in result["endpoints"]}


def _series(peer, tool, name, address, source_ns, clocks, restarts, log, restart):
    """Restart ``name`` ``restarts`` times; samples of reattach and outage seconds."""
    pinger = Pinger(source_ns, address)
    samples = []
    try:
        for rep in range(restarts):
            pinger.steady()
            before = lab.load()[0]
            issued = time.time()
            restart(name)
            started = clocks[tool].wait(name, issued)
            last, back = pinger.outage(issued, started)
            samples.append((rep, before, back - started, back - last))
            time.sleep(0.2)
    finally:
        pinger.stop()
    log(f"    {peer:14s} start event to answering: median {statistics.median(s[2] for s in samples) * 1000:7.1f} ms,"
        f" outage median {statistics.median(s[3] for s in samples) * 1000:7.1f} ms over {len(samples)} restarts")
    return samples


def _driver(driver, restarts, workdir, log, dockerd, podman, clocks):
    """One driver: Docker's own network, then the watcher on the collection's network."""
    world = dockerd.world
    token = world.token
    where = os.path.join(workdir, f"restart-{driver}")
    os.makedirs(where, exist_ok=True)
    source = world.wire if driver == "macvlan" else world.host
    samples = {}
    # Docker's own network of this driver (subnet 10.217/10.218.0.0/24), fixed address
    own = "10.217.0" if driver == "macvlan" else "10.218.0"
    options = ["-o", "parent=veth0", "-o", "macvlan_mode=bridge"] if driver == "macvlan" else \
        ["-o", "com.docker.network.bridge.name=ulbrsdk0"]
    dockerd.docker("network", "create", "-d", driver, "--subnet", f"{own}.0/24", "--gateway", f"{own}.1", *options,
                   "ulbrsdocker")
    name = f"ulb{token}r{driver[0]}d"
    dockerd.docker("run", "-d", "--name", name, "--network", "ulbrsdocker", "--ip", f"{own}.10",
                   "ulb-busybox:bench", "sleep", "100000")
    dockerd.names.append(name)
    if driver == "macvlan":
        lab.sh("ip", "-n", world.wire, "addr", "add", f"{own}.254/24", "dev", "veth1")
    samples["docker-restart"] = _series("docker-restart", "docker", name, f"{own}.10", source, clocks, restarts,
                                        log, lambda n: dockerd.docker("restart", "-t", "0", n))
    dockerd.docker("rm", "-f", name)
    dockerd.names.remove(name)
    dockerd.docker("network", "rm", "ulbrsdocker")

    # the collection's network of this driver, a Docker and a Podman container, the watcher
    net = "10.219.0" if driver == "macvlan" else "10.220.0"
    state_dir = os.path.join(where, "state")
    _collection_network(driver, world, state_dir, net)
    if driver == "macvlan":
        lab.sh("ip", "-n", world.wire, "addr", "add", f"{net}.254/24", "dev", "veth1")
    docker_name, podman_name = f"ulb{token}r{driver[0]}w", f"ulb{token}r{driver[0]}p"
    dockerd.docker("run", "-d", "--name", docker_name, "--network", "none", "ulb-busybox:bench", "sleep", "100000")
    dockerd.names.append(docker_name)
    podman.run(podman_name)
    runtimes = dict(podman.env, DOCKER_HOST=dockerd.env["DOCKER_HOST"])
    addresses = _attach(world, state_dir, [{"container": docker_name, "runtime": "docker"},
                                           {"container": podman_name, "runtime": "podman"}], runtimes)
    env = dict(os.environ, **runtimes)
    watcher = Watcher(where, state_dir, world.host, env)
    try:
        samples["watch-docker"] = _series("watch-docker", "docker", docker_name, addresses[docker_name], source,
                                          clocks, restarts, log, lambda n: dockerd.docker("restart", "-t", "0", n))
        samples["watch-podman"] = _series("watch-podman", "podman", podman_name, addresses[podman_name], source,
                                          clocks, restarts, log, lambda n: podman.podman("restart", "-t", "0", n))
    except RuntimeError as err:
        raise RuntimeError(f"{err}; the watcher said:\n{watcher.text()[-3000:]}") from None
    finally:
        watcher.stop()
    problems = [line for line in watcher.text().splitlines() if line.startswith("problem")]
    if problems:
        raise RuntimeError("restart bench: the watcher reported problems:\n" + "\n".join(problems[:20]))
    dockerd.docker("rm", "-f", docker_name)
    dockerd.names.remove(docker_name)
    if driver == "bridge":
        lab.sh("ip", "-n", world.host, "link", "del", "ulbrscb0", check=False)
    return samples


def run(args, workdir, log, notes):
    """Samples for the restart bench (driver, n = restarts per container, peers PEERS,
    phases "reattach" and "outage")."""
    missing = [tool for tool in ("dockerd", "docker", "podman", "ping", "stdbuf") if not shutil.which(tool)]
    if missing or not os.path.exists("/bin/busybox"):
        notes.append(f"restart: {', '.join(missing) or '/bin/busybox'} missing; skipped")
        return []
    world = lab.World(0)
    dockerd = lab.Dockerd(world, workdir, 0)
    dockerd.world = world
    podman = None
    clocks = {}
    samples = []
    try:
        dockerd.start()
        podman = Podman(workdir, os.path.join(dockerd.work, "rootfs"))
        clocks = {"docker": StartClock("docker", dockerd.env),
                  "podman": StartClock("podman", dict(os.environ, **podman.env))}
        for driver in [d for d in args.drivers if d in DRIVERS]:  # the others have no restart peers here
            log(f"  restart {driver}: {args.restarts} restarts per container (load {lab.load()[0]:.2f})")
            for peer, series in _driver(driver, args.restarts, workdir, log, dockerd, podman, clocks).items():
                for rep, load, reattach, outage in series:
                    for phase, seconds in (("reattach", reattach), ("outage", outage)):
                        samples.append({"driver": driver, "n": args.restarts, "peer": peer, "rep": rep,
                                        "phase": phase, "seconds": seconds, "load": load})
    finally:
        for clock in clocks.values():
            clock.stop()
        if podman is not None:
            podman.stop()
        dockerd.stop()
        world.close()
    return samples
