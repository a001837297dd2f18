# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peers the collection is measured against: the CNI plugins, a plain ``ip`` loop, the
floor (the engine's kernel writes and nothing else) and Docker's ``network connect``."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import socket
import time

from lab import sh
from peer import NOT_MEASURED, Peer

CNI_PATH = "/usr/lib/cni"
# the CNI plugin of each network driver (a dual-stack network: macvlan, with an IPv6 range in host-local)
CNI_TYPES = {"macvlan": "macvlan", "ipvlan": "ipvlan", "bridge": "bridge", "dualstack": "macvlan"}


class Cni(Peer):
    """One CNI plugin call per namespace (ADD, then CHECK with the result a runtime keeps, DEL)."""

    name = "cni"

    def prepare(self):
        self.data = os.path.join(self.workdir, "ipam")
        shutil.rmtree(self.data, ignore_errors=True)
        ipam = {"type": "host-local", "ranges": [[{"subnet": self.subnet, "gateway": self.gateway}]],
                "routes": [{"dst": "0.0.0.0/0"}], "dataDir": self.data}
        if self.dual:
            ipam["ranges"].append([{"subnet": self.subnet6, "gateway": self.gateway6}])
            ipam["routes"].append({"dst": "::/0"})
        conf = {"cniVersion": "1.0.0", "name": "ulbcni", "ipam": ipam}
        if CNI_TYPES[self.driver] == "macvlan":
            conf.update(type="macvlan", master="veth0", mode="bridge")
        elif self.driver == "ipvlan":
            conf.update(type="ipvlan", master="veth0", mode="l2")
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

    def _address6(self, i):
        return f"{self.net6}{i + 2:x}"

    def prepare(self):
        if self.driver == "bridge":
            sh("ip", "-n", self.world.host, "link", "add", "ulbip0", "type", "bridge", check=False)
            sh("ip", "-n", self.world.host, "addr", "replace", f"{self.gateway}/16", "dev", "ulbip0")
            sh("ip", "-n", self.world.host, "link", "set", "ulbip0", "up")

    def attach(self):
        lines = []
        for i, ns in enumerate(self.targets()):
            scratch = f"ulbt{i}"
            if self.driver != "bridge":
                kind = CNI_TYPES[self.driver]
                mode = "l2" if kind == "ipvlan" else "bridge"
                lines.append(f"ip link add {scratch} link veth0 netns {ns} type {kind} mode {mode}")
                lines.append(f"ip -n {ns} link set {scratch} name eth0")
            else:
                lines.append(f"ip link add {scratch} type veth peer name eth0 netns {ns}")
                lines.append(f"ip link set {scratch} master ulbip0 up")
            lines.append(f"ip -n {ns} addr add {self._address(i)}/16 dev eth0")
            if self.dual:
                lines.append(f"ip -n {ns} addr add {self._address6(i)}/64 dev eth0 nodad")
            lines.append(f"ip -n {ns} link set eth0 up")
            lines.append(f"ip -n {ns} route add default via {self.gateway}")
            if self.dual:
                lines.append(f"ip -n {ns} -6 route add default via {self.gateway6}")
        self.host_exec("\n".join(lines) + "\n")

    def noop(self):
        lines = [f"ip -n {ns} -4 -o addr show dev eth0 | grep -q ' {self._address(i)}/16 '"
                 for i, ns in enumerate(self.targets())]
        if self.dual:
            lines += [f"ip -n {ns} -6 -o addr show dev eth0 | grep -q ' {self._address6(i)}/64 '"
                      for i, ns in enumerate(self.targets())]
        self.host_exec("\n".join(lines) + "\n")

    def detach(self):
        self.host_exec("".join(f"ip -n {ns} link del eth0\n" for ns in self.targets()))


class Floor(Peer):
    """The kernel work of the collection's endpoints and nothing else: one in-process loop of
    the same rtnetlink writes the engine makes (no reading, planning, leases or rollback).
    The link is made directly in the namespace under a scratch name, IPv6 is turned off on it
    (and on a bridge port's host end), it is renamed eth0, then address, up, default route and
    the gratuitous ARP (an ipvlan's with its parent's MAC, read once before the loop, as it
    has no MAC of its own). On a dual-stack network IPv6 is turned on again after the rename
    (no router advertisements, no SLAAC), the IPv6 address added without DAD, an IPv6 default
    route added and an unsolicited neighbour advertisement sent, as the engine does. What the
    engine costs above this is the collection's own overhead."""

    name = "floor"

    def prepare(self):
        from ansible_collections.underlay.network.plugins.module_utils import _netns, _packet_sockets, _rtnl_codec
        # the engine's own helpers for entering a namespace, turning IPv6 off and the ARP frame
        self.rtnl = _rtnl_codec
        self.entered = _netns.entered
        self.ipv6_off = _netns.ipv6_off
        self.garp_frame = _packet_sockets.gratuitous_arp_frame
        if self.dual:  # and IPv6 on again for a dual-stack endpoint, and its neighbour advertisement
            self.ipv6_on = _netns.ipv6_endpoint
            self.na_message = _packet_sockets.unsolicited_na_message
        if self.driver == "bridge":
            sh("ip", "-n", self.world.host, "link", "add", "ulbfl0", "type", "bridge", check=False)
            sh("ip", "-n", self.world.host, "addr", "replace", f"{self.gateway}/16", "dev", "ulbfl0")
            sh("ip", "-n", self.world.host, "link", "set", "ulbfl0", "up")

    def _address(self, i):
        value = i + 2
        return bytes([int(x) for x in self.net.split(".")] + [value // 256, value % 256])

    def _address6(self, i):
        return socket.inet_pton(socket.AF_INET6, f"{self.net6}{i + 2:x}")

    def _announce6(self, index, address6, mac):
        """The unsolicited neighbour advertisement of ``address6`` at ``mac`` to ff02::1 (as the engine sends it)."""
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            sock.bind((socket.inet_ntop(socket.AF_INET6, address6), 0, 0, 0))
            sock.sendto(self.na_message(mac, address6), ("ff02::1", 0, 0, index))
        finally:
            sock.close()

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
        gateway6 = socket.inet_pton(socket.AF_INET6, self.gateway6) if self.dual else None
        try:
            parent = host.index("ulbfl0" if self.driver == "bridge" else "veth0")
            parent_mac = host.link(parent)[1][rt.IFLA_ADDRESS] if self.driver == "ipvlan" else None
            for i, ns in enumerate(self.targets()):
                address = self._address(i)
                mac = parent_mac or b"\x02\x42" + address
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    if self.driver == "ipvlan":
                        host.newlink(rt.attr_str(rt.IFLA_IFNAME, "ulbscratch"), rt.attr_u32(rt.IFLA_LINK, parent),
                                     rt.attr_u32(rt.IFLA_NET_NS_FD, fd), rt.ipvlan_info("l2", "bridge"))
                    elif self.driver != "bridge":  # macvlan (dual-stack too)
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
                            if self.dual:
                                self.ipv6_on("eth0")
                                conn.address(True, index, self._address6(i), 64, family=socket.AF_INET6,
                                             ifa_flags=rt.ADDRESS_NODAD)
                            conn.setlink(index, up=True)
                            conn.route(True, bytes(4), 0, gateway=gateway)
                            if self.dual:
                                conn.route(True, bytes(16), 0, gateway=gateway6, family=socket.AF_INET6)
                        finally:
                            conn.close()
                        sock.bind(("eth0", 0))
                        sock.send(self.garp_frame(mac, address))
                        closer.submit(sock.close)
                        if self.dual:
                            self._announce6(index, self._address6(i), mac)
                    with self.entered(fd):
                        inside()
                finally:
                    os.close(fd)
        finally:
            closer.shutdown(wait=True)
            host.close()

    def noop(self):
        """Confirm each endpoint: one request for eth0 and one for its addresses per namespace (and
        one for its IPv6 addresses on a dual-stack network)."""
        rt = self.rtnl

        def check(i):
            conn = rt.Rtnl()
            try:
                index = conn.index("eth0")
                found = [a for _h, a in conn.addresses(index, socket.AF_INET)]
                if not any(a.get(rt.IFA_LOCAL) == self._address(i) for a in found):
                    raise RuntimeError("floor: an address is missing")
                if self.dual and not any(a.get(rt.IFA_ADDRESS) == self._address6(i)
                                         for _h, a in conn.addresses(index, socket.AF_INET6)):
                    raise RuntimeError("floor: an IPv6 address is missing")
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


class DockerConnect(Peer):
    name = "docker"

    def __init__(self, world, driver, workdir, dockerd):
        super().__init__(world, driver, workdir)
        self.dockerd = dockerd

    def targets(self):
        return self.dockerd.names

    def prepare(self):
        self.dockerd.docker("network", "rm", "ulbdocker", check=False)
        options = ["-o", "com.docker.network.bridge.name=ulbdk0"] if self.driver == "bridge" else \
            ["-o", "parent=veth0", "-o", "macvlan_mode=bridge"]
        if self.dual:
            options += ["--ipv6", "--subnet", self.subnet6, "--gateway", self.gateway6]
        self.dockerd.docker("network", "create", "-d", CNI_TYPES[self.driver], "--subnet", self.subnet, "--gateway",
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


class DockerRun(Peer):
    """Docker containers on a Docker bridge network, whose names are always on (the embedded DNS
    at 127.0.0.11); with ``publish``, each also ``-p HOST_PORT:80`` (a host port of its own). A
    Docker container is put on its networks and publishes its ports when it starts, so the
    containers are made before, untimed (``docker create --network NET [-p ...]``), and the
    attach is a bash loop of ``docker start``; detach is ``docker rm -f``."""

    name = "docker-run"
    publish = False
    first_port = 32000

    def __init__(self, world, driver, workdir, dockerd, count):
        super().__init__(world, driver, workdir)
        self.dockerd = dockerd
        self.count = count
        self.network = f"ulb{self.name.replace('-', '')}"

    def targets(self):
        return [f"ulb{self.world.token}{'p' if self.publish else 'r'}{i}" for i in range(self.count)]

    def ports(self):
        """{container: host port}"""
        return {name: self.first_port + i for i, name in enumerate(self.targets())} if self.publish else {}

    def prepare(self):
        self.dockerd.docker("network", "rm", self.network, check=False)
        self.dockerd.docker("network", "create", "-d", "bridge", "--subnet", self.subnet, "--gateway", self.gateway,
                            "-o", f"com.docker.network.bridge.name={self.network[:15]}", self.network)
        self.dockerd.names += [name for name in self.targets() if name not in self.dockerd.names]
        ports = self.ports()
        self._script([f"docker create --name {name} --network {self.network}"
                      + (f" -p {ports[name]}:80" if ports else "") + " ulb-busybox:bench sleep 100000 >/dev/null"
                      for name in self.targets()])

    def _script(self, lines):
        path = os.path.join(self.workdir, "loop.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("set -e\n" + "".join(line + "\n" for line in lines))
        sh("bash", path, env=self.dockerd.env)

    def attach(self):
        self._script([f"docker start {name} >/dev/null" for name in self.targets()])

    def noop(self):
        return NOT_MEASURED  # docker start of a running container does nothing a run would check

    def detach(self):
        self._script([f"docker rm -f {name} >/dev/null" for name in self.targets()])


class DockerRunPublish(DockerRun):
    name = "docker-run-publish"
    publish = True
    first_port = 33000
