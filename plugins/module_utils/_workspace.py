# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network modules act on: the kernel (netlink adapter) and the state store.

Plan steps whose op starts with ``store_`` go to the store (``store_put_network`` calls
``StateDir.put_network``), ``nft_`` steps to the collection's nftables table, every other
step to the kernel; all are undone alike when a later step fails. The store's lock is taken
before the kernel is read.
"""

from __future__ import annotations


class Workspace:
    def __init__(self, kernel, store, nft=None):
        self.kernel = kernel
        self.store = store
        self.nft = nft

    def __enter__(self):
        self.store.__enter__()
        try:
            self.kernel.__enter__()
        except BaseException:
            self.store.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        try:
            self.kernel.__exit__(*exc_info)
        finally:
            self.store.__exit__(*exc_info)
        return False

    def apply(self, step):
        if step.op.startswith("store_"):
            getattr(self.store, step.op[len("store_"):])(**step.args)
        elif step.op.startswith("nft_"):
            self.nft.apply(step)
        else:
            self.kernel.apply(step)
