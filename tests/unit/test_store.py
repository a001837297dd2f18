# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir


def test_missing_state_dir_reads_empty_and_creates_nothing(tmp_path):
    path = str(tmp_path / "absent")
    with StateDir(path) as store:
        assert store.networks() == {} and store.network("x") is None
        assert store.leases("x") == {"leases": {}, "last_reserved": None}
    assert not os.path.exists(path)


def test_writes_are_atomic_json_with_mode_0644(tmp_path):
    with StateDir(str(tmp_path)) as store:
        store.put_network({"name": "n1", "driver": "macvlan"})
        store.put_leases("n1", {"leases": {"10.0.0.2": {"owner": "c1"}}, "last_reserved": "10.0.0.2"})
    for rel in ("networks/n1.json", "leases/n1.json"):
        assert stat.S_IMODE(os.stat(tmp_path / rel).st_mode) == 0o644
    assert not [p for p in os.listdir(tmp_path / "networks") if p.endswith(".tmp")]
    with StateDir(str(tmp_path)) as store:
        assert store.networks() == {"n1": {"name": "n1", "driver": "macvlan"}}
        store.delete_network("n1")
        store.delete_leases("n1")
        assert store.networks() == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"leases": 5}'])
def test_corrupt_lease_file_is_refused_and_kept(tmp_path, text):
    (tmp_path / "leases").mkdir()
    corrupt = tmp_path / "leases" / "n1.json"
    corrupt.write_text(text)
    with StateDir(str(tmp_path)) as store:
        with pytest.raises(UnderlayError) as err:
            store.leases("n1")
    assert str(err.value).startswith("state_dir: ") and "corrupt" in str(err.value)
    assert "refusing to use or overwrite it" in str(err.value)
    assert corrupt.read_text() == text


def test_state_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UnderlayError, match="is not a directory"):
        with StateDir(str(target)):
            pass


def test_locking_creates_no_file_and_excludes_other_processes(tmp_path):
    import fcntl
    import subprocess
    import sys

    (tmp_path / "networks").mkdir()
    with StateDir(str(tmp_path)):
        assert sorted(os.listdir(tmp_path)) == ["networks"]
        probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY);"
                 "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)")
        other = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, check=False)
        assert other.returncode != 0 and b"BlockingIOError" in other.stderr
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on exit
    finally:
        os.close(fd)
