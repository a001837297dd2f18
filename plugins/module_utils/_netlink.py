# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink adapter: kernel access within one network namespace, and the other namespaces a
run reaches from it.

It reads kernel state into plain snapshots (``_netlink_reads``) and carries out plan steps
(``_netlink_writes`` through the hand codec ``_rtnl_codec``, ``_netlink_pyroute2`` for the rare
ones), turning netlink errors into ``UnderlayError`` messages a user can act on. A step's
``op`` is looked up in ``NetlinkAdapter.OPS``, which names the method it runs; an ``in_netns``
argument names the namespace it acts in (``other()``, the one way into another namespace).
A namespace is entered with setns(2) only for as long as it takes to open the socket
(``_netns``). Other parts of the engine reach the host too: ``_nftables`` (nft), ``_files``
and ``_store`` (files), ``_targets`` (container runtimes).
"""

from __future__ import annotations

import collections
import errno
import os
import resource

from ansible_collections.underlay.network.plugins.module_utils import _netns
from ansible_collections.underlay.network.plugins.module_utils import _rtnl_codec as rtnl
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._netlink_pyroute2 import RareLinkOps
from ansible_collections.underlay.network.plugins.module_utils._netlink_reads import LinkReads, LinkSnapshot
from ansible_collections.underlay.network.plugins.module_utils._netlink_writes import LinkWrites
from ansible_collections.underlay.network.plugins.module_utils._packet_sockets import (
    MAX_CLOSING_PACKET_SOCKETS,
    SocketCloser,
)

__all__ = ["LinkSnapshot", "NetlinkAdapter", "NetlinkError"]  # what the rest of the engine imports from here

NetlinkError = rtnl.RtnlError  # what every kernel request raises (pyroute2's errors are turned into it)
_ERRNO_TEXT = {
    errno.EPERM: "operation not permitted (CAP_NET_ADMIN is needed)",
    errno.ENODEV: "no such device",
    errno.EEXIST: "an interface with that name already exists",
    errno.EBUSY: "the device is busy",
    errno.ERANGE: "a value is out of the range the kernel accepts",
    errno.EINVAL: "the kernel rejected an argument as invalid",
    errno.EOPNOTSUPP: "the kernel does not support this operation",
    errno.EADDRNOTAVAIL: "the address is not assigned",
    errno.ENOSPC: "no space left for this object",
}
# steps after which the remembered interface indexes are forgotten: a removal may take other
# links with it (a veth's peer, a parent's children)
_FORGETS_INDEXES = frozenset(("link_del", "link_del_if_present"))
# steps for which a namespace that is gone is nothing to do (the link went with it)
_GONE_NAMESPACE_IS_DONE = frozenset(("link_del_if_present",))


def _max_open_namespaces():
    """How many other namespaces' sockets a run keeps open at once: half of what the open-file
    limit leaves after the packet sockets being closed, between 64 and 4096."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(64, min(4096, (soft - MAX_CLOSING_PACKET_SOCKETS - 64) // 2))


class NetlinkAdapter(LinkReads, LinkWrites, RareLinkOps):
    """Kernel access within one network namespace (``netns_path`` None: our own)."""

    OPS = dict(LinkWrites.OPS, **RareLinkOps.OPS)  # step op -> the method that carries it out

    def __init__(self, netns_path=None, netns_label=None):
        self.netns_path = netns_path
        self.netns_label = netns_label or netns_path
        self._rt = None
        self._pyroute2 = None
        self._others = collections.OrderedDict()
        self._root = None          # the adapter that opened this one (owns the indexes and the closer)
        self._indexes = {}         # (netns_path, name) -> ifindex learnt while applying steps
        self.closer = SocketCloser()
        self._max_others = None

    # -- opening -------------------------------------------------------------------
    def __enter__(self):
        if self.netns_path is None:
            self._rt = rtnl.Rtnl(NetlinkError)
            return self
        if not os.path.exists(self.netns_path):
            raise UnderlayError(
                f"network namespace '{self.netns_label}' does not exist ({self.netns_path});"
                " it is never created implicitly", "netns", self.netns_label)
        self._rt = _netns.open_inside(self.netns_path, self.netns_label, lambda: rtnl.Rtnl(NetlinkError))
        return self

    def __exit__(self, *exc_info):
        try:
            for other in self._others.values():
                other.__exit__(None, None, None)
            self._others = collections.OrderedDict()
            if self._rt is not None:
                self._rt.close()
                self._rt = None
            if self._pyroute2 is not None:
                self._pyroute2.close()
                self._pyroute2 = None
        finally:
            self.closer.shutdown()
        return False

    @property
    def where(self):
        return f"network namespace '{self.netns_label}'" if self.netns_path else "the host's network namespace"

    # -- other namespaces ----------------------------------------------------------
    def other(self, netns_path):
        """An adapter for another namespace (kept open for the run; past _max_open_namespaces()
        the least recently used one is closed, and opened again should it be needed)."""
        if netns_path == self.netns_path:
            return self
        adapter = self._others.get(netns_path)
        if adapter is not None:
            self._others.move_to_end(netns_path)
            return adapter
        adapter = NetlinkAdapter(netns_path).__enter__()
        adapter._root = self._root_adapter()
        self._others[netns_path] = adapter
        if self._max_others is None:
            self._max_others = _max_open_namespaces()
        while len(self._others) > self._max_others:
            self._others.popitem(last=False)[1].__exit__(None, None, None)
        return adapter

    def link_in(self, netns_path, name):
        """Snapshot of ``name`` in another namespace (None if it or the namespace is gone)."""
        if netns_path is not None and not os.path.exists(netns_path):
            return None
        return self.other(netns_path).link(name)

    def _root_adapter(self):
        return self._root or self

    # -- acting --------------------------------------------------------------------
    def apply(self, step):
        """Carry out one plan step: ``OPS[step.op]`` with ``step.args``, in the namespace
        ``in_netns`` names when it is there (else this adapter's)."""
        method = self.OPS.get(step.op)
        if method is None:
            raise UnderlayError(f"{step.action} failed: the netlink adapter has no step '{step.op}'")
        args = dict(step.args)
        target = args.pop("in_netns", self.netns_path)
        if step.op in _GONE_NAMESPACE_IS_DONE and target is not None and not os.path.exists(target):
            return
        adapter = self.other(target)
        # interface indexes are remembered from step to step; a removal or a failure forgets them all
        forget = step.op in _FORGETS_INDEXES
        try:
            method(adapter, **args)
        except NetlinkError as err:
            forget = True
            raise adapter._error(step.action, err) from None
        except BaseException:
            forget = True
            raise
        finally:
            if forget:
                self.forget_indexes()

    def _index(self, name):
        indexes = self._root_adapter()._indexes
        index = indexes.get((self.netns_path, name))
        if index is not None:
            return index
        try:
            index = self._rt.index(name)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                raise UnderlayError(f"interface '{name}' does not exist in {self.where}") from None
            raise
        indexes[(self.netns_path, name)] = index
        return index

    def learn_index(self, netns_path, old_name, new_name, index):
        """A rename: ``index`` is now ``new_name``'s."""
        self._indexes.pop((netns_path, old_name), None)
        self._indexes[(netns_path, new_name)] = index

    def forget_indexes(self):
        self._root_adapter()._indexes.clear()

    # -- errors --------------------------------------------------------------------
    def _error(self, action, err):
        text = _ERRNO_TEXT.get(err.code, os.strerror(err.code) if err.code else str(err))
        return UnderlayError(f"{action} failed in {self.where}: {text} ({errno.errorcode.get(err.code, err.code)})")
