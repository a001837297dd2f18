# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot lane's harness: a real systemd Debian (tests/boot/image/build) under qemu.

One qemu process per lane run boots the image cold once (on a qcow2 layer over the cached
raw image, so the cache is never written), ``savevm``s the booted guest, and every scenario
starts from ``loadvm`` of that snapshot: a clean, already booted host in seconds.
A power cycle is a real one: ``sync`` in the guest, qemu quits (power off, nothing shut
down), and a new qemu process boots the same disk cold. SSH goes through qemu's user
networking with one ControlMaster; "up" means a real ``ssh true`` answered.

NICs (fixed MACs with ``net.ifnames=0``, so the names are stable):
  eth0  management: user networking, SSH forwarded from 127.0.0.1:PORT
  eth1  the trunk, on qemu hub 1
  eth2  the upstream switch port, on the same hub: the scenarios move it into a network
        namespace ``upstream`` in the guest (the switch/router with the VLAN peers), so
        the guest's traffic really leaves through eth1 and comes back tagged.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tests" / "boot" / "image" / "build"
ACCEL = REPO / "tests" / "vm" / "boot" / "accel"

MGMT_MAC = "52:54:00:00:00:10"
TRUNK_MAC = "52:54:00:00:01:01"
UPSTREAM_MAC = "52:54:00:00:01:02"
SNAPSHOT = "booted"


class VMError(RuntimeError):
    """The VM did not do what the harness asked (boot, answer SSH, snapshot)."""


def build_image() -> Path:
    """Build the image, or reuse the cached one; returns its directory."""
    proc = subprocess.run(["bash", str(BUILD)], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VMError(f"tests/boot/image/build failed (exit {proc.returncode}):\n{proc.stderr}")
    return Path(proc.stdout.strip().splitlines()[-1])


def accel_args(kernel: Path) -> list[str]:
    """qemu's accelerator arguments: KVM when it works here, else TCG (tests/vm/boot/accel)."""
    proc = subprocess.run(["bash", str(ACCEL), str(kernel)], check=True, capture_output=True, text=True)
    return proc.stdout.split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QMP:
    """A minimal QMP client over qemu's unix socket (one command at a time)."""

    def __init__(self, path: Path, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise VMError(f"qemu's QMP socket {path} did not answer") from None
                time.sleep(0.2)
        self.file = self.sock.makefile("rwb")
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict:
        while True:
            line = self.file.readline()
            if not line:
                raise VMError("qemu closed its QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, command: str, timeout: float = 600.0, **arguments) -> object:
        self.sock.settimeout(timeout)
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.file.write(json.dumps(request).encode() + b"\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise VMError(f"QMP {command}: {reply['error'].get('desc')}")
        return reply.get("return")

    def hmp(self, command_line: str, timeout: float = 600.0) -> str:
        """A human-monitor command (savevm/loadvm have no QMP equivalent in qemu 7.2 but jobs)."""
        out = self.execute("human-monitor-command", timeout=timeout, **{"command-line": command_line})
        return str(out or "")

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class SystemdVM:
    """The guest: start/stop qemu, snapshots, power cycle, SSH."""

    def __init__(self, image: Path, workdir: Path, mem_mb: int = 1536, smp: int = 2):
        self.image = image
        self.workdir = workdir
        self.mem_mb = mem_mb
        self.smp = smp
        self.key = image / "id_ed25519"
        self.disk = workdir / "disk.qcow2"
        self.console = workdir / "console.log"
        self.qmp_path = workdir / "qmp.sock"
        self.control_path = workdir / "ssh-cm"
        self.port = free_port()
        self.accel = accel_args(image / "vmlinuz")
        self.proc: subprocess.Popen | None = None
        self.qmp: QMP | None = None
        self.boots = 0

    # ---- qemu -----------------------------------------------------------------------
    def create_disk(self) -> None:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(self.image / "disk.raw"),
                        "-F", "raw", str(self.disk)], check=True)

    def qemu_argv(self) -> list[str]:
        return [
            "qemu-system-x86_64", "-machine", "q35", *self.accel, "-smp", str(self.smp), "-m", str(self.mem_mb),
            "-kernel", str(self.image / "vmlinuz"), "-initrd", str(self.image / "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet",
            "-drive", f"file={self.disk},format=qcow2,if=virtio",
            "-netdev", f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{self.port}-:22",
            "-device", f"virtio-net-pci,netdev=mgmt,mac={MGMT_MAC}",
            "-netdev", "hubport,id=trunk,hubid=1",
            "-device", f"virtio-net-pci,netdev=trunk,mac={TRUNK_MAC}",
            "-netdev", "hubport,id=upstream,hubid=1",
            "-device", f"virtio-net-pci,netdev=upstream,mac={UPSTREAM_MAC}",
            "-display", "none", "-serial", f"file:{self.console}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]

    def power_on(self) -> None:
        """Start qemu on the disk as it is (a cold boot)."""
        if self.proc is not None:
            raise VMError("the VM is already running")
        if self.qmp_path.exists():
            self.qmp_path.unlink()
        with open(self.console, "ab") as console:
            console.write(f"\n==== power on {time.strftime('%H:%M:%S')} ====\n".encode())
        with open(self.workdir / "qemu.stderr", "ab") as stderr:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # runs until power_off
                self.qemu_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True)
        self.qmp = QMP(self.qmp_path)
        self.boots += 1

    def power_off(self) -> None:
        """Pull the plug: qemu ends at once, the guest shuts nothing down."""
        self.close_ssh()
        if self.proc is None:
            return
        try:
            if self.qmp is not None:
                self.qmp.execute("quit", timeout=10)
        except (VMError, OSError):
            pass
        finally:
            if self.qmp is not None:
                self.qmp.close()
                self.qmp = None
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def power_cycle(self, timeout: float = 600.0) -> float:
        """sync, power off, power on; returns the seconds until the guest finished booting."""
        self.ssh(["sync"])
        start = time.monotonic()
        self.power_off()
        self.power_on()
        self.wait_booted(timeout)
        return time.monotonic() - start

    def savevm(self, name: str = SNAPSHOT) -> None:
        self.close_ssh()
        out = self.qmp.hmp(f"savevm {name}")
        if out.strip():
            raise VMError(f"savevm {name}: {out.strip()}")

    def loadvm(self, name: str = SNAPSHOT, timeout: float = 120.0) -> float:
        """Back to the snapshot (memory and disk); returns the seconds until SSH answered."""
        self.close_ssh()
        start = time.monotonic()
        out = self.qmp.hmp(f"loadvm {name}")
        if out.strip():
            raise VMError(f"loadvm {name}: {out.strip()}")
        self.wait_ssh(timeout)
        # the guest's clock stopped when the snapshot was taken
        self.ssh(["date", "-s", f"@{int(time.time())}"])
        return time.monotonic() - start

    # ---- SSH ------------------------------------------------------------------------
    def ssh_argv(self, *options: str) -> list[str]:
        return ["ssh", "-i", str(self.key), "-p", str(self.port), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10", "-o", "ControlMaster=auto", "-o", f"ControlPath={self.control_path}",
                "-o", "ControlPersist=600", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                *options, "root@127.0.0.1"]

    def ssh(self, argv: list[str], check: bool = True, timeout: float = 300.0,
            stdin_text: str | None = None) -> subprocess.CompletedProcess:
        """Run argv in the guest (quoted for its shell, never built from a string)."""
        proc = subprocess.run([*self.ssh_argv(), "--", shlex.join(argv)], check=False, capture_output=True,
                              text=True, timeout=timeout, input=stdin_text)
        if check and proc.returncode != 0:
            raise VMError(f"in the guest: {shlex.join(argv)}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def script(self, text: str, check: bool = True, timeout: float = 300.0) -> subprocess.CompletedProcess:
        """Run a bash script (a fixed text of the test, fed on stdin) in the guest."""
        return self.ssh(["bash", "-euo", "pipefail", "-s"], check=check, timeout=timeout, stdin_text=text)

    def close_ssh(self) -> None:
        if self.control_path.exists():
            subprocess.run([*self.ssh_argv("-O", "exit")], check=False, capture_output=True, timeout=10)
            if self.control_path.exists():
                self.control_path.unlink()

    def wait_ssh(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise VMError(f"qemu ended (exit {self.proc.returncode}); console:\n{self.console_tail()}")
            try:
                if self.ssh(["true"], check=False, timeout=20).returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            self.close_ssh()
            if time.monotonic() > deadline:
                raise VMError(f"no SSH within {timeout:.0f} s; console:\n{self.console_tail()}")
            time.sleep(1)

    def wait_booted(self, timeout: float) -> str:
        """SSH answers and systemd finished starting units; returns the system state."""
        start = time.monotonic()
        self.wait_ssh(timeout)
        rest = max(30.0, timeout - (time.monotonic() - start))
        state = self.ssh(["systemctl", "is-system-running", "--wait"], check=False, timeout=rest).stdout.strip()
        if state not in ("running", "degraded"):
            raise VMError(f"the guest did not finish booting: {state}")
        return state

    def console_tail(self, lines: int = 60) -> str:
        try:
            text = self.console.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    def journal(self, *args: str) -> str:
        """The guest's journal (for failure messages); args as journalctl's."""
        try:
            proc = self.ssh(["journalctl", "--no-pager", "-o", "short-monotonic", *args], check=False, timeout=120)
        except subprocess.TimeoutExpired:
            return "(journalctl did not answer within 120 s)"
        return proc.stdout + proc.stderr


def cold_boot(image: Path, workdir: Path, timeout: float = 900.0) -> tuple[SystemdVM, dict]:
    """Boot the image once and snapshot it; returns the VM and the timings."""
    workdir.mkdir(parents=True, exist_ok=True)
    vm = SystemdVM(image, workdir)
    vm.create_disk()
    timings = {}
    try:
        start = time.monotonic()
        vm.power_on()
        state = vm.wait_booted(timeout)
        timings["cold boot to a booted system"] = time.monotonic() - start
        timings["system state after the cold boot"] = state
        start = time.monotonic()
        vm.savevm()
        timings["savevm"] = time.monotonic() - start
    except BaseException:
        vm.power_off()
        raise
    return vm, timings
