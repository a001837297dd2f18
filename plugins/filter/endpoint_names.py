# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint_names filter: the name records of one host's attached endpoints, by network, as
M(underlay.network.network_peers) takes them on the other hosts (the endpoints role keeps them
as ``underlay_endpoints_attached``; site.yml's "Names across hosts" play hands them out)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.underlay.network.plugins.module_utils import _dns_records
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


def _valid(name):
    try:
        return _dns_records.dns_name("name", name)
    except UnderlayError:
        return None


def endpoint_names(results, items, host):
    """``{network: [{host, name, aliases, address}]}`` of the endpoints in ``results`` (the
    ``endpoints`` a batched container_endpoint returned) and ``items`` (the batch it was given,
    in the same order). An endpoint answers to its container's name or its ``container_netns``
    namespace name, as on its own host; one without a name that is a DNS name (a PID, a
    namespace given as a path) answers to its aliases only, the first one as its name; one
    with neither, a detached one (``state: absent``) and one without an address give none."""
    if not isinstance(results, list) or not isinstance(items, list) or len(results) != len(items):
        raise AnsibleFilterError("endpoint_names: give the batch's results and its items, two lists of one length")
    found = {}
    for result, item in zip(results, items):
        if not isinstance(result, dict) or not isinstance(item, dict):
            raise AnsibleFilterError("endpoint_names: every result and item is a dict")
        address = result.get("ipv4_address")
        if result.get("state") == "absent" or item.get("state") == "absent" or not address:
            continue
        if item.get("container") is not None:
            own = result.get("container")
        elif item.get("container_netns") is not None:
            own = item["container_netns"]
        else:
            own = None
        aliases = [str(alias) for alias in item.get("aliases") or ()]
        names = [name for name in (_valid(own) if own else None, *aliases) if name]
        if not names:
            continue
        found.setdefault(result.get("network") or item["network"], []).append(
            {"host": host, "name": names[0], "aliases": names[1:], "address": str(address).split("/", 1)[0]})
    return found


class FilterModule:
    def filters(self):
        return {"endpoint_names": endpoint_names}
