# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint's read and whole pipeline where the unit lane can run them: a real
state_dir, the kernel a fake adapter, targets whose namespaces do not exist (the lane has no
root to make one; tests/integration runs read against real namespaces)."""

from __future__ import annotations

import os
import uuid

import pytest

from endpoint_world import MACVLAN, lease
from fake_adapter import installed, link

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_read, _endpoint_spec, _runner
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._lease_journal import PendingProbe
from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir
from ansible_collections.underlay.network.plugins.module_utils._workspace import Workspace


@pytest.fixture
def gone():
    """The name of a namespace that does not exist."""
    name = f"ul-gone-{uuid.uuid4().hex[:8]}"
    assert not os.path.exists(f"/run/netns/{name}")
    return name


@pytest.fixture
def kernel(monkeypatch):
    return installed(monkeypatch, link("eth0"))


@pytest.fixture
def state_dir(tmp_path, gone):
    path = str(tmp_path / "state")
    with StateDir(path) as store:
        store.put_network(MACVLAN)
        store.put_leases("n1", {"leases": {"10.0.0.7": lease("n1", gone, mac="02:42:0a:00:00:07"),
                                           "10.0.0.8": lease("n1", "other", mac="02:42:0a:00:00:08", pending=True,
                                                             netns_path=f"/run/netns/{gone}-2")},
                                "last_reserved": "10.0.0.8"})
    return path


def leases_file(state_dir):
    with open(os.path.join(state_dir, "leases", "n1.json"), "rb") as handle:
        return handle.read()


def test_read_gives_the_stored_tables_and_probes_and_no_target_for_a_gone_namespace(kernel, state_dir, gone):
    batch = _endpoint_spec.build_spec({"network": "n1", "container_netns": gone, "state": "absent",
                                       "state_dir": state_dir})
    with Workspace(kernel.adapter(), StateDir(state_dir)) as ws:
        current = _endpoint_read.read(ws, batch)
    (item,) = current.items
    assert item.target is None and item.link is None
    assert current.definitions == {"n1": MACVLAN}
    assert sorted(current.tables["n1"]["leases"]) == ["10.0.0.7", "10.0.0.8"]
    assert current.probes == {"n1": {"10.0.0.8": PendingProbe()}}  # its namespace is gone: nothing in the kernel
    assert current.owners["n1"] == {f"netns:{gone}": ("gone", None), "netns:other": ("gone", None)}


def test_detaching_a_gone_namespace_releases_its_lease_and_check_mode_writes_nothing(kernel, state_dir, gone):
    params = {"network": "n1", "container_netns": gone, "state": "absent", "state_dir": state_dir}
    before = leases_file(state_dir)
    checked = _runner.run(CONTAINER_ENDPOINT, params, check_mode=True, diff=True)
    assert leases_file(state_dir) == before  # byte-identical
    assert checked["changed"] is True
    assert checked["actions"] == [
        "save the leases of network 'n1' (dropping what an interrupted run did not make: 10.0.0.8 of netns:other;"
        f" releasing 10.0.0.7 of netns:{gone}, which no longer exists)"]
    assert checked["diff"]["after"] == {"endpoints": [{"network": "n1", "container": f"netns:{gone}",
                                                       "state": "absent"}]}
    applied = _runner.run(CONTAINER_ENDPOINT, params)
    assert applied["actions"] == checked["actions"] and applied["endpoint"] == checked["endpoint"]
    with StateDir(state_dir) as store:
        assert store.leases("n1") == {"leases": {}, "last_reserved": "10.0.0.8"}
    again = _runner.run(CONTAINER_ENDPOINT, params)
    assert again["changed"] is False and again["actions"] == []
    assert kernel.log == []  # only the store was written


@pytest.mark.parametrize("params, field", [
    ({"network": "nosuch"}, "network"),
    ({"network": "n1"}, "container_netns"),
])
def test_read_refuses_naming_the_field(kernel, state_dir, gone, params, field):
    with pytest.raises(UnderlayError) as err:
        _runner.run(CONTAINER_ENDPOINT, dict(params, container_netns=gone, state_dir=state_dir))
    assert err.value.field == field
    assert (gone if field == "container_netns" else "nosuch") in str(err.value)
