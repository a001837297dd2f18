# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks only the whole fleet can make, on each layer-2 segment: networks of different
hosts that share it (subnets equal or disjoint, one gateway, disjoint ip_ranges), an address
or MAC put on it twice, an address another network there may hand out. Pure."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _macvlan
from ansible_collections.underlay.network.plugins.module_utils._fleet_model import segment_name


def check_segments(plan):
    by_segment = {}
    for host in plan.hosts.values():
        for net in host.networks.values():
            by_segment.setdefault(net.segment, []).append(net)
    for segment, members in by_segment.items():
        for position, first in enumerate(members):
            for second in members[position + 1:]:
                if first.host != second.host:
                    _compare(plan.problems, segment, first, second)
    _check_addresses(plan.problems, plan.addresses, by_segment)
    _first_of_each(plan.problems, plan.macs)


def _compare(problems, segment, first, second):
    """The rules of two hosts' networks on one segment, for each IP version both have (dual
    stack: the IPv6 side by the same rules, naming the IPv6 options)."""
    for b, fields in second.families():
        a = first.ipam_for(b.subnet.network_address)
        if a is not None:
            _compare_side(problems, segment, first, second, a, b, fields)


def _compare_side(problems, segment, first, second, a, b, fields):
    where = f"underlay_networks[{second.name}]"
    on = segment_name(segment)
    subnet_field, gateway_field, range_field = fields
    if a.subnet != b.subnet and a.subnet.overlaps(b.subnet):
        problems.add(second.host, f"{where}.{subnet_field}", str(b.subnet),
                     f"{b.subnet} overlaps {a.subnet} of {first.label} on {on} but is not the same subnet")
        return
    if a.subnet == b.subnet and a.gateway != b.gateway:
        problems.add(second.host, f"{where}.{gateway_field}", str(b.gateway),
                     f"{b.gateway} differs from {a.gateway}, the gateway of {first.label} on {on}")
    if a.ip_range.overlaps(b.ip_range):
        problems.add(second.host, f"{where}.{range_field}", str(b.ip_range),
                     f"{b.ip_range} overlaps {a.ip_range}, the {range_field} of {first.label} on {on}: "
                     "both hosts would hand out the same addresses")


def _first_of_each(problems, entries):
    """The entries whose address no earlier entry put on the same segment; each later
    one is a problem naming the first."""
    seen, first = {}, []
    for entry in entries:
        other = seen.setdefault((entry.segment, entry.address), entry)
        if other is entry:
            first.append(entry)
        else:
            problems.add(entry.host, entry.where, str(entry.address),
                         f"{entry.address} is also {other.host}'s {other.where} on {segment_name(entry.segment)}")
    return first


def _check_addresses(problems, addresses, by_segment):
    for entry in _first_of_each(problems, addresses):
        segment = entry.segment
        for net in by_segment.get(segment, []):
            side = net.ipam_for(entry.address)  # the network's side of the address's IP version
            if side is None:
                continue
            if entry.address == side.gateway and net.driver in _macvlan.PARENT_DRIVERS:
                problems.add(entry.host, entry.where, str(entry.address),
                             f"{entry.address} is the gateway of {net.label} on {segment_name(segment)}")
                break
            if net is entry.network or not net.pool_holds(entry.address):
                continue
            problems.add(entry.host, entry.where, str(entry.address),
                         f"{entry.address} lies in ip_range {side.ip_range} of {net.label} on "
                         f"{segment_name(segment)}, which may hand it out; narrow the ip_range or list "
                         "the address in its aux_addresses")
            break


def summary(plan):
    """Per segment, the networks on it: what the plan amounts to (for the task's result)."""
    out = {}
    for host in plan.hosts.values():
        for net in host.networks.values():
            out.setdefault(segment_name(net.segment), []).append({
                "host": net.host, "network": net.name, "driver": net.driver,
                "subnet": str(net.ipam.subnet), "ip_range": str(net.ipam.ip_range),
                "gateway": str(net.ipam.gateway)})
    return out
