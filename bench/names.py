# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names bench (issue 17), beside Docker doing the same on this machine:

- **lookups per second**: one endpoint asks 127.0.0.11 for another endpoint's name, Q queries
  over UDP from C client processes (``bench/dnsload.py``, started with ``nsenter --net`` in the
  asking namespace, the same client for both): the collection's resolver (a bridge network with
  ``dns`` on, two ``container_netns`` endpoints of a test-made host namespace, its resolver run
  as its service runs it) against Docker's embedded DNS (``docker network create``, two
  containers on that user-defined bridge network);
- **attach with publish and names**: N endpoints on a bridge network with ``dns`` on, each
  publishing one port, against the same N with names off and nothing published (the engine
  alone and one ansible-playbook run); Docker's ``docker run -d --network NET -p PORT:80``
  against the same without ``-p`` (Docker's names are always on). After each attach, untimed:
  every endpoint has its address, one endpoint resolves another's name, and each published
  port has its DNAT rule in the host namespace.

The collection's peers run in a world of their own, the Docker peers in another, with a private
dockerd using its own iptables rules there (its defaults: a published port is a DNAT rule and a
userland proxy), so neither sees the other's rules.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

import lab
from peer import NOT_MEASURED, addresses
from peers_collection import (EngineDnsOnly, EngineNoNames, EnginePublish, EnginePublishOnly, PlaybookNoNames,
                              PlaybookPublish)
from peers_others import DockerRun, DockerRunPublish

from ansible_collections.underlay.network.plugins.module_utils import _runner  # lab puts the collection on sys.path
from ansible_collections.underlay.network.plugins.module_utils._resources import BRIDGE_NETWORK, CONTAINER_ENDPOINT

CLIENT = os.path.join(lab.BENCH, "dnsload.py")
PHASES = ("attach", "noop", "detach")


def ask(netns_path, name, expect, queries=1, clients=1):
    """``bench/dnsload.py`` inside the namespace at ``netns_path``: its JSON report; raises
    unless every query was answered with ``expect``."""
    proc = lab.sh("nsenter", f"--net={netns_path}", "--", sys.executable, CLIENT, "--name", name, "--expect", expect,
                  "--queries", str(queries), "--clients", str(clients), check=False)
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"names bench: the client failed: {proc.stderr[-2000:]}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"names bench: {name} at 127.0.0.11 in {netns_path}: {report}")
    return report


# -- lookups per second ---------------------------------------------------------------------
def _collection_pair(world, workdir):
    """The collection's two endpoints on a bridge network with names on: (asker's namespace
    path, the other's name, its address)."""
    state_dir = os.path.join(workdir, "state")
    _runner.run(BRIDGE_NETWORK, {"name": "ulbnames", "bridge_name": "ulbnames0", "subnet": "10.213.0.0/24",
                                 "masquerade": False, "dns": True, "netns": world.host, "state_dir": state_dir})
    result = _runner.run(CONTAINER_ENDPOINT, {"network": "ulbnames", "netns": world.host, "state_dir": state_dir,
                                              "endpoints": [{"container_netns": ns} for ns in world.containers]})
    found = {os.path.basename(ep["netns"]): ep["ipv4_address"].split("/")[0] for ep in result["endpoints"]}
    asker, other = world.containers
    return f"/run/netns/{asker}", other, found[other]


def _docker_pair(dockerd):
    dockerd.docker("network", "create", "-d", "bridge", "--subnet", "10.214.0.0/24",
                   "-o", "com.docker.network.bridge.name=ulbnamesdk0", "ulbnames")
    names = [f"ulb{dockerd.world.token}n{i}" for i in range(2)]
    for name in names:
        dockerd.docker("run", "-d", "--name", name, "--network", "ulbnames", "ulb-busybox:bench", "sleep", "100000")
        dockerd.names.append(name)
    address = dockerd.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             names[1]).stdout.strip()
    return f"/proc/{dockerd.pid(names[0])}/ns/net", names[1], address


def lookups(args, workdir, log, dockerd):
    """Samples of ``lookup`` (seconds for ``args.names`` queries), peers lookup-collection and
    lookup-docker (``n`` = queries; the clients are in the sample)."""
    samples = []
    world = lab.World(2)
    where = os.path.join(workdir, "names-lookups")
    try:
        # the resolver runs as its service runs it, before the endpoints come (as dockerd does)
        with lab.names_resolver(os.path.join(where, "state"), world.host, where):
            pairs = {"lookup-collection": _collection_pair(world, where)}
            if dockerd is not None:
                pairs["lookup-docker"] = _docker_pair(dockerd)
            for rep in range(args.reps):
                for peer, (path, name, address) in pairs.items():
                    try:
                        ask(path, name, address)  # warm: the first query, untimed
                    except RuntimeError as err:
                        if peer != "lookup-collection":
                            raise
                        raise RuntimeError(f"{err}; the collection's resolver said: {_tail(where)}") from None
                    before = lab.load()[0]
                    report = ask(path, name, address, args.names, args.clients)
                    log(f"    {peer:18s} {args.names} queries, {args.clients} clients: {report['seconds']:.3f} s,"
                        f" {args.names / report['seconds']:8.0f} queries/s")
                    samples.append({"driver": "names", "n": args.names, "peer": peer, "rep": rep, "phase": "lookup",
                                    "seconds": report["seconds"], "clients": args.clients, "load": before})
    finally:
        world.close()
    return samples


def _tail(where):
    with open(os.path.join(where, "resolver.log"), encoding="utf-8") as handle:
        return handle.read()[-1500:] or "nothing"


# -- attach with publish and names ------------------------------------------------------------
def _nat_rules(netns):
    """The host namespace's ruleset (nft, which lists iptables-nft's rules too)."""
    return lab.sh("nsenter", f"--net=/run/netns/{netns}", "--", "nft", "list", "ruleset").stdout


def _check_collection(peer):
    bad = {ns: found for ns, found in addresses(peer.world).items() if not peer.expected()(found)}
    if bad:
        raise RuntimeError(f"{peer.name}: after attach {len(bad)} namespaces lack their address: {sorted(bad)[:3]}")
    if peer.dns:
        asker, other = peer.targets()[:2]
        address = lab.sh("ip", "-n", other, "-j", "-4", "addr", "show", "dev", "eth0").stdout
        ask(f"/run/netns/{asker}", other, json.loads(address)[0]["addr_info"][0]["local"])
    if peer.publish:
        _check_ports(peer, _nat_rules(peer.world.host))


def _check_docker(peer):
    pids = {name: peer.dockerd.pid(name) for name in peer.targets()}
    asker, other = peer.targets()[:2]
    address = peer.dockerd.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                                  other).stdout.strip()
    if not address.startswith(peer.net + "."):
        raise RuntimeError(f"{peer.name}: {other} has no address of {peer.subnet}: {address!r}")
    ask(f"/proc/{pids[asker]}/ns/net", other, address)
    if peer.publish:
        _check_ports(peer, _nat_rules(peer.world.host))


def _check_ports(peer, rules):
    missing = [port for port in peer.ports().values() if f"dport {port} " not in rules]
    if missing:
        raise RuntimeError(f"{peer.name}: no DNAT rule for host ports {missing[:5]}")


def _run_peer(peer, check, log):
    """prepare, attach (timed), check, no-op (timed), detach (timed); {phase: seconds or None}."""
    peer.prepare()
    times = {}
    for phase in PHASES:
        start = time.perf_counter()
        inner = getattr(peer, phase)()
        times[phase] = None if inner is NOT_MEASURED else time.perf_counter() - start
        if phase == "attach":
            check(peer)
    shown = [f"{phase} {times[phase] * 1000:8.1f} ms" if times[phase] is not None else f"{phase}      n/a"
             for phase in PHASES]
    log(f"    {peer.name:19s} " + "  ".join(shown))
    return times


def attach_publish(args, workdir, log, dockerd):
    """Samples of attach/noop/detach for N = ``args.publish`` endpoints, with and without
    publish and names, the collection's peers and Docker's."""
    samples = []
    world = lab.World(args.publish)
    where = os.path.join(workdir, "names-publish")
    try:
        for rep in range(args.reps):
            before = lab.load()[0]
            log(f"  publish and names, N={args.publish} repetition {rep + 1}/{args.reps} (load {before:.2f})")
            runs = []
            for kind in (EngineNoNames, EnginePublish, EngineDnsOnly, EnginePublishOnly, PlaybookNoNames,
                         PlaybookPublish):
                peer = kind(world, "bridge", where)
                if peer.dns:  # its service runs before the attach, as dockerd does
                    with lab.names_resolver(peer.state_dir, world.host, peer.workdir):
                        runs.append((peer, _run_peer(peer, _check_collection, log)))
                else:
                    runs.append((peer, _run_peer(peer, _check_collection, log)))
                lab.sh("ip", "-n", world.host, "link", "del", peer.bridge, check=False)
            if dockerd is not None:
                for kind in (DockerRun, DockerRunPublish):
                    peer = kind(dockerd.world, "bridge", where, dockerd, args.publish)
                    runs.append((peer, _run_peer(peer, _check_docker, log)))
                    dockerd.docker("network", "rm", peer.network, check=False)
            for peer, times in runs:
                for phase, seconds in times.items():
                    samples.append({"driver": "publish", "n": args.publish, "peer": peer.name, "rep": rep,
                                    "phase": phase, "seconds": seconds, "load": before})
    finally:
        world.close()
    return samples


def run(args, workdir, log, notes):
    """The names bench: lookups (``args.names`` queries; 0 skips) and attach with publish
    (``args.publish`` endpoints; 0 skips), each beside Docker when Docker is here."""
    dockerd = None
    docker_world = None
    samples = []
    if not (shutil.which("dockerd") and shutil.which("docker") and os.path.exists("/bin/busybox")):
        notes.append("names: dockerd, docker or /bin/busybox missing; the collection alone")
    else:
        docker_world = lab.World(0)
        dockerd = lab.Dockerd(docker_world, workdir, 0, iptables=True)
    try:
        if dockerd is not None:
            dockerd.start()
        if args.names:
            log(f"  names: {args.names} lookups, {args.clients} clients (load {lab.load()[0]:.2f})")
            samples += lookups(args, workdir, log, dockerd)
        if args.publish:
            samples += attach_publish(args, workdir, log, dockerd)
    finally:
        if dockerd is not None:
            dockerd.stop()
        if docker_world is not None:
            docker_world.close()
    return samples
