# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmarks: attaching N network namespaces to one macvlan or bridge network
with the collection (one ansible-playbook run with one batched task, and the engine alone),
the CNI plugins (macvlan or bridge with host-local IPAM, one call per namespace), a plain
`ip` command loop, and Docker's `network connect` (real containers, private dockerd).

Everything happens in throwaway network namespaces named ulb<token>...: a "host" namespace
holding the parent (one end of a veth pair whose other end sits in a "wire" namespace), and
one namespace per container. The machine's own interfaces, routes and firewall are never
touched, and every namespace made is removed, whatever happens. Run it through bench/run.
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time

from lab import COLLECTIONS, Dockerd, World, cleanup_all, load, on_signal, sh

CNI_PATH = "/usr/lib/cni"
PHASES = ("attach", "noop", "detach")
# per peer: its subnet (each peer its own, so nothing overlaps while worlds are reused)
SUBNETS = {"e2e": "10.201", "engine": "10.202", "floor": "10.206", "cni": "10.203", "ip": "10.204", "docker": "10.205"}
PEER_LABELS = {
    "e2e": "collection: ansible-playbook, one batched task",
    "engine": "collection: engine alone (runner in-process)",
    "floor": "floor: the same kernel requests, raw, in-process",
    "cni": "CNI plugin loop (host-local IPAM)",
    "ip": "plain ip command loop",
    "docker": "docker network connect loop",
}


def addresses(world, count=None):
    """{container: [IPv4 CIDRs on eth0]} read with `ip -j` (independent of the collection)."""
    names = world.containers[:count] if count else world.containers

    def one(ns):
        out = sh("ip", "-n", ns, "-j", "-4", "addr", "show", check=False).stdout or "[]"
        return ns, [f"{a['local']}/{a['prefixlen']}" for link in json.loads(out) if link.get("ifname") == "eth0"
                    and "UP" in link.get("flags", []) for a in link.get("addr_info", [])]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, names))


# -- the peers ------------------------------------------------------------------------------
class Peer:
    """One way of doing the work; ``prepare`` is untimed, attach/noop/detach are timed."""

    name = None

    def __init__(self, world, driver, workdir):
        self.world = world
        self.driver = driver
        self.workdir = os.path.join(workdir, self.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.net = SUBNETS[self.name]
        self.subnet = f"{self.net}.0.0/16"
        self.gateway = f"{self.net}.0.1"

    def targets(self):
        return self.world.containers

    def prepare(self):
        """Untimed set-up before an attach (a network definition, a bridge...)."""

    def attach(self):
        raise NotImplementedError

    def noop(self):
        raise NotImplementedError

    def detach(self):
        raise NotImplementedError

    def expected(self):
        """A predicate on one container's eth0 addresses after attach."""
        return lambda found: len(found) == 1 and found[0].startswith(self.net + ".") and found[0].endswith("/16")

    def host_exec(self, script):
        """Run a bash script inside the host namespace (the CNI plugins and ip act there)."""
        path = os.path.join(self.workdir, "loop.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("set -e\n" + script)
        return sh("ip", "netns", "exec", self.world.host, "bash", path)


class Collection(Peer):
    """The collection's container_endpoint (batched), on a network made by macvlan_network or
    bridge_network (untimed)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.state_dir = os.path.join(self.workdir, "state")
        self.bridge = f"ulb{self.name[:3]}"

    def network_params(self):
        base = {"name": f"ulb{self.name}", "subnet": self.subnet, "gateway": self.gateway,
                "netns": self.world.host, "state_dir": self.state_dir}
        if self.driver == "macvlan":
            return "macvlan_network", dict(base, parent="veth0", mode="bridge")
        return "bridge_network", dict(base, bridge_name=self.bridge, masquerade=False)

    def prepare(self):
        from ansible_collections.underlay.network.plugins.module_utils import _runner
        module, params = self.network_params()
        from ansible_collections.underlay.network.plugins.module_utils import _resources
        resource = {"macvlan_network": _resources.MACVLAN_NETWORK, "bridge_network": _resources.BRIDGE_NETWORK}[module]
        _runner.run(resource, params)

    def endpoint_params(self, state="present"):
        items = [{"container_netns": ns} for ns in self.targets()]
        return {"network": f"ulb{self.name}", "endpoints": items, "state": state, "netns": self.world.host,
                "state_dir": self.state_dir}


class Engine(Collection):
    name = "engine"

    def _run(self, state="present", changed=True):
        from ansible_collections.underlay.network.plugins.module_utils import _runner
        from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT
        result = _runner.run(CONTAINER_ENDPOINT, self.endpoint_params(state))
        if result["changed"] is not changed:
            raise RuntimeError(f"engine: changed={result['changed']}, expected {changed}")

    def attach(self):
        self._run()

    def noop(self):
        self._run(changed=False)

    def detach(self):
        self._run("absent")


class Playbook(Collection):
    name = "e2e"

    def prepare(self):
        super().prepare()
        with open(os.path.join(self.workdir, "ansible.cfg"), "w", encoding="utf-8") as handle:
            handle.write("[defaults]\ngathering = explicit\n"
                         "[connection]\npipelining = True\n")
        for state in ("present", "absent"):
            params = self.endpoint_params(state)
            play = [{"name": "Attach the containers", "hosts": "localhost", "gather_facts": False,
                     "tasks": [{"name": "Endpoints", "underlay.network.container_endpoint": params}]}]
            with open(os.path.join(self.workdir, f"{state}.yml"), "w", encoding="utf-8") as handle:
                json.dump(play, handle)

    def _run(self, state="present", changed=True):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(self.workdir, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
        out = sh("ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                 f"ansible_python_interpreter={sys.executable}", os.path.join(self.workdir, f"{state}.yml"),
                 env=env).stdout
        recap = re.search(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", out, re.M)
        if not recap or recap.group(2) != ("1" if changed else "0"):
            raise RuntimeError(f"ansible-playbook: expected changed={changed}:\n{out[-2000:]}")

    def attach(self):
        self._run()

    def noop(self):
        self._run(changed=False)

    def detach(self):
        self._run("absent")


class Cni(Peer):
    """One CNI plugin call per namespace (ADD, then CHECK with the result a runtime keeps, DEL)."""

    name = "cni"

    def prepare(self):
        self.data = os.path.join(self.workdir, "ipam")
        shutil.rmtree(self.data, ignore_errors=True)
        ipam = {"type": "host-local", "ranges": [[{"subnet": self.subnet, "gateway": self.gateway}]],
                "routes": [{"dst": "0.0.0.0/0"}], "dataDir": self.data}
        conf = {"cniVersion": "1.0.0", "name": "ulbcni", "ipam": ipam}
        if self.driver == "macvlan":
            conf.update(type="macvlan", master="veth0", mode="bridge")
        else:
            conf.update(type="bridge", bridge="ulbcni0", isGateway=True, ipMasq=False)
        self.conf = os.path.join(self.workdir, "net.conf")
        with open(self.conf, "w", encoding="utf-8") as handle:
            json.dump(conf, handle)
        self.config = conf
        self.results = os.path.join(self.workdir, "results")
        shutil.rmtree(self.results, ignore_errors=True)
        os.makedirs(self.results)

    def _loop(self, command, conf_of):
        lines = [f"export CNI_PATH={CNI_PATH} CNI_IFNAME=eth0 CNI_COMMAND={command}"]
        for ns in self.targets():
            out = os.path.join(self.results, ns) if command == "ADD" else "/dev/null"
            lines.append(f"CNI_CONTAINERID={ns} CNI_NETNS=/run/netns/{ns} {CNI_PATH}/{self.config['type']}"
                         f" < {conf_of(ns)} > {out}")
        self.host_exec("\n".join(lines) + "\n")

    def attach(self):
        self._loop("ADD", lambda ns: self.conf)

    def noop(self):
        # CHECK needs the ADD result (prevResult), as a runtime keeps it: written untimed here
        for ns in self.targets():
            with open(os.path.join(self.results, ns), encoding="utf-8") as handle:
                previous = json.load(handle)
            with open(os.path.join(self.results, ns + ".check"), "w", encoding="utf-8") as handle:
                json.dump(dict(self.config, prevResult=previous), handle)
        start = time.perf_counter()
        self._loop("CHECK", lambda ns: os.path.join(self.results, ns + ".check"))
        return time.perf_counter() - start

    def detach(self):
        self._loop("DEL", lambda ns: self.conf)


class IpLoop(Peer):
    """`ip` commands, one namespace after another (addresses handed out by the loop itself)."""

    name = "ip"

    def _address(self, i):
        value = i + 2
        return f"{self.net}.{value // 256}.{value % 256}"

    def prepare(self):
        if self.driver == "bridge":
            sh("ip", "-n", self.world.host, "link", "add", "ulbip0", "type", "bridge", check=False)
            sh("ip", "-n", self.world.host, "addr", "replace", f"{self.gateway}/16", "dev", "ulbip0")
            sh("ip", "-n", self.world.host, "link", "set", "ulbip0", "up")

    def attach(self):
        lines = []
        for i, ns in enumerate(self.targets()):
            scratch = f"ulbt{i}"
            if self.driver == "macvlan":
                lines.append(f"ip link add {scratch} link veth0 netns {ns} type macvlan mode bridge")
                lines.append(f"ip -n {ns} link set {scratch} name eth0")
            else:
                lines.append(f"ip link add {scratch} type veth peer name eth0 netns {ns}")
                lines.append(f"ip link set {scratch} master ulbip0 up")
            lines.append(f"ip -n {ns} addr add {self._address(i)}/16 dev eth0")
            lines.append(f"ip -n {ns} link set eth0 up")
            lines.append(f"ip -n {ns} route add default via {self.gateway}")
        self.host_exec("\n".join(lines) + "\n")

    def noop(self):
        lines = [f"ip -n {ns} -4 -o addr show dev eth0 | grep -q ' {self._address(i)}/16 '"
                 for i, ns in enumerate(self.targets())]
        self.host_exec("\n".join(lines) + "\n")

    def detach(self):
        self.host_exec("".join(f"ip -n {ns} link del eth0\n" for ns in self.targets()))


class Floor(Peer):
    """The kernel work of the collection's endpoints and nothing else: one in-process loop of
    the same rtnetlink writes the engine makes (no reading, planning, leases or rollback).
    The link is made directly in the namespace under a scratch name, IPv6 is turned off on it
    (and on a bridge port's host end), it is renamed eth0, then address, up, default route and
    the gratuitous ARP. What the engine costs above this is the collection's own overhead."""

    name = "floor"

    def prepare(self):
        from ansible_collections.underlay.network.plugins.module_utils import _netns, _packet_sockets, _rtnl_codec
        # the engine's own helpers for entering a namespace, turning IPv6 off and the ARP frame
        self.rtnl = _rtnl_codec
        self.entered = _netns.entered
        self.ipv6_off = _netns.ipv6_off
        self.garp_frame = _packet_sockets.gratuitous_arp_frame
        if self.driver == "bridge":
            sh("ip", "-n", self.world.host, "link", "add", "ulbfl0", "type", "bridge", check=False)
            sh("ip", "-n", self.world.host, "addr", "replace", f"{self.gateway}/16", "dev", "ulbfl0")
            sh("ip", "-n", self.world.host, "link", "set", "ulbfl0", "up")

    def _address(self, i):
        value = i + 2
        return bytes([int(x) for x in self.net.split(".")] + [value // 256, value % 256])

    def _in(self, ns, body):
        """``body()`` with this thread in namespace ``ns`` (setns there and back)."""
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            with self.entered(fd):
                return body()
        finally:
            os.close(fd)

    def attach(self):
        rt = self.rtnl
        host = self._in(self.world.host, rt.Rtnl)
        closer = concurrent.futures.ThreadPoolExecutor(max_workers=32)
        gateway = bytes([int(x) for x in self.gateway.split(".")])
        try:
            parent = host.index("veth0" if self.driver == "macvlan" else "ulbfl0")
            for i, ns in enumerate(self.targets()):
                address = self._address(i)
                mac = b"\x02\x42" + address
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    if self.driver == "macvlan":
                        host.newlink(rt.attr_str(rt.IFLA_IFNAME, "ulbscratch"), rt.attr_u32(rt.IFLA_LINK, parent),
                                     rt.attr(rt.IFLA_ADDRESS, mac), rt.attr_u32(rt.IFLA_NET_NS_FD, fd),
                                     rt.nested(rt.IFLA_LINKINFO, rt.attr_str(rt.IFLA_INFO_KIND, "macvlan"),
                                               rt.nested(rt.IFLA_INFO_DATA, rt.attr_u32(rt.IFLA_MACVLAN_MODE, 4))))
                    else:
                        port = f"ulbf{i}"
                        peer = (rt.IFINFO.pack(0, 0, 0, 0, 0) + rt.attr_str(rt.IFLA_IFNAME, "ulbscratch")
                                + rt.attr_u32(rt.IFLA_NET_NS_FD, fd) + rt.attr(rt.IFLA_ADDRESS, mac))
                        host.newlink(rt.attr_str(rt.IFLA_IFNAME, port),
                                     rt.nested(rt.IFLA_LINKINFO, rt.attr_str(rt.IFLA_INFO_KIND, "veth"),
                                               rt.nested(rt.IFLA_INFO_DATA, rt.nested(rt.VETH_INFO_PEER, peer))))
                        self._in(self.world.host, lambda: self.ipv6_off(port))
                        index = host.index(port)
                        host.setlink(index, rt.attr_u32(rt.IFLA_MASTER, parent))
                        host.setlink(index, up=True)

                    def inside():
                        self.ipv6_off("ulbscratch")
                        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                        conn = rt.Rtnl()
                        try:
                            index = conn.index("ulbscratch")
                            conn.setlink(index, rt.attr_str(rt.IFLA_IFNAME, "eth0"))
                            conn.address(True, index, address, 16)
                            conn.setlink(index, up=True)
                            conn.route(True, bytes(4), 0, gateway=gateway)
                        finally:
                            conn.close()
                        sock.bind(("eth0", 0))
                        sock.send(self.garp_frame(mac, address))
                        closer.submit(sock.close)
                    with self.entered(fd):
                        inside()
                finally:
                    os.close(fd)
        finally:
            closer.shutdown(wait=True)
            host.close()

    def noop(self):
        """Confirm each endpoint: one request for eth0 and one for its addresses per namespace."""
        rt = self.rtnl

        def check(i):
            conn = rt.Rtnl()
            try:
                index = conn.index("eth0")
                found = [a for _h, a in conn.addresses(index, socket.AF_INET)]
                if not any(a.get(rt.IFA_LOCAL) == self._address(i) for a in found):
                    raise RuntimeError("floor: an address is missing")
            finally:
                conn.close()
        for i, ns in enumerate(self.targets()):
            self._in(ns, lambda: check(i))

    def detach(self):
        rt = self.rtnl

        def remove():
            conn = rt.Rtnl()
            try:
                conn.dellink(conn.index("eth0"))
            finally:
                conn.close()
        for ns in self.targets():
            self._in(ns, remove)


PEERS = {"e2e": Playbook, "engine": Engine, "floor": Floor, "cni": Cni, "ip": IpLoop}


class DockerConnect(Peer):
    name = "docker"

    def __init__(self, world, driver, workdir, dockerd):
        super().__init__(world, driver, workdir)
        self.dockerd = dockerd

    def targets(self):
        return self.dockerd.names

    def prepare(self):
        self.dockerd.docker("network", "rm", "ulbdocker", check=False)
        options = ["-o", "parent=veth0", "-o", "macvlan_mode=bridge"] if self.driver == "macvlan" else \
            ["-o", "com.docker.network.bridge.name=ulbdk0"]
        self.dockerd.docker("network", "create", "-d", self.driver, "--subnet", self.subnet, "--gateway",
                            self.gateway, *options, "ulbdocker")

    def _loop(self, command):
        script = "".join(f"docker network {command} ulbdocker {name}\n" for name in self.targets())
        path = os.path.join(self.workdir, "loop.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("set -e\n" + script)
        sh("bash", path, env=self.dockerd.env)

    def attach(self):
        self._loop("connect")

    def noop(self):
        return NOT_MEASURED  # docker has no "make sure it is connected": a second connect is an error

    def detach(self):
        self._loop("disconnect")


class DockerCollection(Playbook):
    """The collection attaching the same Docker containers by name (container: NAME)."""

    name = "e2e"

    def __init__(self, world, driver, workdir, dockerd):
        super().__init__(world, driver, workdir)
        self.dockerd = dockerd
        self.net = "10.206"
        self.subnet, self.gateway = f"{self.net}.0.0/16", f"{self.net}.0.1"

    def targets(self):
        return self.dockerd.names

    def endpoint_params(self, state="present"):
        params = super().endpoint_params(state)
        params["endpoints"] = [{"container": name, "runtime": "docker"} for name in self.targets()]
        return params

    def _run(self, state="present", changed=True):
        saved = os.environ.get("DOCKER_HOST")
        os.environ["DOCKER_HOST"] = self.dockerd.env["DOCKER_HOST"]
        try:
            super()._run(state, changed)
        finally:
            if saved is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = saved


# -- measuring ------------------------------------------------------------------------------
NOT_MEASURED = "not measured"


def timed(fn):
    """Seconds ``fn`` took (or the seconds it reports itself, or None when it has no such step)."""
    start = time.perf_counter()
    inner = fn()
    elapsed = time.perf_counter() - start
    if inner is NOT_MEASURED:
        return None
    return inner if isinstance(inner, float) else elapsed


def docker_addresses(dockerd, peer):
    found = {}
    for name in dockerd.names:
        out = sh("nsenter", f"--net=/proc/{dockerd.pid(name)}/ns/net", "ip", "-j", "-4", "addr", "show",
                 check=False).stdout or "[]"
        found[name] = [f"{a['local']}/{a['prefixlen']}" for link in json.loads(out)
                       if link.get("ifname") != "lo" and "UP" in link.get("flags", [])
                       for a in link.get("addr_info", []) if a["local"].startswith(peer.net + ".")]
    return found


def run_peer(peer, read, log):
    """attach, verify, no-op, detach, verify; returns {phase: seconds or None}."""
    peer.prepare()
    times = {"attach": timed(peer.attach)}
    found = read(peer)
    good = peer.expected()
    bad = sorted(ns for ns, addrs in found.items() if not good(addrs))
    if bad:
        raise RuntimeError(f"{peer.name}/{peer.driver}: after attach {len(bad)} of {len(found)} namespaces lack their"
                           f" address, e.g. {bad[0]}: {found[bad[0]]}")
    times["noop"] = timed(peer.noop)
    times["detach"] = timed(peer.detach)
    left = sorted(ns for ns, addrs in read(peer).items() if addrs)
    if left:
        raise RuntimeError(f"{peer.name}/{peer.driver}: after detach {len(left)} namespaces still have an address,"
                           f" e.g. {left[0]}")
    log(f"    {peer.name:7s} " + "  ".join(
        f"{phase} {times[phase] * 1000:8.1f} ms" if times[phase] is not None else f"{phase}      n/a"
        for phase in PHASES))
    return times


def run_sizes(args, workdir, log):
    samples = []   # {"driver", "n", "peer", "rep", "phase", "seconds"}
    for n in args.sizes:
        world = World(n)
        try:
            for driver in args.drivers:
                for rep in range(args.reps):
                    before = load()
                    log(f"  {driver} N={n} repetition {rep + 1}/{args.reps} (load {before[0]:.2f})")
                    for name in args.peers:
                        peer = PEERS[name](world, driver, os.path.join(workdir, f"{driver}-{n}"))
                        times = run_peer(peer, lambda p: addresses(world), log)
                        for phase, seconds in times.items():
                            samples.append({"driver": driver, "n": n, "peer": name, "rep": rep, "phase": phase,
                                            "seconds": seconds, "load": before[0]})
                    cleanup_driver(world, driver)
        finally:
            world.close()
    return samples


def cleanup_driver(world, driver):
    """Remove what the bridge peers left in the host namespace (their bridges), so the next
    repetition starts from the same state."""
    if driver == "bridge":
        for bridge in ("ulbe2e", "ulbeng", "ulbfl0", "ulbcni0", "ulbip0"):
            sh("ip", "-n", world.host, "link", "del", bridge, check=False)


def run_docker(args, workdir, log):
    samples = []
    world = World(0)
    dockerd = Dockerd(world, workdir, args.docker)
    try:
        dockerd.start()
        for driver in args.drivers:
            for rep in range(args.reps):
                before = load()
                log(f"  docker {driver} N={args.docker} repetition {rep + 1}/{args.reps} (load {before[0]:.2f})")
                for peer in (DockerConnect(world, driver, os.path.join(workdir, f"docker-{driver}"), dockerd),
                             DockerCollection(world, driver, os.path.join(workdir, f"docker-{driver}"), dockerd)):
                    times = run_peer(peer, lambda p: docker_addresses(dockerd, p), log)
                    label = "docker" if isinstance(peer, DockerConnect) else "e2e-docker"
                    for phase, seconds in times.items():
                        samples.append({"driver": driver, "n": args.docker, "peer": label, "rep": rep,
                                        "phase": phase, "seconds": seconds, "load": before[0]})
                if driver == "bridge":
                    dockerd.docker("network", "rm", "ulbdocker", check=False)
                    sh("ip", "-n", world.host, "link", "del", "ulbe2e", check=False)
    finally:
        dockerd.stop()
        world.close()
    return samples


def machine():
    def version(argv):
        try:
            return sh(*argv, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "not installed"

    import ansible  # pylint: disable=import-outside-toplevel
    import pyroute2  # pylint: disable=import-outside-toplevel
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cni = sh("dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins", check=False).stdout.strip()
    return {
        "kernel": platform.release(), "cpus": os.cpu_count(), "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
        "python": platform.python_version(), "ansible_core": ansible.__version__, "pyroute2": pyroute2.__version__,
        "iproute2": version(["ip", "-V"]), "cni_plugins": cni or "not installed",
        "docker": version(["dockerd", "--version"]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="10,100,200,1000", help="N values, comma-separated")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--drivers", default="macvlan,bridge")
    parser.add_argument("--peers", default="e2e,engine,floor,cni,ip")
    parser.add_argument("--docker", type=int, default=20, help="containers for docker network connect (0: skip)")
    parser.add_argument("--fleet", default="5,10,20", help="host counts for the fleet bench (empty: skip)")
    parser.add_argument("--fleet-reps", type=int, default=0, help="repetitions of the fleet bench (0: --reps)")
    parser.add_argument("--restarts", type=int, default=10,
                        help="restarts per container for the re-attach bench (bench/restart.py; 0: skip)")
    parser.add_argument("--out", required=True, help="file for the raw samples (JSON)")
    args = parser.parse_args(argv)
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    args.drivers = [x for x in args.drivers.split(",") if x]
    args.peers = [x for x in args.peers.split(",") if x]
    args.fleet = [int(x) for x in args.fleet.split(",") if x]
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces)")
    missing = [p for p in args.peers if p == "cni" and not os.path.exists(f"{CNI_PATH}/macvlan")]
    if missing:
        parser.error(f"{CNI_PATH} missing: apt-get install containernetworking-plugins (scripts/setup does)")
    atexit.register(cleanup_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def log(text):
        print(text, flush=True)

    workdir = tempfile.mkdtemp(prefix="underlay-bench-")
    report = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_start": load(),
              "reps": args.reps, "samples": [], "notes": []}
    try:
        report["samples"] += run_sizes(args, workdir, log)
        if args.docker:
            if shutil.which("dockerd") and shutil.which("docker") and os.path.exists("/bin/busybox"):
                report["samples"] += run_docker(args, workdir, log)
            else:
                report["notes"].append("docker: dockerd, docker or /bin/busybox missing; skipped")
        if args.fleet:
            import fleet  # pylint: disable=import-outside-toplevel
            report["samples"] += fleet.run(args, workdir, log, report["notes"])
        if args.restarts:
            import restart  # pylint: disable=import-outside-toplevel
            report["samples"] += restart.run(args, workdir, log, report["notes"])
    finally:
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
        report["load_end"] = load()
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
    return 0


def medians(samples):
    """{(driver, n, peer, phase): median seconds} over the repetitions (None when not measured)."""
    groups = {}
    for s in samples:
        groups.setdefault((s["driver"], s["n"], s["peer"], s["phase"]), []).append(s["seconds"])
    return {key: (statistics.median(v) if all(x is not None for x in v) else None) for key, v in groups.items()}


if __name__ == "__main__":
    sys.exit(main())
