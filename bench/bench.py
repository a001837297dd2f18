# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmarks: attaching N network namespaces to one macvlan, bridge or ipvlan network
with the collection (one ansible-playbook run with one batched task, and the engine alone),
the CNI plugins (macvlan, bridge or ipvlan with host-local IPAM, one call per namespace), a plain
`ip` command loop, and Docker's `network connect` (real containers, private dockerd).

Everything happens in throwaway network namespaces named ulb<token>...: a "host" namespace
holding the parent (one end of a veth pair whose other end sits in a "wire" namespace), and
one namespace per container. The machine's own interfaces, routes and firewall are never
touched, and every namespace made is removed, whatever happens. Run it through bench/run.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time

from lab import Dockerd, World, cleanup_all, load, on_signal, sh
from peer import KINDS, NOT_MEASURED, addresses, global_addresses
from peers_collection import DockerCollection, Engine, Playbook
from peers_others import CNI_PATH, CNI_TYPES, Cni, DockerConnect, Floor, IpLoop

PHASES = ("attach", "noop", "detach")

# the drivers the Docker peers (docker network connect, the collection on the same containers) run on
DOCKER_DRIVERS = ("macvlan", "bridge", "dualstack")
PEERS = {"e2e": Playbook, "engine": Engine, "floor": Floor, "cni": Cni, "ip": IpLoop}


# -- measuring ------------------------------------------------------------------------------
def timed(fn):
    """Seconds ``fn`` took (or the seconds it reports itself, or None when it has no such step)."""
    start = time.perf_counter()
    inner = fn()
    elapsed = time.perf_counter() - start
    if inner is NOT_MEASURED:
        return None
    return inner if isinstance(inner, float) else elapsed


def docker_addresses(dockerd, peer):
    """{container: [its addresses in the peer's subnet (and IPv6 subnet, on a dual-stack network)]}."""
    found = {}
    for name in dockerd.names:
        out = sh("nsenter", f"--net=/proc/{dockerd.pid(name)}/ns/net", "ip", "-j", *([] if peer.dual else ["-4"]),
                 "addr", "show", check=False).stdout or "[]"
        links = [link for link in json.loads(out) if link.get("ifname") != "lo" and "UP" in link.get("flags", [])]
        found[name] = [a for a in global_addresses(links, peer.dual)
                       if a.startswith(peer.net + ".") or (peer.dual and a.startswith(peer.net6))]
    return found


def run_peer(peer, read, log):
    """attach, verify, no-op, detach, verify; returns {phase: seconds or None}. ``peer.verified``:
    how many targets the check after attach found with their address."""
    peer.prepare()
    times = {"attach": timed(peer.attach)}
    found = read(peer)
    peer.verified = len(found)
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
                        times = run_peer(peer, lambda p: addresses(world, kind=KINDS[p.driver], six=p.dual), log)
                        for phase, seconds in times.items():
                            samples.append({"driver": driver, "n": n, "peer": name, "rep": rep, "phase": phase,
                                            "seconds": seconds, "load": before[0],
                                            **({"verified": peer.verified} if phase == "attach" else {})})
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
        for driver in [d for d in args.drivers if d in DOCKER_DRIVERS]:
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


def dual_stack_collection():
    """Whether the collection's networks take an IPv6 subnet (issue 18's dual stack)."""
    from ansible_collections.underlay.network.plugins.module_utils import _argspec  # pylint: disable=import-outside-toplevel
    return "ipv6_subnet" in _argspec.network()


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
    parser.add_argument("--drivers", default="macvlan,bridge",
                        help="macvlan, bridge, ipvlan (L2 mode; needs a kernel with ipvlan), dualstack (macvlan"
                             " with IPv4 and IPv6 endpoints), comma-separated")
    parser.add_argument("--peers", default="e2e,engine,floor,cni,ip")
    parser.add_argument("--docker", type=int, default=20, help="containers for docker network connect (0: skip)")
    parser.add_argument("--fleet", default="5,10,20", help="host counts for the fleet bench (empty: skip)")
    parser.add_argument("--fleet-reps", type=int, default=0, help="repetitions of the fleet bench (0: --reps)")
    parser.add_argument("--restarts", type=int, default=10,
                        help="restarts per container for the re-attach bench (bench/restart.py; 0: skip)")
    parser.add_argument("--names", type=int, default=20000,
                        help="lookups per run of the names bench (bench/names.py; 0: skip)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients of the names bench's lookups")
    parser.add_argument("--publish", type=int, default=20,
                        help="endpoints attached with publish and names, and without (bench/names.py; 0: skip)")
    parser.add_argument("--out", required=True, help="file for the raw samples (JSON)")
    args = parser.parse_args(argv)
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    args.drivers = [x for x in args.drivers.split(",") if x]
    args.peers = [x for x in args.peers.split(",") if x]
    args.fleet = [int(x) for x in args.fleet.split(",") if x]
    if args.publish == 1:
        parser.error("--publish: at least 2 endpoints (one asks for the other's name)")
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces)")
    unknown = sorted(set(args.drivers) - set(KINDS))
    if unknown:
        parser.error(f"--drivers: unknown {', '.join(unknown)} (known: {', '.join(sorted(KINDS))})")
    if "dualstack" in args.drivers and not dual_stack_collection():
        parser.error("--drivers dualstack: this collection's networks have no ipv6_subnet yet")
    missing = [CNI_TYPES[d] for d in args.drivers
               if "cni" in args.peers and args.sizes and not os.path.exists(f"{CNI_PATH}/{CNI_TYPES[d]}")]
    if missing:
        parser.error(f"{CNI_PATH}/{missing[0]} missing: apt-get install containernetworking-plugins (scripts/setup does)")
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
        if args.names or args.publish:
            import names  # pylint: disable=import-outside-toplevel
            report["samples"] += names.run(args, workdir, log, report["notes"])
    finally:
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
        report["load_end"] = load()
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
