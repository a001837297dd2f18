# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory stand-in for the netlink adapter, for the unit lane only (no root).

It keeps links as ``LinkSnapshot`` objects and carries out the same ops; ``fail_on``
makes the next call of one op fail, to exercise rollback.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.underlay.network.plugins.module_utils import _runner
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._netlink import LinkSnapshot


def link(name, kind="veth", mtu=1500, index=None, admin_state="up", addresses=(), **extra):
    return LinkSnapshot(name=name, index=index or (abs(hash(name)) % 1000 + 2), kind=kind, mtu=mtu,
                        mac_address="02:00:00:00:00:01", admin_state=admin_state,
                        addresses=tuple(addresses), **extra)


def installed(monkeypatch, *links):
    """A FakeKernel holding ``links``, made the runner's kernel for one test (``monkeypatch``)."""
    fake = FakeKernel(*links)
    monkeypatch.setattr(_runner, "adapter_factory", fake.adapter)
    return fake


class FakeKernel:
    def __init__(self, *links):
        self.links = {item.name: item for item in links}
        self.log = []
        self.fail_on = None
        self.namespaces = {None}
        self.others = {}  # netns path -> FakeKernel of another namespace (an endpoint's)

    def adapter(self, netns_path=None, netns_label=None):
        return FakeAdapter(self, netns_path, netns_label)


class FakeAdapter:
    def __init__(self, kernel, netns_path, netns_label):
        self.kernel = kernel
        self.netns_path = netns_path
        self.netns_label = netns_label

    def __enter__(self):
        if self.netns_path not in self.kernel.namespaces:
            raise UnderlayError(f"network namespace '{self.netns_label}' does not exist", "netns", self.netns_label)
        return self

    def __exit__(self, *exc):
        return False

    def link(self, name):
        return self.kernel.links.get(name)

    def other(self, netns_path):
        """The adapter of another namespace (``kernel.others``); raises as the real one does
        when that namespace does not exist."""
        if netns_path not in self.kernel.others:
            raise UnderlayError(f"network namespace {netns_path} does not exist", "netns", netns_path)
        return self.kernel.others[netns_path].adapter()

    def apply(self, step):
        self.kernel.log.append((step.op, dict(step.args)))
        if self.kernel.fail_on == step.op:
            self.kernel.fail_on = None  # fail once: the undo of an earlier step may use the same op
            raise UnderlayError(f"{step.action} failed: injected failure")
        operation = self.OPS.get(step.op)
        if operation is None:
            raise UnderlayError(f"{step.action} failed: the fake kernel has no step '{step.op}'")
        operation(self, **step.args)

    def _replace(self, name, **changes):
        self.kernel.links[name] = dataclasses.replace(self.kernel.links[name], **changes)

    def op_link_add_vlan(self, name, parent, vlan_id, protocol, mtu=None):
        if name in self.kernel.links:
            raise UnderlayError(f"'{name}' exists")
        base = self.kernel.links[parent]
        self.kernel.links[name] = link(name, kind="vlan", mtu=mtu or base.mtu, admin_state="down",
                                       parent=parent, parent_index=base.index, vlan_id=vlan_id, protocol=protocol)

    def op_link_set(self, name, mtu=None, admin_state=None):
        changes = {}
        if mtu is not None:
            changes["mtu"] = mtu
        if admin_state is not None:
            changes["admin_state"] = admin_state
        self._replace(name, **changes)

    def op_link_rename(self, name, new_name, alias=None):
        item = self.kernel.links.pop(name)
        self.kernel.links[new_name] = dataclasses.replace(item, name=new_name, alias=alias or item.alias)

    def op_link_del(self, name):
        del self.kernel.links[name]

    def op_addr_add(self, name, address, nodad=False):
        self._replace(name, addresses=tuple(sorted(set(self.kernel.links[name].addresses) | {address})))

    def op_addr_del(self, name, address):
        self._replace(name, addresses=tuple(a for a in self.kernel.links[name].addresses if a != address))

    # step op -> method, as ``NetlinkAdapter.OPS`` (a subset of it: see test_step_dispatch)
    OPS = {
        "link_add_vlan": op_link_add_vlan,
        "link_set": op_link_set,
        "link_rename": op_link_rename,
        "link_del": op_link_del,
        "addr_add": op_addr_add,
        "addr_del": op_addr_del,
    }
