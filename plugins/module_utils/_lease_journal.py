# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leases written ahead of the kernel, and settling what an interrupted run left. Pure.

container_endpoint stores every address it is about to give out *before* the kernel holds
it, marked ``"pending": true`` (one write for the whole batch), and confirms the table after
applying (a second write). A run killed in between leaves pending leases: the next run on
that network probes each one (the interface its lease names, in the namespace it names) and
adopts it when the kernel holds the address, or drops it when not; a scratch-named link the
killed run left is removed. So every address in the kernel has its lease, and no address is
handed out twice, whenever a run stops.

Leases of owners that are provably gone are released here too; an owner that could not be
asked about (a runtime down or slow) keeps its lease, and the run warns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class PendingProbe:
    """What the kernel holds for one pending lease: its named link (None when it or its
    namespace is gone), whether that link carries our owner mark, and the scratch link an
    interrupted create left (None when none)."""

    link: object = None
    ours: bool = False
    leftover: Optional[str] = None


@dataclass
class Settled:
    """A network's lease table after settling: ``leases`` to plan on, what was adopted,
    dropped and released (for the actions), leftover links to remove, owners in doubt."""

    leases: dict
    adopted: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    released: list = field(default_factory=list)
    leftovers: list = field(default_factory=list)   # (netns_path, link name)
    doubts: list = field(default_factory=list)      # (owner, reason)


def holds(link, address):
    """Whether ``link`` carries ``address`` (any prefix length)."""
    return link is not None and any(cidr.split("/", 1)[0] == address for cidr in link.addresses)


def settle(leases, probes, owner_states, batch_owners=frozenset()):
    """Settle the stored ``leases`` (``{ip: lease}``) of one network.

    ``probes``: ``{ip: PendingProbe}`` for every pending lease; ``owner_states``:
    ``{owner: (state, reason)}`` as ``_targets.owner_state`` answers; ``batch_owners``: the
    owners this run attaches or detaches (their half-made links are its to finish, not to
    remove). Does not change its input.
    """
    kept = dict(leases)  # leases are replaced, never changed in place
    result = Settled(leases=kept)
    for ip, lease in sorted(leases.items()):
        if not lease.get("pending"):
            continue
        probe = probes.get(ip, PendingProbe())
        if probe.leftover:
            result.leftovers.append((lease.get("netns_path"), probe.leftover))
        if holds(probe.link, ip):
            kept[ip] = {key: value for key, value in lease.items() if key != "pending"}
            for other_ip, other in list(kept.items()):  # the address it replaced, if any
                if other_ip != ip and other["owner"] == lease["owner"]:
                    del kept[other_ip]
            result.adopted.append(f"{ip} of {lease['owner']}")
        else:
            del kept[ip]
            result.dropped.append(f"{ip} of {lease['owner']}")
            if probe.link is not None and probe.ours and lease["owner"] not in batch_owners:
                result.leftovers.append((lease.get("netns_path"), probe.link.name))
    for ip, lease in sorted(kept.items()):
        state, reason = owner_states.get(lease["owner"], ("alive", None))
        if state == "gone":
            del kept[ip]
            result.released.append(f"{ip} of {lease['owner']}, which no longer exists")
        elif state == "unknown":
            result.doubts.append((lease["owner"], reason))
    return result


def ahead_table(stored, settled, final):
    """The table to write before the kernel changes, or None when no address is new.

    Every lease of ``final`` whose address the settled table did not give to the same owner
    is marked pending; leases about to be released stay until the confirming write (their
    interfaces may still be in the kernel until the run removes them).
    """
    ahead, new = {}, False
    for ip, lease in final.items():
        before = settled.get(ip)
        if before is None or before["owner"] != lease["owner"]:
            ahead[ip] = dict(lease, pending=True)
            new = True
        else:
            ahead[ip] = lease
    if not new:
        return None
    for ip, lease in stored.items():
        if ip not in ahead and not lease.get("pending"):
            ahead[ip] = lease
    return ahead
