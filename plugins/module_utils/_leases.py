# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation pool of a stored network over its lease table.

``pool_from`` is pure: container_endpoint's planner builds its pools with it, over copies, and
puts the new tables in its plan. ``lease`` reads, leases and saves in one go, for a caller that
holds the state directory's lock (the test labs), so concurrent runs never hand out one
address twice.

On a dual-stack network an endpoint's IPv6 address is a field of its lease (``ipv6_address``:
the lease table stays keyed by IPv4 address, as code before dual stack reads it), and the
table's ``last_reserved6`` is where the IPv6 walk goes on; ``pool6_from`` is the IPv6 pool over
those fields, so both addresses are leased under the one lock and released together."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._ipam import Pool
from ansible_collections.underlay.network.plugins.module_utils._network_spec import build_ipam, stored_ipam6


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


def pool6_from(network, definition, table):
    """The IPv6 pool of a dual-stack ``definition`` over the ``ipv6_address`` fields of the lease
    ``table`` (pure), None when the network is IPv4 only."""
    ipam6 = stored_ipam6(definition)
    if ipam6 is None:
        return None
    leases6 = {lease["ipv6_address"]: {"owner": lease["owner"]}
               for lease in table["leases"].values() if lease.get("ipv6_address")}
    return Pool(network, ipam6, leases6, table.get("last_reserved6"))


def table_of(pool, pool6):
    """The lease table to store from the IPv4 pool (whose leases carry their IPv6 addresses) and
    the IPv6 one (None on an IPv4-only network)."""
    table = {"leases": pool.leases, "last_reserved": pool.last_reserved}
    if pool6 is not None and pool6.last_reserved is not None:
        table["last_reserved6"] = pool6.last_reserved
    return table


def lease(store, network, owner, address=None, ipv6_address=None, **details):
    """Lease ``address`` (or the next free one) of ``network`` to ``owner`` and save it; on a
    dual-stack network its IPv6 address too (``ipv6_address`` or the next free one).

    ``store`` must be entered (locked). Returns the leased IPv4 address as a string.
    """
    pool = pool_for(store, network)
    pool6 = pool6_from(network, store.network(network), store.leases(network))
    if address is None:
        leased = pool.allocate(owner, **details)
    else:
        leased = pool.claim(owner, ipaddress.ip_address(address), **details)
    if pool6 is not None:
        leased6 = pool6.allocate(owner) if ipv6_address is None \
            else pool6.claim(owner, ipaddress.ip_address(ipv6_address), "ipv6_address")
        pool.leases[str(leased)]["ipv6_address"] = str(leased6)
    store.put_leases(network, table_of(pool, pool6))
    return str(leased)
