# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint's return value: one view per item, from the leases (``report``) or from
a plan that was not applied (``predict``)."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _network_mtu, _publish
from ansible_collections.underlay.network.plugins.module_utils._endpoint_names import owner_of
from ansible_collections.underlay.network.plugins.module_utils._endpoint_steps import endpoint_gateway, ipv6_side


def view(item, target, ifname, address, mac, gateway, prefix, publish=(), mtu=None, ipv6=None):
    """One endpoint's return value; ``ipv6``: its ``IPV6/PREFIX`` on a dual-stack network (the
    ``ipv6_address`` key is there only then)."""
    found = {"network": item.network, "container": target.container or target.label if target else item.describe,
             "ifname": ifname, "mac_address": mac, "ipv4_address": f"{address}/{prefix}" if address else None,
             "gateway": gateway, "netns": target.netns_path if target else None, "aliases": list(item.aliases),
             "mtu": mtu}
    if ipv6:
        found["ipv6_address"] = ipv6
    if publish:  # Docker's NetworkSettings.Ports, for an endpoint that publishes
        found["ports"] = _publish.docker_ports(publish)
    return found


def _shape(spec, views):
    return list(views) if spec.batch else views[0]


def result_key(spec):
    return "endpoints" if spec.batch else "endpoint"


def report(spec, current):
    views = []
    owners = {network: {lease["owner"]: ip for ip, lease in table["leases"].items()}
              for network, table in current.tables.items()}
    for item in current.items:
        table = current.tables[item.spec.network]["leases"]
        address = owners[item.spec.network].get(owner_of(item.spec, item.target)) if item.target is not None else None
        if address is None:
            views.append({"network": item.spec.network, "container": item.spec.describe, "state": "absent"})
            continue
        lease = table[address]
        prefix = item.definition["ipam"]["subnet"].split("/")[1]
        views.append(view(item.spec, item.target, lease.get("ifname"), address, lease.get("mac_address"),
                          endpoint_gateway(item.definition), prefix,
                          _publish.parse_all("publish", lease.get("publish")),
                          _network_mtu.endpoint_mtu(lease.get("mtu"), item.definition,
                                                    current.uplinks.get(item.spec.network)),
                          ipv6_side(item.definition, lease.get("ipv6_address"))[0]))
    return _shape(spec, views)


def predict(spec, current, planned):
    return _shape(spec, planned.after["endpoints"])
