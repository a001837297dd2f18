# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the network modules act on: the kernel (netlink adapter) and the state store.

A plan step goes to the state store when ``STORE_OPS`` names it (``store_put_network`` runs
``StateDir.put_network``), to names (an endpoint's resolv.conf, the resolver) when ``NAMES_OPS`` does, to the
collection's nftables table when ``Nftables.OPS`` does, and
to the kernel otherwise (``NetlinkAdapter.OPS``, which refuses a step it does not know); all
are undone alike when a later step fails. The store's lock is taken before the kernel is read.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_dns
from ansible_collections.underlay.network.plugins.module_utils._nftables import Nftables
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

STORE_OPS = {
    "store_put_network": StateDir.put_network,
    "store_delete_network": StateDir.delete_network,
    "store_put_leases": StateDir.put_leases,
    "store_delete_leases": StateDir.delete_leases,
    "store_put_peers": StateDir.put_peers,
    "store_delete_peers": StateDir.delete_peers,
}
# names: an endpoint's resolv.conf, and the resolver serving what the store now says
NAMES_OPS = _endpoint_dns.OPS


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
        store_op = STORE_OPS.get(step.op)
        if store_op is not None:
            store_op(self.store, **step.args)
        elif step.op in NAMES_OPS:
            NAMES_OPS[step.op](**step.args)
        elif step.op in Nftables.OPS:
            self.nft.apply(step)
        else:
            self.kernel.apply(step)
