# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every module maps onto the runner's pipeline: one ``Resource`` a module.

They live here rather than in the module shells so that the ``underlay-network`` command
(restore, watch, status) runs exactly the modules' path without Ansible, and so that a reader
finds each module's read, plan and report functions named in one place.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import (
    _bridge,
    _endpoint_plan,
    _endpoint_read,
    _endpoint_spec,
    _endpoint_view,
    _info,
    _ipvlan,
    _macvlan,
    _network_peers,
    _persist,
    _vlan,
)
from ansible_collections.underlay.network.plugins.module_utils._runner import Resource, open_files, open_workspace


def _stored(planner, key, **more):
    """The pipeline of a module whose planner reads and plans against the kernel and state_dir."""
    return Resource(key=key, build_spec=planner.build_spec, read=planner.read, plan=planner.plan,
                    report=planner.report, predict=planner.predict, open=open_workspace, **more)


VLAN_SUBINTERFACE = Resource(
    key="interface",
    build_spec=_vlan.build_spec,
    read=_vlan.read,
    plan=_vlan.plan,
    report=lambda spec, current: _vlan.interface_view(current.link),
    predict=_vlan.predicted_interface,
)
PERSISTENT_INTERFACE = Resource(
    key=None,
    build_spec=_persist.build_spec,
    read=_persist.read,
    plan=_persist.plan,
    report=_persist.report,
    predict=_persist.predict,
    open=open_files,
)
MACVLAN_NETWORK = _stored(_macvlan, "network")
IPVLAN_NETWORK = _stored(_ipvlan, "network")
BRIDGE_NETWORK = _stored(_bridge, "network")
CONTAINER_ENDPOINT = Resource(
    key=_endpoint_view.result_key,
    build_spec=_endpoint_spec.build_spec,
    read=_endpoint_read.read,
    plan=_endpoint_plan.plan,
    report=_endpoint_view.report,
    predict=_endpoint_view.predict,
    open=open_workspace,
    reread=_endpoint_read.reread,
)
NETWORK_PEERS = Resource(
    key="peers",
    build_spec=_network_peers.build_spec,
    read=_network_peers.read,
    plan=_network_peers.plan,
    report=_network_peers.report,
    predict=_network_peers.predict,
    open=open_workspace,
)
NETWORK_INFO = Resource(
    key="networks",
    build_spec=_info.build_spec,
    read=_info.read,
    plan=_info.plan,
    report=lambda spec, current: current,
    predict=lambda spec, current, planned: current,
    open=_info.Reader,
)

# a stored definition's driver -> the resource that (re)applies it
NETWORK_BY_DRIVER = {"macvlan": MACVLAN_NETWORK, "ipvlan": IPVLAN_NETWORK, "bridge": BRIDGE_NETWORK}
