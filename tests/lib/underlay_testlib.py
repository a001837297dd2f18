# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the integration and VM lanes: throwaway namespaces, kernel
snapshots, and running the collection through ansible-playbook or a module's entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import dns.exception
import dns.message
import dns.query
import dns.rcode

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
PREFIX = "ult"  # every namespace a test creates starts with this
CREATED = set()  # every namespace this process created (checked at the end of the session)


def sh(*argv, check=True, ns=None):
    """Run a command (argv list, never a shell string), optionally inside namespace ``ns``."""
    if ns is not None:
        argv = ("ip", "netns", "exec", ns) + argv
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


class Namespaces:
    """Creates uniquely named network namespaces and removes every one of them on close."""

    def __init__(self):
        self.token = uuid.uuid4().hex[:6]
        self.created = []

    def new(self, role="ns"):
        name = f"{PREFIX}{self.token}{role}{len(self.created)}"[:60]
        sh("ip", "netns", "add", name)
        self.created.append(name)
        CREATED.add(name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        # no duplicate address detection: IPv6 addresses are final at once, so kernel
        # snapshots settle quickly (namespace-local sysctls: the host is not touched)
        sh("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", ns=name)
        return name

    def recreate(self, name):
        """``name`` removed and made again empty, as a reboot or a container restart leaves it."""
        sh("ip", "netns", "del", name)
        sh("ip", "netns", "add", name)
        sh("ip", "link", "set", "lo", "up", ns=name)

    def veth(self, ns_a, name_a, ns_b, name_b, up=True):
        """A veth pair with one end in each namespace (made inside ns_a, so nothing touches the host)."""
        sh("ip", "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", ns_b, ns=ns_a)
        if up:
            sh("ip", "link", "set", name_a, "up", ns=ns_a)
            sh("ip", "link", "set", name_b, "up", ns=ns_b)
            wait_for_carrier((ns_a, name_a), (ns_b, name_b))

    def host_with_parent(self):
        """A "host" namespace whose ``veth0`` (its peer ``veth1`` in a namespace of its own)
        can be a macvlan parent: this kernel has no dummy links."""
        host = self.new("h")
        self.veth(host, "veth0", self.new("p"), "veth1")
        return host

    def close(self):
        for name in reversed(self.created):
            sh("ip", "netns", "del", name, check=False)
            # what container_endpoint may have written for it (its resolv.conf, names: issue 17)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
        self.created = []


def in_netns(ns, func, *args):
    """``func(*args)`` run by this thread from inside namespace ``ns`` (a socket made there stays
    bound to it; threads started there start there)."""
    from ansible_collections.underlay.network.plugins.module_utils._netns import inside  # pylint: disable=import-outside-toplevel
    with inside(f"/run/netns/{ns}"):
        return func(*args)


def wait_for_carrier(*links, timeout=10.0):
    """Wait until each ``(ns, name)`` reports carrier: the kernel announces a veth's carrier
    through linkwatch, up to a second late under load, and a lab snapshotted before that would
    see the carrier (and the IPv6 link-local address it brings) arrive as a change."""
    deadline = time.monotonic() + timeout
    for ns, name in links:
        while True:
            flags = json.loads(sh("ip", "-n", ns, "-j", "link", "show", name).stdout)[0]["flags"]
            if "NO-CARRIER" not in flags and "LOWER_UP" in flags:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} in {ns} has no carrier after {timeout} s: {flags}")
            time.sleep(0.05)


def kernel_snapshot(ns, settle_seconds=5.0):
    """Links (with details), addresses and routes of ``ns``, minus counters that tick by themselves.

    The kernel adds IPv6 link-local addresses and their routes a moment after a link comes
    up; the snapshot is taken once two reads in a row agree, so it never catches that half-way.
    """
    deadline = time.monotonic() + settle_seconds
    previous = _read_snapshot(ns)
    while True:
        time.sleep(0.05)
        current = _read_snapshot(ns)
        if current == previous or time.monotonic() > deadline:
            return current
        previous = current


def _drop_timers(value):
    """Bridge and port timers (gc_timer, hello_timer...) count down by themselves."""
    if isinstance(value, dict):
        return {k: _drop_timers(v) for k, v in value.items() if not k.endswith("_timer")}
    if isinstance(value, list):
        return [_drop_timers(v) for v in value]
    return value


def _read_snapshot(ns):
    def ip_json(*args):
        out = sh("ip", "-d", "-j", *args, ns=ns).stdout
        return json.loads(out or "[]")

    links = ip_json("link", "show")
    for link in links:
        for volatile in ("stats", "stats64", "operstate", "linkinfo_stats"):
            link.pop(volatile, None)
    addresses = ip_json("addr", "show")
    for entry in addresses:
        entry.pop("operstate", None)
        for info in entry.get("addr_info", []):
            info.pop("valid_life_time", None)
            info.pop("preferred_life_time", None)
    routes = ip_json("route", "show", "table", "all")
    return _drop_timers({"links": links, "addresses": addresses, "routes": routes})


def host_snapshot():
    """The test machine's own links and routes (names, flags, addresses): must never change."""
    links = json.loads(sh("ip", "-j", "link", "show").stdout)
    addrs = json.loads(sh("ip", "-j", "addr", "show").stdout)
    routes = json.loads(sh("ip", "-j", "route", "show", "table", "all").stdout)
    return {
        "links": sorted((link["ifname"], tuple(sorted(link.get("flags", [])))) for link in links),
        "addrs": sorted((a["ifname"], i["local"], i["prefixlen"]) for a in addrs for i in a.get("addr_info", [])),
        "routes": sorted(json.dumps(r, sort_keys=True) for r in routes),
    }


def ensure_collection_link():
    target = os.path.join(COLLECTIONS, "ansible_collections", "underlay", "network")
    if not os.path.islink(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(os.path.join("..", "..", "..", ".."), target)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)


def ansible_env():
    env = dict(os.environ)
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    env["ANSIBLE_LOCAL_TEMP"] = os.path.join(tempfile.gettempdir(), "underlay-ansible-local")
    env["ANSIBLE_REMOTE_TEMP"] = os.path.join(tempfile.gettempdir(), "underlay-ansible-remote")
    env["PYTHONPATH"] = COLLECTIONS
    return env


def run_module(module, args, check_mode=False, diff=False):
    """Run a module through its real entry point (what Ansible runs on a host); returns its JSON."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check_mode
    payload["_ansible_diff"] = diff
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.underlay.network.plugins.modules.{module}", handle.name],
            capture_output=True, text=True, env=ansible_env(), check=False)
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"module {module} printed no JSON: {proc.stdout}\n{proc.stderr}") from None


def run_tasks(tasks, check_mode=False, diff=False, extra_args=()):
    """Run ``tasks`` in one ansible-playbook run (connection local); return each task's result.

    Every task is registered and may fail without stopping the play, so a test can assert
    on failures as well as on successes; the results come back as a list, in order.
    """
    with tempfile.TemporaryDirectory(prefix="underlay-play-") as tmp:
        out = os.path.join(tmp, "results.json")
        play_tasks = []
        for i, task in enumerate(tasks):
            task = dict(task)
            task["register"] = f"r{i}"
            task["ignore_errors"] = True
            play_tasks.append(task)
        names = ", ".join(f"r{i}" for i in range(len(tasks)))
        play_tasks.append({
            "name": "Collect results",
            "ansible.builtin.copy": {"dest": out, "content": "{{ [" + names + "] | to_json }}", "mode": "0600"},
            "check_mode": False,
            "diff": False,
        })
        playbook = [{"name": "underlay.network test", "hosts": "localhost", "gather_facts": False,
                     "tasks": play_tasks}]
        path = os.path.join(tmp, "play.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(playbook, handle)
        argv = ["ansible-playbook", "-i", "localhost,", "-c", "local",
                "-e", f"ansible_python_interpreter={sys.executable}", path]
        if check_mode:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        argv.extend(extra_args)
        proc = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(), check=False)
        if not os.path.exists(out):
            raise AssertionError(f"ansible-playbook did not finish ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        with open(out, encoding="utf-8") as handle:
            results = json.load(handle)
    for result in results:
        result["_stdout"] = proc.stdout
    return results


def tree_snapshot(path):
    """Every directory and file under ``path`` with its mode and bytes (None if absent)."""
    if not os.path.exists(path):
        return None
    found = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            info = os.lstat(full)
            content = None
            if name in files:
                with open(full, "rb") as handle:
                    content = handle.read()
            found[os.path.relpath(full, path)] = (info.st_mode, content)
    return found


def attach_by_hand(namespaces, host_ns, parent, state_dir, network, mode="bridge", ifname="eth0"):
    """A container namespace with a macvlan child of ``parent`` whose address is leased from
    ``network`` through the engine's lease API (what container_endpoint records)."""
    from ansible_collections.underlay.network.plugins.module_utils import _leases
    from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

    container = namespaces.new("c")
    with StateDir(state_dir) as store:
        address = _leases.lease(store, network, f"netns:{container}", container=container, ifname=ifname,
                                netns_path=f"/run/netns/{container}")
        prefix = store.network(network)["ipam"]["subnet"].split("/")[1]
    scratch = "ep" + uuid.uuid4().hex[:8]
    sh("ip", "link", "add", scratch, "link", parent, "netns", container, "type", "macvlan", "mode", mode, ns=host_ns)
    sh("ip", "link", "set", scratch, "name", ifname, ns=container)
    sh("ip", "addr", "add", f"{address}/{prefix}", "dev", ifname, ns=container)
    sh("ip", "link", "set", ifname, "up", ns=container)
    return container, address


def attach_bridge_by_hand(namespaces, host_ns, bridge, state_dir, network, isolated=False, gateway=None):
    """A container namespace joined to ``bridge`` by a veth pair, its address leased from
    ``network`` through the engine's lease API, default route via ``gateway`` if given."""
    from ansible_collections.underlay.network.plugins.module_utils import _leases
    from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

    container = namespaces.new("c")
    with StateDir(state_dir) as store:
        address = _leases.lease(store, network, f"netns:{container}", container=container, ifname="eth0",
                                netns_path=f"/run/netns/{container}")
        prefix = store.network(network)["ipam"]["subnet"].split("/")[1]
    host_end = "vh" + uuid.uuid4().hex[:8]
    sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", container, ns=host_ns)
    sh("ip", "link", "set", host_end, "master", bridge, "up", ns=host_ns)
    if isolated:
        sh("ip", "link", "set", host_end, "type", "bridge_slave", "isolated", "on", ns=host_ns)
    sh("ip", "addr", "add", f"{address}/{prefix}", "dev", "eth0", ns=container)
    sh("ip", "link", "set", "eth0", "up", ns=container)
    if gateway:
        sh("ip", "route", "add", "default", "via", gateway, ns=container)
    return container, address


def stop_resolver(state_dir, timeout=10.0):
    """Stop the names resolver of ``state_dir`` (issue 17) if one runs: the pid in
    ``dns/resolver.lock``, which it holds (flock) while it runs. Returns whether one ran."""
    import fcntl  # pylint: disable=import-outside-toplevel

    lock = os.path.join(state_dir, "dns", "resolver.lock")

    def running():
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    if not running():
        return False
    with open(lock, encoding="utf-8") as handle:
        pid = int(handle.read().strip())
    os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while running():
        assert time.monotonic() < deadline, f"the names resolver {pid} of {state_dir} did not stop"
        time.sleep(0.05)
    return True


def nft_ruleset(ns):
    return sh("nft", "list", "ruleset", ns=ns).stdout


def sysctl(ns, key):
    return sh("sysctl", "-n", key, ns=ns).stdout.strip()


class SshFabric:
    """A namespace fabric (tests/lib/underlay_fabric.py) with test-unique names: hosts on an
    untagged segment (this kernel has no 802.1Q) reached over SSH, removed on exit."""

    def __init__(self, workdir, hosts, containers=(), untagged=("10.77.0.1/16",)):
        from underlay_fabric import Fabric  # pylint: disable=import-outside-toplevel
        self.prefix = f"{PREFIX}{uuid.uuid4().hex[:6]}-"
        self.fabric = Fabric(str(workdir))
        self.spec = {"prefix": self.prefix, "trunk": "ens33", "router": {"untagged": list(untagged)},
                     "hosts": list(hosts), "containers": list(containers)}
        self.state = None

    def __enter__(self):
        try:
            self.state = self.fabric.up(self.spec)
        finally:
            CREATED.update(name for name in os.listdir("/run/netns") if name.startswith(self.prefix))
        return self

    def __exit__(self, *exc):
        self.fabric.down()

    @property
    def workdir(self):
        return self.fabric.workdir

    def ns(self, name):
        return self.prefix + name

    def inventory(self):
        """The fabric's connection inventory as a dict (add variables, then write it out)."""
        import yaml  # pylint: disable=import-outside-toplevel
        with open(os.path.join(self.workdir, "inventory.yml"), encoding="utf-8") as stream:
            return yaml.safe_load(stream)

    def world(self):
        """Kernel state of every namespace but the switch, plus every file the hosts wrote
        (their /etc, /var/lib and /usr/local overlays; the overlays' own work directories left out)."""
        files = {(host, part): tree_snapshot(os.path.join(self.workdir, "hosts", host, part))
                 for host in self.state["hosts"] for part in ("etc", "var", "local")}
        return ({ns: kernel_snapshot(ns) for ns in self.state["namespaces"] if not ns.endswith("switch")}, files)


def resolve_a(ns, name):
    """The IPv4 addresses the names resolver at 127.0.0.11 inside namespace ``ns`` gives for
    ``name`` ([] for none, or no answer), asked with dnspython from a socket made there."""
    sock = in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    with sock:
        try:
            reply = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.11", timeout=3, sock=sock)
        except dns.exception.Timeout:
            return []
    if reply.rcode() != dns.rcode.NOERROR:
        return []
    return sorted(item.address for rrset in reply.answer for item in rrset)
