# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target resolution that needs no root: runtimes absent from PATH, vanished processes."""

from __future__ import annotations

import os

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _targets
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


@pytest.fixture
def no_runtimes(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: neither docker nor podman


@pytest.mark.parametrize("runtime, message", [
    ("docker", "runtime: docker is not installed on this host"),
    ("podman", "runtime: podman is not installed on this host"),
    ("auto", "runtime: neither docker nor podman is installed on this host"),
])
def test_runtime_not_installed(no_runtimes, runtime, message):
    with pytest.raises(UnderlayError) as err:
        _targets.resolve("container", "web1", runtime)
    assert str(err.value) == message


def test_pid_and_owner_liveness(no_runtimes):
    own = os.getpid()
    target = _targets.resolve("pid", own)
    assert (target.owner, target.netns_path) == (f"pid:{own}", f"/proc/{own}/ns/net")
    with pytest.raises(UnderlayError, match="^pid: no process 4194303 is running$"):
        _targets.resolve("pid", 4194303)
    assert _targets.owner_state(f"pid:{own}") == ("alive", None)
    assert _targets.owner_state("pid:4194303") == ("gone", None)
    assert _targets.owner_state("netns:surely-not-a-namespace-here") == ("gone", None)
    # no runtime to ask: nothing proves the container gone, so its lease must be kept
    assert _targets.owner_state("container:web1") == ("unknown", "neither docker nor podman is installed to ask")


def _runtime(directory, name, exit_code, said):
    """A stand-in runtime CLI on PATH that answers every ``inspect`` the same way."""
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{said}' >&2\nexit {exit_code}\n")
    path.chmod(0o755)


@pytest.mark.parametrize("docker, podman, expected", [
    ((1, "Error: No such container: web1"), (125, "Error: no such container web1"), ("gone", None)),
    ((1, "Error: No such container: web1"), None, ("gone", None)),
    ((1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"),
     (125, "Error: no such container web1"),
     ("unknown", "docker could not be asked (Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
                 " Is the docker daemon running?)")),
    ((1, "Error: No such container: web1"), (125, "Error: database storage is locked"),
     ("unknown", "podman could not be asked (Error: database storage is locked)")),
])
def test_container_is_gone_only_when_every_runtime_says_so(no_runtimes, tmp_path, docker, podman, expected):
    """A runtime that is down or broken proves nothing: the lease of its containers is kept."""
    for name, answer in (("docker", docker), ("podman", podman)):
        if answer is not None:
            _runtime(tmp_path, name, *answer)
    assert _targets.owner_state("container:web1") == expected


def test_a_container_whose_runtime_is_missing_is_never_gone(no_runtimes, tmp_path):
    """Podman made it and is not installed now (a package upgrade, another PATH): Docker's "no
    such container" proves nothing about it; once Podman answers, only Podman's word counts."""
    _runtime(tmp_path, "docker", 1, "Error: No such container: web1")
    assert _targets.owner_state("container:web1", runtime="podman") == (
        "unknown", "podman, whose container it is, is not installed to ask")
    _runtime(tmp_path, "podman", 125, "Error: no such container web1")
    assert _targets.owner_state("container:web1", runtime="podman") == ("gone", None)
    _runtime(tmp_path, "docker", 0, "abc")
    assert _targets.owner_state("container:web1", runtime="podman") == ("gone", None)
