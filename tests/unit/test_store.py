# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import fcntl
import json
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

MACVLAN = {"name": "n1", "id": "0" * 64, "driver": "macvlan", "parent": "eth0", "mode": "bridge",
           "ipam": {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/24", "aux_addresses": {}},
           "host_access": None}
BRIDGE = {"name": "n1", "id": "0" * 64, "driver": "bridge", "bridge_name": "br0",
          "ipam": {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/24"}}


def lock_is_free(path):
    """Whether another process could flock ``path`` right now."""
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY);"
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)")
    return subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, check=False).returncode == 0


def corrupted(change, definition=None):
    """A copy of ``definition`` (MACVLAN when not given) damaged by ``change``."""
    data = copy.deepcopy(definition or MACVLAN)
    change(data)
    return data


@pytest.mark.parametrize("missing", ["absent", "a/b/absent"])
def test_missing_state_dir_reads_empty_and_creates_nothing(tmp_path, missing):
    path = str(tmp_path / missing)
    with StateDir(path) as store:
        assert store.networks() == {} and store.network("x") is None
        assert store.leases("x") == {"leases": {}, "last_reserved": None}
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("definition", [MACVLAN, BRIDGE])
def test_writes_are_atomic_json_with_mode_0644(tmp_path, definition):
    with StateDir(str(tmp_path)) as store:
        store.put_network(definition)
        store.put_leases("n1", {"leases": {"10.0.0.2": {"owner": "c1"}}, "last_reserved": "10.0.0.2"})
    for rel in ("networks/n1.json", "leases/n1.json"):
        assert stat.S_IMODE(os.stat(tmp_path / rel).st_mode) == 0o644
    assert not [p for p in os.listdir(tmp_path / "networks") if p.endswith(".tmp")]
    with StateDir(str(tmp_path)) as store:
        assert store.networks() == {"n1": definition}
        assert store.leases("n1") == {"leases": {"10.0.0.2": {"owner": "c1"}}, "last_reserved": "10.0.0.2"}
        store.delete_network("n1")
        store.delete_leases("n1")
        assert store.networks() == {}


def test_first_write_creates_missing_parents_0755_and_nothing_else(tmp_path):
    os.umask(0o077)
    path = tmp_path / "a" / "b" / "state"
    try:
        with StateDir(str(path)) as store:
            store.put_network(MACVLAN)
    finally:
        os.umask(0o022)
    assert os.listdir(tmp_path) == ["a"]
    for directory in ("a", "a/b", "a/b/state", "a/b/state/networks"):
        assert stat.S_IMODE(os.stat(tmp_path / directory).st_mode) == 0o755
    assert os.listdir(path) == ["networks"]


def test_missing_state_dir_is_locked_through_its_nearest_ancestor(tmp_path):
    path = tmp_path / "a" / "state"
    with StateDir(str(path)) as store:
        assert not lock_is_free(tmp_path) and os.listdir(tmp_path) == []
        store.put_network(MACVLAN)
        # created already locked; the ancestor is let go once state_dir holds the lock
        assert not lock_is_free(path) and lock_is_free(tmp_path)
    assert lock_is_free(path)


def test_runs_started_before_and_after_creation_wait_for_the_creator(tmp_path):
    path = str(tmp_path / "fresh" / "state")
    reader = ("import json, sys; sys.path[:0] = sys.argv[2:];"
              "from ansible_collections.underlay.network.plugins.module_utils._store import StateDir\n"
              "with StateDir(sys.argv[1]) as store: print(json.dumps(sorted(store.networks())))")

    def start():
        proc = subprocess.Popen([sys.executable, "-c", reader, path] + sys.path, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # long enough to reach the lock
        return proc

    with StateDir(path) as store:
        before = start()  # finds no state_dir: waits on the ancestor
        store.put_network(MACVLAN)
        after = start()  # finds the new state_dir: waits on it
        assert before.poll() is None and after.poll() is None, "a run got in beside the creator"
    for proc in (before, after):
        assert json.loads(proc.communicate(timeout=30)[0]) == ["n1"]


def test_locking_creates_no_file_and_excludes_other_processes(tmp_path):
    (tmp_path / "networks").mkdir()
    with StateDir(str(tmp_path)):
        assert sorted(os.listdir(tmp_path)) == ["networks"]
        assert not lock_is_free(tmp_path)
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on exit
    finally:
        os.close(fd)


@pytest.mark.parametrize("below", ["", "/state", "/a/state"])
def test_state_dir_that_is_or_is_below_a_file(tmp_path, below):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UnderlayError) as err:
        with StateDir(f"{target}{below}"):
            pass
    assert err.value.field == "state_dir" and err.value.value == f"{target}{below}"
    where = "exists" if not below else f"cannot be made: '{target}' exists"
    assert str(err.value) == f"state_dir: '{target}{below}' {where} and is not a directory"


def test_write_failure_names_state_dir_and_leaves_no_temporary(tmp_path):
    (tmp_path / "networks").write_text("in the way")
    with StateDir(str(tmp_path)) as store:
        with pytest.raises(UnderlayError) as err:
            store.put_network(MACVLAN)
    assert err.value.field == "state_dir" and err.value.value == str(tmp_path)
    assert str(err.value) == f"state_dir: cannot write {tmp_path}/networks/n1.json: File exists"
    assert os.listdir(tmp_path) == ["networks"]


def test_creation_failure_names_state_dir_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "state"
    with StateDir(str(path)) as store:
        (tmp_path / "a").write_text("appeared")  # by a hand that does not take the lock
        with pytest.raises(UnderlayError) as err:
            store.put_network(MACVLAN)
    assert err.value.field == "state_dir" and "cannot write" in str(err.value)
    assert os.listdir(tmp_path) == ["a"]


DEFINITION_DAMAGE = [
    (lambda d: d.pop("ipam"), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d.update(ipam="10.0.0.0/24"), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d["ipam"].pop("subnet"), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d["ipam"].pop("gateway"), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d["ipam"].pop("ip_range"), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d["ipam"].update(subnet=24), "'ipam' is not an object with subnet, gateway and ip_range"),
    (lambda d: d["ipam"].update(subnet="10.0.0.0/33"), "ipam.subnet: '10.0.0.0/33' is not a network"),
    (lambda d: d["ipam"].update(gateway="10.9.0.1"), "ipam.gateway: 10.9.0.1 is outside the subnet 10.0.0.0/24"),
    (lambda d: d["ipam"].update(aux_addresses=["10.0.0.3"]), "'ipam.aux_addresses' is not an object"),
    (lambda d: d.pop("name"), "'name' is missing or not a string"),
    (lambda d: d.update(name="n2"), "it defines network 'n2'"),
    (lambda d: d.pop("driver"), "driver None is not one of macvlan, ipvlan, bridge"),
    (lambda d: d.update(driver="overlay"), "driver 'overlay' is not one of macvlan, ipvlan, bridge"),
    (lambda d: d.update(driver="ipvlan"), "'flag' is missing or not a string"),
    (lambda d: d.update(parent=["eth0"]), "'parent' is missing or not a string"),
    (lambda d: d.pop("mode"), "'mode' is missing or not a string"),
    (lambda d: d.pop("id"), "'id' is missing or not a string"),
    (lambda d: d.update(host_access={"ifname": "shim"}), "'host_access' is not an object with ifname and address"),
]


@pytest.mark.parametrize("damage, problem", DEFINITION_DAMAGE, ids=[case[1] for case in DEFINITION_DAMAGE])
def test_malformed_definition_is_refused_naming_the_file_and_kept(tmp_path, damage, problem):
    (tmp_path / "networks").mkdir()
    corrupt = tmp_path / "networks" / "n1.json"
    corrupt.write_text(json.dumps(corrupted(damage)))
    text = corrupt.read_text()
    for read in (lambda store: store.network("n1"), lambda store: store.networks()):
        with StateDir(str(tmp_path)) as store:
            with pytest.raises(UnderlayError) as err:
                read(store)
        assert err.value.field == "state_dir" and err.value.value == str(tmp_path)
        assert str(err.value).startswith(f"state_dir: {corrupt} is corrupt ({problem}")
        assert str(err.value).endswith("; refusing to use or overwrite it: repair or remove it")
    assert corrupt.read_text() == text


def test_bridge_definition_needs_its_bridge_name(tmp_path):
    (tmp_path / "networks").mkdir()
    (tmp_path / "networks" / "n1.json").write_text(json.dumps(corrupted(lambda d: d.pop("bridge_name"), BRIDGE)))
    with StateDir(str(tmp_path)) as store:
        with pytest.raises(UnderlayError, match=r"is corrupt \('bridge_name' is missing or not a string\)"):
            store.network("n1")


@pytest.mark.parametrize("text, problem", [
    ("{not json", "Expecting property name"),
    (b'{"leases": {}, "x": "\xff"}', "'utf-8' codec can't decode byte 0xff"),
    ("[1, 2]", "not a JSON object"),
    ('{"leases": 5}', "no 'leases' table"),
    ('{"leases": {"mv": {"owner": "c1"}}}', "lease key 'mv' is not an IP address"),
    ('{"leases": {"10.0.0.300": {"owner": "c1"}}}', "lease key '10.0.0.300' is not an IP address"),
    ('{"leases": {" 10.0.0.3": {"owner": "c1"}}}', "lease key ' 10.0.0.3' is not an IP address"),
    ('{"leases": {"10.0.0.3": "c1"}}', "the lease of 10.0.0.3 is not an object with a string 'owner'"),
    ('{"leases": {"10.0.0.3": {"ifname": "eth0"}}}', "the lease of 10.0.0.3 is not an object with a string 'owner'"),
    ('{"leases": {"10.0.0.3": {"owner": 7}}}', "the lease of 10.0.0.3 is not an object with a string 'owner'"),
    ('{"leases": {"10.0.0.3": {"owner": "c1", "ifname": 0}}}', "'ifname' of the lease of 10.0.0.3 is not a string"),
    ('{"leases": {}, "last_reserved": "x"}', "last_reserved 'x' is not an IP address"),
])
def test_corrupt_lease_file_is_refused_and_kept(tmp_path, text, problem):
    (tmp_path / "leases").mkdir()
    corrupt = tmp_path / "leases" / "n1.json"
    data = text if isinstance(text, bytes) else text.encode()
    corrupt.write_bytes(data)
    with StateDir(str(tmp_path)) as store:
        with pytest.raises(UnderlayError) as err:
            store.leases("n1")
    assert err.value.field == "state_dir"
    assert str(err.value).startswith(f"state_dir: {corrupt} is corrupt ({problem}")
    assert "refusing to use or overwrite it" in str(err.value)
    assert corrupt.read_bytes() == data
