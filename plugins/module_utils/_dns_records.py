# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who resolves which names: the records each endpoint's namespace sees. Pure.

An endpoint answers to its owner's name (a container's name, a ``container_netns`` target's
namespace name; a PID has none) and its ``aliases``, on each network with ``dns`` on that it is
attached to. An endpoint's namespace sees the names of every network it is on, its own included,
and nothing of the others (Docker's user-defined networks). Endpoints on other hosts of the same
network (``peers``, one macvlan or ipvlan VLAN spanning hosts) count as members of the network.
Names are matched without regard to case, as DNS does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Tuple

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

NAME_MAX = 253
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def dns_name(field_name, value):
    """A name the resolver can answer to: dot-separated labels of letters, digits, '_' and '-'
    (not first or last), each at most 63 characters, 253 in all (RFC 1035, with Docker's '_')."""
    text = value.rstrip(".") if isinstance(value, str) else value
    if (not isinstance(text, str) or not text or len(text) > NAME_MAX
            or not all(_LABEL.match(label) for label in text.split("."))):
        raise UnderlayError(f"{value!r} is not a valid DNS name (labels of letters, digits, '_' and '-', each 1-63"
                            " characters, not starting or ending with '-')", field_name, value)
    return text


def owner_name(owner):
    """The name an endpoint's owner answers to (``container:web`` -> ``web``), None for a PID."""
    kind, _colon, value = owner.partition(":")
    return value if kind in ("container", "netns") else None


@dataclass(frozen=True)
class Member:
    """One endpoint of a network as the resolver sees it: its names and address."""

    names: Tuple[str, ...]
    address: str
    netns_path: str = None  # None: an endpoint of another host (a peer)


def members(leases, peers=()):
    """The members of one network: its local leases (address -> lease) and its peers
    (``{"names": [...], "address": ...}`` each, as gathered from the other hosts)."""
    found = []
    for address, lease in sorted(leases.items()):
        names = tuple(name for name in (owner_name(lease["owner"]), *lease.get("aliases", ())) if name)
        found.append(Member(names, address, lease.get("netns_path")))
    for peer in peers:
        found.append(Member(tuple(peer["names"]), peer["address"]))
    return found


def peer_records(stored):
    """The ``peers`` of ``members`` from a network's stored peer records (``[{host, name,
    aliases, address}]``, as network_peers keeps them): each answers to its name and aliases."""
    return tuple({"names": [peer["name"], *peer.get("aliases", ())], "address": peer["address"]} for peer in stored)


def name_holder(leases, owner, names, peers=()):
    """``(name, holder)`` when one of ``names`` is already answered to by another endpoint of the
    network (``holder`` its owner, or ``another host`` for a peer), else None."""
    wanted = {name.lower() for name in names}
    for lease in leases.values():
        if lease["owner"] == owner:
            continue
        for name in (owner_name(lease["owner"]), *lease.get("aliases", ())):
            if name and name.lower() in wanted:
                return name, lease["owner"]
    for peer in peers:
        for name in peer["names"]:
            if name.lower() in wanted:
                return name, f"an endpoint of another host ({peer['address']})"
    return None


@dataclass
class View:
    """What one namespace resolves: ``{name (lower case): [address, ...]}``, and its networks."""

    records: Dict[str, list] = field(default_factory=dict)
    networks: Tuple[str, ...] = ()


def views(networks):
    """``{netns_path: View}`` for every local endpoint of the networks with ``dns`` on;
    ``networks`` is ``{network: (leases, peers)}`` of those networks."""
    by_network = {name: members(leases, peers) for name, (leases, peers) in sorted(networks.items())}
    found = {}
    for network, group in by_network.items():
        for member in group:
            if member.netns_path is None:
                continue
            view = found.setdefault(member.netns_path, View())
            view.networks += (network,)
            for other in group:
                for name in other.names:
                    addresses = view.records.setdefault(name.lower(), [])
                    if other.address not in addresses:
                        addresses.append(other.address)
    return found
