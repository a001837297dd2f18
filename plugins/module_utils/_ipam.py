# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address allocation for one network, over its lease table (pure; the store locks and saves).

Leases map an address to its owner (``container:NAME``, ``netns:NAME``, ``pid:N``).
Allocation walks ``ip_range`` from just after the last address handed out (as the CNI
host-local plugin does), skipping reserved and leased addresses with set lookups, so the
1000th allocation costs what the 1st does.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._network_spec import address_conflict, usable


class Pool:
    """Allocation state of one network: its config, reservations and lease table."""

    def __init__(self, network, ipam, leases, last_reserved=None, extra_reserved=()):
        self.network = network
        self.ipam = ipam
        # "10.0.0.5" -> {"owner": ..., ...}; copied, so callers can compare before and after
        self.leases = {ip: dict(lease) for ip, lease in leases.items()}
        self.by_owner = {lease["owner"]: ip for ip, lease in self.leases.items()}
        self.last_reserved = last_reserved
        self.reserved = {int(ipam.gateway)} | {int(a) for a in ipam.aux_addresses.values()}
        self.reserved |= {int(ipaddress.ip_address(a)) for a in extra_reserved}
        self.subnet_low, self.subnet_high = usable(ipam.subnet)
        # allocatable: ip_range minus the subnet's own network and broadcast addresses
        self.low = max(int(ipam.ip_range.network_address), self.subnet_low)
        self.high = min(int(ipam.ip_range.broadcast_address), self.subnet_high)
        self._leased = {int(ipaddress.ip_address(ip)) for ip in self.leases}

    def lease_of(self, owner):
        return self.by_owner.get(owner)

    def why_unavailable(self, address, owner):
        """Why ``address`` cannot be leased to ``owner`` (None when it can)."""
        conflict = address_conflict(self.ipam, address)
        if conflict is not None:
            return f"{address} is {conflict[2]} of network '{self.network}'"
        if int(address) in self.reserved:
            return f"{address} is reserved on network '{self.network}' (host access)"
        holder = self.leases.get(str(address))
        if holder is not None and holder["owner"] != owner:
            return f"{address} is already leased to {holder['owner']} on network '{self.network}'"
        return None

    def claim(self, owner, address, field="ipv4_address", **details):
        """Lease ``address`` (static) to ``owner``; raises naming the reason it cannot and
        ``field``, the option that gave it."""
        reason = self.why_unavailable(address, owner)
        if reason:
            raise UnderlayError(reason, field, str(address))
        self._record(owner, address, details)
        return address

    def allocate(self, owner, **details):
        """The owner's existing lease, or the next free address of ``ip_range``."""
        existing = self.lease_of(owner)
        if existing is not None:
            return ipaddress.ip_address(existing)
        size = self.high - self.low + 1
        start = self.low
        if self.last_reserved is not None:
            last = int(ipaddress.ip_address(self.last_reserved))
            if self.low <= last < self.high:
                start = last + 1
        for step in range(max(size, 0)):
            value = self.low + (start - self.low + step) % size
            if value in self._leased or value in self.reserved:
                continue
            address = ipaddress.ip_address(value)
            self._record(owner, address, details)
            return address
        raise UnderlayError(
            f"no free address left in {self.ipam.ip_range} of network '{self.network}'"
            f" ({len(self.leases)} leased, {len(self.reserved)} reserved)", "ip_range", str(self.ipam.ip_range))

    def release(self, owner):
        address = self.by_owner.pop(owner, None)
        if address is not None:
            del self.leases[address]
            self._leased.discard(int(ipaddress.ip_address(address)))
        return address

    def _record(self, owner, address, details):
        previous = self.by_owner.get(owner)
        if previous is not None and previous != str(address):
            self.release(owner)
        lease = {"owner": owner}
        lease.update(details)
        self.leases[str(address)] = lease
        self.by_owner[owner] = str(address)
        self._leased.add(int(address))
        self.last_reserved = str(address)
