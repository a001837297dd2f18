# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan step reaches the code that runs it through an explicit table: each adapter's table
names every one of its step methods (and nothing else), the workspace routes by table, and a
step nobody knows is an error naming it (before anything is touched)."""

from __future__ import annotations

import inspect
import os

import pytest
from fake_adapter import FakeAdapter, FakeKernel, link

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._files import FILE_OPS, FileSystem
from ansible_collections.underlay.network.plugins.module_utils._netlink import NetlinkAdapter
from ansible_collections.underlay.network.plugins.module_utils._nftables import Nftables
from ansible_collections.underlay.network.plugins.module_utils._plan import Step
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir
from ansible_collections.underlay.network.plugins.module_utils._workspace import STORE_OPS, Workspace


def step_methods(cls):
    return {name: getattr(cls, name) for name in dir(cls) if name.startswith("op_")}


@pytest.mark.parametrize("cls, table, prefix", [
    (NetlinkAdapter, NetlinkAdapter.OPS, ""),
    (Nftables, Nftables.OPS, "nft_"),
    (FileSystem, FILE_OPS, ""),
])
def test_each_table_names_every_step_method_of_its_adapter(cls, table, prefix):
    methods = step_methods(cls)
    assert sorted(prefix + name[len("op_"):] for name in methods) == sorted(table)
    for op, function in table.items():
        assert function is methods["op_" + op[len(prefix):]], op


def test_the_tables_do_not_overlap():
    names = [set(NetlinkAdapter.OPS), set(Nftables.OPS), set(FILE_OPS), set(STORE_OPS)]
    assert sum(len(item) for item in names) == len(set().union(*names))
    assert all(function.__qualname__ == "StateDir." + op[len("store_"):] for op, function in STORE_OPS.items())


@pytest.mark.parametrize("adapter, where", [
    (NetlinkAdapter(), "the netlink adapter"),  # not opened: the step is refused before any socket
    (Nftables(), "nftables"),
    (FileSystem(), "the file system"),
])
def test_an_unknown_step_is_refused_by_name(adapter, where):
    with pytest.raises(UnderlayError) as err:
        adapter.apply(Step("frobnicate 'eth0'", "link_frobnicate", {"name": "eth0"}))
    assert str(err.value) == f"frobnicate 'eth0' failed: {where} has no step 'link_frobnicate'"


def test_the_workspace_routes_by_table(tmp_path):
    kernel = FakeKernel(link("eth0"))
    store = StateDir(str(tmp_path / "state"))
    table = {"leases": {}, "last_reserved": "10.0.0.5"}
    with Workspace(kernel.adapter(), store) as workspace:
        workspace.apply(Step("record the leases", "store_put_leases", {"network": "mv", "table": table}))
        assert store.leases("mv") == table
        workspace.apply(Step("remove the leases", "store_delete_leases", {"network": "mv"}))
        assert not os.path.exists(tmp_path / "state" / "leases")
        workspace.apply(Step("set 'eth0' down", "link_set", {"name": "eth0", "admin_state": "down"}))
    assert kernel.log == [("link_set", {"name": "eth0", "admin_state": "down"})]


def test_a_step_no_table_names_is_the_kernels_to_refuse(tmp_path):
    with StateDir(str(tmp_path / "state")) as store:
        workspace = Workspace(NetlinkAdapter(), store)  # the kernel not opened: refused before any socket
        with pytest.raises(UnderlayError) as err:
            workspace.apply(Step("put the network", "store_put_network_definition", {"definition": {}}))
    assert str(err.value) == "put the network failed: the netlink adapter has no step 'store_put_network_definition'"
    assert not os.path.exists(tmp_path / "state" / "networks")


def test_the_fake_kernel_speaks_a_subset_of_the_real_table_with_the_same_arguments():
    """The unit lane's fake adapter dispatches by a table too, and each of its steps takes the
    arguments the real step takes (so a planner test cannot pass on a step the kernel refuses)."""
    assert set(FakeAdapter.OPS) <= set(NetlinkAdapter.OPS)
    for op, function in FakeAdapter.OPS.items():
        assert inspect.signature(function) == inspect.signature(NetlinkAdapter.OPS[op]), op
