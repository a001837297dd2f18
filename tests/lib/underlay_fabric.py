# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A physical network made of network namespaces, with hosts reachable over real SSH.

    python underlay_fabric.py up     --workdir DIR --spec SPEC.yml   builds it, writes DIR/inventory.yml
    python underlay_fabric.py matrix --workdir DIR --expect FILE.yml pings, prints the matrix, checks it
    python underlay_fabric.py down   --workdir DIR                   removes everything it made

The matrix file lists probes, each ``{from: NS, ..., expect: WHAT, why: TEXT}``:
    to: NS|ADDRESS           ping: direct (TTL 64), routed (TTL below 64) or blocked
    to6: NS|ADDRESS          the same over IPv6 (ping -6, hop limit; NS: its first global IPv6 address)
    resolve: NAME            the name asked through the container's own resolv.conf (the one its
                             host wrote): resolves (to addresses its leases give that name, as the
                             inspect view shows them), unresolved, or wrong (other addresses)
    connect: TARGET:PORT     a TCP connection: open or blocked (TARGET an address, a container
                             of the fabric, or a name resolved as ``resolve`` does)
    http: TARGET:PORT        GET /: page (200, and the text of ``page:`` when given) or blocked

The spec (YAML):
    prefix: lab-                       # namespace names are PREFIX + name
    trunk: ens33                       # each host's uplink, cabled to the switch
    router:                            # the gateways; 'untagged' needs no 802.1Q
      vlans: {100: 10.0.0.1/24, 200: [192.168.3.1/24, "fd00:200::1/64"]}   # one address or a list
      untagged: [10.99.0.1/16]
      routes: {10.40.0.0/24: 10.99.0.2}   # static routes: destination -> next hop
    hosts: [host1, host2]
    uplinks:                           # a host's own address(es) on the untagged trunk and its
      host2: {addresses: [10.99.0.2/16], gateway: 10.99.0.1}   # default route (as installed)
    containers: [h1-web, h2-web]        # plain namespaces, targets of container_netns
    listeners:                         # servers run in containers (again after a reboot)
      h1-web: {http: 80}               # answers GET / with a page naming the container
      h1-db: {tcp: 3306}               # accepts connections

Each host is a namespace with its own /etc, /var/lib and /usr/local (overlays over the machine's, kept
in DIR/hosts/NAME, mounted once in a mount namespace of the host's own, DIR/mounts/NAME), entered
by SSH through a ProxyCommand that runs `sshd -i` inside both namespaces: a real SSH connection
without touching any interface or route of the machine itself. A reboot kills every process of
the host's mount namespace. The overlay upper directories must not live on an overlay filesystem (in the VM
lane, put DIR under /run).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.server
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request

import yaml

SSHD = "/usr/sbin/sshd"
PROXY = """#!/bin/sh
# ProxyCommand: an SSH session with namespace host $1, in the host's own mount namespace (its
# /etc, /var/lib and /usr/local: overlays kept under {hosts}/$1, mounted once by `up`)
set -eu
ns="$1"
exec nsenter --mount="{mounts}/${{ns#{prefix}}}" --net="/run/netns/$ns" -- {sshd} -i -f "{config}"
"""
# the host's mount namespace, made once by `up` (every session and every process of the host
# sees the same overlay mounts, as on a machine: a lock one session's process holds is seen by
# the next session); its /sys shows the host's network namespace, as `ip netns exec` does
HOST_MOUNTS = """umount -l /sys
mount -t sysfs sysfs /sys
mount -t overlay underlay-etc -o "lowerdir=/etc,upperdir=$1/etc,workdir=$1/etc.work" /etc
mount -t overlay underlay-var -o "lowerdir=/var/lib,upperdir=$1/var,workdir=$1/var.work" /var/lib
mount -t overlay underlay-local -o "lowerdir=/usr/local,upperdir=$1/local,workdir=$1/local.work" /usr/local
"""
SSHD_CONFIG = """HostKey {workdir}/ssh_host_ed25519_key
AuthorizedKeysFile {workdir}/id_ed25519.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
Subsystem sftp internal-sftp
"""


def run(*argv, check=True, capture=False):
    """Run a command given as an argument vector (never through a shell)."""
    return subprocess.run(argv, check=check, text=True,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


def ns_run(ns, *argv, check=True, capture=False):
    return run("ip", "netns", "exec", ns, *argv, check=check, capture=capture)


class Fabric:
    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.state_path = os.path.join(self.workdir, "fabric.json")

    # ------------------------------------------------------------------ state
    def _load(self):
        with open(self.state_path, encoding="utf-8") as stream:
            return json.load(stream)

    def _save(self, state):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(state, stream, indent=2)
        os.replace(tmp, self.state_path)

    # ------------------------------------------------------------------ up
    def up(self, spec):
        os.makedirs(self.workdir, exist_ok=True)
        prefix = spec.get("prefix", "lab-")
        trunk = spec.get("trunk", "eth0")
        hosts = list(spec.get("hosts", []))
        containers = list(spec.get("containers", []))
        router = spec.get("router") or {}
        names = [prefix + "switch", prefix + "router"] + [prefix + h for h in hosts] + [prefix + c for c in containers]
        for name in names:
            if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
                raise SystemExit(f"fabric: bad namespace name {name!r}")
        state = {"prefix": prefix, "trunk": trunk, "hosts": hosts, "containers": containers, "namespaces": [],
                 "listeners": {prefix + name: dict(kinds) for name, kinds in (spec.get("listeners") or {}).items()},
                 "pids": {}}
        self._save(state)
        try:
            for name in names:
                run("ip", "netns", "add", name)
                state["namespaces"].append(name)
                self._save(state)
                run("ip", "-n", name, "link", "set", "lo", "up")
                # no duplicate address detection: links are final at once (namespace-local sysctls)
                ns_run(name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
            switch, router_ns = prefix + "switch", prefix + "router"
            run("ip", "-n", switch, "link", "add", "sw0", "up", "type", "bridge")
            self._cable(switch, "r0", router_ns, "trunk0")
            for vid, addresses in sorted((router.get("vlans") or {}).items()):
                run("ip", "-n", router_ns, "link", "add", "link", "trunk0", "name", f"trunk0.{vid}",
                    "type", "vlan", "id", str(int(vid)))
                for address in _listed(addresses):
                    run("ip", "-n", router_ns, "addr", "add", address, "dev", f"trunk0.{vid}")
                run("ip", "-n", router_ns, "link", "set", f"trunk0.{vid}", "up")
            for address in router.get("untagged") or []:
                run("ip", "-n", router_ns, "addr", "add", address, "dev", "trunk0")
            ns_run(router_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
            for destination, via in sorted((router.get("routes") or {}).items()):
                run("ip", "-n", router_ns, "route", "add", str(destination), "via", str(via))
            uplinks = spec.get("uplinks") or {}
            for position, host in enumerate(hosts):
                self._cable(switch, f"p{position}", prefix + host, trunk)
                self._uplink(prefix + host, trunk, uplinks.get(host) or {})
                self._host_root(state, host)
            for ns in sorted(state["listeners"]):
                self._listen(state, ns)
            self._ssh(state)
        except BaseException:
            self.down()
            raise
        return state

    def _listen(self, state, ns):
        """Start the listeners of container ``ns`` (its own processes, as a container's)."""
        for pid in state["pids"].pop(ns, []):
            _kill(pid)
        for kind, port in sorted(state["listeners"].get(ns, {}).items()):
            with open(os.path.join(self.workdir, "listeners.log"), "ab") as log:
                proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "_listen", kind,
                     str(int(port)), ns], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            state["pids"].setdefault(ns, []).append(proc.pid)
            self._save(state)

    @staticmethod
    def _uplink(ns, trunk, uplink):
        """A host's own addresses on the untagged trunk and its default route, as installed."""
        for address in _listed(uplink.get("addresses")):
            run("ip", "-n", ns, "addr", "add", address, "dev", trunk)
        if uplink.get("gateway"):
            run("ip", "-n", ns, "route", "add", "default", "via", str(uplink["gateway"]), "dev", trunk)

    @staticmethod
    def _cable(switch, port, ns, ifname):
        run("ip", "-n", switch, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
        run("ip", "-n", switch, "link", "set", port, "master", "sw0", "up")
        run("ip", "-n", ns, "link", "set", ifname, "up")

    def _host_root(self, state, host):
        root = os.path.join(self.workdir, "hosts", host)
        for sub in ("etc", "etc.work", "var", "var.work", "local", "local.work"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        os.makedirs(os.path.join(root, "etc", "sysconfig", "network-scripts"), exist_ok=True)
        mounts = self.mounts
        if not _mounted(mounts):  # a namespace file is bound only on a private mount
            os.makedirs(mounts, exist_ok=True)
            run("mount", "--bind", mounts, mounts)
            run("mount", "--make-private", mounts)
        target = os.path.join(mounts, host)
        with open(target, "a", encoding="utf-8"):
            pass
        # slave: namespaces the machine adds under /run/netns later are seen by the host too
        run("nsenter", f"--net=/run/netns/{state['prefix'] + host}", "--", "unshare", f"--mount={target}",
            "--propagation", "slave", "--", "sh", "-euc", HOST_MOUNTS, "sh", root)

    @property
    def mounts(self):
        return os.path.join(self.workdir, "mounts")

    def _stop_host_processes(self, host):
        """Kill every process of ``host`` (those in its mount namespace), as its shutdown would."""
        try:
            ns_inode = os.stat(os.path.join(self.mounts, host)).st_ino
        except FileNotFoundError:
            return
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}/ns/mnt").st_ino == ns_inode:
                    os.kill(int(entry), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue

    def _ssh(self, state):
        key = os.path.join(self.workdir, "id_ed25519")
        hostkey = os.path.join(self.workdir, "ssh_host_ed25519_key")
        for path in (key, hostkey):
            if not os.path.exists(path):
                run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path)
        config = os.path.join(self.workdir, "sshd_config")
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(SSHD_CONFIG.format(workdir=self.workdir))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        proxy = os.path.join(self.workdir, "proxy")
        with open(proxy, "w", encoding="utf-8") as stream:
            stream.write(PROXY.format(hosts=os.path.join(self.workdir, "hosts"), prefix=state["prefix"],
                                      mounts=self.mounts, sshd=SSHD, config=config))
        os.chmod(proxy, stat.S_IRWXU)
        inventory = {"all": {
            "hosts": {host: {"ansible_host": state["prefix"] + host} for host in state["hosts"]},
            "vars": {
                "ansible_connection": "ssh",
                "ansible_user": "root",
                "ansible_ssh_private_key_file": key,
                "ansible_ssh_common_args": (f"-o ProxyCommand='{proxy} %h' -o StrictHostKeyChecking=no "
                                            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"),
                "ansible_python_interpreter": sys.executable,
            }}}
        with open(os.path.join(self.workdir, "inventory.yml"), "w", encoding="utf-8") as stream:
            yaml.safe_dump(inventory, stream, default_flow_style=False, sort_keys=False)

    # ------------------------------------------------------------------ down
    def down(self):
        if not os.path.exists(self.state_path):
            return
        state = self._load()
        for pids in state.get("pids", {}).values():
            for pid in pids:
                _kill(pid)
        for host in state.get("hosts", []):
            self._stop_host_processes(host)
            run("umount", os.path.join(self.mounts, host), check=False, capture=True)
        while _mounted(self.mounts):
            run("umount", self.mounts, capture=True)
        for name in reversed(state.get("namespaces", [])):
            run("ip", "netns", "del", name, check=False, capture=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ reboot
    def reboot(self, host):
        """Leave ``host`` as a reboot would: its kernel state gone but for the trunk NIC and the
        VLAN sub-interfaces (with their addresses) that its ifcfg files declare (what the OS
        brings up at boot), and its containers' namespaces empty (their runtime starts them
        again, without any endpoint). Returns the namespaces made empty."""
        state = self._load()
        ns = state["prefix"] + host
        root = os.path.join(self.workdir, "hosts", host)
        owners = set()
        leases = os.path.join(root, "var", "underlay-network", "leases")
        for entry in sorted(os.listdir(leases)) if os.path.isdir(leases) else ():
            with open(os.path.join(leases, entry), encoding="utf-8") as stream:
                owners.update(lease["owner"].split(":", 1)[1] for lease in json.load(stream)["leases"].values()
                              if lease["owner"].startswith("netns:"))
        self._stop_host_processes(host)  # its resolver, its services: a reboot ends them all
        for link in json.loads(run("ip", "-n", ns, "-j", "link", "show", capture=True).stdout):
            if link["ifname"] not in ("lo", state["trunk"]):
                run("ip", "-n", ns, "link", "del", link["ifname"], check=False, capture=True)
        ns_run(ns, "nft", "flush", "ruleset")
        ns_run(ns, "sysctl", "-qw", "net.ipv4.ip_forward=0")
        for name in sorted(owners):
            run("ip", "netns", "del", name)
            run("ip", "netns", "add", name)
            run("ip", "-n", name, "link", "set", "lo", "up")
            if name in state.get("listeners", {}):  # the container's processes start again
                self._listen(state, name)
        scripts = os.path.join(root, "etc", "sysconfig", "network-scripts")
        for entry in sorted(os.listdir(scripts)):
            if entry.startswith("ifcfg-"):
                self._ifup(ns, os.path.join(scripts, entry))
        return sorted(owners)

    @staticmethod
    def _ifup(ns, path):
        """Bring up a VLAN an ifcfg file declares, as the OS's network scripts would."""
        keys = {}
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if "=" in line and not line.lstrip().startswith("#"):
                    key, value = line.strip().split("=", 1)
                    keys[key] = (shlex.split(value) or [""])[0]
        if keys.get("VLAN") != "yes":
            return
        device = keys["DEVICE"]
        run("ip", "-n", ns, "link", "add", "link", keys["PHYSDEV"], "name", device, "type", "vlan",
            "id", keys.get("VLAN_ID") or device.rsplit(".", 1)[1])
        if keys.get("MTU"):
            run("ip", "-n", ns, "link", "set", device, "mtu", keys["MTU"])
        for suffix in [""] + [str(i) for i in range(10)]:
            if keys.get("IPADDR" + suffix):
                run("ip", "-n", ns, "addr", "add", f"{keys['IPADDR' + suffix]}/{keys.get('PREFIX' + suffix, '24')}",
                    "dev", device)
        run("ip", "-n", ns, "link", "set", device, "up")

    # ------------------------------------------------------------------ matrix
    def address_of(self, ns, family=4):
        """The first global IPv4 (``family`` 6: IPv6) address of a namespace (its endpoint's address)."""
        out = run("ip", "-n", ns, "-j", f"-{family}", "addr", "show", "scope", "global", capture=True).stdout
        for link in json.loads(out or "[]"):
            for info in link.get("addr_info", []):
                return info["local"]
        return None

    def probe(self, source, target, family=4):
        """'direct' (TTL 64: same segment), 'routed' (TTL below 64) or 'blocked' (``family`` 6:
        ping -6, whose reply's hop limit ping shows as ttl)."""
        done = ns_run(source, "ping", f"-{family}", "-n", "-c", "1", "-W", "2", target, check=False, capture=True)
        match = re.search(r"ttl=(\d+)", done.stdout)
        if done.returncode != 0 or not match:
            return "blocked"
        return "direct" if int(match.group(1)) == 64 else "routed"

    def lookup(self, ns, name):
        """The IPv4 addresses ``name`` resolves to inside ``ns``, asked as its programs ask: libc
        (getent) reading the resolv.conf its host wrote for it (/etc/netns/NS/resolv.conf in
        the host's /etc), which ``ip netns exec`` on that host would show as /etc/resolv.conf."""
        files = [os.path.join(self.workdir, "hosts", host, "etc", "netns", ns, "resolv.conf")
                 for host in self._load()["hosts"]]
        found = [path for path in files if os.path.isfile(path)]
        if not found:
            return []
        done = ns_run(ns, "unshare", "--mount", "--propagation", "private", "--", "sh", "-euc",
                      'mount --bind "$1" /etc/resolv.conf; exec getent ahostsv4 "$2"', "sh", found[0], name,
                      check=False, capture=True)
        return sorted({line.split()[0] for line in done.stdout.splitlines() if line.strip()}) \
            if done.returncode == 0 else []

    def named(self, name):
        """The addresses the hosts' leases give ``name`` (an owner's name or an alias), as
        network_info's inspect view shows them."""
        found = set()
        for host in self._load()["hosts"]:
            leases = os.path.join(self.workdir, "hosts", host, "var", "underlay-network", "leases")
            for entry in sorted(os.listdir(leases)) if os.path.isdir(leases) else ():
                with open(os.path.join(leases, entry), encoding="utf-8") as stream:
                    table = json.load(stream)["leases"]
                for address, lease in table.items():
                    kind, _colon, owner = lease["owner"].partition(":")
                    names = ([owner] if kind in ("netns", "container") else []) + list(lease.get("aliases") or [])
                    if name.lower() in (n.lower() for n in names):
                        found.add(address)
        return sorted(found)

    def _target(self, source, text, prefix):
        """``(address, None)`` of ``NAME:PORT``'s name (an address, a container of the fabric,
        or a name ``source`` resolves), or ``(None, why)``."""
        name = text.rsplit(":", 1)[0]
        if _is_address(name):
            return name, None
        if name in self._load()["containers"]:
            return self.address_of(prefix + name), None
        addresses = self.lookup(source, name)
        return (addresses[0], None) if addresses else (None, "unresolved")

    def check(self, item, prefix):
        """One probe of the matrix file: ``(label, address, seen)``."""
        source = prefix + item["from"]
        if "resolve" in item:
            name = str(item["resolve"])
            addresses, named = self.lookup(source, name), self.named(name)
            seen = "unresolved" if not addresses else "resolves" if set(addresses) <= set(named) else "wrong"
            return f"{item['from']} resolves {name}", ",".join(addresses) or "-", seen
        for kind in ("connect", "http"):
            if kind in item:
                text = str(item[kind])
                address, why = self._target(source, text, prefix)
                port = text.rsplit(":", 1)[1]
                label = f"{item['from']} -> {'tcp' if kind == 'connect' else 'http'} {text}"
                if address is None:
                    return label, "-", why
                done = ns_run(source, sys.executable, os.path.abspath(__file__), "_" + kind, address, port,
                              str(item.get("page", "")), check=False, capture=True)
                return label, address, done.stdout.strip() or "blocked"
        family, target = (6, str(item["to6"])) if "to6" in item else (4, str(item["to"]))
        address = target if _is_address(target) else self.address_of(prefix + target, family)
        label = f"{item['from']} -{'6' if family == 6 else ''}> {target}"
        return label, address, self.probe(source, address, family) if address else "no address"

    def matrix(self, expectations):
        """Run each probe in parallel; returns rows and the number of mismatches."""
        prefix = self._load()["prefix"]
        rows = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = [(item, pool.submit(self.check, item, prefix)) for item in expectations]
            for item, future in futures:
                label, address, seen = future.result()
                rows.append({"from": item["from"], "to": label.split(" ", 1)[1], "probe": label, "address": address,
                             "expect": item["expect"], "seen": seen, "why": item.get("why", "")})
        return rows, sum(1 for row in rows if row["seen"] != row["expect"])


def print_matrix(rows):
    width = max(len(f"{r['probe']} ({r['address']})") for r in rows) + 2
    print(f"{'probe':<{width}}{'expected':<12}{'seen':<12}why")
    for r in rows:
        mark = "" if r["seen"] == r["expect"] else "   <-- MISMATCH"
        print(f"{r['probe'] + ' (' + str(r['address']) + ')':<{width}}"
              f"{r['expect']:<12}{r['seen']:<12}{r['why']}{mark}")


def _listed(value):
    """A spec's address or list of addresses, as a list of strings."""
    return [str(item) for item in (value if isinstance(value, list) else [value] if value else [])]


def _is_address(text):
    """Whether ``text`` is an IPv4 or IPv6 address (not a namespace or a name)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _mounted(path):
    """Whether ``path`` is a mount point (os.path.ismount misses a directory bound onto itself)."""
    with open("/proc/self/mountinfo", encoding="utf-8") as stream:
        return any(line.split()[4] == os.path.abspath(path) for line in stream)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _listen(kind, port, name):
    """A container's server (run inside its namespace): ``http`` answers GET / with a page
    naming the container, ``tcp`` accepts connections and says the name."""
    if kind == "http":
        body = f"<html><body>{name}</body></html>\n".encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        http.server.ThreadingHTTPServer(("0.0.0.0", port), Page).serve_forever()
        return
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(16)
    while True:
        conn, _peer = server.accept()
        with conn:
            conn.sendall(f"{name}\n".encode())


def _connect(address, port, _page=""):
    """Inside the probing namespace: 'open' or 'blocked'."""
    try:
        socket.create_connection((address, port), timeout=3).close()
    except OSError:
        return "blocked"
    return "open"


def _http(address, port, page=""):
    """Inside the probing namespace: 'page' (200, with ``page`` in it), 'HTTP CODE', 'other page' or 'blocked'."""
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=3) as reply:  # noqa: S310 (a lab probe)
            text = reply.read().decode(errors="replace")
            code = reply.status
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except OSError:
        return "blocked"
    if code != 200:
        return f"HTTP {code}"
    return "page" if page in text else "other page"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_listen":  # inside a container: its server
        _listen(argv[1], int(argv[2]), argv[3])
        return 0
    if argv and argv[0] in ("_connect", "_http"):  # inside the probing namespace
        print({"_connect": _connect, "_http": _http}[argv[0]](argv[1], int(argv[2]), *argv[3:4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["up", "down", "matrix", "reboot"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--spec")
    parser.add_argument("--expect")
    parser.add_argument("--host", help="reboot: the host to wipe as a reboot would")
    parser.add_argument("--save", help="matrix: write the rows seen to this file")
    parser.add_argument("--same-as", help="matrix: fail unless the rows (addresses included) equal this file's")
    args = parser.parse_args(argv)
    fabric = Fabric(args.workdir)
    if args.command == "up":
        with open(args.spec, encoding="utf-8") as stream:
            fabric.up(yaml.safe_load(stream))
        print(os.path.join(fabric.workdir, "inventory.yml"))
        return 0
    if args.command == "down":
        fabric.down()
        return 0
    if args.command == "reboot":
        emptied = fabric.reboot(args.host)
        print(f"{args.host}: kernel state wiped, VLANs of its ifcfg files up, {len(emptied)} container"
              f" namespace(s) empty: {' '.join(emptied)}")
        return 0
    with open(args.expect, encoding="utf-8") as stream:
        rows, mismatches = fabric.matrix(yaml.safe_load(stream))
    print_matrix(rows)
    print(f"reachability: {len(rows) - mismatches} as expected, {mismatches} not")
    if args.save:
        with open(args.save, "w", encoding="utf-8") as stream:
            json.dump(rows, stream, indent=1)
    if args.same_as:
        with open(args.same_as, encoding="utf-8") as stream:
            before = json.load(stream)
        differ = [f"{new['probe']}: {old['address']} {old['seen']} before, {new['address']} {new['seen']} now"
                  for old, new in zip(before, rows) if (old["address"], old["seen"]) != (new["address"], new["seen"])]
        for line in differ:
            print(f"differs: {line}")
        print(f"reachability: {'the same as' if not differ else f'{len(differ)} row(s) differ from'} before")
        mismatches += len(differ)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
