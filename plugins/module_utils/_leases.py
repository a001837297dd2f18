# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation pool of a stored network over its lease table.

``pool_from`` is pure: container_endpoint's planner builds its pools with it, over copies, and
puts the new tables in its plan. ``lease`` reads, leases and saves in one go, for a caller that
holds the state directory's lock (the test labs), so concurrent runs never hand out one
address twice."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._ipam import Pool
from ansible_collections.underlay.network.plugins.module_utils._network_spec import build_ipam


def pool_for(store, network):
    """The allocation pool of stored ``network`` (raises naming it when it does not exist)."""
    definition = store.network(network)
    if definition is None:
        raise UnderlayError(f"network '{network}' does not exist", "network", network)
    return pool_from(network, definition, store.leases(network))


def pool_from(network, definition, table):
    """The allocation pool of ``definition`` over the lease ``table`` (pure; the table is copied)."""
    access = definition.get("host_access") or {}
    extra = [access["address"].split("/", 1)[0]] if access.get("address") else []
    return Pool(network, build_ipam(definition["ipam"]), table["leases"], table.get("last_reserved"),
                extra_reserved=extra)


def lease(store, network, owner, address=None, **details):
    """Lease ``address`` (or the next free one) of ``network`` to ``owner`` and save it.

    ``store`` must be entered (locked). Returns the leased address as a string.
    """
    pool = pool_for(store, network)
    if address is None:
        leased = pool.allocate(owner, **details)
    else:
        leased = pool.claim(owner, ipaddress.ip_address(address), **details)
    store.put_leases(network, {"leases": pool.leases, "last_reserved": pool.last_reserved})
    return str(leased)
