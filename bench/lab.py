# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benches share (bench.py, fleet.py, restart.py): paths, running commands, the
throwaway namespaces of a "world" (removed however the run ends) and a private dockerd.
Importing it puts the collection on sys.path."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
sys.path.insert(0, COLLECTIONS)

PREFIX = "ulb"
# the underlay-network command's own entry point (as its console script runs it)
COMMAND = ("import sys; from ansible_collections.underlay.network.plugins.module_utils._cli import main;"
           " sys.exit(main(sys.argv[1:]))")


def sh(*argv, check=True, stdin=None, env=None):
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc


def ip_batch(lines, check=True):
    """`ip -batch` (with -force when errors are to be skipped: removing what may be gone)."""
    if lines:
        sh("ip", *([] if check else ["-force"]), "-batch", "-", stdin="\n".join(lines) + "\n", check=check)


def load():
    with open("/proc/loadavg", encoding="ascii") as handle:
        return [float(x) for x in handle.read().split()[:3]]


class World:
    """A host namespace with a veth parent (veth0, its peer in a wire namespace) and N
    container namespaces; removed on close (and at exit, and on SIGTERM/SIGINT)."""

    LIVE = []

    def __init__(self, count):
        self.token = uuid.uuid4().hex[:5]
        self.host = f"{PREFIX}{self.token}h"
        self.wire = f"{PREFIX}{self.token}w"
        self.containers = [f"{PREFIX}{self.token}c{i}" for i in range(count)]
        self.made = []
        World.LIVE.append(self)
        names = [self.host, self.wire] + self.containers
        try:
            ip_batch([f"netns add {name}" for name in names])
        finally:
            self.made = [name for name in names if os.path.exists(f"/run/netns/{name}")]
        sh("ip", "-n", self.host, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
           "netns", self.wire)
        for ns, dev in ((self.host, "veth0"), (self.wire, "veth1"), (self.host, "lo")):
            sh("ip", "-n", ns, "link", "set", dev, "up")

    def close(self):
        if self.made:
            ip_batch([f"netns del {name}" for name in reversed(self.made)], check=False)
            for name in self.made:  # the resolv.conf the names work gave each namespace (ip netns exec's view)
                if not os.path.exists(f"/run/netns/{name}"):
                    shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
            self.made = [name for name in self.made if os.path.exists(f"/run/netns/{name}")]
        if self in World.LIVE and not self.made:
            World.LIVE.remove(self)


def cleanup_all():
    for world in list(World.LIVE):
        world.close()


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# -- Docker (real containers, a private dockerd inside the host namespace) --------------------
class Dockerd:
    """dockerd with its own socket, data root and exec root, run inside the world's host
    namespace with --iptables=false --bridge=none: no firewall rule, no docker0 (``iptables``:
    Docker's own rules, DNAT of published ports among them, in that namespace only)."""

    def __init__(self, world, workdir, count, iptables=False):
        self.world = world
        self.iptables = iptables  # Docker's defaults (DNAT rules, FORWARD policy) in the host namespace
        self.work = os.path.join(workdir, "docker")
        os.makedirs(self.work, exist_ok=True)
        self.sock = os.path.join(self.work, "docker.sock")
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")
        self.names = [f"ulb{world.token}d{i}" for i in range(count)]
        self.proc = None

    def start(self):
        log = open(os.path.join(self.work, "dockerd.log"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ["nsenter", f"--net=/run/netns/{self.world.host}", "--", "dockerd", "--host", f"unix://{self.sock}",
             "--data-root", os.path.join(self.work, "root"), "--exec-root", os.path.join(self.work, "exec"),
             "--pidfile", os.path.join(self.work, "docker.pid"), "--ip6tables=false", "--bridge=none",
             *(["--iptables=true"] if self.iptables else
               ["--iptables=false", "--ip-forward=false", "--ip-masq=false"])],
            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while self.docker("version", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dockerd did not start: " + open(log.name, encoding="utf-8").read()[-1500:])
            time.sleep(0.2)
        rootfs = os.path.join(self.work, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"), exist_ok=True)
        shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
        sh("chroot", rootfs, "/bin/busybox", "--install", "-s")
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True).stdout
        subprocess.run(["docker", "import", "-", "ulb-busybox:bench"], input=tar, capture_output=True, check=True,
                       env=self.env)
        for name in self.names:
            self.docker("run", "-d", "--name", name, "--network", "none", "ulb-busybox:bench", "sleep", "100000")
            self.docker("network", "disconnect", "none", name)

    def docker(self, *args, check=True):
        return sh("docker", *args, check=check, env=self.env)

    def pid(self, name):
        return int(self.docker("inspect", "-f", "{{.State.Pid}}", name).stdout.strip())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.docker("rm", "-f", *self.names, check=False)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        sh("umount", "-R", os.path.join(self.work, "root"), check=False)
        shutil.rmtree(self.work, ignore_errors=True)
        self.proc = None


# -- the collection's services -----------------------------------------------------------------
class Service:
    """A command of the collection's own entry point (``underlay-network CMD ARGS``) run as its
    systemd unit runs it, as a subprocess: ready once it has said READY=1 on a NOTIFY_SOCKET of
    the bench's; stopped with SIGTERM (killed after 30 s). Its output goes to ``WORKDIR/NAME.log``."""

    def __init__(self, args, workdir, name, timeout=60.0, env=None):
        os.makedirs(workdir, exist_ok=True)
        self.log = os.path.join(workdir, f"{name}.log")
        path = os.path.join(workdir, f"{name}.notify")
        if os.path.exists(path):
            os.unlink(path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        self.notify.settimeout(timeout)
        env = dict(os.environ if env is None else env, NOTIFY_SOCKET=path, PYTHONPATH=COLLECTIONS,
                   PYTHONUNBUFFERED="1")
        with open(self.log, "w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-c", COMMAND, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            if self.notify.recv(100) != b"READY=1":
                raise RuntimeError(f"{name}: no READY=1")
        except (OSError, RuntimeError) as err:
            self.stop()
            raise RuntimeError(f"{name} did not start ({err}):\n{self.text()[-2000:]}") from None

    def text(self):
        with open(self.log, encoding="utf-8") as handle:
            return handle.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.stop()


def names_resolver(state_dir, netns, workdir, timeout=60.0):
    """The names resolver of one state_dir as its service runs it (``underlay-network dns``):
    already running when a module attaches, as Docker's embedded DNS is with dockerd. Its log is
    ``WORKDIR/resolver.log``."""
    return Service(["dns", "--state-dir", state_dir, "--netns", netns], workdir, "resolver", timeout)
