# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How container_endpoint names and marks what it makes: the lease owner of an item, the owner
mark (ifalias), the scratch name a new interface is made under, a veth's host end, the
first free ``ethN``."""

from __future__ import annotations

import hashlib

from ansible_collections.underlay.network.plugins.module_utils import _targets


def owner_mark(network, owner):
    """The ifalias an endpoint carries, so a later run knows the link is ours and whose."""
    mark = f"underlay-network {network} {owner}"
    if len(mark.encode()) < 256:
        return mark
    return f"underlay-network {network} sha256:{hashlib.sha256(owner.encode()).hexdigest()}"


def owner_of(item, target):
    if target is not None:
        return target.owner
    if item.target_kind == "container":
        return f"container:{str(item.target).lstrip('/')}"
    return _targets.describe(item.target_kind, item.target)


def host_end_name(owner, network):
    """The host end of a bridge endpoint's veth pair."""
    return "ve" + scratch_name(owner, network)[2:13]


def scratch_name(owner, network):
    return "ul" + hashlib.sha256(f"{owner}/{network}".encode()).hexdigest()[:12]


def first_free(names):
    index = 0
    while f"eth{index}" in names:
        index += 1
    return f"eth{index}"
