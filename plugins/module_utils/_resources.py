# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the network, endpoint and inspect modules map onto the runner's pipeline.

They live here rather than in the module shells so that the ``underlay-network`` command
(restore, watch, status) runs exactly the modules' path without Ansible.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _endpoint, _info, _macvlan
from ansible_collections.underlay.network.plugins.module_utils._runner import Resource, open_workspace

MACVLAN_NETWORK = Resource(
    key="network",
    build_spec=_macvlan.build_spec,
    read=_macvlan.read,
    plan=_macvlan.plan,
    report=_macvlan.report,
    predict=_macvlan.predict,
    open=open_workspace,
)

BRIDGE_NETWORK = Resource(
    key="network",
    build_spec=_bridge.build_spec,
    read=_bridge.read,
    plan=_bridge.plan,
    report=_bridge.report,
    predict=_bridge.predict,
    open=open_workspace,
)

CONTAINER_ENDPOINT = Resource(
    key=_endpoint.result_key,
    build_spec=_endpoint.build_spec,
    read=_endpoint.read,
    plan=_endpoint.plan,
    report=_endpoint.report,
    predict=_endpoint.predict,
    open=open_workspace,
    reread=_endpoint.reread,
)

NETWORK_INFO = Resource(
    key="networks",
    build_spec=_info.build_spec,
    read=_info.read,
    plan=_info.plan,
    report=lambda spec, current: current,
    predict=lambda spec, current, planned: current,
    open=open_workspace,
)

# a stored definition's driver -> the resource that (re)applies it
NETWORK_BY_DRIVER = {"macvlan": MACVLAN_NETWORK, "bridge": BRIDGE_NETWORK}
