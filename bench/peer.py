# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every bench peer is (``Peer``: prepare untimed, then attach, no-op and detach timed), each
peer's subnet, and the independent check of what a peer left (``addresses``, read with ``ip -j``)."""

from __future__ import annotations

import concurrent.futures
import json
import os

from lab import sh

# per peer: its subnet (each peer its own, so nothing overlaps while worlds are reused)
SUBNETS = {"e2e": "10.201", "engine": "10.202", "floor": "10.206", "cni": "10.203", "ip": "10.204", "docker": "10.205",
           # the names bench (bench/names.py): attach with publish and names on, and the same without
           "engine-publish": "10.207", "engine-nodns": "10.208", "e2e-publish": "10.209", "e2e-nodns": "10.210",
           "docker-run-publish": "10.211", "docker-run": "10.212", "engine-dns": "10.215",
           "engine-publish-only": "10.216"}
NOT_MEASURED = "not measured"  # what a peer's step returns when it has no such step


# the kind of link an endpoint of each network driver is (what `ip -d` calls it); "dualstack":
# a macvlan network with an IPv6 subnet beside its IPv4 one (each endpoint gets one of each)
KINDS = {"macvlan": "macvlan", "ipvlan": "ipvlan", "bridge": "veth", "dualstack": "macvlan"}
DUAL_STACK = ("dualstack",)


def global_addresses(links, six=False):
    """The IPv4 CIDRs (and with ``six`` the global IPv6 ones, after them) of ``links``, as
    `ip -j addr show` lists them."""
    found = [f"{a['local']}/{a['prefixlen']}" for link in links for a in link.get("addr_info", [])
             if a.get("family") == "inet"]
    return found + [f"{a['local']}/{a['prefixlen']}" for link in links for a in link.get("addr_info", [])
                    if six and a.get("family") == "inet6" and a.get("scope") == "global"]


def addresses(world, count=None, kind=None, six=False):
    """{container: [IPv4 CIDRs on eth0, then with ``six`` its global IPv6 ones]} read with `ip -j`
    (independent of the collection); with ``kind``, only an eth0 of that link kind (``KINDS``) counts."""
    names = world.containers[:count] if count else world.containers

    def one(ns):
        out = sh("ip", "-n", ns, "-d", "-j", *([] if six else ["-4"]), "addr", "show", check=False).stdout or "[]"
        return ns, global_addresses([link for link in json.loads(out) if link.get("ifname") == "eth0"
                                     and "UP" in link.get("flags", [])
                                     and kind in (None, link.get("linkinfo", {}).get("info_kind"))], six)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, names))


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
        self.dual = driver in DUAL_STACK

    @property
    def net6(self):
        """The IPv6 /64's prefix on a dual-stack network: fd00:10:203:: for 10.203."""
        return "fd00:" + self.net.replace(".", ":") + "::"

    @property
    def subnet6(self):
        return f"{self.net6}/64"

    @property
    def gateway6(self):
        return f"{self.net6}1"

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
        """A predicate on one container's eth0 addresses after attach (IPv4, then IPv6 on a dual-stack network)."""
        if self.dual:
            return lambda found: (len(found) == 2 and found[0].startswith(self.net + ".") and found[0].endswith("/16")
                                  and found[1].startswith(self.net6) and found[1].endswith("/64"))
        return lambda found: len(found) == 1 and found[0].startswith(self.net + ".") and found[0].endswith("/16")

    def host_exec(self, script):
        """Run a bash script inside the host namespace (the CNI plugins and ip act there)."""
        path = os.path.join(self.workdir, "loop.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("set -e\n" + script)
        return sh("ip", "netns", "exec", self.world.host, "bash", path)
