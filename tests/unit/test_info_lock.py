# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info reads state_dir without its lock: real files, a real flock held by another
process, the kernel a fake adapter (the unit lane has no root)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading

import pytest

from endpoint_world import MACVLAN, lease
from fake_adapter import installed, link

from ansible_collections.underlay.network.plugins.module_utils import _runner
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._resources import NETWORK_INFO
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

# another process holds the exclusive lock a run takes on state_dir until its stdin closes
HOLDER = ("import fcntl, os, sys\n"
          "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
          "fcntl.flock(fd, fcntl.LOCK_EX)\n"
          "print('locked', flush=True)\n"
          "sys.stdin.read()\n")

# another process holds the lock and rewrites a lease table again and again (as runs do)
WRITER = ("import sys\n"
          "from ansible_collections.underlay.network.plugins.module_utils._store import StateDir\n"
          "import json\n"
          "tables = json.loads(sys.argv[2])\n"
          "with StateDir(sys.argv[1]) as store:\n"
          "    print('locked', flush=True)\n"
          "    for i in range(int(sys.argv[3])):\n"
          "        store.put_leases('n1', tables[i % len(tables)])\n")


@pytest.fixture
def kernel(monkeypatch):
    return installed(monkeypatch, link("eth0"))


@pytest.fixture
def state_dir(tmp_path):
    path = str(tmp_path / "state")
    with StateDir(path) as store:
        store.put_network(MACVLAN)
        store.put_leases("n1", {"leases": {"10.0.0.7": lease("n1", "a", mac="02:42:0a:00:00:07")},
                                "last_reserved": "10.0.0.7"})
    return path


def held(args):
    proc = subprocess.Popen([sys.executable, "-c"] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"
    return proc


def info_within(seconds, params):
    """network_info's result, or fail when it does not come within ``seconds``."""
    found = {}

    def run():
        try:
            found["result"] = _runner.run(NETWORK_INFO, params)
        except Exception as err:  # pylint: disable=broad-except
            found["error"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if "error" in found:
        raise found["error"]
    assert "result" in found, f"network_info did not answer within {seconds}s"
    return found["result"]


def test_network_info_answers_while_another_process_holds_the_lock(kernel, state_dir):
    holder = held([HOLDER, state_dir])
    try:
        probe = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(BlockingIOError):  # the lock is really held
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
        result = info_within(10, {"state_dir": state_dir})
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert result["changed"] is False
    (network,) = result["networks"]
    assert network["Name"] == "n1"
    assert [entry["IPv4Address"] for entry in network["Containers"].values()] == ["10.0.0.7/24"]
    assert network["drift"] == ["endpoint namespace a (10.0.0.7): interface 'eth0' is gone"]


def test_network_info_never_sees_a_half_written_table(kernel, state_dir):
    one = {"leases": {"10.0.0.7": lease("n1", "a", mac="02:42:0a:00:00:07")}, "last_reserved": "10.0.0.7"}
    many = {"leases": {f"10.0.0.{i}": lease("n1", f"c{i}", mac=f"02:42:0a:00:00:{i:02x}") for i in range(2, 200)},
            "last_reserved": "10.0.0.199"}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, state_dir, json.dumps([one, many]), "400"],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert writer.stdout.readline() == "locked\n"
        seen, reads = set(), 0
        while writer.poll() is None:
            (network,) = info_within(10, {"state_dir": state_dir})["networks"]
            seen.add(len(network["Containers"]))
            reads += 1
    finally:
        writer.wait(60)
    assert writer.returncode == 0
    assert reads > 1  # read while the writer held the lock and wrote
    assert seen <= {1, 198}, seen  # either table whole, never a part of one (nor a parse error)


def test_a_state_dir_below_a_file_is_refused_as_before(kernel, tmp_path):
    below = tmp_path / "file"
    below.write_text("not a directory\n")
    with pytest.raises(UnderlayError) as err:
        _runner.run(NETWORK_INFO, {"state_dir": str(below / "state")})
    assert err.value.field == "state_dir"
    assert f"cannot be made: '{below}' exists and is not a directory" in str(err.value)


def test_a_missing_state_dir_lists_no_networks_and_creates_nothing(kernel, tmp_path):
    assert _runner.run(NETWORK_INFO, {"state_dir": str(tmp_path / "none" / "state")})["networks"] == []
    assert os.listdir(tmp_path) == []
