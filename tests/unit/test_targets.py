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
    assert _targets.owner_alive(f"pid:{own}") and not _targets.owner_alive("pid:4194303")
    assert not _targets.owner_alive("netns:surely-not-a-namespace-here")
    assert not _targets.owner_alive("container:web1")  # no runtime can vouch for it
