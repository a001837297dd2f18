# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher's parts that need no root and no runtime: reading an event line, the events
commands, telling systemd, the owners recorded in a state directory, and the loop's start
with no runtime installed (the real runtimes: tests/integration/test_watch.py)."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import uuid

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _events, _restore, _sdnotify, _watch
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

# as Docker 20.10 and Podman 4.3 print them on the build machines
DOCKER_START = json.dumps({
    "status": "start", "id": "d045889921af", "from": "underlay-busybox:test", "Type": "container", "Action": "start",
    "Actor": {"ID": "d045889921af", "Attributes": {"image": "underlay-busybox:test", "name": "web-1"}},
    "scope": "local", "time": 1796421636, "timeNano": 1796421636031930265})
PODMAN_START = json.dumps({"ID": "624a690c02b9", "Name": "px1", "Status": "start",
                           "Time": "2026-12-04T22:00:45.093889081Z", "Type": "container", "Attributes": {}})


@pytest.mark.parametrize("runtime, line, name", [
    ("docker", DOCKER_START, "web-1"),
    ("podman", PODMAN_START, "px1"),
    ("docker", DOCKER_START.replace('"Action": "start"', '"Action": "die"'), None),
    ("docker", DOCKER_START.replace('"Type": "container"', '"Type": "network"'), None),
    ("podman", PODMAN_START.replace('"Status": "start"', '"Status": "init"'), None),
    ("docker", DOCKER_START.replace('"name": "web-1"', '"name": "-rf"'), None),
    ("docker", DOCKER_START.replace('"name": "web-1"', '"name": "a b"'), None),
    ("podman", PODMAN_START.replace('"Name": "px1"', '"Name": 7'), None),
    ("docker", "Error response from daemon: something", None),
    ("podman", "[]", None),
    ("docker", "", None),
])
def test_a_line_names_the_started_container_or_nothing(runtime, line, name):
    assert _events.started(runtime, line) == name


def test_the_events_commands_are_argv_lists_replaying_from_a_moment():
    assert _events.events_argv("docker", 1796421636.03149) == [
        "docker", "events", "--since", "1796421636.031", "--format", "{{json .}}", "--filter", "type=container",
        "--filter", "event=start"]
    assert _events.events_argv("podman", 12.5) == [
        "podman", "events", "--since", "12.500", "--format", "json", "--filter", "event=start", "--filter",
        "type=container"]
    with pytest.raises(ValueError):
        _events.events_argv("lxc", 0)


def _listener(address):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_systemd_is_told_on_its_socket_path_and_abstract_socket(tmp_path):
    path = str(tmp_path / "notify")
    with _listener(path) as sock:
        assert _sdnotify.notify("READY=1", {"NOTIFY_SOCKET": path}) is True
        assert sock.recv(100) == b"READY=1"
    name = f"underlay-test-{uuid.uuid4().hex}"
    with _listener("\0" + name) as sock:
        assert _sdnotify.notify("STATUS=watching", {"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(100) == b"STATUS=watching"
    assert _sdnotify.notify("READY=1", {}) is False
    with pytest.raises(OSError):
        _sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})


def _write_state(state_dir, owners_by_network):
    os.makedirs(os.path.join(state_dir, "networks"))
    os.makedirs(os.path.join(state_dir, "leases"))
    for index, (network, owners) in enumerate(owners_by_network.items()):
        definition = {"name": network, "id": f"{index:064x}", "driver": "macvlan", "parent": "eth0", "mode": "bridge",
                      "ipam": {"subnet": f"10.{index}.0.0/24", "gateway": f"10.{index}.0.1",
                               "ip_range": f"10.{index}.0.0/24",
                               "aux_addresses": {}}}
        leases = {f"10.{index}.0.{i + 2}": {"owner": owner, "mac_address": f"02:42:0a:{index:02x}:00:{i + 2:02x}",
                                            "ifname": "eth0"} for i, owner in enumerate(owners)}
        with open(os.path.join(state_dir, "networks", f"{network}.json"), "w", encoding="utf-8") as handle:
            json.dump(definition, handle)
        with open(os.path.join(state_dir, "leases", f"{network}.json"), "w", encoding="utf-8") as handle:
            json.dump({"leases": leases, "last_reserved": None}, handle)


def test_recorded_owners_of_every_network(tmp_path):
    state_dir = str(tmp_path / "state")
    assert _watch.recorded_owners(state_dir) == frozenset()  # no state yet: nothing recorded
    _write_state(state_dir, {"mv": ["container:web", "netns:lab1"], "br": ["container:web", "container:db"]})
    assert _watch.recorded_owners(state_dir) == {"container:web", "container:db", "netns:lab1"}
    with open(os.path.join(state_dir, "leases", "br.json"), "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(UnderlayError) as err:
        _watch.recorded_owners(state_dir)
    assert "br.json" in str(err.value)


def _Report(actions=(), problems=()):  # pylint: disable=invalid-name
    """A restore's report: endpoints "not restored" are the ones it would retry."""
    report = _restore.RestoreReport(changed=bool(actions), actions=list(actions))
    for problem in problems:
        (report.fail if " not restored" in problem else report.problems.append)(problem)
    return report


def test_no_runtime_installed_tells_systemd_sweeps_once_and_keeps_looking(tmp_path, monkeypatch):
    """PATH without docker or podman: the watcher says so, sends READY=1, sweeps once (restore
    of every running owner, networks untouched), and stops cleanly."""
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    path = str(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    calls = []

    def restore(state_dir, netns=None, owners=None, networks=True):
        calls.append((state_dir, netns, owners, networks))
        return _Report(actions=["network mv: set 'eth0' up in namespace lab1"],
                       problems=["network br: warning: kept the lease of container:db"])

    out = io.StringIO()
    watcher = _watch.Watcher(str(tmp_path / "state"), "hostns", restore=restore, out=out)
    with _listener(path) as sock:
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            assert sock.recv(100) == b"READY=1"
            deadline = time.monotonic() + 10
            while not calls and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            watcher.messages.put(_watch._STOP)  # pylint: disable=protected-access
            thread.join(timeout=10)
    assert not thread.is_alive()
    assert calls == [(str(tmp_path / "state"), "hostns", None, False)]
    lines = out.getvalue().splitlines()
    assert "watch: docker is not installed; looking for it again every 5 s" in lines
    assert "watch: podman is not installed; looking for it again every 5 s" in lines
    assert "sweep (start): network mv: set 'eth0' up in namespace lab1" in lines
    assert "problem: sweep (start): network br: warning: kept the lease of container:db" in lines
    assert lines[-1] == "watch: stopped"


def test_an_endpoint_not_restored_is_tried_again_and_then_is_no_problem(tmp_path, monkeypatch):
    """The first sweep leaves an endpoint not restored (as when a restarted container's old
    namespace still holds its MAC address): the watcher says it will try again, does, and
    reports no problem once the retry succeeds."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    calls = []

    def restore(state_dir, netns=None, owners=None, networks=True):
        calls.append(owners)
        if len(calls) == 1:
            return _Report(problems=["network mv: endpoint of container web (10.0.0.2) not restored: EADDRINUSE"])
        return _Report(actions=["network mv: set 'eth0' up in container web"])

    out = io.StringIO()
    watcher = _watch.Watcher(str(tmp_path / "state"), None, restore=restore, out=out)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        watcher.messages.put(_watch._STOP)  # pylint: disable=protected-access
        thread.join(timeout=10)
    assert calls == [None, None]
    lines = out.getvalue().splitlines()
    assert "sweep (start): not yet, trying again: network mv: endpoint of container web (10.0.0.2) not restored:" \
           " EADDRINUSE" in lines
    assert "sweep (start): trying again in 0.1 s" in lines
    assert "sweep (attempt 2): network mv: set 'eth0' up in container web" in lines
    assert not [line for line in lines if line.startswith("problem")], lines
